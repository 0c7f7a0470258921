"""Hypothesis strategies that build BGP messages as objects, for the codec's property tests.

Every strategy here builds *canonical* objects: the ones the decoder itself would produce from
their encoding. The codec normalises a few things on the way in (host bits of prefixes are
cleared, an attribute longer than 255 octets always gets the Extended Length flag, an AS above
65535 becomes AS_TRANS in a 2-octet AS_PATH, ...), so a non-canonical object cannot come back
equal from a round trip even though nothing is wrong. Each such constraint is commented where it
is applied, so a reader can tell a deliberate restriction from an accident.

Strategies that depend on the negotiated session take a :class:`Context`: the AS width decides
which AS numbers fit, and ADD-PATH decides whether prefixes carry a path identifier.
"""

from __future__ import annotations

import dataclasses
import ipaddress
from collections.abc import Callable

from hypothesis import assume
from hypothesis import strategies as st

from bgpspeak.wire import (
    ATTRIBUTE_CLASSES,
    CAPABILITY_CLASSES,
    EXTENDED_LENGTH,
    IPV4_UNICAST,
    IPV6_UNICAST,
    OPTIONAL,
    PARTIAL,
    TRANSITIVE,
    AddPath,
    AddPathEntry,
    Aggregator,
    As4Aggregator,
    As4Path,
    AsPath,
    AsPathSegment,
    AtomicAggregate,
    BgpRole,
    BgpsecPath,
    CapabilitiesParameter,
    Capability,
    CeaseSubcode,
    ClusterList,
    Communities,
    Context,
    EnhancedRouteRefresh,
    ExtendedCommunities,
    ExtendedMessage,
    ExtendedNextHop,
    ExtendedNextHopEntry,
    Family,
    FourOctetAs,
    Fqdn,
    GracefulRestart,
    GracefulRestartFamily,
    Keepalive,
    LargeCommunities,
    LlgrFamily,
    LocalPref,
    LongLivedGracefulRestart,
    Message,
    MpReachNlri,
    MpUnreachNlri,
    MultiExitDisc,
    Multiprotocol,
    NextHop,
    Notification,
    OnlyToCustomer,
    Open,
    Origin,
    OriginatorId,
    PathAttribute,
    Prefix,
    Role,
    RouteRefresh,
    RouteRefreshCapability,
    RouteRefreshCisco,
    SecurePathSegment,
    SignatureBlock,
    SignatureSegment,
    SoftwareVersion,
    UnknownAttribute,
    UnknownCapability,
    UnknownParameter,
    Update,
)
from bgpspeak.wire.open import Parameter

IPV4_MULTICAST = Family(1, 2)
IPV6_MULTICAST = Family(2, 2)
#: Families whose NLRI the codec decodes into Prefix tuples.
PREFIX_FAMILIES = (IPV4_UNICAST, IPV6_UNICAST, IPV4_MULTICAST, IPV6_MULTICAST)
#: Families whose NLRI the codec keeps as raw bytes (VPN, labeled, EVPN, VPLS, flowspec, BGP-LS).
RAW_FAMILIES = (
    Family(1, 128),
    Family(2, 128),
    Family(1, 4),
    Family(2, 4),
    Family(25, 70),
    Family(25, 65),
    Family(1, 133),
    Family(16388, 71),
)
ALL_FAMILIES = PREFIX_FAMILIES + RAW_FAMILIES

#: Attribute type codes the codec has no class for: they decode to UnknownAttribute.
UNKNOWN_ATTRIBUTE_CODES = tuple(c for c in range(256) if c not in ATTRIBUTE_CLASSES)
#: Capability codes the codec has no class for: they decode to UnknownCapability.
UNKNOWN_CAPABILITY_CODES = tuple(c for c in range(256) if c not in CAPABILITY_CLASSES)

