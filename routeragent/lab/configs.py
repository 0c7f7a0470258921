"""The configuration files of every lab daemon, as text (pure).

FRR configs are what an operator would write for the seed setup: the cores are a provider with
ECMP multipath, our routers keep ``bgp ebgp-requires-policy`` on (routeragent attaches the
upstream route-maps; the host sessions carry the operator's own ``LAB-`` maps). The agent and
speaker configs are the product's own TOML formats (docs/agent.md, docs/daemon.md).

The keyword arguments serve tests/agent/interop, whose topology has the same shape and address
plan under other node names and settles a few things differently (its routers originate our
prefixes themselves, no hosts); the lab's callers leave them at their defaults.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from routeragent.lab.topology import (
    ANYCAST4,
    ANYCAST6,
    ANYCAST_PORT,
    HOST_PREFIXES,
    HOSTS,
    HOSTS_AS,
    LAN4,
    OUR_AS,
    PROVIDER_AS,
    PROVIDER_PREFIXES,
    ROLES,
    ROUTERS,
    SERVICE,
    VIP4,
    VIP6,
    VRID,
    Uplink,
    core_loopback,
    host_lan4,
    host_lan6,
    host_subnets,
    index,
    ovn_router4,
    ovn_router6,
    router_id,
    router_lan4,
    uplinks_of,
)


@dataclass(frozen=True)
class Timers:
    """The lab's speed knobs: fast enough to watch failover, slow enough for a busy 2-core box."""

    agent_interval: float = 0.5
    check_interval: float = 0.5  # the hosts' anycast health check
    takeback_delay: float = 1.0


def _frr_header(node: str, frr_dir: Path) -> list[str]:
    return [
        "frr defaults traditional",
        f"hostname {node}",
        f"log file {frr_dir}/frr.log informational",
        "!",
    ]


def zebra_conf(node: str, frr_dir: Path) -> str:
    # FRR 8.4's zebra loses track of kernel nexthop groups when a member's link goes down and
    # comes back (docs/agent.md, "Facts found on the way"): plain routes, no nexthop objects.
    return "\n".join([*_frr_header(node, frr_dir), "no zebra nexthop kernel enable", "!", ""])


def core_bgpd(
    core: str,
    frr_dir: Path,
    *,
    rid: str | None = None,
    uplinks: Sequence[Uplink] | None = None,
    loopback: bool = True,
    import_check: bool = False,
) -> str:
    """A provider core: default route and the provider prefixes to each of our routers,
    every path from us used at once (maximum-paths), RFC 8326 graceful-shutdown honoured.
    ``loopback``: also the core's own /32 (the source of the lab's test traffic);
    ``import_check``: originate a prefix only once it is in the RIB (FRR's default)."""
    links = uplinks_of(core) if uplinks is None else uplinks
    out = [
        *_frr_header(core, frr_dir),
        "bgp community-list standard LAB-GSHUT permit graceful-shutdown",
        "route-map FROM-CUSTOMER permit 10",
        " match community LAB-GSHUT",
        " set local-preference 0",
        "route-map FROM-CUSTOMER permit 20",
        "route-map TO-CUSTOMER permit 10",
        "!",
        f"router bgp {PROVIDER_AS}",
        f" bgp router-id {rid or router_id(core)}",
        " no bgp default ipv4-unicast",
        *([] if import_check else [" no bgp network import-check"]),
        " timers bgp 1 3",
    ]
    for u in links:
        for addr in (u.router4, u.router6):
            out += _ebgp_neighbor(addr, OUR_AS, u.router)
    for af, net, nbrs in (
        ("ipv4", PROVIDER_PREFIXES[0], [u.router4 for u in links]),
        ("ipv6", PROVIDER_PREFIXES[1], [u.router6 for u in links]),
    ):
        out += [f" address-family {af} unicast", f"  network {net}", "  maximum-paths 8"]
        if af == "ipv4" and loopback:
            out += [f"  network {core_loopback(core)}/32"]
        for n in nbrs:
            out += [
                f"  neighbor {n} activate",
                f"  neighbor {n} default-originate",
                f"  neighbor {n} route-map FROM-CUSTOMER in",
                f"  neighbor {n} route-map TO-CUSTOMER out",
            ]
        out += [" exit-address-family"]
    return "\n".join([*out, "!", ""])


