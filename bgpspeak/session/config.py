"""What a user configures for one BGP peer, validated once so the state machine never has to.

Times are seconds (floats allowed) in the configuration; the state machine converts them to the
integer microseconds it runs on.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

from ..wire.family import IPV4_UNICAST, IPV6_UNICAST, Family

AddPathMode = str  # "receive", "send" or "both"


@dataclass(frozen=True)
class GracefulRestartConfig:
    """RFC 4724. ``restart_time`` is what we ask the peer to wait for us after a restart.

    ``preserve_forwarding`` sets the F bit. It is on by default because a bgpspeak process
    announces routes whose forwarding lives elsewhere (a host, an OVN router): the traffic keeps
    flowing while the speaker restarts, and without the F bit FRR deletes our stale routes as
    soon as we reconnect instead of waiting for our End-of-RIB. Turn it off for a speaker that
    programs a FIB it loses on restart."""

    enabled: bool = True
    restart_time: int = 120
    preserve_forwarding: bool = True
    notification: bool = True  # RFC 8538 N bit

    def __post_init__(self) -> None:
        if not 0 <= self.restart_time <= 4095:
            raise ValueError(f"graceful_restart.restart_time: {self.restart_time} is not 0..4095")


@dataclass(frozen=True)
class PeerConfig:
    """One peer. ``peer_as`` None accepts any AS (useful for route collectors)."""

    peer_address: ipaddress.IPv4Address | ipaddress.IPv6Address
    local_as: int
    peer_as: int | None
    router_id: ipaddress.IPv4Address
    hold_time: int = 90
    keepalive_time: int | None = None  # default: a third of the negotiated hold time
    min_hold_time: int = 3  # refuse peers asking for less (RFC 4271: 0 or >= 3)
    connect_retry_time: int = 5
    delay_open_time: float = 0.0  # 0: DelayOpen off
    passive: bool = False
    families: tuple[Family, ...] = (IPV4_UNICAST, IPV6_UNICAST)
    add_path: tuple[tuple[Family, AddPathMode], ...] = ()
    graceful_restart: GracefulRestartConfig = field(default_factory=GracefulRestartConfig)
    extended_message: bool = True
    route_refresh: bool = True
    enhanced_route_refresh: bool = True
    max_prefixes: int | None = None  # Cease/1 when the peer sends more (per family)
    send_hold_time: float | None = None  # RFC 9687; default max(480, 2 x hold time)
    idle_hold_time: float = 1.0  # first delay before an automatic restart
    idle_hold_max: float = 120.0  # cap of the exponential backoff
    hostname: str | None = None  # FQDN capability, as FRR shows it in `show bgp neighbors`
    software_version: str | None = None
    ibgp_allowed_same_id: bool = False

    def __post_init__(self) -> None:
        problems = []
        if not 1 <= self.local_as <= 0xFFFFFFFF:
            problems.append(f"local_as: {self.local_as} is not a valid AS number")
        if self.peer_as is not None and not 1 <= self.peer_as <= 0xFFFFFFFF:
            problems.append(f"peer_as: {self.peer_as} is not a valid AS number")
        if self.hold_time != 0 and not 3 <= self.hold_time <= 65535:
            problems.append(f"hold_time: {self.hold_time} must be 0 or 3..65535 (RFC 4271)")
        if self.keepalive_time is not None and self.keepalive_time < 0:
            problems.append(f"keepalive_time: {self.keepalive_time} is negative")
        if self.connect_retry_time <= 0:
            problems.append(f"connect_retry_time: {self.connect_retry_time} must be positive")
        if self.delay_open_time < 0:
            problems.append(f"delay_open_time: {self.delay_open_time} is negative")
        if int(self.router_id) == 0:
            problems.append("router_id: 0.0.0.0 is not a valid BGP identifier")
        for fam, mode in self.add_path:
            if mode not in ("receive", "send", "both"):
                problems.append(f"add_path[{fam}]: {mode!r} is not receive, send or both")
        if self.max_prefixes is not None and self.max_prefixes < 1:
            problems.append(f"max_prefixes: {self.max_prefixes} must be at least 1")
        if problems:
            raise ValueError("; ".join(problems))

    @property
    def is_ibgp(self) -> bool:
        return self.peer_as == self.local_as