u8 = st.integers(0, 0xFF)
u16 = st.integers(0, 0xFFFF)
u24 = st.integers(0, 0xFFFFFF)
u32 = st.integers(0, 0xFFFFFFFF)
u64 = st.integers(0, (1 << 64) - 1)
ipv4 = st.builds(ipaddress.IPv4Address, u32)


# --- session contexts ------------------------------------------------------------------------


def contexts() -> st.SearchStrategy[Context]:
    """Every combination the codec cares about: AS width, ADD-PATH per family (including a
    raw-NLRI family, whose bytes must pass untouched), extended messages, iBGP/eBGP."""
    return st.builds(
        Context,
        asn4=st.booleans(),
        add_path=st.frozensets(st.sampled_from((*PREFIX_FAMILIES, RAW_FAMILIES[0]))),
        extended_message=st.booleans(),
        ibgp=st.booleans(),
    )


def asns(ctx: Context) -> st.SearchStrategy[int]:
    # In a 2-octet session the encoder writes any AS above 65535 as AS_TRANS (RFC 6793), so only
    # ASes that fit round trip there.
    return u32 if ctx.asn4 else u16


# --- prefixes --------------------------------------------------------------------------------


@st.composite
def prefixes(draw: st.DrawFn, afi: int, with_path_id: bool) -> Prefix:
    """A prefix of ``afi`` with its host bits cleared: the decoder clears them (RFC 4271 calls
    them irrelevant), so a prefix with host bits set cannot come back equal. A path id is
    present exactly when ADD-PATH is on for the family: without ADD-PATH the encoder drops it,
    with ADD-PATH a missing one goes out as 0 and comes back as 0, not None."""
    bits = 32 if afi == 1 else 128
    length = draw(st.integers(0, bits))
    addr = draw(st.integers(0, (1 << bits) - 1))
    addr &= ((1 << bits) - 1) ^ ((1 << (bits - length)) - 1)
    path_id = draw(u32) if with_path_id else None
    return Prefix(afi, addr, length, path_id)


def prefix_lists(
    family: Family, ctx: Context, max_size: int = 6
) -> st.SearchStrategy[list[Prefix]]:
    return st.lists(prefixes(family.afi, family in ctx.add_path), max_size=max_size)


# --- path attributes -------------------------------------------------------------------------


def attribute_flags(cls: type[PathAttribute]) -> st.SearchStrategy[int]:
    """Flags a decoder accepts for ``cls``: its Optional and Transitive bits as the RFC says
    (other values are flag errors), with any Partial, Extended Length and unused low bits."""
    base = cls.DEFAULT_FLAGS & (OPTIONAL | TRANSITIVE)
    return st.builds(
        lambda extra, low: base | extra | low,
        st.sampled_from((0, PARTIAL, EXTENDED_LENGTH, PARTIAL | EXTENDED_LENGTH)),
        st.integers(0, 0x0F),
    )


def canonical_flags(attr: PathAttribute, ctx: Context) -> PathAttribute:
    """Set Extended Length when the value needs it: the encoder sets it on any value over 255
    octets and the decoder keeps the flags it read, so without it the object would not come
    back equal."""
    if len(attr.encode_value(ctx)) > 255 and not attr.flags & EXTENDED_LENGTH:
        return dataclasses.replace(attr, flags=attr.flags | EXTENDED_LENGTH)  # type: ignore[type-var]
    return attr


def segments(
    asn: st.SearchStrategy[int], types: tuple[int, ...], max_segments: int = 4
) -> st.SearchStrategy[tuple[AsPathSegment, ...]]:
    # A segment holds 1..255 ASes on the wire: an empty one is malformed (RFC 7606 7.2) and the
    # encoder splits a longer run into several segments, so neither comes back as built.
    segment = st.builds(
        AsPathSegment,
        st.sampled_from(types),
        st.one_of(
            st.lists(asn, min_size=1, max_size=12).map(tuple),
            st.lists(asn, min_size=250, max_size=255).map(tuple),
        ),
    )
    return st.lists(segment, max_size=max_segments).map(tuple)


