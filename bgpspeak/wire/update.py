"""The UPDATE message: framing of withdrawn routes, the attribute section and NLRI, and the
RFC 7606 rules that decide whether a bad UPDATE resets the session or only loses some routes.

Decoding is the hot path of a full-table transfer. Peers repeat the same attribute values across
thousands of UPDATEs, so decoded attributes (immutable) are shared through an
:class:`AttributeCache` keyed by their exact bytes; MP_REACH/MP_UNREACH carry NLRI and are never
cached.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import FrozenInstanceError
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
from .family import DEFAULT_CONTEXT, IPV4_UNICAST, PREFIX_FAMILIES, Context, Family
from .message import UPDATE, Message
from .mpnlri import _NH_LENGTHS, MpReachNlri, MpUnreachNlri
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

    __slots__ = ("_as2", "_as4", "_checked2", "_checked4", "_sections2", "_sections4", "limit")

    def __init__(self, limit: int = 200_000) -> None:
        self.limit = limit
        self._as2: dict[bytes, PathAttribute] = {}
        self._as4: dict[bytes, PathAttribute] = {}
        # whole attribute sections that decoded cleanly, hold ORIGIN, AS_PATH and NEXT_HOP and
        # no MP_REACH/MP_UNREACH: the common IPv4 UPDATE decodes with one dict lookup
        self._sections2: dict[bytes, tuple[PathAttribute, ...]] = {}
        self._sections4: dict[bytes, tuple[PathAttribute, ...]] = {}
        # the lazy decode's: sections (without MP_REACH/MP_UNREACH) already validated, with
        # the type codes they hold as a bit mask; a repeated section costs one lookup
        self._checked2: dict[bytes, int] = {}
        self._checked4: dict[bytes, int] = {}

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


class Update(Message):
    """An UPDATE. ``withdrawn`` and ``nlri`` are the IPv4 unicast fields; other families travel
    in the MP_REACH_NLRI / MP_UNREACH_NLRI attributes. Attributes stay in wire order.

    Immutable, compared and hashed by its three fields (like the frozen dataclass it was).
    A decoded UPDATE is *validated but lazy*: :func:`decode_update` checks every attribute and
    NLRI field completely (a malformed one raises then, with its RFC 7606 action) but keeps the
    attribute section and the IPv4 NLRI fields as their bytes, and makes the attribute objects
    and the :class:`PrefixRun` of ``withdrawn`` / ``nlri`` on first access (then keeps them).
    Each decoded UPDATE is thus one object for the garbage collector until it is looked at.
    """

    __slots__ = ("_attributes", "_cache", "_ctx", "_nlri", "_withdrawn")

    TYPE: ClassVar[int] = UPDATE

    # a tuple (or any sequence given to __init__), or the attribute section's bytes (lazy)
    _attributes: tuple[PathAttribute, ...] | bytes
    # a sequence of prefixes, or an IPv4 field's validated canonical bytes (lazy)
    _withdrawn: Sequence[Prefix] | bytes
    _nlri: Sequence[Prefix] | bytes
    # what a lazy update needs to make its objects (None when built from objects)
    _ctx: Context | None
    _cache: AttributeCache | None

    def __init__(
        self,
        withdrawn: Sequence[Prefix] = (),
        attributes: tuple[PathAttribute, ...] = (),
        nlri: Sequence[Prefix] = (),
    ) -> None:
        if isinstance(withdrawn, bytes | bytearray) or isinstance(nlri, bytes | bytearray):
            raise TypeError("Update withdrawn/nlri are sequences of Prefix, not bytes")
        if isinstance(attributes, bytes | bytearray):
            raise TypeError("Update attributes are a tuple of PathAttribute, not bytes")
        _set_withdrawn(self, withdrawn)
        _set_attributes(self, attributes)
        _set_nlri(self, nlri)
        _set_ctx(self, None)
        _set_cache(self, None)

    @property
    def withdrawn(self) -> Sequence[Prefix]:
        w = self._withdrawn
        if type(w) is bytes:
            w = _lazy_run(w, self._ctx)
            _set_withdrawn(self, w)
        return w  # type: ignore[return-value]

    @property
    def nlri(self) -> Sequence[Prefix]:
        n = self._nlri
        if type(n) is bytes:
            n = _lazy_run(n, self._ctx)
            _set_nlri(self, n)
        return n  # type: ignore[return-value]

    @property
    def attributes(self) -> tuple[PathAttribute, ...]:
        a = self._attributes
        if type(a) is bytes:
            a = _materialize(a, self._ctx, self._cache)
            _set_attributes(self, a)
        return a  # type: ignore[return-value]

    @property
    def materialized(self) -> bool:
        """Whether the attribute objects exist yet (False for a decoded UPDATE nobody has
        looked at: its attributes are validated bytes until first access)."""
        return type(self._attributes) is not bytes

    def __setattr__(self, name: str, value: object) -> None:
        raise FrozenInstanceError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise FrozenInstanceError(f"cannot delete field {name!r}")

    def _fields(self) -> tuple[Sequence[Prefix], tuple[PathAttribute, ...], Sequence[Prefix]]:
        return (self.withdrawn, self.attributes, self.nlri)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is self.__class__:
            assert isinstance(other, Update)
            return self._fields() == other._fields()
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._fields())

    def __repr__(self) -> str:
        return (
            f"Update(withdrawn={self.withdrawn!r}, attributes={self.attributes!r},"
            f" nlri={self.nlri!r})"
        )

    def __reduce__(self) -> tuple[Any, ...]:
        return (Update, self._fields())

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
_set_withdrawn = Update.__dict__["_withdrawn"].__set__
_set_attributes = Update.__dict__["_attributes"].__set__
_set_nlri = Update.__dict__["_nlri"].__set__
_set_ctx = Update.__dict__["_ctx"].__set__
_set_cache = Update.__dict__["_cache"].__set__
_new_object = object.__new__
_WELL_KNOWN_BITS = (1 << 1) | (1 << 2) | (1 << 3)  # ORIGIN, AS_PATH, NEXT_HOP
_MP_BITS = (1 << _MP_REACH) | (1 << _MP_UNREACH)


def _new_update(
    withdrawn: Sequence[Prefix], attributes: tuple[PathAttribute, ...], nlri: Sequence[Prefix]
) -> Update:
    """Update() without the __init__ checks (the decode hot path): the slots are set directly."""
    u: Update = _new_object(Update)
    _set_withdrawn(u, withdrawn)
    _set_attributes(u, attributes)
    _set_nlri(u, nlri)
    _set_ctx(u, None)
    _set_cache(u, None)
    return u


def _run(raw: bytes, kind: type[PrefixRun]) -> PrefixRun | tuple[()]:
    """The PrefixRun of an IPv4 field's validated canonical bytes (``()`` for none)."""
    if not raw:
        return ()
    run = _new_object(kind)
    run._raw = raw
    return run


