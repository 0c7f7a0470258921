"""Events a :class:`~bgpspeak.speaker.Speaker` reports to the program using it."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from .session.negotiate import Negotiated
from .wire.attribute import PathAttribute
from .wire.family import Family
from .wire.prefix import Prefix

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True, slots=True)
class PeerStateChanged:
    peer: IPAddress
    old: str
    new: str


@dataclass(frozen=True, slots=True)
class PeerUp:
    peer: IPAddress
    negotiated: Negotiated


@dataclass(frozen=True, slots=True)
class PeerDown:
    """``graceful``: the peer's routes are kept as stale (graceful restart) until it returns
    or its restart time passes."""

    peer: IPAddress
    reason: str
    graceful: bool


@dataclass(frozen=True, slots=True)
class RouteReceived:
    peer: IPAddress
    family: Family
    prefix: Prefix
    next_hops: tuple[IPAddress, ...]
    attributes: tuple[PathAttribute, ...]


@dataclass(frozen=True, slots=True)
class RouteWithdrawn:
    peer: IPAddress
    family: Family
    prefix: Prefix


@dataclass(frozen=True, slots=True)
class EndOfRib:
    peer: IPAddress
    family: Family


@dataclass(frozen=True, slots=True)
class PeerError:
    """Malformed input or a protocol problem the session survived or died of (see ``reason``)."""

    peer: IPAddress
    reason: str


Event = PeerStateChanged | PeerUp | PeerDown | RouteReceived | RouteWithdrawn | EndOfRib | PeerError
