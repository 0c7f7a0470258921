"""One path per prefix out of a table dump, fast: for loading a full table into a speaker.

:func:`read_mrt` builds a :class:`RibRecord` per prefix with every entry's attributes decoded
into objects, which is what a reader of the dump wants and most of the cost of *replaying* it
(a million records, each made of tuples, prefixes and peers that are dropped again at once).
:func:`scan_rib` walks TABLE_DUMP_V2 RIB records at the byte level instead: bounded reads with
precompiled structs, the prefix turned straight into the int key of
:func:`bgpspeak.route_store.prefix_key`, and each distinct attribute section decoded once and
handed to the caller's ``convert``, whose result is then shared by every prefix with the same
section. Nothing is built per prefix but the key.

Reading stops at the entry that is taken: damage later in the same record is not looked at
(the collector's other peers' paths), nor inside records that are not replayed (multicast RIBs,
update messages, which are only framed). Everything that is read is checked, and damage raises
:class:`MrtError` with the record's offset and what is wrong, as :func:`read_mrt` does. TABLE_DUMP
(v1) and BGP4MP_ENTRY records, rare in modern dumps, go through the regular decoders.
"""

from __future__ import annotations

import ipaddress
import struct
from array import array
from bisect import bisect_left
from collections.abc import Callable, Iterator
from typing import TypeVar

from ..wire import AttributeCache, PathAttribute
from ..wire.family import IPV4_UNICAST, IPV6_UNICAST, Family
from .bgp4mp import decode_bgp4mp
from .errors import MrtError, RecordCorrupt
from .framing import DEFAULT_MAX_RECORD_LENGTH, frames
from .records import Bgp4mpEntry, PeerIndexTable, TableDumpRecord
from .source import ChunkSource, Source
from .state import ReaderState
from .tabledump import decode_table_dump, decode_table_dump_v2

T = TypeVar("T")
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
#: ``convert(afi, attributes)``: the value for a prefix with these attributes, or None to skip
#: the entry (the next entry of the record is then tried)
Convert = Callable[[int, tuple[PathAttribute, ...]], T | None]

_ENTRY = struct.Struct(">HIH")  # peer index, originated time, attribute length
_ENTRY_ADDPATH = struct.Struct(">HIIH")  # ... with the path identifier before the length
_U32_U16_U8 = struct.Struct(">IHB")
_UNICAST = {1: IPV4_UNICAST, 2: IPV6_UNICAST}
# TABLE_DUMP_V2 unicast RIB subtypes -> (AFI, ADD-PATH)
_RIB_SUBTYPES = {2: (1, False), 4: (2, False), 8: (1, True), 10: (2, True)}
_WIDTH = {1: 32, 2: 128}


def _key_steps(bits: int) -> list[tuple[int, int, int]]:
    """Per prefix length: (octets, shift, mask) so that ``(int(octets) << shift) & mask``
    is the key's address part with host bits cleared and ``| length`` completes it."""
    out = []
    for plen in range(bits + 1):
        nb = (plen + 7) >> 3
        net = ((1 << bits) - 1) ^ ((1 << (bits - plen)) - 1)
        out.append((nb, bits - 8 * nb + 8, net << 8))
    return out


_STEPS = {afi: _key_steps(bits) for afi, bits in _WIDTH.items()}


class _Seen:
    """The prefix keys already taken, per AFI. Dumps list prefixes in key order, so a key above
    the last one is new and is only appended to a sorted array (8 octets a prefix for IPv4,
    instead of a set's ~60); keys out of order are looked up there and kept in a set."""

    __slots__ = ("_last", "_other", "_sorted")

    def __init__(self) -> None:
        self._sorted = array("Q")
        self._last = -1
        self._other: set[int] = set()

    def add(self, key: int) -> bool:
        """True when ``key`` was not seen before (and is now)."""
        if key > self._last:
            if key < 1 << 64:
                self._sorted.append(key)
                self._last = key
                return True
            if key in self._other:
                return False
            self._other.add(key)
            return True
        s = self._sorted
        i = bisect_left(s, key)
        if (i < len(s) and s[i] == key) or key in self._other:
            return False
        self._other.add(key)
        return True