def _lazy_run(raw: bytes, ctx: Context | None) -> PrefixRun | tuple[()]:
    add4 = ctx is not None and IPV4_UNICAST in ctx.add_path
    return _run(raw, _V4_ADD_PATH if add4 else _V4)


def _canonical(raw: bytes, add4: bool, field: str) -> bytes:
    """An IPv4 field the fast check did not accept: the careful decoder raises on a malformed
    one and clears host bits of a good one; its canonical bytes."""
    run = _decode_run(raw, 1, add4, field)
    return run._raw if isinstance(run, PrefixRun) else b""


def _materialize(
    section: bytes, ctx: Context | None, cache: AttributeCache | None
) -> tuple[PathAttribute, ...]:
    """The attribute objects of a section :func:`_check_section` accepted (so the careful
    decoder cannot fail on it); shared through the cache like an eager decode's."""
    assert ctx is not None
    sections = None
    if cache is not None:
        sections = cache.sections(ctx.asn4)
        hit = sections.get(section)
        if hit is not None:
            return hit
    attrs, error, codes = _decode_attributes(section, 0, len(section), ctx, cache)
    if error is not None:  # pragma: no cover - the property tests prove this unreachable
        raise RuntimeError(f"bgpspeak bug: a validated attribute section failed: {error}")
    t = tuple(attrs)
    if (
        sections is not None
        and not codes & _MP_BITS
        and codes & _WELL_KNOWN_BITS == _WELL_KNOWN_BITS
    ):
        sections[section] = t
    return t