def _small_segments(
    asn: st.SearchStrategy[int], types: tuple[int, ...], min_segments: int = 0
) -> st.SearchStrategy[tuple[AsPathSegment, ...]]:
    segment = st.builds(
        AsPathSegment, st.sampled_from(types), st.lists(asn, min_size=1, max_size=12).map(tuple)
    )
    return st.lists(segment, min_size=min_segments, max_size=4).map(tuple)


def as_paths(ctx: Context) -> st.SearchStrategy[AsPath]:
    """AS_PATH with every segment type; mostly short, sometimes with a full 255-AS segment."""
    segs = st.one_of(
        _small_segments(asns(ctx), (1, 2, 3, 4)),
        segments(asns(ctx), (1, 2, 3, 4), max_segments=2),
    )
    return st.builds(AsPath, segs, attribute_flags(AsPath))


def as4_paths() -> st.SearchStrategy[As4Path]:
    # Confederation segments are dropped from AS4_PATH and an empty one is malformed (RFC 6793
    # section 6; the encoder refuses it), so only 1..4 SET/SEQUENCE segments round-trip.
    return st.builds(As4Path, _small_segments(u32, (1, 2), 1), attribute_flags(As4Path))


@st.composite
def bgpsec_paths(draw: st.DrawFn) -> BgpsecPath:
    """BGPsec_PATH (RFC 8205) with one or two signature blocks, each holding exactly one
    signature per Secure_Path segment (the decoder rejects any other count); SKIs are 20
    octets and signatures are not empty."""
    path = draw(
        st.lists(st.builds(SecurePathSegment, u8, u8, u32), min_size=1, max_size=4).map(tuple)
    )
    signature = st.builds(
        SignatureSegment, st.binary(min_size=20, max_size=20), st.binary(min_size=1, max_size=80)
    )
    blocks = draw(
        st.lists(
            st.builds(
                SignatureBlock,
                u8,
                st.lists(signature, min_size=len(path), max_size=len(path)).map(tuple),
            ),
            min_size=1,
            max_size=2,
        ).map(tuple)
    )
    return BgpsecPath(path, blocks, draw(attribute_flags(BgpsecPath)))


def _next_hop(family: Family) -> st.SearchStrategy[bytes]:
    if family.afi == 1 and family in PREFIX_FAMILIES:
        # IPv4 next hop, or an IPv6 one (RFC 8950), global or global + link-local
        return st.sampled_from((4, 16, 32)).flatmap(lambda n: st.binary(min_size=n, max_size=n))
    if family in PREFIX_FAMILIES:
        # the decoder only accepts 16 or 32 octets for IPv6 families
        return st.sampled_from((16, 32)).flatmap(lambda n: st.binary(min_size=n, max_size=n))
    # families with raw NLRI: the next hop field is kept as it came (any length, even 0)
    return st.binary(max_size=48)


def _nlri(family: Family, ctx: Context) -> st.SearchStrategy[tuple[Prefix, ...] | bytes]:
    # A family's NLRI decodes to a Prefix tuple or stays bytes, never the other way round, so
    # the strategy must pick the form the decoder will: bytes for b"" too (not ()).
    if family in PREFIX_FAMILIES:
        return prefix_lists(family, ctx).map(tuple)
    return st.binary(max_size=64)


@st.composite
def mp_reach(draw: st.DrawFn, ctx: Context) -> MpReachNlri:
    family = draw(st.sampled_from(ALL_FAMILIES))
    return MpReachNlri(
        family.afi,
        family.safi,
        draw(_next_hop(family)),
        draw(_nlri(family, ctx)),
        draw(u8),
        draw(attribute_flags(MpReachNlri)),
    )


@st.composite
def mp_unreach(draw: st.DrawFn, ctx: Context) -> MpUnreachNlri:
    family = draw(st.sampled_from(ALL_FAMILIES))
    return MpUnreachNlri(
        family.afi, family.safi, draw(_nlri(family, ctx)), draw(attribute_flags(MpUnreachNlri))
    )


