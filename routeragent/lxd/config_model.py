"""The validated, immutable configuration of the LXD announcer.

Built by :mod:`routeragent.lxd.config_load` from TOML in the agent's format; everything else in
the package takes these types, so the pure model can be tested without a file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from routeragent.config_model import IPAddress

Kind = Literal["subnet", "nat", "forward", "load-balancer", "instance"]
KINDS: tuple[Kind, ...] = ("subnet", "nat", "forward", "load-balancer", "instance")


@dataclass(frozen=True)
class AnnouncerSettings:
    name: str
    state_dir: Path = Path("/run/routeragent-lxd")
    metrics_listen: tuple[str, int] | None = None
    log_file: Path | None = None
    #: events closer together than this are handled by one read of LXD
    debounce: float = 0.05
    #: a full read even without events: catches anything an event stream can miss
    resync_interval: float = 60.0
    #: waits between reconnect attempts after LXD went away (doubling up to the maximum)
    reconnect_min: float = 0.2
    reconnect_max: float = 5.0
    #: SIGTERM/SIGINT: keep our routes in the routers (graceful restart) instead of withdrawing
    graceful_stop: bool = True


@dataclass(frozen=True)
class LxdSettings:
    """Where LXD is and what of it to announce."""

    socket: Path | None = None
    endpoint: str | None = None
    client_cert: Path | None = None
    client_key: Path | None = None
    #: a PEM file to pin the server certificate, or True/False for the system CA check
    server_cert: Path | None = None
    verify: bool = True
    timeout: float = 10.0
    uplinks: tuple[str, ...] = ("UPLINK",)
    #: None: every project the identity can see
    projects: tuple[str, ...] | None = None
    #: cluster member whose instances we announce; None: the server we talk to
    member: str | None = None
    #: with NAT on and no ipvN.nat.address, announce the router's own uplink address as a host
    #: route too (it is on the uplink subnet the routers already reach, hence off by default)
    announce_router_address: bool = False


@dataclass(frozen=True)
class KindAttributes:
    """What every announcement of one kind carries, so routers can apply policy per kind."""

    communities: tuple[str, ...] = ()
    large_communities: tuple[str, ...] = ()
    med: int | None = None


@dataclass(frozen=True)
class NeighborSettings:
    address: IPAddress
    remote_as: int
    port: int = 179
    passive: bool = False
    local_address: IPAddress | None = None
    md5_password: str | None = None
    hold_time: int = 90
    families: tuple[str, ...] = ("ipv4/unicast", "ipv6/unicast")
    #: ADD-PATH send: every path of an anycast prefix, not just one
    add_path: bool = True
    description: str = ""


@dataclass(frozen=True)
class BgpSettings:
    asn: int
    router_id: str
    listen: tuple[tuple[str, int], ...] = ()
    restart_time: int = 120
    neighbors: tuple[NeighborSettings, ...] = ()


@dataclass(frozen=True)
class LxdConfig:
    announcer: AnnouncerSettings
    lxd: LxdSettings
    bgp: BgpSettings
    kinds: dict[Kind, KindAttributes] = field(default_factory=dict)

    def attributes(self, kind: Kind) -> KindAttributes:
        return self.kinds.get(kind, KindAttributes())