def _malformed_list(reason: str, field: str, data: bytes = b"") -> DecodeError:
    return update_error(
        UpdateSubcode.MALFORMED_ATTRIBUTE_LIST, reason, field, Action.SESSION_RESET, data
    )


def decode_update(
    body: bytes,
    ctx: Context = DEFAULT_CONTEXT,
    cache: AttributeCache | None = None,
    *,
    lazy: bool = True,
) -> Update:
    """Decode an UPDATE body (after the 19-octet header).

    Raises :class:`DecodeError`. When the error's action is treat-as-withdraw or attribute-discard
    the error carries ``update``: the message with the bad attributes left out.

    Everything is validated here, whatever ``lazy`` says: an UPDATE that returns is one the
    eager decoder accepts, and every error is raised now. With ``lazy`` (the default) a
    well-formed UPDATE keeps its attribute section and IPv4 NLRI fields as bytes and makes the
    objects on first access (see :class:`Update`); ``lazy=False`` makes them all now. Either
    way the withdrawn routes and NLRI come back as :class:`PrefixRun` (Prefix objects made when
    iterated); MP_REACH/MP_UNREACH NLRI likewise.
    """
    if type(body) is not bytes:
        body = bytes(body)  # the decoded message keeps slices of it: never a mutable buffer
    return _decode_update(body, 0, ctx, cache, lazy)


def _decode_update(
    msg: bytes, s: int, ctx: Context, cache: AttributeCache | None, lazy: bool
) -> Update:
    """:func:`decode_update` of the body ``msg[s:]`` (``s`` is 19 for a whole message: no copy
    of the body is made)."""
    n = len(msg)
    if n - s < 4:
        raise _malformed_list(f"UPDATE body of {n - s} octets is shorter than 4", "update")
    wlen = (msg[s] << 8) | msg[s + 1]
    wend = s + 2 + wlen
    if wend + 2 > n:
        raise _malformed_list(
            f"withdrawn routes length {wlen} runs past the message ({n - s - 4} octets left)",
            "update.withdrawn_length",
        )
    add4 = bool(ctx.add_path) and IPV4_UNICAST in ctx.add_path
    kind = _V4_ADD_PATH if add4 else _V4
    # the IPv4 fields are checked by one regular expression match each (the careful decoder
    # only when it fails: it names the error, or clears host bits) and kept as bytes
    wraw = b""
    if wlen:
        wraw = msg[s + 2 : wend]
        if kind._match(wraw) is None:
            wraw = _canonical(wraw, add4, "update.withdrawn")
    apos = wend + 2
    alen = (msg[wend] << 8) | msg[wend + 1]
    aend = apos + alen
    if aend > n:
        raise _malformed_list(
            f"total path attribute length {alen} runs past the message ({n - apos} octets left)",
            "update.attributes_length",
        )
    nraw = b""
    if aend < n:
        nraw = msg[aend:]
        if kind._match(nraw) is None:
            nraw = _canonical(nraw, add4, "update.nlri")
    if not alen:
        if nraw:
            nlri = _run(nraw, kind)
            raise DecodeError(
                ErrorCode.UPDATE_MESSAGE,
                UpdateSubcode.MISSING_WELL_KNOWN_ATTRIBUTE,
                "NLRI without path attributes: ORIGIN is missing",
                field="update.attributes",
                data=b"\x01",
                action=Action.TREAT_AS_WITHDRAW,
                update=Update(_run(wraw, kind), (), nlri),
            )
        return _new_update(_run(wraw, kind), (), ())

    section = msg[apos:aend]
    if lazy:
        checked = None
        codes = None
        if cache is not None:
            checked = cache._checked4 if ctx.asn4 else cache._checked2
            codes = checked.get(section)
        if codes is None:
            codes = _check_section(msg, apos, aend, ctx)
            if checked is not None and codes >= 0 and not codes & _MP_BITS:
                if len(checked) >= cache.limit:  # type: ignore[union-attr]
                    checked.clear()
                checked[section] = codes
        if codes >= 0 and (not nraw or codes & _WELL_KNOWN_BITS == _WELL_KNOWN_BITS):
            u: Update = _new_object(Update)
            _set_withdrawn(u, wraw or ())
            _set_attributes(u, section)
            _set_nlri(u, nraw or ())
            _set_ctx(u, ctx)
            _set_cache(u, cache)
            return u
        # not proven good by the quick checks: the careful decoder decides (and names the error)

    withdrawn = _run(wraw, kind)
    nlri = _run(nraw, kind)
    sections = None
    if cache is not None:
        sections = cache._sections4 if ctx.asn4 else cache._sections2
        hit = sections.get(section)
        if hit is not None:
            return _new_update(withdrawn, hit, nlri)

    attrs, error, codes = _decode_attributes(msg, apos, aend, ctx, cache)
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
            sections[section] = t
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