def _ebgp_neighbor(addr: str, asn: int, description: str) -> list[str]:
    return [
        f" neighbor {addr} remote-as {asn}",
        f" neighbor {addr} description {description}",
        f" neighbor {addr} timers connect 1",
        f" neighbor {addr} advertisement-interval 0",
    ]


def router_bgpd(
    router: str,
    frr_dir: Path,
    *,
    rid: str | None = None,
    uplinks: Sequence[Uplink] | None = None,
    networks: Sequence[str] = (),
    maximum_paths: int = 8,
    hosts: bool = True,
) -> str:
    """One of our routers. The upstream sessions have no route-maps here: routeragent attaches
    them (until then ``ebgp-requires-policy`` keeps the router out of the provider's paths).
    The hosts' sessions are passive (the hosts dial) and accept only our address space.
    ``networks`` (IPv4, then IPv6): prefixes the router originates itself (no hosts to
    announce them: ``hosts=False`` leaves out their sessions and route-maps)."""
    out = [*_frr_header(router, frr_dir)]
    if hosts:
        out += [
            "ip prefix-list LAB-HOSTS4 seq 5 permit 203.0.113.0/24 le 32",
            "ipv6 prefix-list LAB-HOSTS6 seq 5 permit 2001:db8:100::/48 le 128",
            "route-map LAB-FROM-HOSTS permit 10",
            " match ip address prefix-list LAB-HOSTS4",
            "route-map LAB-FROM-HOSTS permit 20",
            " match ipv6 address prefix-list LAB-HOSTS6",
            "route-map LAB-TO-HOSTS deny 10",
            "route-map LAB-TO-GUESTS permit 10",
            "!",
        ]
    out += [
        f"router bgp {OUR_AS}",
        f" bgp router-id {rid or router_id(router)}",
        " no bgp default ipv4-unicast",
        " timers bgp 1 3",
    ]
    links = uplinks_of(router) if uplinks is None else uplinks
    for u in links:
        for addr in (u.core4, u.core6):
            out += _ebgp_neighbor(addr, PROVIDER_AS, u.core)
    if hosts:
        out += [
            " neighbor HOSTS peer-group",
            f" neighbor HOSTS remote-as {HOSTS_AS}",
            " neighbor HOSTS passive",
            " neighbor HOSTS advertisement-interval 0",
        ]
        for h in HOSTS:
            out += [
                f" neighbor {host_lan4(h)} peer-group HOSTS",
                f" neighbor {host_lan4(h)} description {h}",
            ]
        # anyone else on the LAN (the guest namespace: your own speaker), any AS but ours; what
        # they announce stays inside (the agent announces only the hosts' prefixes upstream)
        out += [
            " neighbor GUESTS peer-group",
            " neighbor GUESTS remote-as external",
            " neighbor GUESTS advertisement-interval 0",
            f" bgp listen range {LAN4} peer-group GUESTS",
        ]
    for af, nbrs in (
        ("ipv4", [u.core4 for u in links]),
        ("ipv6", [u.core6 for u in links]),
    ):
        out += [f" address-family {af} unicast"]
        out += [f"  network {n}" for n in networks if (":" in n) == (af == "ipv6")]
        out += [f"  maximum-paths {maximum_paths}"]
        out += [f"  neighbor {n} activate" for n in nbrs]
        if hosts:
            out += [
                "  neighbor HOSTS activate",
                "  neighbor HOSTS route-map LAB-FROM-HOSTS in",
                "  neighbor HOSTS route-map LAB-TO-HOSTS out",
                "  neighbor GUESTS activate",
                "  neighbor GUESTS route-map LAB-FROM-HOSTS in",
                "  neighbor GUESTS route-map LAB-TO-GUESTS out",
            ]
        out += [" exit-address-family"]
    return "\n".join([*out, "!", ""])


