"""The UPDATE message: framing of withdrawn routes, the attribute section and NLRI, and the
RFC 7606 rules that decide whether a bad UPDATE resets the session or only loses some routes.

Decoding is the hot path of a full-table transfer. Peers repeat the same attribute values across
thousands of UPDATEs, so decoded attributes (immutable) are shared through an
:class:`AttributeCache` keyed by their exact bytes; MP_REACH/MP_UNREACH carry NLRI and are never
cached.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from . import aspath as _aspath  # noqa: F401  (registers AS_PATH / AS4_PATH)
from . import bgpsec as _bgpsec  # noqa: F401  (registers BGPSEC_PATH)
from . import communities as _communities  # noqa: F401  (registers the community attributes)
from .attribute import (
    ATTRIBUTE_CLASSES,
    EXTENDED_LENGTH,
    OPTIONAL,
    TRANSITIVE,
    AttributeMalformed,
    PathAttribute,
    UnknownAttribute,
)
from .attributes import ClusterList, LocalPref, NextHop, Origin, OriginatorId
from .errors import Action, DecodeError, ErrorCode, UpdateSubcode, update_error
from .family import DEFAULT_CONTEXT, IPV4_UNICAST, Context, Family
from .message import UPDATE, Message
from .mpnlri import MpReachNlri, MpUnreachNlri
from .prefix import Prefix
from .prefix_run import PrefixRun, encode_run, run_class

_MP_REACH = 14
_MP_UNREACH = 15
_BGPSEC_PATH = 33
#: RFC 7606 sections 7.5, 7.9 and 7.10: from an external peer these attributes have no business
#: being there and a malformed one is discarded; from an internal peer it is treat-as-withdraw.
_DISCARDED_FROM_EBGP: frozenset[type[PathAttribute]] = frozenset(
    {LocalPref, OriginatorId, ClusterList}
)
_WELL_KNOWN_FLAGS_MASK = OPTIONAL | TRANSITIVE


class AttributeCache:
    """Decoded attributes by their exact wire bytes (bounded; cleared when full).

    Safe to share between sessions: decoded attributes are immutable and the key includes the
    AS width for the attributes whose value depends on it.
    """

    __slots__ = ("_as2", "_as4", "_sections2", "_sections4", "limit")

    def __init__(self, limit: int = 200_000) -> None:
        self.limit = limit
        self._as2: dict[bytes, PathAttribute] = {}
        self._as4: dict[bytes, PathAttribute] = {}
        # whole attribute sections that decoded cleanly, hold ORIGIN, AS_PATH and NEXT_HOP and
        # no MP_REACH/MP_UNREACH: the common IPv4 UPDATE decodes with one dict lookup
        self._sections2: dict[bytes, tuple[PathAttribute, ...]] = {}
        self._sections4: dict[bytes, tuple[PathAttribute, ...]] = {}

    def table(self, asn4: bool) -> dict[bytes, PathAttribute]:
        t = self._as4 if asn4 else self._as2
        if len(t) >= self.limit:
            t.clear()
        return t

    def sections(self, asn4: bool) -> dict[bytes, tuple[PathAttribute, ...]]:
        t = self._sections4 if asn4 else self._sections2
        if len(t) >= self.limit:
            t.clear()
        return t

    def __len__(self) -> int:
        return len(self._as2) + len(self._as4)


@dataclass(frozen=True, slots=True)
class Update(Message):
    """An UPDATE. ``withdrawn`` and ``nlri`` are the IPv4 unicast fields; other families travel
    in the MP_REACH_NLRI / MP_UNREACH_NLRI attributes. Attributes stay in wire order."""

    TYPE: ClassVar[int] = UPDATE

    withdrawn: Sequence[Prefix] = ()
    attributes: tuple[PathAttribute, ...] = ()
    nlri: Sequence[Prefix] = ()

    # --- access ---------------------------------------------------------------------------------

    def get(self, type_code: int) -> PathAttribute | None:
        for a in self.attributes:
            if a.type_code == type_code:
                return a
        return None

    @property
    def mp_reach(self) -> MpReachNlri | None:
        a = self.get(_MP_REACH)
        return a if isinstance(a, MpReachNlri) else None

    @property
    def mp_unreach(self) -> MpUnreachNlri | None:
        a = self.get(_MP_UNREACH)
        return a if isinstance(a, MpUnreachNlri) else None

    def end_of_rib(self) -> Family | None:
        """The family this UPDATE marks the End-of-RIB for (RFC 4724 section 2), else None."""
        if self.withdrawn or self.nlri:
            return None
        if not self.attributes:
            return IPV4_UNICAST
        if len(self.attributes) == 1:
            a = self.attributes[0]
            if isinstance(a, MpUnreachNlri) and not a.withdrawn:
                return a.family
        return None

    @classmethod
    def end_of_rib_marker(cls, family: Family) -> Update:
        if family == IPV4_UNICAST:
            return cls()
        return cls(attributes=(MpUnreachNlri(family.afi, family.safi, ()),))

    def path_attributes(self) -> tuple[PathAttribute, ...]:
        """The attributes that describe the announced routes (MP_REACH/UNREACH left out)."""
        return tuple(a for a in self.attributes if a.type_code not in (_MP_REACH, _MP_UNREACH))

    def announced(self) -> Iterator[tuple[Family, Prefix | bytes]]:
        """Every announced route: IPv4 NLRI, then MP_REACH NLRI (raw bytes for families whose
        NLRI is not decoded)."""
        for p in self.nlri:
            yield IPV4_UNICAST, p
        mp = self.mp_reach
        if mp is not None:
            fam = mp.family
            if isinstance(mp.nlri, bytes):
                if mp.nlri:
                    yield fam, mp.nlri
            else:
                for p in mp.nlri:
                    yield fam, p

    def withdrawals(self) -> Iterator[tuple[Family, Prefix | bytes]]:
        for p in self.withdrawn:
            yield IPV4_UNICAST, p
        mp = self.mp_unreach
        if mp is not None:
            fam = mp.family
            if isinstance(mp.withdrawn, bytes):
                if mp.withdrawn:
                    yield fam, mp.withdrawn
            else:
                for p in mp.withdrawn:
                    yield fam, p

    # --- codec ----------------------------------------------------------------------------------

    @classmethod
    def decode_body(
        cls, body: bytes, ctx: Context = DEFAULT_CONTEXT, cache: AttributeCache | None = None
    ) -> Update:
        return decode_update(body, ctx, cache)

    def encode_body(self, ctx: Context) -> bytes:
        add4 = IPV4_UNICAST in ctx.add_path
        w = encode_run(self.withdrawn, add4)
        a = b"".join([attr.encode(ctx) for attr in self.attributes])
        return (
            len(w).to_bytes(2, "big")
            + w
            + len(a).to_bytes(2, "big")
            + a
            + encode_run(self.nlri, add4)
        )

    def json_body(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.withdrawn:
            out["withdrawn"] = [p.to_json() for p in self.withdrawn]
        out["attributes"] = [a.to_json() for a in self.attributes]
        if self.nlri:
            out["nlri"] = [p.to_json() for p in self.nlri]
        eor = self.end_of_rib()
        if eor is not None:
            out["end_of_rib"] = str(eor)
        return out


_decode_run = PrefixRun.decode
_V4 = run_class(1, False)
_V4_ADD_PATH = run_class(1, True)
_set_withdrawn = Update.__dict__["withdrawn"].__set__
_set_attributes = Update.__dict__["attributes"].__set__
_set_nlri = Update.__dict__["nlri"].__set__
_new_object = object.__new__
_WELL_KNOWN_BITS = (1 << 1) | (1 << 2) | (1 << 3)  # ORIGIN, AS_PATH, NEXT_HOP
_MP_BITS = (1 << _MP_REACH) | (1 << _MP_UNREACH)


def _new_update(
    withdrawn: Sequence[Prefix], attributes: tuple[PathAttribute, ...], nlri: Sequence[Prefix]
) -> Update:
    """Update() without the frozen dataclass __init__ overhead (the decode hot path): the slot
    descriptors are set directly."""
    u: Update = _new_object(Update)
    _set_withdrawn(u, withdrawn)
    _set_attributes(u, attributes)
    _set_nlri(u, nlri)
    return u


def _malformed_list(reason: str, field: str, data: bytes = b"") -> DecodeError:
    return update_error(
        UpdateSubcode.MALFORMED_ATTRIBUTE_LIST, reason, field, Action.SESSION_RESET, data
    )


def decode_update(
    body: bytes, ctx: Context = DEFAULT_CONTEXT, cache: AttributeCache | None = None
) -> Update:
    """Decode an UPDATE body (after the 19-octet header).

    Raises :class:`DecodeError`. When the error's action is treat-as-withdraw or attribute-discard
    the error carries ``update``: the message with the bad attributes left out.

    The withdrawn routes and NLRI come back as :class:`PrefixRun` (checked here, Prefix objects
    made when iterated); MP_REACH/MP_UNREACH NLRI likewise.
    """
    if type(body) is not bytes:
        body = bytes(body)  # the decoded message keeps slices of it: never a mutable buffer
    n = len(body)
    if n < 4:
        raise _malformed_list(f"UPDATE body of {n} octets is shorter than 4", "update")
    wlen = (body[0] << 8) | body[1]
    if 2 + wlen + 2 > n:
        raise _malformed_list(
            f"withdrawn routes length {wlen} runs past the message ({n - 4} octets left)",
            "update.withdrawn_length",
        )
    add4 = bool(ctx.add_path) and IPV4_UNICAST in ctx.add_path
    withdrawn = _decode_run(body[2 : 2 + wlen], 1, add4, "update.withdrawn") if wlen else ()
    apos = 4 + wlen
    alen = (body[apos - 2] << 8) | body[apos - 1]
    aend = apos + alen
    if aend > n:
        raise _malformed_list(
            f"total path attribute length {alen} runs past the message ({n - apos} octets left)",
            "update.attributes_length",
        )
    nlri: Sequence[Prefix] = ()
    if aend < n:
        # PrefixRun.decode inlined for the common case (a well-formed canonical field); the
        # call is a measurable part of an UPDATE that hits the attribute cache
        raw = body[aend:]
        kind = _V4_ADD_PATH if add4 else _V4
        if kind._match(raw) is not None:
            run = _new_object(kind)
            run._raw = raw
            nlri = run
        else:
            nlri = _decode_run(raw, 1, add4, "update.nlri")
    if not alen:
        if nlri:
            raise DecodeError(
                ErrorCode.UPDATE_MESSAGE,
                UpdateSubcode.MISSING_WELL_KNOWN_ATTRIBUTE,
                "NLRI without path attributes: ORIGIN is missing",
                field="update.attributes",
                data=b"\x01",
                action=Action.TREAT_AS_WITHDRAW,
                update=Update(withdrawn, (), nlri),
            )
        return Update(withdrawn, (), nlri)

    sections = None
    if cache is not None:
        sections = cache._sections4 if ctx.asn4 else cache._sections2
        hit = sections.get(body[apos:aend])
        if hit is not None:
            return _new_update(withdrawn, hit, nlri)

    attrs, error, codes = _decode_attributes(body, apos, aend, ctx, cache)
    if error is None or error.action < Action.SESSION_RESET:
        mp_codes = codes & _MP_BITS
        if (
            sections is not None
            and error is None
            and not mp_codes
            and codes & _WELL_KNOWN_BITS == _WELL_KNOWN_BITS
        ):
            t = tuple(attrs)
            if len(sections) >= cache.limit:  # type: ignore[union-attr]
                sections.clear()
            sections[body[apos:aend]] = t
            return _new_update(withdrawn, t, nlri)
        mp = None
        if mp_codes:
            for a in attrs:
                if isinstance(a, MpReachNlri):
                    mp = a
        if nlri or (mp is not None and mp.nlri):
            missing = [c for c in (1, 2) if not codes & (1 << c)]
            if codes & (1 << _BGPSEC_PATH) and 2 in missing:
                # RFC 8205 section 4: a BGPsec UPDATE carries BGPsec_PATH instead of AS_PATH
                missing.remove(2)
            if nlri and not codes & (1 << 3):
                missing.append(3)
            if missing:
                miss = update_error(
                    UpdateSubcode.MISSING_WELL_KNOWN_ATTRIBUTE,
                    "missing well-known attribute "
                    + ", ".join({1: "ORIGIN", 2: "AS_PATH", 3: "NEXT_HOP"}[c] for c in missing),
                    "update.attributes",
                    Action.TREAT_AS_WITHDRAW,
                    bytes((missing[0],)),
                )
                if error is None or miss.action > error.action:
                    error = miss
    if error is not None:
        if error.action < Action.SESSION_RESET:
            error.update = Update(withdrawn, tuple(attrs), nlri)
        raise error
    return _new_update(withdrawn, tuple(attrs), nlri)


def decode_path_attributes(
    data: bytes,
    ctx: Context = DEFAULT_CONTEXT,
    rib_family: Family | None = None,
    cache: AttributeCache | None = None,
) -> tuple[PathAttribute, ...]:
    """Decode a bare attribute section (MRT RIB entries, BMP). With ``rib_family`` set, an
    MP_REACH_NLRI is read in the abbreviated TABLE_DUMP_V2 form (RFC 6396 section 4.3.4): next
    hop only, for that family. Any malformed attribute raises :class:`DecodeError` whose
    ``update`` holds the attributes that did decode."""
    attrs, error, _ = _decode_attributes(data, 0, len(data), ctx, cache, rib_family)
    if error is not None:
        error.update = Update((), tuple(attrs), ())
        raise error
    return tuple(attrs)


def _decode_attributes(
    body: bytes,
    i: int,
    end: int,
    ctx: Context,
    cache: AttributeCache | None,
    rib_family: Family | None = None,
) -> tuple[list[PathAttribute], DecodeError | None, int]:
    """Decode the attribute section ``body[i:end]``; return the good attributes, the most
    severe error (RFC 7606 section 3: keep going so a worse error later wins) and the type codes
    of the attributes kept, as a bit mask (bit ``1 << code``).

    The loop is the decode hot path: an attribute whose exact bytes are in the cache costs a
    slice and a dict lookup; everything else (first sight, errors) is :func:`_decode_one`.
    """
    attrs: list[PathAttribute] = []
    append = attrs.append
    seen = 0  # type codes met so far, kept or not
    dropped = 0  # type codes met whose attribute was discarded
    worst: DecodeError | None = None
    table: dict[bytes, PathAttribute] | None = None
    get = None
    limit = 0
    if cache is not None:
        table = cache._as4 if ctx.asn4 else cache._as2
        get = table.get
        limit = cache.limit
    start = i
    while i < end:
        try:
            if body[i] & EXTENDED_LENGTH:
                vend = i + 4 + ((body[i + 2] << 8) | body[i + 3])
            else:
                vend = i + 3 + body[i + 2]
        except IndexError:
            vend = end + 1  # the header itself is cut short: reported below
        if vend > end:
            err = _overrun(body, i, end, _index_at(body, start, i))
            return attrs, _worse(worst, err), seen & ~dropped
        code = body[i + 1]
        bit = 1 << code
        raw = body[i:vend]
        i = vend
        if seen & bit:
            if bit & _MP_BITS:
                where = _where(_index_at(body, start, i) - 1, code)
                err = _malformed_list(f"{_name(code)} appears more than once", where, raw)
                return attrs, err, seen & ~dropped
            continue  # RFC 7606 section 3g: later copies of any other attribute are discarded
        seen |= bit
        if get is not None:
            # MP_REACH/MP_UNREACH are never cached (they carry the routes), so never found
            hit = get(raw)
            if hit is not None:
                append(hit)
                continue
        attr, failed = _decode_one(raw, code, ctx, rib_family, body, start, i)
        if failed is not None:
            dropped |= bit
            worst = _worse(worst, failed)
            if failed.action == Action.SESSION_RESET:
                return attrs, worst, seen & ~dropped
            continue
        assert attr is not None
        if table is not None and not bit & _MP_BITS:
            if len(table) >= limit:
                table.clear()
            table[raw] = attr
        append(attr)
    return attrs, worst, seen & ~dropped


def _index_at(body: bytes, start: int, pos: int) -> int:
    """How many attributes begin in ``body[start:pos]`` (for error messages only)."""
    index = 0
    i = start
    while i < pos:
        index += 1
        if body[i] & EXTENDED_LENGTH:
            i += 4 + ((body[i + 2] << 8) | body[i + 3]) if i + 3 < len(body) else pos
        else:
            i += 3 + body[i + 2] if i + 2 < len(body) else pos
    return index


def _overrun(body: bytes, i: int, end: int, index: int) -> DecodeError:
    """The error for an attribute at ``i`` whose header or value runs past ``end``."""
    if end - i < 3 or (body[i] & EXTENDED_LENGTH and end - i < 4):
        return update_error(
            UpdateSubcode.MALFORMED_ATTRIBUTE_LIST,
            f"{end - i} octets left: too few for an attribute header",
            f"update.attributes[{index}]",
            Action.TREAT_AS_WITHDRAW,
        )
    code = body[i + 1]
    if body[i] & EXTENDED_LENGTH:
        vlen = (body[i + 2] << 8) | body[i + 3]
        vstart = i + 4
    else:
        vlen = body[i + 2]
        vstart = i + 3
    # RFC 7606 section 4: rely on the total attribute length to find the NLRI. But an
    # MP_REACH/MP_UNREACH cut short hides routes that treat-as-withdraw cannot withdraw
    # (section 3, last paragraph): session reset.
    mp = code in (_MP_REACH, _MP_UNREACH)
    return update_error(
        UpdateSubcode.ATTRIBUTE_LENGTH_ERROR,
        f"value length {vlen} runs past the attribute section ({end - vstart} octets left)",
        _where(index, code),
        Action.SESSION_RESET if mp else Action.TREAT_AS_WITHDRAW,
        body[i:end],
    )


def _decode_one(
    raw: bytes,
    code: int,
    ctx: Context,
    rib_family: Family | None,
    body: bytes,
    start: int,
    after: int,
) -> tuple[PathAttribute | None, DecodeError | None]:
    """One attribute (its whole wire form ``raw``) that was not in the cache: the attribute, or
    the error that RFC 7606 makes of it. ``body[start:after]`` is the section up to and
    including it, to name its position in an error."""
    flags = raw[0]
    value = raw[4:] if flags & EXTENDED_LENGTH else raw[3:]
    cls = ATTRIBUTE_CLASSES.get(code)
    if cls is None:
        if not flags & OPTIONAL:
            return None, update_error(
                UpdateSubcode.UNRECOGNIZED_WELL_KNOWN_ATTRIBUTE,
                f"well-known attribute type {code} is not recognised",
                _where(_index_at(body, start, after) - 1, code),
                Action.SESSION_RESET,
                raw,
            )
        return UnknownAttribute(code, value, flags), None
    action = cls.MALFORMED_ACTION
    if not ctx.ibgp and cls in _DISCARDED_FROM_EBGP:
        action = Action.ATTRIBUTE_DISCARD
    if (flags & _WELL_KNOWN_FLAGS_MASK) != (cls.DEFAULT_FLAGS & _WELL_KNOWN_FLAGS_MASK):
        return None, update_error(
            UpdateSubcode.ATTRIBUTE_FLAGS_ERROR,
            f"flags 0x{flags:02x} conflict with {cls.NAME}'s"
            f" (optional={bool(cls.DEFAULT_FLAGS & OPTIONAL)},"
            f" transitive={bool(cls.DEFAULT_FLAGS & TRANSITIVE)})",
            _where(_index_at(body, start, after) - 1, code),
            action,
            raw,
        )
    try:
        if rib_family is not None and code == _MP_REACH:
            return MpReachNlri.decode_abbreviated(value, rib_family, flags), None
        return cls.decode_value(value, flags, ctx), None
    except AttributeMalformed as e:
        where = _where(_index_at(body, start, after) - 1, code)
        return None, update_error(e.subcode, e.reason, where, action, raw)


def _name(code: int) -> str:
    cls = ATTRIBUTE_CLASSES.get(code)
    return cls.NAME if cls is not None else f"type {code}"


def _where(index: int, code: int) -> str:
    """The error's field name, built only when there is an error (this loop is hot)."""
    return f"update.attributes[{index}]({_name(code)})"


def _worse(a: DecodeError | None, b: DecodeError) -> DecodeError:
    return b if a is None or b.action > a.action else a


def build_update(
    *,
    nlri: Sequence[Prefix] = (),
    withdrawn: Sequence[Prefix] = (),
    attributes: tuple[PathAttribute, ...] | list[PathAttribute] = (),
) -> Update:
    """An UPDATE with MP_REACH_NLRI / MP_UNREACH_NLRI first (RFC 7606 section 5.1: so that a
    receiver finds the routes even when a later attribute is malformed), then the others by
    type code (RFC 4271 section 5 recommends it)."""

    def order(a: PathAttribute) -> tuple[bool, int]:
        return (a.type_code not in (_MP_REACH, _MP_UNREACH), a.type_code)

    return Update(tuple(withdrawn), tuple(sorted(attributes, key=order)), tuple(nlri))


__all__ = [
    "AttributeCache",
    "LocalPref",
    "NextHop",
    "Origin",
    "Update",
    "build_update",
    "decode_path_attributes",
    "decode_update",
]