# --- the validating pass of the lazy decode ----------------------------------------------------
#
# For each registered attribute code: the flags its class requires (optional and transitive
# bits), what to check of the value, and a parameter. Every check is at least as strict as the
# class's decode_value: a section _check_section accepts is one _decode_attributes decodes
# without error, which the property tests compare on random sections.

_K_LEN = 0  # exactly `param` octets
_K_MULTIPLE = 1  # a positive multiple of `param` octets
_K_ORIGIN = 2  # one octet, 0..2
_K_PATH = 3  # AS path segments, `param` octets per AS
_K_PATH4 = 4  # AS4_PATH: at least 6 octets, segments of 4-octet ASes
_K_REACH = 5  # MP_REACH_NLRI
_K_UNREACH = 6  # MP_UNREACH_NLRI
_K_DECODE = 7  # anything else: decoded (and dropped) to check it


def _check_rules(asn4: bool) -> dict[int, tuple[int, int, int]]:
    from .aspath import As4Path, AsPath
    from .attributes import (
        Aggregator,
        As4Aggregator,
        AtomicAggregate,
        MultiExitDisc,
        OnlyToCustomer,
    )
    from .communities import Communities, ExtendedCommunities, LargeCommunities

    known: dict[type[PathAttribute], tuple[int, int]] = {
        Origin: (_K_ORIGIN, 0),
        AsPath: (_K_PATH, 4 if asn4 else 2),
        NextHop: (_K_LEN, 4),
        MultiExitDisc: (_K_LEN, 4),
        LocalPref: (_K_LEN, 4),
        AtomicAggregate: (_K_LEN, 0),
        Aggregator: (_K_LEN, 8 if asn4 else 6),
        Communities: (_K_MULTIPLE, 4),
        OriginatorId: (_K_LEN, 4),
        ClusterList: (_K_MULTIPLE, 4),
        MpReachNlri: (_K_REACH, 0),
        MpUnreachNlri: (_K_UNREACH, 0),
        ExtendedCommunities: (_K_MULTIPLE, 8),
        As4Path: (_K_PATH4, 4),
        As4Aggregator: (_K_LEN, 8),
        LargeCommunities: (_K_MULTIPLE, 12),
        OnlyToCustomer: (_K_LEN, 4),
    }
    rules = {}
    for code, cls in ATTRIBUTE_CLASSES.items():
        kind, param = known.get(cls, (_K_DECODE, 0))
        rules[code] = (cls.DEFAULT_FLAGS & _WELL_KNOWN_FLAGS_MASK, kind, param)
    return rules


