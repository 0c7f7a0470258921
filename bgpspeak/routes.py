"""Routes as users write them, and the path attributes they become on the wire.

A :class:`Route` says what to announce in the terms an operator uses (a prefix, a next hop or
``"self"``, communities as text). :func:`export_attributes` turns it into the attribute tuple for
one peer, applying the rules of RFC 4271 section 5 that depend on the session (our AS prepended
toward external peers, LOCAL_PREF only toward internal ones, next hop ``self``).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, field

from .wire.aspath import AsPath, split_as4_path
from .wire.attribute import PathAttribute
from .wire.attributes import LocalPref, MultiExitDisc, NextHop, Origin, OriginValue
from .wire.communities import (
    Communities,
    ExtendedCommunities,
    LargeCommunities,
    parse_community,
    parse_ext_community,
    parse_large_community,
)
from .wire.family import IPV4_UNICAST, IPV6_UNICAST, Family
from .wire.prefix import Prefix

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_ORIGINS = {"igp": OriginValue.IGP, "egp": OriginValue.EGP, "incomplete": OriginValue.INCOMPLETE}


@dataclass(frozen=True)
class Route:
    """A route to announce.

    ``next_hop`` is an address or ``"self"`` (the local address of each peer's session, or the
    peer's configured ``next_hop_self_v4`` / ``next_hop_self_v6``). For IPv6, ``link_local`` adds
    a link-local next hop beside the global one (RFC 2545), as FRR expects from on-link peers.
    ``as_path`` holds the ASes after ours (we prepend our AS toward external peers).
    """

    prefix: Prefix
    next_hop: IPAddress | str = "self"
    as_path: tuple[int, ...] = ()
    origin: str = "igp"
    med: int | None = None
    local_pref: int | None = None
    communities: tuple[int, ...] = ()
    large_communities: tuple[tuple[int, int, int], ...] = ()
    extended_communities: tuple[int, ...] = ()
    link_local: ipaddress.IPv6Address | None = None
    path_id: int | None = None
    extra: tuple[PathAttribute, ...] = field(default=())

    def __post_init__(self) -> None:
        if self.origin not in _ORIGINS:
            raise ValueError(f"origin: {self.origin!r} is not igp, egp or incomplete")
        if isinstance(self.next_hop, str) and self.next_hop != "self":
            raise ValueError(f"next_hop: {self.next_hop!r} is neither an address nor 'self'")
        if self.med is not None and not 0 <= self.med <= 0xFFFFFFFF:
            raise ValueError(f"med: {self.med} is out of range")
        if self.local_pref is not None and not 0 <= self.local_pref <= 0xFFFFFFFF:
            raise ValueError(f"local_pref: {self.local_pref} is out of range")

    @classmethod
    def make(
        cls,
        prefix: str | Prefix,
        next_hop: str | IPAddress = "self",
        *,
        as_path: Iterable[int] = (),
        origin: str = "igp",
        med: int | None = None,
        local_pref: int | None = None,
        communities: Iterable[str | int] = (),
        large_communities: Iterable[str | tuple[int, int, int]] = (),
        extended_communities: Iterable[str | int] = (),
        link_local: str | ipaddress.IPv6Address | None = None,
        path_id: int | None = None,
    ) -> Route:
        """The friendly constructor: text where text is natural (``'65000:1'``, ``'no-export'``,
        ``'target:65000:7'``, ``'65000:1:2'``, ``'2001:db8::/32'``)."""
        p = prefix if isinstance(prefix, Prefix) else Prefix.parse(prefix)
        nh: IPAddress | str = next_hop
        if isinstance(next_hop, str) and next_hop != "self":
            nh = ipaddress.ip_address(next_hop)
        return cls(
            prefix=p if path_id is None else p.with_path_id(path_id),
            next_hop=nh,
            as_path=tuple(as_path),
            origin=origin,
            med=med,
            local_pref=local_pref,
            communities=tuple(c if isinstance(c, int) else parse_community(c) for c in communities),
            large_communities=tuple(
                c if isinstance(c, tuple) else parse_large_community(c) for c in large_communities
            ),
            extended_communities=tuple(
                c if isinstance(c, int) else parse_ext_community(c) for c in extended_communities
            ),
            link_local=ipaddress.IPv6Address(link_local) if link_local is not None else None,
            path_id=path_id,
        )

    @property
    def family(self) -> Family:
        """IPv4 or IPv6 unicast, from the prefix."""
        return IPV4_UNICAST if self.prefix.afi == 1 else IPV6_UNICAST


@dataclass(frozen=True, slots=True)
class ExportContext:
    """What the export rules need to know about one peer's session."""

    local_as: int
    ibgp: bool
    local_v4: ipaddress.IPv4Address | None
    local_v6: ipaddress.IPv6Address | None
    local_v6_link_local: ipaddress.IPv6Address | None = None
    asn4: bool = True  # the peer speaks 4-octet AS; else ASes above 65535 need AS4_PATH


class ExportError(ValueError):
    """A route that cannot be sent to this peer (e.g. next hop ``self`` without an address of
    the route's family)."""


def export_attributes(
    route: Route, ctx: ExportContext
) -> tuple[tuple[PathAttribute, ...], tuple[IPAddress, ...]]:
    """The path attributes (without MP_REACH) and the next hop addresses for one peer."""
    attrs: list[PathAttribute] = [Origin(_ORIGINS[route.origin])]
    path = route.as_path if ctx.ibgp else (ctx.local_as, *route.as_path)
    as_path = AsPath.sequence(*path)
    attrs.append(as_path)
    if not ctx.asn4:
        _, as4_path = split_as4_path(as_path)
        if as4_path is not None:
            attrs.append(as4_path)
    next_hops = _next_hops(route, ctx)
    if route.prefix.afi == 1 and isinstance(next_hops[0], ipaddress.IPv4Address):
        attrs.append(NextHop(next_hops[0]))
    if route.med is not None:
        attrs.append(MultiExitDisc(route.med))
    if ctx.ibgp:
        attrs.append(LocalPref(route.local_pref if route.local_pref is not None else 100))
    if route.communities:
        attrs.append(Communities(tuple(dict.fromkeys(route.communities))))
    if route.extended_communities:
        attrs.append(ExtendedCommunities(tuple(dict.fromkeys(route.extended_communities))))
    if route.large_communities:
        attrs.append(LargeCommunities(tuple(dict.fromkeys(route.large_communities))))
    attrs.extend(route.extra)
    attrs.sort(key=lambda a: a.type_code)
    return tuple(attrs), next_hops


def _next_hops(route: Route, ctx: ExportContext) -> tuple[IPAddress, ...]:
    nh = route.next_hop
    if route.prefix.afi == 1:
        if nh == "self":
            if ctx.local_v4 is None:
                raise ExportError(f"{route.prefix}: next hop self needs a local IPv4 address")
            return (ctx.local_v4,)
        assert not isinstance(nh, str)
        return (nh,)  # an IPv6 next hop for IPv4 NLRI goes in MP_REACH (RFC 8950)
    if nh == "self":
        if ctx.local_v6 is None:
            raise ExportError(f"{route.prefix}: next hop self needs a local IPv6 address")
        ll = route.link_local or ctx.local_v6_link_local
        return (ctx.local_v6, ll) if ll is not None else (ctx.local_v6,)
    if not isinstance(nh, ipaddress.IPv6Address):
        raise ExportError(f"{route.prefix}: IPv6 prefix with IPv4 next hop {nh}")
    return (nh, route.link_local) if route.link_local is not None else (nh,)
