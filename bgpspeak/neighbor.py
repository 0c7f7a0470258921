"""The public, user-facing description of one BGP neighbor.

:class:`Neighbor` is what a program (or later the daemon's config file) writes; the speaker
combines it with its own AS and router id into the state machine's :class:`PeerConfig`.
Everything is validated here with messages that name the field.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from .bfd.config import BfdConfig
from .session.config import GracefulRestartConfig, PeerConfig
from .wire.family import IPV4_UNICAST, IPV6_UNICAST, Family

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def _ip(value: str | IPAddress, name: str) -> IPAddress:
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        raise ValueError(f"{name}: {value!r} is not an IP address") from None


@dataclass(frozen=True)
class Neighbor:
    """One BGP neighbor.

    ``remote_as`` None accepts any AS. ``families`` are ``"ipv4/unicast"``-style names.
    ``add_path`` maps families to ``"receive"``, ``"send"`` or ``"both"``. ``ttl_security`` is
    the GTSM hop count (1 for a directly connected peer). ``next_hop_self_v4``/``_v6`` say what
    next hop ``"self"`` means toward this neighbor when the session's own address is of the
    other family (an IPv4 session carrying IPv6 routes); ``link_local`` is the IPv6 link-local
    next hop to send beside the global one. ``bfd``: run BFD toward the neighbor and take the
    session down when BFD declares the path down (docs/bfd.md). ``send_hold_time``: seconds a
    peer may stop reading before the session is dropped (RFC 9687; default max(480 s, twice the
    hold time)).
    """

    address: str | IPAddress
    remote_as: int | None
    port: int = 179
    passive: bool = False
    local_address: str | IPAddress | None = None
    md5_password: str | None = None
    ttl_security: int | None = None
    hold_time: int = 90
    keepalive_time: int | None = None
    connect_retry_time: int = 5
    delay_open_time: float = 0.0
    families: tuple[str, ...] = ("ipv4/unicast", "ipv6/unicast")
    add_path: tuple[tuple[str, str], ...] = ()
    graceful_restart: bool = True
    restart_time: int = 120
    max_prefixes: int | None = None
    send_hold_time: float | None = None
    next_hop_self_v4: str | IPAddress | None = None
    next_hop_self_v6: str | IPAddress | None = None
    link_local: str | IPAddress | None = None
    description: str = ""
    bfd: BfdConfig | None = None

    def __post_init__(self) -> None:
        _ip(self.address, "address")
        if self.local_address is not None:
            _ip(self.local_address, "local_address")
        if not 1 <= self.port <= 65535:
            raise ValueError(f"port: {self.port} is not 1..65535")
        if self.ttl_security is not None and not 1 <= self.ttl_security <= 254:
            raise ValueError(f"ttl_security: {self.ttl_security} is not 1..254")
        if self.md5_password is not None and len(self.md5_password.encode()) > 80:
            raise ValueError("md5_password: longer than 80 octets (Linux TCP_MD5SIG limit)")
        for f in self.families:
            Family.parse(f)
        for f, _mode in self.add_path:
            Family.parse(f)
        if self.send_hold_time is not None and self.send_hold_time <= 0:
            raise ValueError(f"send_hold_time: {self.send_hold_time} must be positive")
        if self.bfd is not None and not isinstance(self.bfd, BfdConfig):
            raise ValueError(f"bfd: {self.bfd!r} is not a BfdConfig")
        for name in ("next_hop_self_v4", "next_hop_self_v6", "link_local"):
            value = getattr(self, name)
            if value is not None:
                _ip(value, name)

    @property
    def ip(self) -> IPAddress:
        """The neighbor's address as an ``ipaddress`` object."""
        return _ip(self.address, "address")

    @property
    def local_ip(self) -> IPAddress | None:
        """``local_address`` as an ``ipaddress`` object, or None."""
        return None if self.local_address is None else _ip(self.local_address, "local_address")

    def peer_config(
        self, local_as: int, router_id: ipaddress.IPv4Address, hostname: str | None = None
    ) -> PeerConfig:
        """The session layer's configuration for this neighbor, given our side's identity."""
        fams = tuple(Family.parse(f) for f in self.families) or (IPV4_UNICAST, IPV6_UNICAST)
        return PeerConfig(
            peer_address=self.ip,
            local_as=local_as,
            peer_as=self.remote_as,
            router_id=router_id,
            hold_time=self.hold_time,
            keepalive_time=self.keepalive_time,
            connect_retry_time=self.connect_retry_time,
            delay_open_time=self.delay_open_time,
            passive=self.passive,
            families=fams,
            add_path=tuple((Family.parse(f), m) for f, m in self.add_path),
            graceful_restart=GracefulRestartConfig(
                enabled=self.graceful_restart, restart_time=self.restart_time
            ),
            max_prefixes=self.max_prefixes,
            send_hold_time=self.send_hold_time,
            hostname=hostname,
        )