def agent_toml(
    router: str,
    node_dir: Path,
    timers: Timers,
    *,
    uplinks: Sequence[Uplink] | None = None,
    prefixes: Sequence[str] = HOST_PREFIXES,
    policy: Mapping[str, object] | None = None,
    vtysh_timeout: float = 3.0,
    quiet_pps: float = 50.0,
    metrics_listen: str | None = None,
    written_by: str = "`routeragent lab up`",
) -> str:
    """routeragent's config for ``router``: the gateway addresses on lan0, the two cores as
    upstreams (core1 preferred for egress), the hosts' prefixes as what we announce.
    ``policy``: the ``[policy]`` table (default: the router's role, equal ingress)."""
    if uplinks is None:
        if router not in ROUTERS:
            raise ValueError(f"{router!r} is not one of {', '.join(ROUTERS)}")
        uplinks = uplinks_of(router)
    if policy is None:
        policy = {
            "egress_role": ROLES[router],
            "ingress_mode": "equal",
            "takeback_delay": timers.takeback_delay,
        }
    ups = []
    for u in uplinks:
        for addr, fam in ((u.core4, "v4"), (u.core6, "v6")):
            lp = 200 if u.core == "core1" else 100
            ups.append(
                f'[[upstream]]\nname = "{u.core}-{fam}"\nneighbor = "{addr}"\n'
                f"local_preference = {lp}\n"
            )
    announced = ", ".join(json.dumps(p) for p in prefixes)
    quiet = ", ".join(json.dumps(u.router_if) for u in uplinks)
    policy_lines = "\n".join(f"{k} = {json.dumps(v)}" for k, v in policy.items())
    metrics = "" if metrics_listen is None else f'\nmetrics_listen = "{metrics_listen}"'
    return f"""# routeragent config for {router} (written by {written_by})
[agent]
router = "{router}"
state_dir = "{node_dir}/agent-state"
interval = {timers.agent_interval}{metrics}

[frr]
asn = {OUR_AS}
vtysh = "vtysh"
vty_socket = "{node_dir}/frr"
timeout = {vtysh_timeout}

[keepalived]
config_file = "{node_dir}/keepalived.conf"
pid_file = "{node_dir}/keepalived.pid"
notify_fifo = "{node_dir}/agent-state/keepalived.fifo"

[[vrrp]]
name = "lan"
interface = "lan0"
vrid = {VRID}
addresses = ["{VIP4}/24", "{VIP6}/64"]
advert_interval = 0.1
version = 3

{chr(10).join(ups)}
[announce]
prefixes = [{announced}]

[policy]
{policy_lines}

[drain]
withdraw = true
quiet_interfaces = [{quiet}]
quiet_pps = {quiet_pps}
quiet_seconds = 1.0

[[check]]
name = "upstream-bgp"
type = "bgp"
min_established = 1
min_prefixes = 1
rise = 3
fall = 1
affects = "gateway"

[[check]]
name = "default-route"
type = "route"
prefix = "0.0.0.0/0"
rise = 3
fall = 1
affects = "gateway"

[[check]]
name = "lan-up"
type = "interface"
interface = "lan0"
rise = 2
fall = 1
affects = "both"
"""


def speaker_toml(host: str, node_dir: Path, timers: Timers) -> str:
    """The host's bgpspeak daemon: sessions to the three routers, the OVN subnet with the OVN
    router's uplink address as next hop, the anycast service while its HTTP check passes."""
    if host not in HOSTS:
        raise ValueError(f"{host!r} is not one of {', '.join(HOSTS)}")
    n = index(host)
    sub4, sub6 = host_subnets(host)
    peers = "".join(
        f"""
[[peers]]
address = "{router_lan4(r)}"
asn = {OUR_AS}
local_address = "{host_lan4(host)}"
hold_time = 3
connect_retry_time = 1
families = ["ipv4/unicast", "ipv6/unicast"]
next_hop_self_v6 = "{host_lan6(host)}"
description = "{r}"
"""
        for r in ROUTERS
    )
    return f"""# bgpspeak config for {host} (written by `routeragent lab up`)
local_as = {HOSTS_AS}
router_id = "{router_id(host)}"
listen = []
hostname = "{host}"

[control]
socket = "{node_dir}/bgpspeak.sock"
mode = "0600"
{peers}
# the OVN network's subnets: next hop is the OVN router's address on the uplink LAN
[[routes]]
prefix = "{sub4}"
next_hop = "{ovn_router4(host)}"
communities = ["{HOSTS_AS}:100"]

[[routes]]
prefix = "{sub6}"
next_hop = "{ovn_router6(host)}"
communities = ["{HOSTS_AS}:100"]

# the anycast service: announced by every host while its own instance answers
[[services]]
name = "{SERVICE}"
prefixes = ["{ANYCAST4}", "{ANYCAST6}"]
check = {{ http = "http://{ANYCAST4.split("/")[0]}:{ANYCAST_PORT}/", expect = [200] }}
interval = {timers.check_interval}
timeout = {timers.check_interval}
rise = 2
fall = 2
damping = false
communities = ["{HOSTS_AS}:{200 + n}"]
"""