def unknown_attributes() -> st.SearchStrategy[UnknownAttribute]:
    # Any flags, as long as Optional is set: an unrecognised *well-known* attribute is a session
    # reset (RFC 4271 6.3), so it has no object form to round trip.
    flags = st.builds(lambda low: OPTIONAL | low, st.integers(0, 0x7F))
    return st.builds(
        UnknownAttribute,
        st.sampled_from(UNKNOWN_ATTRIBUTE_CODES),
        st.one_of(st.binary(max_size=40), st.binary(min_size=250, max_size=300)),
        flags,
    )


def attribute_strategies(ctx: Context) -> dict[int, st.SearchStrategy[PathAttribute]]:
    """One strategy per attribute type code the codec knows, plus -1 for unknown attributes."""
    F = attribute_flags
    # COMMUNITIES, EXTENDED_COMMUNITIES, LARGE_COMMUNITY and CLUSTER_LIST must not be empty
    # (RFC 7606 sections 7.8, 7.10, 7.14; RFC 8092 section 6).
    table: dict[int, st.SearchStrategy[PathAttribute]] = {
        1: st.builds(Origin, st.integers(0, 2), F(Origin)),
        2: as_paths(ctx),
        3: st.builds(NextHop, ipv4, F(NextHop)),
        4: st.builds(MultiExitDisc, u32, F(MultiExitDisc)),
        5: st.builds(LocalPref, u32, F(LocalPref)),
        6: st.builds(AtomicAggregate, F(AtomicAggregate)),
        7: st.builds(Aggregator, asns(ctx), ipv4, F(Aggregator)),
        8: st.builds(
            Communities,
            st.one_of(
                st.lists(u32, min_size=1, max_size=8), st.lists(u32, min_size=60, max_size=80)
            ).map(tuple),
            F(Communities),
        ),
        9: st.builds(OriginatorId, ipv4, F(OriginatorId)),
        10: st.builds(
            ClusterList, st.lists(ipv4, min_size=1, max_size=5).map(tuple), F(ClusterList)
        ),
        14: mp_reach(ctx),
        15: mp_unreach(ctx),
        16: st.builds(
            ExtendedCommunities,
            st.lists(u64, min_size=1, max_size=6).map(tuple),
            F(ExtendedCommunities),
        ),
        17: as4_paths(),
        18: st.builds(As4Aggregator, u32, ipv4, F(As4Aggregator)),
        33: bgpsec_paths(),
        32: st.builds(
            LargeCommunities,
            st.lists(st.tuples(u32, u32, u32), min_size=1, max_size=6).map(tuple),
            F(LargeCommunities),
        ),
        35: st.builds(OnlyToCustomer, u32, F(OnlyToCustomer)),
        -1: unknown_attributes(),
    }
    missing = set(ATTRIBUTE_CLASSES) - set(table)
    assert not missing, f"no strategy for attribute codes {sorted(missing)}"
    return table


def _announces(attrs: list[PathAttribute]) -> bool:
    return any(isinstance(a, MpReachNlri) and a.nlri for a in attrs)


