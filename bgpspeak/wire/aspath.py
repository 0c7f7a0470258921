"""AS_PATH and AS4_PATH, and the RFC 6793 rules that rebuild the real path from the pair.

An AS_PATH's width (2 or 4 octets per AS) is not in the attribute: it depends on whether both
speakers announced the 4-octet AS capability, which is why decoding takes a :class:`Context`.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any, ClassVar, NamedTuple

from .attribute import OPTIONAL, TRANSITIVE, AttributeMalformed, PathAttribute, register
from .attributes import Aggregator, As4Aggregator
from .errors import Action, UpdateSubcode
from .family import Context

AS_SET = 1
AS_SEQUENCE = 2
AS_CONFED_SEQUENCE = 3
AS_CONFED_SET = 4
AS_TRANS = 23456

_SEGMENT_NAMES = {
    AS_SET: "as-set",
    AS_SEQUENCE: "as-sequence",
    AS_CONFED_SEQUENCE: "confed-sequence",
    AS_CONFED_SET: "confed-set",
}
_SEGMENT_BY_NAME = {v: k for k, v in _SEGMENT_NAMES.items()}


class AsPathSegment(NamedTuple):
    type: int
    asns: tuple[int, ...]

    def __str__(self) -> str:
        body = " ".join(map(str, self.asns))
        if self.type == AS_SET:
            return "{" + body + "}"
        if self.type == AS_CONFED_SEQUENCE:
            return "(" + body + ")"
        if self.type == AS_CONFED_SET:
            return "[" + body + "]"
        return body


_AS4 = [struct.Struct(f"!{n}I") for n in range(256)]
_AS2 = [struct.Struct(f"!{n}H") for n in range(256)]
_new_tuple = tuple.__new__
_new_object = object.__new__
_set = object.__setattr__


def _decode_segments(value: bytes, width: int, name: str) -> tuple[AsPathSegment, ...]:
    n = len(value)
    if n > 2 and 0 < value[0] <= AS_CONFED_SET and n == 2 + value[1] * width:
        # the common case, one segment filling the attribute: one length test, one C call
        asns = (_AS4 if width == 4 else _AS2)[value[1]].unpack_from(value, 2)
        return (_new_tuple(AsPathSegment, (value[0], asns)),)
    segments: list[AsPathSegment] = []
    i = 0
    while i < n:
        if n - i < 2:
            raise AttributeMalformed(
                f"{name}: one octet left over after segment {len(segments)}",
                UpdateSubcode.MALFORMED_AS_PATH,
            )
        stype = value[i]
        count = value[i + 1]
        if stype not in _SEGMENT_NAMES:
            raise AttributeMalformed(
                f"{name}: segment {len(segments)} has unknown type {stype}",
                UpdateSubcode.MALFORMED_AS_PATH,
            )
        if count == 0:
            raise AttributeMalformed(
                f"{name}: segment {len(segments)} has length 0", UpdateSubcode.MALFORMED_AS_PATH
            )
        end = i + 2 + count * width
        if end > n:
            raise AttributeMalformed(
                f"{name}: segment {len(segments)} declares {count} ASes of {width} octets"
                f" ({count * width} octets), {n - i - 2} left",
                UpdateSubcode.MALFORMED_AS_PATH,
            )
        # one precompiled struct per (width, count): a single C call reads the whole segment
        asns = (_AS4 if width == 4 else _AS2)[count].unpack_from(value, i + 2)
        segments.append(_new_tuple(AsPathSegment, (stype, asns)))
        i = end
    return tuple(segments)


def _encode_segments(segments: tuple[AsPathSegment, ...], width: int) -> bytes:
    out = bytearray()
    for stype, asns in segments:
        if not asns:
            # RFC 7606 section 7.2: a segment of length 0 makes the whole AS_PATH malformed
            raise ValueError(f"AS path segment {_SEGMENT_NAMES.get(stype, stype)} has no AS")
        # a segment holds at most 255 ASes: longer runs are split (RFC 4271 section 5.1.2)
        for start in range(0, len(asns), 255):
            chunk = asns[start : start + 255]
            out += bytes((stype, len(chunk)))
            for asn in chunk:
                if width == 2 and asn > 0xFFFF:
                    asn = AS_TRANS
                out += asn.to_bytes(width, "big")
    return bytes(out)


@register
@dataclass(frozen=True, slots=True)
class AsPath(PathAttribute):
    TYPE_CODE: ClassVar[int] = 2
    NAME: ClassVar[str] = "AS_PATH"
    DEFAULT_FLAGS: ClassVar[int] = TRANSITIVE
    AS_WIDTH_DEPENDENT: ClassVar[bool] = True

    segments: tuple[AsPathSegment, ...] = ()
    flags: int = TRANSITIVE

    @classmethod
    def sequence(cls, *asns: int) -> AsPath:
        """The common case: one AS_SEQUENCE (an empty path for no ASes)."""
        return cls((AsPathSegment(AS_SEQUENCE, tuple(asns)),) if asns else ())

    @classmethod
    def parse(cls, text: str) -> AsPath:
        """``'65001 65002 {65010 65011}'``: ``{}`` is an AS_SET, ``()`` a confederation
        sequence, ``[]`` a confederation set."""
        segments: list[AsPathSegment] = []
        closing = {"{": ("}", AS_SET), "(": (")", AS_CONFED_SEQUENCE), "[": ("]", AS_CONFED_SET)}
        seq: list[int] = []
        spaced = text
        for ch in "{}()[]":
            spaced = spaced.replace(ch, f" {ch} ")
        tokens = spaced.split()
        i = 0
        while i < len(tokens):
            tok = tokens[i]
            if tok in closing:
                if seq:
                    segments.append(AsPathSegment(AS_SEQUENCE, tuple(seq)))
                    seq = []
                end, stype = closing[tok]
                try:
                    j = tokens.index(end, i)
                except ValueError:
                    raise ValueError(f"AS path {text!r}: {tok!r} is not closed") from None
                segments.append(
                    AsPathSegment(stype, tuple(_asn(t, text) for t in tokens[i + 1 : j]))
                )
                i = j + 1
                continue
            seq.append(_asn(tok, text))
            i += 1
        if seq:
            segments.append(AsPathSegment(AS_SEQUENCE, tuple(seq)))
        return cls(tuple(segments))

    @classmethod
    def decode_value(cls, value: bytes, flags: int, ctx: Context) -> AsPath:
        path = _new_object(cls)  # skip the frozen dataclass __init__: AS_PATH is hot
        _set(path, "segments", _decode_segments(value, 4 if ctx.asn4 else 2, cls.NAME))
        _set(path, "flags", flags)
        return path

    def encode_value(self, ctx: Context) -> bytes:
        return _encode_segments(self.segments, 4 if ctx.asn4 else 2)

    def json_value(self) -> Any:
        return [{"type": _SEGMENT_NAMES[s.type], "asns": list(s.asns)} for s in self.segments]

    def __str__(self) -> str:
        return " ".join(str(s) for s in self.segments)

    @property
    def asns(self) -> tuple[int, ...]:
        """Every AS in the path, in order, set members included."""
        return tuple(a for s in self.segments for a in s.asns)

    def path_length(self) -> int:
        """Length for best-path selection: an AS_SET counts 1, confederation segments 0."""
        n = 0
        for s in self.segments:
            if s.type == AS_SEQUENCE:
                n += len(s.asns)
            elif s.type == AS_SET:
                n += 1
        return n

    def first_asn(self) -> int | None:
        """The neighbouring AS (leftmost AS of a leading AS_SEQUENCE), if there is one."""
        for s in self.segments:
            if s.type == AS_SEQUENCE and s.asns:
                return s.asns[0]
            if s.type in (AS_CONFED_SEQUENCE, AS_CONFED_SET):
                continue
            return None
        return None

    def prepend(self, asn: int, count: int = 1) -> AsPath:
        if (
            self.segments
            and self.segments[0].type == AS_SEQUENCE
            and len(self.segments[0].asns) + count <= 255
        ):
            first = AsPathSegment(AS_SEQUENCE, (asn,) * count + self.segments[0].asns)
            return type(self)((first, *self.segments[1:]), self.flags)
        return type(self)((AsPathSegment(AS_SEQUENCE, (asn,) * count), *self.segments), self.flags)

    def needs_as4_path(self) -> bool:
        """True when a 2-octet encoding would lose information (some AS above 65535)."""
        return any(a > 0xFFFF for s in self.segments for a in s.asns)


def _asn(token: str, text: str) -> int:
    try:
        if "." in token:  # asdot
            hi, lo = token.split(".")
            value = (int(hi) << 16) | int(lo)
        else:
            value = int(token)
    except ValueError:
        raise ValueError(f"AS path {text!r}: {token!r} is not an AS number") from None
    if not 0 <= value <= 0xFFFFFFFF:
        raise ValueError(f"AS path {text!r}: {token} is out of range")
    return value


@register
@dataclass(frozen=True, slots=True)
class As4Path(AsPath):
    """AS4_PATH (RFC 6793): always 4-octet, sent beside a 2-octet AS_PATH."""

    TYPE_CODE: ClassVar[int] = 17
    NAME: ClassVar[str] = "AS4_PATH"
    DEFAULT_FLAGS: ClassVar[int] = OPTIONAL | TRANSITIVE
    MALFORMED_ACTION: ClassVar[Action] = Action.ATTRIBUTE_DISCARD
    AS_WIDTH_DEPENDENT: ClassVar[bool] = False

    segments: tuple[AsPathSegment, ...] = ()
    flags: int = OPTIONAL | TRANSITIVE

    @classmethod
    def decode_value(cls, value: bytes, flags: int, ctx: Context) -> As4Path:
        if len(value) < 6:
            # RFC 6793 section 6: too short to carry one AS number is malformed
            raise AttributeMalformed(
                f"AS4_PATH of {len(value)} octets cannot carry an AS number",
                UpdateSubcode.MALFORMED_AS_PATH,
            )
        # Confederation segments are not allowed here either, but RFC 6793 section 6 says to
        # drop those segments and go on, not to drop the attribute: they are kept as received
        # (the decode stays lossless) and merge_as4_path leaves them out.
        return cls(_decode_segments(value, 4, cls.NAME), flags)

    def encode_value(self, ctx: Context) -> bytes:
        if not self.segments:
            raise ValueError("an empty AS4_PATH is malformed (RFC 6793 section 6): leave it out")
        return _encode_segments(self.segments, 4)


def merge_as4_path(as_path: AsPath, as4_path: AsPath | None) -> AsPath:
    """Rebuild the real AS path from a 2-octet AS_PATH and an AS4_PATH (RFC 6793 section 4.2.3).

    When AS4_PATH is longer than AS_PATH it is ignored; otherwise the leading ASes of AS_PATH that
    AS4_PATH does not cover (added by 2-octet-only speakers) are kept in front of AS4_PATH.
    Confederation segments of AS_PATH do not count; one that leads AS_PATH or follows a kept
    segment is kept too. Confederation segments of AS4_PATH are dropped (section 6).
    """
    if as4_path is None or not as4_path.segments:
        return AsPath(as_path.segments, as_path.flags)
    have = as_path.path_length()
    want = as4_path.path_length()
    if want > have:
        return AsPath(as_path.segments, as_path.flags)
    keep = have - want
    lead: list[AsPathSegment] = []
    for seg in as_path.segments:
        if seg.type in (AS_CONFED_SEQUENCE, AS_CONFED_SET):
            # kept when leading or next to a kept segment, even if no AS is left to take
            lead.append(seg)
            continue
        if keep <= 0:
            break
        if seg.type == AS_SET:
            lead.append(seg)
            keep -= 1
        else:
            take = seg.asns[:keep]
            lead.append(AsPathSegment(AS_SEQUENCE, take))
            keep -= len(take)
    merged = list(lead)
    for seg in as4_path.segments:
        if seg.type in (AS_CONFED_SEQUENCE, AS_CONFED_SET):
            continue  # RFC 6793 section 6: discarded, the rest of AS4_PATH still applies
        if merged and merged[-1].type == AS_SEQUENCE and seg.type == AS_SEQUENCE:
            merged[-1] = AsPathSegment(AS_SEQUENCE, merged[-1].asns + seg.asns)
        else:
            merged.append(seg)
    return AsPath(tuple(merged), as_path.flags)


def merge_as4_aggregator(
    aggregator: Aggregator | None, as4_aggregator: As4Aggregator | None
) -> Aggregator | None:
    """RFC 6793 section 4.2.3: AS4_AGGREGATOR wins only when AGGREGATOR carries AS_TRANS; otherwise
    AS4_AGGREGATOR (and AS4_PATH) come from an old speaker's aggregation and are ignored."""
    if aggregator is None or as4_aggregator is None or aggregator.asn != AS_TRANS:
        return aggregator
    return Aggregator(as4_aggregator.asn, as4_aggregator.address, aggregator.flags)


def split_as4_path(as_path: AsPath) -> tuple[AsPath, As4Path | None]:
    """For a peer without 4-octet AS: the AS_PATH to encode (ASes above 65535 become AS_TRANS on
    the wire) and the AS4_PATH to send beside it, or None when nothing would be lost."""
    if not as_path.needs_as4_path():
        return as_path, None
    segments = tuple(s for s in as_path.segments if s.type in (AS_SET, AS_SEQUENCE))
    return as_path, As4Path(segments)
