"""The validated, immutable configuration of one router's agent.

These are the types every other module takes; :mod:`routeragent.config_load` builds them from
TOML and is the only place that knows the file format. Everything here is frozen so a config can
be shared by the pure decision code and compared for "did the operator change anything".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from ipaddress import (
    IPv4Address,
    IPv4Interface,
    IPv4Network,
    IPv6Address,
    IPv6Interface,
    IPv6Network,
)
from pathlib import Path
from typing import Literal

IPAddress = IPv4Address | IPv6Address
IPInterface = IPv4Interface | IPv6Interface
IPNetwork = IPv4Network | IPv6Network

EgressRole = Literal["primary", "secondary", "tertiary", "standby"]
IngressMode = Literal["equal", "prefer", "depref", "drained"]
Affects = Literal["gateway", "ingress", "both"]
FailureAction = Literal["depref", "withdraw"]

EGRESS_ROLES: tuple[EgressRole, ...] = ("primary", "secondary", "tertiary", "standby")
INGRESS_MODES: tuple[IngressMode, ...] = ("equal", "prefer", "depref", "drained")

#: VRRP priority a healthy router gets for its egress role, unless the VRRP instance sets one.
#: Spaced so that the demoted priority of any role (a quarter) stays below every healthy one.
ROLE_PRIORITY: dict[EgressRole, int] = {
    "primary": 200,
    "secondary": 150,
    "tertiary": 100,
    "standby": 60,
}


@dataclass(frozen=True)
class AgentSettings:
    router: str
    state_dir: Path
    interval: float = 1.0
    metrics_listen: tuple[str, int] | None = None
    log_file: Path | None = None


@dataclass(frozen=True)
class FrrSettings:
    asn: int
    vtysh: str = "vtysh"
    vty_socket: Path | None = None
    pathspace: str | None = None
    timeout: float = 5.0

    def vtysh_argv(self) -> list[str]:
        """vtysh plus the arguments that select this FRR instance."""
        argv = [self.vtysh]
        if self.vty_socket is not None:
            argv += ["--vty_socket", str(self.vty_socket)]
        if self.pathspace is not None:
            argv += ["-N", self.pathspace]
        return argv


@dataclass(frozen=True)
class KeepalivedSettings:
    config_file: Path
    binary: str = "keepalived"
    pid_file: Path | None = None
    notify_fifo: Path | None = None


@dataclass(frozen=True)
class VrrpInstance:
    name: str
    interface: str
    vrid: int
    addresses: tuple[IPInterface, ...]
    priority: int | None = None
    advert_interval: float = 1.0
    version: int = 3
    unicast_source: IPAddress | None = None
    unicast_peers: tuple[IPAddress, ...] = ()

    @property
    def advertised(self) -> tuple[IPInterface, ...]:
        """Addresses carried in the adverts: VRRP sends one family per instance (IPv4 when there
        is any), the other family rides along as keepalived's ``virtual_ipaddress_excluded``."""
        v4 = tuple(a for a in self.addresses if a.version == 4)
        return v4 if v4 else self.addresses

    @property
    def excluded(self) -> tuple[IPInterface, ...]:
        adv = set(self.advertised)
        return tuple(a for a in self.addresses if a not in adv)


@dataclass(frozen=True)
class Upstream:
    name: str
    neighbor: IPAddress
    local_preference: int = 100

    @property
    def family(self) -> Literal["ipv4", "ipv6"]:
        return "ipv4" if self.neighbor.version == 4 else "ipv6"


@dataclass(frozen=True)
class Attributes:
    """What we attach to our announcements in one ingress mode."""

    med: int | None = None
    prepend: int = 0
    communities: tuple[str, ...] = ()


@dataclass(frozen=True)
class IngressAttributes:
    equal: Attributes = Attributes(med=100)
    prefer: Attributes = Attributes(med=50)
    depref: Attributes = Attributes(med=200, prepend=2)
    drain: Attributes = Attributes(med=1000, prepend=3, communities=("graceful-shutdown",))

    def for_mode(self, mode: IngressMode) -> Attributes:
        return {
            "equal": self.equal,
            "prefer": self.prefer,
            "depref": self.depref,
            "drained": self.drain,
        }[mode]


@dataclass(frozen=True)
class Policy:
    egress_role: EgressRole = "primary"
    ingress_mode: IngressMode = "equal"
    ingress_on_failure: FailureAction = "depref"
    takeback_delay: float = 5.0
    max_takeback_delay: float = 300.0
    flap_window: float = 600.0
    drained_priority: int = 1
    ingress: IngressAttributes = field(default_factory=IngressAttributes)


@dataclass(frozen=True)
class DrainSettings:
    withdraw: bool = True
    quiet_interfaces: tuple[str, ...] = ()
    quiet_pps: float = 50.0
    quiet_seconds: float = 3.0


@dataclass(frozen=True)
class BgpProbe:
    """Upstream sessions: at least ``min_established`` of ``neighbors`` Established with at
    least ``min_prefixes`` prefixes accepted each."""

    neighbors: tuple[IPAddress, ...]
    min_established: int = 1
    min_prefixes: int = 1


@dataclass(frozen=True)
class RouteProbe:
    """A route (e.g. the default route) selected in zebra's RIB."""

    prefix: IPNetwork


@dataclass(frozen=True)
class InterfaceProbe:
    interface: str


@dataclass(frozen=True)
class TcpProbe:
    host: IPAddress
    port: int


@dataclass(frozen=True)
class PingProbe:
    host: IPAddress


@dataclass(frozen=True)
class CommandProbe:
    argv: tuple[str, ...]


Probe = BgpProbe | RouteProbe | InterfaceProbe | TcpProbe | PingProbe | CommandProbe


@dataclass(frozen=True)
class Check:
    name: str
    probe: Probe
    rise: int = 3
    fall: int = 2
    affects: Affects = "gateway"
    timeout: float = 1.0

    @property
    def gates_gateway(self) -> bool:
        return self.affects in ("gateway", "both")

    @property
    def gates_ingress(self) -> bool:
        return self.affects in ("ingress", "both")

    @property
    def observed_in_frr(self) -> bool:
        """BGP and route checks are read from the FRR observation, not probed separately."""
        return isinstance(self.probe, BgpProbe | RouteProbe)


@dataclass(frozen=True)
class Config:
    agent: AgentSettings
    frr: FrrSettings
    keepalived: KeepalivedSettings
    vrrp: tuple[VrrpInstance, ...]
    upstreams: tuple[Upstream, ...]
    prefixes: tuple[IPNetwork, ...]
    policy: Policy
    drain: DrainSettings
    checks: tuple[Check, ...]

    def healthy_priority(self, inst: VrrpInstance) -> int:
        if inst.priority is not None:
            return inst.priority
        return ROLE_PRIORITY[self.policy.egress_role]

    def demoted_priority(self, inst: VrrpInstance) -> int:
        """A router that failed a gateway check: below every healthy router, above a drained
        one, and still ordered by role so the failover order among failed routers is stable."""
        return max(self.policy.drained_priority + 1, self.healthy_priority(inst) // 4)
