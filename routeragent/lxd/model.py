"""What to announce, as a pure function of what LXD holds and the settings.

For every OVN network on one of our uplinks, in a selected project, the next hop is the OVN
router's address on the uplink (``volatile.network.ipv4.address`` / ``ipv6``): traffic for the
network's addresses must go to that router, whichever cluster member hosts it. Announced:

- ``subnet``: the network's own subnet, when NAT is off for that family (routed, not NATed);
- ``nat``: with NAT on, the NAT address (``ipvN.nat.address``) as a host route;
- ``forward`` / ``load-balancer``: each listen address as a host route;
- ``instance``: a NIC's ``ipvN.routes.external`` while its instance runs on this member. The
  same prefix from several NICs (anycast, ``ipvN.routes.anycast`` on the uplink) gives one
  path per next hop here, and one announcement per member across a cluster.

A next hop that is unspecified (LXD's own BGP has announced 0.0.0.0), not a unicast address,
missing, or outside the uplink's subnet is never announced: the announcement is listed as
rejected with the reason instead, so a broken network cannot blackhole its prefixes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from ipaddress import ip_network

from routeragent.config_model import IPAddress, IPNetwork
from routeragent.lxd.config_model import Kind, LxdSettings
from routeragent.lxd.lxd_objects import Family, OvnNetwork, Snapshot, Uplink


@dataclass(frozen=True)
class Announcement:
    prefix: IPNetwork
    next_hop: IPAddress
    kind: Kind
    source: str

    @property
    def key(self) -> tuple[IPNetwork, IPAddress]:
        return self.prefix, self.next_hop


@dataclass(frozen=True)
class Rejected:
    prefix: IPNetwork | None
    next_hop: IPAddress | None
    kind: Kind
    source: str
    reason: str


@dataclass(frozen=True)
class Desired:
    announcements: tuple[Announcement, ...]
    rejected: tuple[Rejected, ...]
    problems: tuple[str, ...]


def sort_key(item: Announcement | Rejected) -> tuple[object, ...]:
    """Families mixed: IPv4 first, then by prefix, next hop, kind and source."""
    p = item.prefix
    nh = item.next_hop
    return (
        p.version if p else 0,
        int(p.network_address) if p else 0,
        p.prefixlen if p else 0,
        nh.version if nh else 0,
        int(nh) if nh else 0,
        item.kind,
        item.source,
    )


def next_hop_problem(next_hop: IPAddress | None, uplink: Uplink, family: Family) -> str | None:
    if next_hop is None:
        return f"no OVN router address on the uplink (volatile.network.ipv{family}.address)"
    if next_hop.version != family:
        return f"next hop {next_hop} is not IPv{family}"
    if next_hop.is_unspecified:
        return f"next hop {next_hop} is unspecified"
    if next_hop.is_multicast or next_hop.is_loopback or next_hop.is_link_local:
        return f"next hop {next_hop} is not a unicast address on the uplink"
    subnet = uplink.subnet(family)
    if subnet is None:
        return f"uplink {uplink.name} has no IPv{family} subnet to check the next hop against"
    if next_hop not in subnet:
        return f"next hop {next_hop} is outside uplink {uplink.name}'s subnet {subnet}"
    if subnet.prefixlen < subnet.max_prefixlen - 1:
        # IPv4's network and broadcast addresses; IPv6's subnet-router anycast address
        reserved = {subnet.network_address}
        if subnet.version == 4:
            reserved.add(subnet.broadcast_address)
        if next_hop in reserved:
            return f"next hop {next_hop} is not a host address of {subnet}"
    return None


def _host(address: IPAddress) -> IPNetwork:
    return ip_network(f"{address}/{address.max_prefixlen}")


def _selected(project: str, settings: LxdSettings) -> bool:
    return settings.projects is None or project in settings.projects


def _network_items(
    net: OvnNetwork, snap: Snapshot, settings: LxdSettings, member: str | None
) -> Iterable[tuple[Family, IPNetwork, Kind, str]]:
    """(family, prefix, kind, source) of everything routed to ``net``'s router. Network-level
    items follow the network's project; instance routes follow the instance's project, which
    may use the networks of another one (``features.networks=false`` uses default's)."""
    yield from _nics_items(net, snap, settings, member)
    if not _selected(net.project, settings):
        return
    fams: tuple[Family, ...] = (4, 6)
    for fam in fams:
        subnet = net.subnet(fam)
        if subnet is None:
            continue
        if not net.nat(fam):
            yield fam, subnet.network, "subnet", net.label
            continue
        nat = net.nat_address(fam)
        if nat is None and settings.announce_router_address:
            nat = net.router(fam)
        if nat is not None:
            yield fam, _host(nat), "nat", net.label
    for listen in snap.listens:
        if (listen.project, listen.network) == (net.project, net.name):
            fam = 4 if listen.address.version == 4 else 6
            yield fam, _host(listen.address), listen.kind, f"{net.label} {listen.kind}"


def _nics_items(
    net: OvnNetwork, snap: Snapshot, settings: LxdSettings, member: str | None
) -> Iterable[tuple[Family, IPNetwork, Kind, str]]:
    for nic in snap.nics:
        if (nic.network_project, nic.network) != (net.project, net.name) or not nic.running:
            continue
        if not _selected(nic.project, settings):
            continue
        if member is not None and nic.location not in (member, "none", ""):
            continue
        for prefix in nic.routes:
            yield (4 if prefix.version == 4 else 6), prefix, "instance", nic.label


def desired(snap: Snapshot, settings: LxdSettings) -> Desired:
    """Everything to announce from ``snap``, and everything refused with its reason."""
    member = settings.member
    if member is None and snap.clustered:
        member = snap.server_name
    announced: dict[tuple[IPNetwork, IPAddress, Kind, str], Announcement] = {}
    rejected: list[Rejected] = []
    problems = list(snap.problems)
    for uplink_name in settings.uplinks:
        if uplink_name not in snap.uplinks:
            problems.append(f"uplink network {uplink_name} not found (physical or bridge)")
    for net in snap.networks:
        if net.uplink not in settings.uplinks:
            continue
        uplink = snap.uplinks.get(net.uplink)
        if uplink is None:
            continue
        for fam, prefix, kind, source in _network_items(net, snap, settings, member):
            nh = net.router(fam)
            reason = next_hop_problem(nh, uplink, fam)
            if reason is not None or nh is None:
                rejected.append(Rejected(prefix, nh, kind, source, reason or "no next hop"))
                continue
            a = Announcement(prefix, nh, kind, source)
            announced[(prefix, nh, kind, source)] = a
    return Desired(
        announcements=tuple(sorted(announced.values(), key=sort_key)),
        rejected=tuple(sorted(rejected, key=sort_key)),
        problems=tuple(problems),
    )