@st.composite
def updates(draw: st.DrawFn, ctx: Context, max_prefixes: int = 6) -> Update:
    """An UPDATE that decodes without error in ``ctx``.

    Attribute type codes are unique (the decoder silently drops later copies, RFC 7606 3g) and,
    when routes are announced, ORIGIN and AS_PATH are present, plus NEXT_HOP for IPv4 NLRI
    (otherwise the decoder reports treat-as-withdraw). Attribute order is arbitrary: the wire
    order is kept.
    """
    withdrawn = draw(prefix_lists(IPV4_UNICAST, ctx, max_prefixes))
    nlri = draw(prefix_lists(IPV4_UNICAST, ctx, max_prefixes))
    table = attribute_strategies(ctx)
    codes = draw(st.lists(st.sampled_from(sorted(table)), max_size=8, unique=True))
    attrs = [draw(table[c]) for c in codes]
    # unknown attributes may have drawn the same code twice; keep the first of each code
    seen: set[int] = set()
    unique = []
    for a in attrs:
        if a.type_code not in seen:
            seen.add(a.type_code)
            unique.append(a)
    attrs = unique
    if 33 in seen:
        # RFC 8205 section 3: BGPsec_PATH replaces AS_PATH (and AS4_PATH); never both
        attrs = [a for a in attrs if a.type_code not in (2, 17)]
    if nlri or _announces(attrs):
        needed = [1] + ([] if 33 in seen else [2]) + ([3] if nlri else [])
        attrs += [draw(table[c]) for c in needed if c not in seen]
    attrs = [canonical_flags(a, ctx) for a in draw(st.permutations(attrs))]
    update = Update(tuple(withdrawn), tuple(attrs), tuple(nlri))
    assume(fits(update, ctx))
    return update


def fits(msg: Message, ctx: Context) -> bool:
    """True when ``msg`` encodes within the session's size limits."""
    try:
        msg.encode(ctx)
    except ValueError:
        return False
    return True


# --- OPEN ------------------------------------------------------------------------------------


def _text_octets(max_size: int) -> st.SearchStrategy[str]:
    # FQDN and software version text is decoded with surrogateescape so any octets survive; a
    # str built from octets that way is canonical, an arbitrary str is not (lone surrogates that
    # happen to spell valid UTF-8 come back as the real character).
    return st.binary(max_size=max_size).map(lambda b: b.decode("utf-8", "surrogateescape"))


def _families_u8() -> st.SearchStrategy[tuple[int, int]]:
    return st.one_of(st.sampled_from([tuple(f) for f in ALL_FAMILIES]), st.tuples(u16, u8))


def capabilities() -> st.SearchStrategy[Capability]:
    """Every capability class the codec knows, and unknown capability codes with any value.
    Every capability value fits its one-octet length (at most 255 octets)."""
    fam = _families_u8()
    strategies: dict[int, st.SearchStrategy[Capability]] = {
        1: st.builds(lambda f, r: Multiprotocol(f[0], f[1], r), fam, st.one_of(st.just(0), u8)),
        2: st.just(RouteRefreshCapability()),
        5: st.builds(
            ExtendedNextHop,
            st.lists(st.builds(ExtendedNextHopEntry, u16, u16, u16), max_size=8).map(tuple),
        ),
        6: st.just(ExtendedMessage()),
        9: st.builds(Role, st.one_of(st.sampled_from(list(BgpRole)), u8)),
        64: st.builds(
            GracefulRestart,
            st.integers(0, 15),  # 4 bits of restart flags
            st.integers(0, 0xFFF),  # 12 bits of restart time
            st.lists(
                st.builds(lambda f, fl: GracefulRestartFamily(f[0], f[1], fl), fam, u8),
                max_size=8,
            ).map(tuple),
        ),
        65: st.builds(FourOctetAs, u32),
        69: st.builds(
            AddPath,
            st.lists(st.builds(lambda f, d: AddPathEntry(f[0], f[1], d), fam, u8), max_size=8).map(
                tuple
            ),
        ),
        70: st.just(EnhancedRouteRefresh()),
        71: st.builds(
            LongLivedGracefulRestart,
            st.lists(
                st.builds(lambda f, fl, t: LlgrFamily(f[0], f[1], fl, t), fam, u8, u24),
                max_size=8,
            ).map(tuple),
        ),
        73: st.builds(Fqdn, _text_octets(120), _text_octets(120)),
        75: st.builds(SoftwareVersion, _text_octets(254)),
        128: st.just(RouteRefreshCisco()),
        -1: st.builds(
            UnknownCapability,
            st.sampled_from(UNKNOWN_CAPABILITY_CODES),
            st.one_of(st.binary(max_size=16), st.binary(min_size=200, max_size=255)),
        ),
    }
    missing = set(CAPABILITY_CLASSES) - set(strategies)
    assert not missing, f"no strategy for capability codes {sorted(missing)}"
    return st.one_of(*strategies.values())


