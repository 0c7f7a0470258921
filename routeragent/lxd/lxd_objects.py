"""LXD's REST answers -> the few typed facts the announcer needs.

The reader records LXD's raw JSON (``RawSnapshot``) and nothing else, so a recorded snapshot
replays exactly what a live read saw; this module is the only place that knows LXD's keys.
A value LXD should never send (an address that does not parse) becomes a problem in the
snapshot's list rather than an exception: one bad network must not stop the others from being
announced.

Keys used (LXD 5.0 API): networks ``type``, ``config.network`` (an OVN network's uplink),
``config.ipv{4,6}.address`` (``none`` or an interface address), ``ipv{4,6}.nat``,
``ipv{4,6}.nat.address``, ``volatile.network.ipv{4,6}.address`` (the OVN router's address on
the uplink), an uplink's ``ipv{4,6}.gateway`` (physical) or ``ipv{4,6}.address`` (bridge);
forwards' and load balancers' ``listen_address``; instances ``project``, ``location``,
``status``, ``expanded_devices`` NICs with ``network`` and ``ipv{4,6}.routes.external``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from ipaddress import (
    IPv4Interface,
    IPv4Network,
    IPv6Interface,
    IPv6Network,
    ip_address,
    ip_interface,
    ip_network,
)
from typing import Any, Literal, TypedDict

from routeragent.config_model import IPAddress, IPInterface, IPNetwork

Family = Literal[4, 6]


class RawSnapshot(TypedDict):
    """Exactly what was read from LXD in one pass (JSON-serialisable, for --record)."""

    server: dict[str, Any]
    projects: list[dict[str, Any]]
    networks: dict[str, list[dict[str, Any]]]  # project -> networks
    forwards: dict[str, list[dict[str, Any]]]  # "project/network" -> forwards
    load_balancers: dict[str, list[dict[str, Any]]]  # "project/network" -> load balancers
    instances: list[dict[str, Any]]


@dataclass(frozen=True)
class Uplink:
    name: str
    subnet_v4: IPv4Network | None
    subnet_v6: IPv6Network | None

    def subnet(self, family: Family) -> IPNetwork | None:
        return self.subnet_v4 if family == 4 else self.subnet_v6


@dataclass(frozen=True)
class OvnNetwork:
    project: str
    name: str
    uplink: str
    router_v4: IPAddress | None
    router_v6: IPAddress | None
    subnet_v4: IPv4Interface | None
    subnet_v6: IPv6Interface | None
    nat_v4: bool
    nat_v6: bool
    nat_address_v4: IPAddress | None
    nat_address_v6: IPAddress | None

    @property
    def label(self) -> str:
        return f"{self.project}/{self.name}"

    def router(self, family: Family) -> IPAddress | None:
        return self.router_v4 if family == 4 else self.router_v6

    def subnet(self, family: Family) -> IPInterface | None:
        return self.subnet_v4 if family == 4 else self.subnet_v6

    def nat(self, family: Family) -> bool:
        return self.nat_v4 if family == 4 else self.nat_v6

    def nat_address(self, family: Family) -> IPAddress | None:
        return self.nat_address_v4 if family == 4 else self.nat_address_v6


@dataclass(frozen=True)
class ListenAddress:
    """A network forward's or load balancer's listen address."""

    project: str
    network: str
    address: IPAddress
    kind: Literal["forward", "load-balancer"]


@dataclass(frozen=True)
class InstanceNic:
    project: str
    instance: str
    device: str
    #: the project whose networks the NIC's ``network`` names (default, unless the instance's
    #: project has its own networks)
    network_project: str
    network: str
    location: str
    running: bool
    routes: tuple[IPNetwork, ...]

    @property
    def label(self) -> str:
        return f"{self.project}/{self.instance} {self.device}"


@dataclass(frozen=True)
class Snapshot:
    server_name: str
    clustered: bool
    uplinks: dict[str, Uplink] = field(default_factory=dict)
    networks: tuple[OvnNetwork, ...] = ()
    listens: tuple[ListenAddress, ...] = ()
    nics: tuple[InstanceNic, ...] = ()
    problems: tuple[str, ...] = ()


# Frozen (paused) instances keep their NICs and OVN ports: LXD's own BGP keeps announcing them.
RUNNING = ("Running", "Frozen")


class _Problems(list[str]):
    def address(self, where: str, text: object) -> IPAddress | None:
        if text in (None, "", "none"):
            return None
        try:
            return ip_address(str(text))
        except ValueError:
            self.append(f"{where}: {text!r} is not an IP address")
            return None

    def interface(self, where: str, text: object) -> IPInterface | None:
        if text in (None, "", "none", "auto"):
            return None
        try:
            return ip_interface(str(text))
        except ValueError:
            self.append(f"{where}: {text!r} is not an address with a prefix length")
            return None

    def networks(self, where: str, text: object) -> tuple[IPNetwork, ...]:
        out: list[IPNetwork] = []
        for part in str(text or "").split(","):
            part = part.strip()
            if not part:
                continue
            try:
                out.append(ip_network(part, strict=True))
            except ValueError:
                self.append(f"{where}: {part!r} is not a network prefix")
        return tuple(out)


def _true(value: object) -> bool:
    return str(value).lower() in ("true", "1", "yes", "on")


def networks_of_projects(raw: RawSnapshot) -> dict[str, str]:
    """project -> the project whose networks it uses (LXD's ``features.networks``)."""
    out: dict[str, str] = {}
    for p in raw["projects"]:
        name = str(p.get("name", ""))
        own = name == "default" or _true(p.get("config", {}).get("features.networks"))
        out[name] = name if own else "default"
    return out


def _uplink(net: dict[str, Any], problems: _Problems) -> Uplink:
    name = str(net.get("name", ""))
    config = net.get("config") or {}
    key = "gateway" if net.get("type") == "physical" else "address"
    v4 = problems.interface(f"network {name} ipv4.{key}", config.get(f"ipv4.{key}"))
    v6 = problems.interface(f"network {name} ipv6.{key}", config.get(f"ipv6.{key}"))
    return Uplink(
        name=name,
        subnet_v4=v4.network if isinstance(v4, IPv4Interface) else None,
        subnet_v6=v6.network if isinstance(v6, IPv6Interface) else None,
    )


def _ovn(project: str, net: dict[str, Any], problems: _Problems) -> OvnNetwork:
    name = str(net.get("name", ""))
    c = net.get("config") or {}
    where = f"network {project}/{name}"
    s4 = problems.interface(f"{where} ipv4.address", c.get("ipv4.address"))
    s6 = problems.interface(f"{where} ipv6.address", c.get("ipv6.address"))
    return OvnNetwork(
        project=project,
        name=name,
        uplink=str(c.get("network", "")),
        router_v4=problems.address(
            f"{where} volatile.network.ipv4.address", c.get("volatile.network.ipv4.address")
        ),
        router_v6=problems.address(
            f"{where} volatile.network.ipv6.address", c.get("volatile.network.ipv6.address")
        ),
        subnet_v4=s4 if isinstance(s4, IPv4Interface) else None,
        subnet_v6=s6 if isinstance(s6, IPv6Interface) else None,
        nat_v4=_true(c.get("ipv4.nat", "false")),
        nat_v6=_true(c.get("ipv6.nat", "false")),
        nat_address_v4=problems.address(f"{where} ipv4.nat.address", c.get("ipv4.nat.address")),
        nat_address_v6=problems.address(f"{where} ipv6.nat.address", c.get("ipv6.nat.address")),
    )


def _listens(
    raw: dict[str, list[dict[str, Any]]],
    kind: Literal["forward", "load-balancer"],
    problems: _Problems,
) -> list[ListenAddress]:
    out = []
    for key, items in sorted(raw.items()):
        project, _, network = key.partition("/")
        for item in items:
            addr = problems.address(f"{kind} {key} listen_address", item.get("listen_address"))
            if addr is not None:
                out.append(ListenAddress(project, network, addr, kind))
    return out


def _nics(
    inst: dict[str, Any], network_project: dict[str, str], problems: _Problems
) -> list[InstanceNic]:
    project = str(inst.get("project") or "default")
    name = str(inst.get("name", ""))
    out = []
    for device, dev in sorted((inst.get("expanded_devices") or {}).items()):
        if not isinstance(dev, dict) or dev.get("type") != "nic" or not dev.get("network"):
            continue
        where = f"instance {project}/{name} {device}"
        routes = problems.networks(
            f"{where} ipv4.routes.external", dev.get("ipv4.routes.external")
        ) + problems.networks(f"{where} ipv6.routes.external", dev.get("ipv6.routes.external"))
        out.append(
            InstanceNic(
                project=project,
                instance=name,
                device=device,
                network_project=network_project.get(project, "default"),
                network=str(dev["network"]),
                location=str(inst.get("location") or ""),
                running=inst.get("status") in RUNNING,
                routes=routes,
            )
        )
    return out


def parse_snapshot(raw: RawSnapshot) -> Snapshot:
    problems = _Problems()
    env = raw["server"].get("environment") or {}
    uplinks: dict[str, Uplink] = {}
    networks: list[OvnNetwork] = []
    for project, nets in sorted(raw["networks"].items()):
        for net in nets:
            if not net.get("managed"):
                continue
            if not net.get("config") and net.get("type") in ("ovn", "physical", "bridge"):
                problems.append(
                    f"network {project}/{net.get('name')}: LXD sent no config (LXD shows a "
                    "network's config only to unrestricted clients: is the certificate restricted?)"
                )
                continue
            if net.get("type") == "ovn":
                networks.append(_ovn(project, net, problems))
            elif project == "default" and net.get("type") in ("physical", "bridge"):
                uplinks[str(net.get("name"))] = _uplink(net, problems)
    listens = _listens(raw["forwards"], "forward", problems)
    listens += _listens(raw["load_balancers"], "load-balancer", problems)
    network_project = networks_of_projects(raw)
    nics = [n for inst in raw["instances"] for n in _nics(inst, network_project, problems)]
    return Snapshot(
        server_name=str(env.get("server_name", "")),
        clustered=bool(env.get("server_clustered", False)),
        uplinks=uplinks,
        networks=tuple(networks),
        listens=tuple(listens),
        nics=tuple(nics),
        problems=tuple(problems),
    )
