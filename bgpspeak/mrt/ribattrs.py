"""Attribute sections of RIB entries (TABLE_DUMP, TABLE_DUMP_V2, BGP4MP_ENTRY), decoded once per
distinct byte string.

In a full-table dump the same few thousand attribute sections repeat over a million entries (one
path per peer, shared by every prefix the peer's neighbour announces), so a dictionary from the
section's bytes to its decoded attributes makes most entries a single lookup.

RFC 6396 section 4.3.4 says TABLE_DUMP_V2 entries abbreviate MP_REACH_NLRI to next-hop length and
next hop. Some writers ignore that: old Quagga and the bgpdump test data write the full attribute
(AFI, SAFI, next hop, reserved octet, NLRI), and TABLE_DUMP (v1) has no abbreviation at all. The
form is told apart by its first octet: in the abbreviated form it is the next-hop length and
accounts for every other octet, in the full form it is the high octet of the AFI (0).

The 2-octet-AS formats (TABLE_DUMP v1, BGP4MP_ENTRY) have a writer quirk too: OpenBGPD narrows
AS_PATH to 2 octets there but leaves AGGREGATOR at 4 (8 octets). The length says which width an
AGGREGATOR has, so such an attribute is decoded on its own with 4-octet AS and put back in place,
instead of losing the whole entry to a length error.
"""

from __future__ import annotations

from collections.abc import Iterator

from ..wire import AttributeCache, DecodeError, Family, PathAttribute, decode_path_attributes
from .errors import RecordCorrupt
from .records import message_context

_AGGREGATOR = 7
_MP_REACH = 14
_EXTENDED_LENGTH = 0x10


def attribute_spans(blob: bytes) -> Iterator[tuple[int, int, int, int]]:
    """``(type code, start, value start, end)`` of each attribute, while the framing holds (the
    codec reports whatever is wrong after that)."""
    i = 0
    n = len(blob)
    while i + 3 <= n:
        if blob[i] & _EXTENDED_LENGTH:
            if i + 4 > n:
                return
            start = i + 4
            end = start + ((blob[i + 2] << 8) | blob[i + 3])
        else:
            start = i + 3
            end = start + blob[i + 2]
        if end > n:
            return
        yield blob[i + 1], i, start, end
        i = end


def has_full_mp_reach(blob: bytes) -> bool:
    """True when the section's MP_REACH_NLRI is in the full RFC 4760 form, not the abbreviated
    RFC 6396 one (malformed sections answer False and fail later, in the codec)."""
    for code, _, start, end in attribute_spans(blob):
        if code == _MP_REACH:
            return end > start and blob[start] + 1 != end - start
    return False


def wide_aggregator(blob: bytes) -> tuple[int, int] | None:
    """Where an 8-octet AGGREGATOR is (start, end), for a section meant to be 2-octet AS."""
    for code, i, start, end in attribute_spans(blob):
        if code == _AGGREGATOR:
            return (i, end) if end - start == 8 else None
    return None


class RibAttributes:
    """Decodes RIB attribute sections through a bounded cache (cleared when full)."""

    __slots__ = ("_tables", "codec_cache", "limit")

    def __init__(self, codec_cache: AttributeCache | None = None, limit: int = 50_000) -> None:
        self.limit = limit
        self.codec_cache = codec_cache if codec_cache is not None else AttributeCache()
        self._tables: dict[tuple[Family, bool], dict[bytes, tuple[PathAttribute, ...]]] = {}

    def decode(self, blob: bytes, family: Family, asn4: bool) -> tuple[PathAttribute, ...]:
        """The attributes of one entry; raises :class:`RecordCorrupt` if they are malformed."""
        table = self._tables.get((family, asn4))
        if table is None:
            table = self._tables[(family, asn4)] = {}
        hit = table.get(blob)
        if hit is not None:
            return hit
        rib_family = None if b"\x0e" in blob and has_full_mp_reach(blob) else family
        wide = None if asn4 or b"\x07" not in blob else wide_aggregator(blob)
        try:
            if wide is None:
                attrs = self._decode(blob, asn4, rib_family)
            else:
                start, end = wide
                (aggregator,) = self._decode(blob[start:end], True, None)
                rest = self._decode(blob[:start] + blob[end:], False, rib_family)
                at = sum(1 for _ in attribute_spans(blob[:start]))
                attrs = (*rest[:at], aggregator, *rest[at:])
        except DecodeError as e:
            raise RecordCorrupt(f"RIB entry attributes: {e}", e) from None
        if len(table) >= self.limit:
            table.clear()
        table[blob] = attrs
        return attrs

    def _decode(
        self, blob: bytes, asn4: bool, rib_family: Family | None
    ) -> tuple[PathAttribute, ...]:
        ctx = message_context(asn4, False)
        return decode_path_attributes(blob, ctx, rib_family, self.codec_cache)