def unknown_parameters() -> st.SearchStrategy[UnknownParameter]:
    # Type 2 is the capabilities parameter (decoded as such), and 255 is reserved by RFC 9072
    # to flag the extended encoding: a non-extended OPEN whose first parameter had type 255 and
    # whose parameters were 255 octets long would be read as extended.
    ptype = st.integers(0, 254).filter(lambda t: t != 2)
    return st.builds(UnknownParameter, ptype, st.binary(max_size=24))


def _param_len(p: Parameter) -> int:
    return len(p.encode_value())


@st.composite
def opens(draw: st.DrawFn) -> Open:
    """OPENs with capabilities grouped the ways real speakers do it: all in one parameter,
    one per parameter, or any split, with unknown parameters mixed in; RFC 9072 extended
    parameters when asked for and whenever the regular encoding cannot hold them."""
    caps = draw(st.lists(capabilities(), max_size=12))
    shape = draw(st.sampled_from(("one", "each", "split")))
    groups: list[list[Capability]]
    if shape == "one":
        groups = [caps]
    elif shape == "each":
        groups = [[c] for c in caps]
    else:
        groups = []
        for c in caps:
            if not groups or draw(st.booleans()):
                groups.append([])
            groups[-1].append(c)
    params: list[Parameter] = [CapabilitiesParameter(tuple(g)) for g in groups]
    for p in draw(st.lists(unknown_parameters(), max_size=2)):
        params.insert(draw(st.integers(0, len(params))), p)
    extended = draw(st.booleans())
    too_big = any(_param_len(p) > 255 for p in params) or (
        sum(2 + _param_len(p) for p in params) > 255
    )
    msg = Open(
        draw(u16),
        draw(u16),
        draw(ipv4),
        tuple(params),
        draw(st.one_of(st.just(4), u8)),
        extended or too_big,
    )
    assume(fits(msg, Context()))
    return msg


# --- NOTIFICATION, KEEPALIVE, ROUTE-REFRESH ----------------------------------------------------


def notifications(ctx: Context) -> st.SearchStrategy[Notification]:
    limit = ctx.max_message_length - 21
    plain = st.builds(Notification, u8, u8, st.binary(max_size=min(limit, 64)))
    shutdown = st.builds(
        Notification.cease,
        st.sampled_from((CeaseSubcode.ADMINISTRATIVE_SHUTDOWN, CeaseSubcode.ADMINISTRATIVE_RESET)),
        st.text(max_size=300),
    )
    return st.one_of(plain, shutdown)


def route_refreshes() -> st.SearchStrategy[RouteRefresh]:
    # Begin/End-of-RIB-refresh (subtypes 1 and 2) must be exactly 4 octets long (RFC 7313
    # section 5), so only the other subtypes carry ORF entries.
    return st.one_of(
        st.builds(RouteRefresh, u16, u8, st.sampled_from((1, 2))),
        st.builds(
            RouteRefresh, u16, u8, u8.filter(lambda s: s not in (1, 2)), st.binary(max_size=40)
        ),
    )


def keepalives() -> st.SearchStrategy[Keepalive]:
    return st.just(Keepalive())


def messages(ctx: Context) -> st.SearchStrategy[Message]:
    """Any message type that decodes cleanly in ``ctx``."""
    return st.one_of(opens(), updates(ctx), notifications(ctx), keepalives(), route_refreshes())


def with_context(
    build: Callable[[Context], st.SearchStrategy[Message]],
) -> st.SearchStrategy[tuple[Context, Message]]:
    """(ctx, message) pairs, the message built for that context."""
    return contexts().flatmap(lambda c: st.tuples(st.just(c), build(c)))
