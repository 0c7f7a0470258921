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
    """The session moved from FSM state ``old`` to ``new`` (``"Idle"``, ``"Connect"``,
    ``"Active"``, ``"OpenSent"``, ``"OpenConfirm"``, ``"Established"``)."""

    peer: IPAddress
    old: str
    new: str


@dataclass(frozen=True, slots=True)
class PeerUp:
    """The session reached Established; ``negotiated`` says what both OPENs agreed on (hold
    time, families, ADD-PATH, graceful restart, the peer's AS and identifier)."""

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
    """A route the neighbor announced (or replaced): its family, prefix (with the path id
    under ADD-PATH), next hops (global, and link-local for IPv6 when sent) and the decoded
    path attributes in wire order."""

    peer: IPAddress
    family: Family
    prefix: Prefix
    next_hops: tuple[IPAddress, ...]
    attributes: tuple[PathAttribute, ...]


@dataclass(frozen=True, slots=True)
class RouteWithdrawn:
    """The neighbor withdrew ``prefix`` (also sent for stale routes swept after a graceful
    restart)."""

    peer: IPAddress
    family: Family
    prefix: Prefix


@dataclass(frozen=True, slots=True)
class EndOfRib:
    """The neighbor finished its initial transfer for ``family`` (RFC 4724 End-of-RIB)."""

    peer: IPAddress
    family: Family


@dataclass(frozen=True, slots=True)
class PeerError:
    """Malformed input or a protocol problem the session survived or died of (see ``reason``)."""

    peer: IPAddress
    reason: str


Event = PeerStateChanged | PeerUp | PeerDown | RouteReceived | RouteWithdrawn | EndOfRib | PeerError
