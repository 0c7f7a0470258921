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
from .prefix_run import PrefixRun, encode_run

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


_set = object.__setattr__
_decode_run = PrefixRun.decode


def _new_update(
    withdrawn: Sequence[Prefix], attributes: tuple[PathAttribute, ...], nlri: Sequence[Prefix]
) -> Update:
    """Update() without the frozen dataclass __init__ overhead (the decode hot path)."""
    u = object.__new__(Update)
    _set(u, "withdrawn", withdrawn)
    _set(u, "attributes", attributes)
    _set(u, "nlri", nlri)
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
    """
    n = len(body)
    if n < 4:
        raise _malformed_list(f"UPDATE body of {n} octets is shorter than 4", "update")
    wlen = (body[0] << 8) | body[1]
    if 2 + wlen + 2 > n:
        raise _malformed_list(
            f"withdrawn routes length {wlen} runs past the message ({n - 4} octets left)",
            "update.withdrawn_length",
        )
    add4 = IPV4_UNICAST in ctx.add_path
    withdrawn = _decode_run(body[2 : 2 + wlen], 1, add4, "update.withdrawn") if wlen else ()
    apos = 4 + wlen
    alen = (body[apos - 2] << 8) | body[apos - 1]
    aend = apos + alen
    if aend > n:
        raise _malformed_list(
            f"total path attribute length {alen} runs past the message ({n - apos} octets left)",
            "update.attributes_length",
        )
    nlri = _decode_run(body[aend:], 1, add4, "update.nlri") if aend < n else ()
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
        sections = cache.sections(ctx.asn4)
        hit = sections.get(body[apos:aend])
        if hit is not None:
            return _new_update(withdrawn, hit, nlri)

    attrs, error, codes = _decode_attributes(body, apos, aend, ctx, cache)
    if error is None or error.action < Action.SESSION_RESET:
        mp_codes = _MP_REACH in codes or _MP_UNREACH in codes
        if sections is not None and error is None and not mp_codes and {1, 2, 3} <= codes:
            t = tuple(attrs)
            sections[body[apos:aend]] = t
            return _new_update(withdrawn, t, nlri)
        mp = None
        if mp_codes:
            for a in attrs:
                if isinstance(a, MpReachNlri):
                    mp = a
        if nlri or (mp is not None and mp.nlri):
            missing = [c for c in (1, 2) if c not in codes]
            if _BGPSEC_PATH in codes and 2 in missing:
                # RFC 8205 section 4: a BGPsec UPDATE carries BGPsec_PATH instead of AS_PATH
                missing.remove(2)
            if nlri and 3 not in codes:
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
) -> tuple[list[PathAttribute], DecodeError | None, set[int]]:
    """Decode the attribute section ``body[i:end]``; return the good attributes, the most
    severe error (RFC 7606 section 3: keep going so a worse error later wins) and the type codes
    of the attributes kept."""
    attrs: list[PathAttribute] = []
    seen: set[int] = set()
    kept: set[int] = set()
    worst: DecodeError | None = None
    table = cache.table(ctx.asn4) if cache is not None else None
    classes = ATTRIBUTE_CLASSES
    index = 0
    while i < end:
        if end - i < 3 or (body[i] & EXTENDED_LENGTH and end - i < 4):
            err = update_error(
                UpdateSubcode.MALFORMED_ATTRIBUTE_LIST,
                f"{end - i} octets left: too few for an attribute header",
                f"update.attributes[{index}]",
                Action.TREAT_AS_WITHDRAW,
            )
            return attrs, _worse(worst, err), kept
        flags = body[i]
        code = body[i + 1]
        if flags & EXTENDED_LENGTH:
            vlen = (body[i + 2] << 8) | body[i + 3]
            vstart = i + 4
        else:
            vlen = body[i + 2]
            vstart = i + 3
        vend = vstart + vlen
        if vend > end:
            # RFC 7606 section 4: rely on the total attribute length to find the NLRI. But an
            # MP_REACH/MP_UNREACH cut short hides routes that treat-as-withdraw cannot withdraw
            # (section 3, last paragraph): session reset.
            mp = code in (_MP_REACH, _MP_UNREACH)
            err = update_error(
                UpdateSubcode.ATTRIBUTE_LENGTH_ERROR,
                f"value length {vlen} runs past the attribute section ({end - vstart} octets left)",
                _where(index, code),
                Action.SESSION_RESET if mp else Action.TREAT_AS_WITHDRAW,
                body[i:end],
            )
            return attrs, _worse(worst, err), kept
        raw = body[i:vend]
        i = vend
        index += 1
        if code in seen:
            if code in (_MP_REACH, _MP_UNREACH):
                where = _where(index - 1, code)
                err = _malformed_list(f"{_name(code)} appears more than once", where, raw)
                return attrs, err, kept
            continue  # RFC 7606 section 3g: later copies of any other attribute are discarded
        seen.add(code)
        if table is not None and code != _MP_REACH and code != _MP_UNREACH:
            hit = table.get(raw)
            if hit is not None:
                attrs.append(hit)
                kept.add(code)
                continue
        cls = classes.get(code)
        if cls is None:
            if not flags & OPTIONAL:
                err = update_error(
                    UpdateSubcode.UNRECOGNIZED_WELL_KNOWN_ATTRIBUTE,
                    f"well-known attribute type {code} is not recognised",
                    _where(index - 1, code),
                    Action.SESSION_RESET,
                    raw,
                )
                return attrs, err, kept
            attr: PathAttribute = UnknownAttribute(code, raw[len(raw) - vlen :], flags)
        else:
            action = cls.MALFORMED_ACTION
            if not ctx.ibgp and cls in _DISCARDED_FROM_EBGP:
                action = Action.ATTRIBUTE_DISCARD
            if (flags & _WELL_KNOWN_FLAGS_MASK) != (cls.DEFAULT_FLAGS & _WELL_KNOWN_FLAGS_MASK):
                err = update_error(
                    UpdateSubcode.ATTRIBUTE_FLAGS_ERROR,
                    f"flags 0x{flags:02x} conflict with {cls.NAME}'s"
                    f" (optional={bool(cls.DEFAULT_FLAGS & OPTIONAL)},"
                    f" transitive={bool(cls.DEFAULT_FLAGS & TRANSITIVE)})",
                    _where(index - 1, code),
                    action,
                    raw,
                )
                worst = _worse(worst, err)
                if err.action == Action.SESSION_RESET:
                    return attrs, worst, kept
                continue
            try:
                if rib_family is not None and code == _MP_REACH:
                    attr = MpReachNlri.decode_abbreviated(raw[len(raw) - vlen :], rib_family, flags)
                else:
                    attr = cls.decode_value(raw[len(raw) - vlen :], flags, ctx)
            except AttributeMalformed as e:
                err = update_error(e.subcode, e.reason, _where(index - 1, code), action, raw)
                worst = _worse(worst, err)
                if err.action == Action.SESSION_RESET:
                    return attrs, worst, kept
                continue
            if table is not None and code != _MP_REACH and code != _MP_UNREACH:
                table[raw] = attr
        attrs.append(attr)
        kept.add(code)
    return attrs, worst, kept


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