_RULES = {True: _check_rules(True), False: _check_rules(False)}


def _lit(*octets: int) -> bytes:
    return b"".join(b"\\x%02x" % o for o in octets)


def _flags_class(required: int, extended: bool) -> bytes:
    """The flag octets the careful decoder accepts for an attribute whose class wants
    ``required`` (optional and transitive bits), with or without Extended Length."""
    ok = [required | low for low in range(64) if bool(low & EXTENDED_LENGTH) == extended]
    return b"[" + b"".join(_lit(v) for v in ok) + b"]"


def _attribute_pattern(code: int, values: dict[int, bytes]) -> bytes:
    """One attribute of type ``code`` whose value is ``values[length]`` for one of the
    lengths given (all under 256; both length forms)."""
    cls = ATTRIBUTE_CLASSES[code]
    required = cls.DEFAULT_FLAGS & _WELL_KNOWN_FLAGS_MASK
    body = b"|".join(_lit(n) + p for n, p in values.items())
    return (
        b"(?:"
        + _flags_class(required, False)
        + _lit(code)
        + b"(?:"
        + body
        + b")|"
        + _flags_class(required, True)
        + _lit(code, 0)
        + b"(?:"
        + body
        + b"))"
    )


def _section_pattern(asn4: bool) -> re.Pattern[bytes]:
    """The common attribute section as one regular expression: ORIGIN, AS_PATH (empty or one
    segment) and NEXT_HOP, then any of the other fixed-shape attributes, each at most once and
    in type code order (as RFC 4271 recommends and real speakers send), every value of a valid
    length. A section it matches is one the careful decoder accepts, with the three attributes
    an IPv4 NLRI needs and no MP_REACH/MP_UNREACH; anything else goes to the attribute loop."""
    width = 4 if asn4 else 2

    def fixed(n: int) -> dict[int, bytes]:
        return {n: b".{%d}" % n} if n else {0: b""}

    def multiple(k: int) -> dict[int, bytes]:
        return {n: b".{%d}" % n for n in range(k, 256, k)}

    def path(w: int, empty: bool) -> dict[int, bytes]:
        out = {0: b""} if empty else {}
        for c in range(1, (255 - 2) // w + 1):
            out[2 + c * w] = b"[\\x01-\\x04]" + _lit(c) + b".{%d}" % (c * w)
        return out

    parts = [
        (1, {1: b"[\\x00-\\x02]"}),
        (2, path(width, True)),
        (3, fixed(4)),
        (4, fixed(4)),
        (5, fixed(4)),
        (6, fixed(0)),
        (7, fixed(8 if asn4 else 6)),
        (8, multiple(4)),
        (9, fixed(4)),
        (10, multiple(4)),
        (16, multiple(8)),
        (17, path(4, False)),
        (18, fixed(8)),
        (32, multiple(12)),
        (35, fixed(4)),
    ]
    out = []
    for code, values in parts:
        one = _attribute_pattern(code, values)
        out.append(one if code <= 3 else one + b"?")
    return re.compile(b"".join(out), re.DOTALL)


_SECTION_PATTERNS: dict[bool, Callable[[bytes, int, int], object]] = {}


def _section_match(asn4: bool) -> Callable[[bytes, int, int], object]:
    """The fullmatch of :func:`_section_pattern`, compiled on first use."""
    m = _SECTION_PATTERNS.get(asn4)
    if m is None:
        m = _SECTION_PATTERNS[asn4] = _section_pattern(asn4).fullmatch
    return m


def _segments_ok(b: bytes, i: int, end: int, width: int) -> bool:
    """``b[i:end]`` is a whole run of AS path segments (known type, at least one AS each)."""
    while i < end:
        if end - i < 2 or not 0 < b[i] <= 4 or not b[i + 1]:
            return False
        i += 2 + b[i + 1] * width
    return i == end


def _check_section(msg: bytes, i: int, end: int, ctx: Context) -> int:
    """The type codes (bit mask) of the attribute section ``msg[i:end]`` when the careful
    decoder would decode it without any error (MP_REACH NLRI needing ORIGIN and AS_PATH
    included); -1 when that is not proven (malformed, or unusual enough to leave to it)."""
    asn4 = ctx.asn4
    match = _SECTION_PATTERNS.get(asn4) or _section_match(asn4)
    if match(msg, i, end) is not None:
        return _WELL_KNOWN_BITS
    rules = _RULES[asn4]
    seen = 0
    mp_nlri = False
    start = i
    while i < end:
        h = i
        flags = msg[i]
        if flags & EXTENDED_LENGTH:
            if end - i < 4:
                return -1
            v = i + 4
            vend = v + ((msg[i + 2] << 8) | msg[i + 3])
        else:
            if end - i < 3:
                return -1
            v = i + 3
            vend = v + msg[i + 2]
        if vend > end:
            return -1
        code = msg[i + 1]
        bit = 1 << code
        i = vend
        if seen & bit:
            if bit & _MP_BITS:
                return -1
            continue  # a later copy: discarded unread, as the careful decoder does
        seen |= bit
        rule = rules.get(code)
        if rule is None:
            if code in ATTRIBUTE_CLASSES:  # registered after this module was imported
                rule = (0, _K_DECODE, 0)
            elif flags & OPTIONAL:
                continue  # kept as UnknownAttribute
            else:
                return -1  # unrecognised well-known attribute
        want, kind, param = rule
        if kind != _K_DECODE and flags & _WELL_KNOWN_FLAGS_MASK != want:
            return -1
        n = vend - v
        if kind == _K_PATH:
            # one segment filling the attribute (the common case), else walk the segments
            if not (n > 2 and 0 < msg[v] <= 4 and n == 2 + msg[v + 1] * param) and not (
                _segments_ok(msg, v, vend, param)
            ):
                return -1
        elif kind == _K_LEN:
            if n != param:
                return -1
        elif kind == _K_MULTIPLE:
            if not n or n % param:
                return -1
        elif kind == _K_ORIGIN:
            if n != 1 or msg[v] > 2:
                return -1
        elif kind == _K_REACH:
            if n < 5:
                return -1
            afi = (msg[v] << 8) | msg[v + 1]
            key = (afi, msg[v + 2])
            nhlen = msg[v + 3]
            nl = v + 5 + nhlen
            if nl > vend:
                return -1
            if key in PREFIX_FAMILIES:
                if nhlen not in _NH_LENGTHS[afi]:
                    return -1
                if nl < vend:
                    if run_class(afi, key in ctx.add_path)._match(msg[nl:vend]) is None:
                        return -1
                    mp_nlri = True
            elif nl < vend:
                mp_nlri = True
        elif kind == _K_UNREACH:
            if n < 3:
                return -1
            afi = (msg[v] << 8) | msg[v + 1]
            key = (afi, msg[v + 2])
            if (
                key in PREFIX_FAMILIES
                and n > 3
                and run_class(afi, key in ctx.add_path)._match(msg[v + 3 : vend]) is None
            ):
                return -1
        elif kind == _K_PATH4:
            if n < 6 or not _segments_ok(msg, v, vend, 4):
                return -1
        else:
            _, failed = _decode_one(msg[h:vend], code, ctx, None, msg, start, vend)
            if failed is not None:
                return -1
    if mp_nlri and (not seen & (1 << 1) or not seen & ((1 << 2) | (1 << _BGPSEC_PATH))):
        return -1
    return seen


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