def scan_rib(
    source: Source,
    convert: Convert[T],
    *,
    afis: frozenset[int] = frozenset({1, 2}),
    peer: IPAddress | None = None,
    limit: int | None = None,
    max_record_length: int = DEFAULT_MAX_RECORD_LENGTH,
) -> Iterator[tuple[Family, int, T]]:
    """``(family, prefix key, value)`` once per unicast prefix of the dump, in file order.

    The entry taken for a prefix is the first one (of collector peer ``peer`` only, when
    given) for which ``convert`` gives a value; ``convert`` is called once per distinct
    attribute section of each AFI. A prefix already taken (ADD-PATH dumps list one per path
    id; the key has no path id) is skipped. ``limit``: stop after that many prefixes.
    """
    chunks = ChunkSource(source)
    # a small codec cache: the sections are cached here already, its attributes are only
    # shared within a section's decode (a full-size cache would hold every AS path twice)
    state = ReaderState(AttributeCache(limit=4096))
    state.rib_attributes.limit = 1
    decode = state.rib_attributes.decode
    caches: dict[int, dict[bytes, T | None]] = {1: {}, 2: {}}
    seen = {1: _Seen(), 2: _Seen()}
    wanted: list[bool] | None = None  # per peer index, with ``peer``
    npeers = -1  # no PEER_INDEX_TABLE yet
    taken = 0
    if limit is not None and limit <= 0:
        return
    for offset, ts, rtype, subtype, body in frames(
        chunks, max_record_length, lambda: chunks.problem
    ):
        try:
            found: tuple[Family, int, T] | None = None
            if rtype == 13:
                kind = _RIB_SUBTYPES.get(subtype)
                if kind is not None:
                    afi, add_path = kind
                    if afi not in afis:
                        continue
                    found = _rib(body, 4, afi, add_path, npeers, wanted, caches[afi], decode,
                                 convert, seen[afi])  # fmt: skip
                elif subtype == 6 or subtype == 12:  # RIB_GENERIC(_ADDPATH)
                    if len(body) < 7:
                        raise RecordCorrupt(f"RIB_GENERIC record of {len(body)} octets: too short")
                    _, gafi, safi = _U32_U16_U8.unpack_from(body)
                    if safi != 1 or gafi not in afis or gafi not in _WIDTH:
                        continue
                    found = _rib(body, 7, gafi, subtype == 12, npeers, wanted, caches[gafi],
                                 decode, convert, seen[gafi])  # fmt: skip
                elif subtype == 1:
                    table = decode_table_dump_v2(float(ts), rtype, subtype, body, state)
                    assert isinstance(table, PeerIndexTable)
                    npeers = len(table.peers)
                    wanted = None if peer is None else [p.ip == peer for p in table.peers]
                    continue
                else:
                    continue
            elif rtype == 12 or ((rtype == 16 or rtype == 17) and subtype == 2):  # v1, ENTRY
                found = _slow(float(ts), rtype, subtype, body, state, afis, peer, convert, seen)
            else:
                continue
        except RecordCorrupt as e:
            raise MrtError(
                offset, e.reason, record_type=rtype, subtype=subtype, cause=e.cause
            ) from None
        except (struct.error, IndexError, ValueError) as e:  # a check missing above
            raise MrtError(
                offset, f"malformed record: {e!r}", record_type=rtype, subtype=subtype
            ) from None
        if found is not None:
            yield found
            taken += 1
            if limit is not None and taken >= limit:
                return


def _rib(
    body: bytes,
    p: int,
    afi: int,
    add_path: bool,
    npeers: int,
    wanted: list[bool] | None,
    cache: dict[bytes, T | None],
    decode: Callable[[bytes, Family, bool], tuple[PathAttribute, ...]],
    convert: Convert[T],
    seen: _Seen,
) -> tuple[Family, int, T] | None:
    """The entry taken from one unicast RIB record whose prefix starts at ``p``."""
    if npeers < 0:
        raise RecordCorrupt("RIB record before any PEER_INDEX_TABLE")
    n = len(body)
    if p >= n:
        raise RecordCorrupt("RIB prefix: prefix length missing")
    plen = body[p]
    steps = _STEPS[afi]
    if plen >= len(steps):
        raise RecordCorrupt(f"RIB prefix: prefix length {plen} is longer than {_WIDTH[afi]} bits")
    nb, shift, mask = steps[plen]
    q = p + 1 + nb
    if q + 2 > n:
        if q > n:
            raise RecordCorrupt(f"RIB prefix: /{plen} prefix needs {nb} octets, {n - p - 1} left")
        raise RecordCorrupt("RIB record ends before its entry count")
    key = ((int.from_bytes(body[p + 1 : q], "big") << shift) & mask) | plen
    count = (body[q] << 8) | body[q + 1]
    p = q + 2
    unpack = (_ENTRY_ADDPATH if add_path else _ENTRY).unpack_from
    hsize = 12 if add_path else 8
    for i in range(count):
        if p + hsize > n:
            raise RecordCorrupt(f"RIB entry {i} of {count} is truncated")
        if add_path:
            index, _, _, alen = unpack(body, p)
        else:
            index, _, alen = unpack(body, p)
        p += hsize
        end = p + alen
        if end > n:
            raise RecordCorrupt(
                f"RIB entry {i}: attribute length {alen} runs past the record ({n - p} left)"
            )
        if index >= npeers:
            raise RecordCorrupt(
                f"RIB entry {i}: peer index {index}, the PEER_INDEX_TABLE has {npeers} peers"
            )
        if wanted is not None and not wanted[index]:
            p = end
            continue
        blob = body[p:end]
        if blob in cache:
            value = cache[blob]
        else:
            value = convert(afi, decode(blob, _UNICAST[afi], True))
            if len(cache) >= 1 << 20:
                cache.clear()  # all sections different: bounded all the same
            cache[blob] = value
        if value is None:
            p = end
            continue
        if not seen.add(key):
            return None
        return _UNICAST[afi], key, value
    if p != n:
        raise RecordCorrupt(f"RIB record has {n - p} octets after its last entry")
    return None


def _slow(
    ts: float,
    rtype: int,
    subtype: int,
    body: bytes,
    state: ReaderState,
    afis: frozenset[int],
    peer: IPAddress | None,
    convert: Convert[T],
    seen: dict[int, _Seen],
) -> tuple[Family, int, T] | None:
    """TABLE_DUMP (v1) and BGP4MP_ENTRY: one path per record, through the regular decoder."""
    if rtype == 12:
        rec: object = decode_table_dump(ts, rtype, subtype, body, state)
        if not isinstance(rec, TableDumpRecord):
            return None
        prefix, ip, attrs = rec.prefix, rec.peer.ip, rec.attributes
    else:
        rec = decode_bgp4mp(ts, rtype, subtype, body, state)
        if not isinstance(rec, Bgp4mpEntry) or rec.family not in (IPV4_UNICAST, IPV6_UNICAST):
            return None
        if isinstance(rec.prefix, bytes):
            return None
        prefix, ip, attrs = rec.prefix, rec.peer_ip, rec.attributes
    afi = prefix.afi
    if afi not in afis or (peer is not None and ip != peer):
        return None
    key = (prefix.addr << 8) | prefix.length
    value = convert(afi, attrs)
    if value is None or not seen[afi].add(key):
        return None
    return _UNICAST[afi], key, value
