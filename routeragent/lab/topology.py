"""The lab's topology as plain values: node names, AS numbers, addresses, prefixes (pure).

    core1, core2        the provider: FRR, AS 64500, eBGP multipath (ECMP) toward us; they send
                        us a default route and 198.51.100.0/24, 2001:db8:200::/48
    router1..router3    our FRR routers, AS 65010: one link to each core (IPv4 and IPv6
                        sessions), lan0 on the uplink LAN, keepalived (VRRPv3) and routeragent
    lan                 the uplink LAN: a bridge in its own namespace; the gateway virtual
                        addresses 10.50.0.1 and 2001:db8:50::1 live on it
    guest               an empty namespace on the LAN (10.50.0.30, 2001:db8:50::30) where you
                        run your own speaker: the routers accept a session from any AS there
    host1..host3        the hosts (LXD cluster members): a bgpspeak speaker, AS 65020, peering
                        with the three routers, announcing the host's OVN-like subnet with the
                        OVN router's uplink address as next hop, and an anycast service address
                        (health-checked HTTP service, the same address on every host)

Everything here is derived from the node name, so every part of the lab (configs, status,
scenarios) computes the same addresses without passing them around.
"""

from __future__ import annotations

from dataclasses import dataclass

CORES = ("core1", "core2")
ROUTERS = ("router1", "router2", "router3")
HOSTS = ("host1", "host2", "host3")
SWITCH = "lan"
GUEST = "guest"  # an empty namespace on the LAN for your own speaker (docs/lab.md)
NODES = (*CORES, *ROUTERS, *HOSTS, SWITCH, GUEST)

PROVIDER_AS = 64500
OUR_AS = 65010
HOSTS_AS = 65020

PROVIDER_PREFIXES = ("198.51.100.0/24", "2001:db8:200::/48")
VIP4 = "10.50.0.1"
VIP6 = "2001:db8:50::1"
LAN4 = "10.50.0.0/24"
VRID = 51
ROLES = {"router1": "primary", "router2": "secondary", "router3": "tertiary"}

ANYCAST4 = "203.0.113.200/32"
ANYCAST6 = "2001:db8:100:ff::200/128"
ANYCAST_PORT = 8080
SERVICE = "anycast-web"

DEFAULT_PREFIX = "lab-"
DEFAULT_RUN_DIR = "/run/routeragent-lab"


def index(node: str) -> int:
    """``router2`` -> 2."""
    digits = node.lstrip("abcdefghijklmnopqrstuvwxyz")
    if not digits.isdigit():
        raise ValueError(f"{node!r} is not a numbered lab node")
    return int(digits)


@dataclass(frozen=True)
class Uplink:
    """The point-to-point link between a core and one of our routers."""

    core: str
    router: str

    @property
    def core_if(self) -> str:
        return self.router  # the core's interface is named after the router

    @property
    def router_if(self) -> str:
        return "up" + str(index(self.core))

    @property
    def core4(self) -> str:
        return f"10.{index(self.core)}.{index(self.router)}.1"

    @property
    def router4(self) -> str:
        return f"10.{index(self.core)}.{index(self.router)}.2"

    @property
    def core6(self) -> str:
        return f"2001:db8:{index(self.core)}:{index(self.router)}::1"

    @property
    def router6(self) -> str:
        return f"2001:db8:{index(self.core)}:{index(self.router)}::2"


UPLINKS = tuple(Uplink(c, r) for c in CORES for r in ROUTERS)


def uplinks_of(node: str) -> tuple[Uplink, ...]:
    return tuple(u for u in UPLINKS if node in (u.core, u.router))


def core_loopback(core: str) -> str:
    """The core's own address inside the provider prefix, announced as a /32 so that replies
    to it come back to this core (the source of the lab's test traffic)."""
    return f"198.51.100.{index(core)}"


def router_lan4(router: str) -> str:
    return f"10.50.0.{10 + index(router)}"


def router_lan6(router: str) -> str:
    return f"2001:db8:50::{10 + index(router)}"


GUEST4 = "10.50.0.30"
GUEST6 = "2001:db8:50::30"


def host_lan4(host: str) -> str:
    """The host's own address on the uplink LAN (its BGP sessions come from here)."""
    return f"10.50.0.{20 + index(host)}"


def host_lan6(host: str) -> str:
    return f"2001:db8:50::{20 + index(host)}"


def ovn_router4(host: str) -> str:
    """The uplink address of the host's OVN router: the next hop of everything it announces."""
    return f"10.50.0.{100 + index(host)}"


def ovn_router6(host: str) -> str:
    return f"2001:db8:50::{100 + index(host)}"


def host_subnets(host: str) -> tuple[str, str]:
    """The OVN-like subnets behind the host's OVN router (one /27 of 203.0.113.0/24 each)."""
    n = index(host)
    return (f"203.0.113.{32 * (n - 1)}/27", f"2001:db8:100:{n}::/64")


def host_of_next_hop(address: str) -> str | None:
    for h in HOSTS:
        if address in (ovn_router4(h), ovn_router6(h)):
            return h
    return None


def host_of_address(address: str) -> str | None:
    """The host whose own LAN address (BGP session source, anycast next hop) is ``address``."""
    for h in HOSTS:
        if address in (host_lan4(h), host_lan6(h)):
            return h
    return None


def router_of_address(address: str) -> str | None:
    """Our router that owns ``address`` (an uplink address as the cores see it)."""
    for u in UPLINKS:
        if address in (u.router4, u.router6):
            return u.router
    return None


#: every prefix the hosts announce: the subnets, then the anycast service
HOST_PREFIXES = (*(p for h in HOSTS for p in host_subnets(h)), ANYCAST4, ANYCAST6)


def origin_of(prefix: str) -> str:
    """Which host announces ``prefix`` ("anycast" for the service address)."""
    if prefix in (ANYCAST4, ANYCAST6):
        return "anycast"
    for h in HOSTS:
        if prefix in host_subnets(h):
            return h
    return "?"


def router_id(node: str) -> str:
    group = {"core": 0, "router": 1, "host": 2}[node.rstrip("0123456789")]
    return f"10.255.{group}.{index(node)}"


@dataclass(frozen=True)
class Names:
    """Names of a lab instance: its namespaces carry ``prefix`` so that parallel labs (tests)
    never collide."""

    prefix: str = DEFAULT_PREFIX

    def ns(self, node: str) -> str:
        return self.prefix + node

    @property
    def namespaces(self) -> tuple[str, ...]:
        return tuple(self.ns(n) for n in NODES)
