"""The pure model on real LXD 5.0.2 answers: what is announced, with which next hop, and what
is refused. Edits of the recordings stand for states this LXD cannot produce on one machine
(a cluster member elsewhere, LXD's 0.0.0.0 next hop, a load balancer: 5.0.2 has no
``network_load_balancer``)."""

from __future__ import annotations

from dataclasses import replace
from ipaddress import ip_address, ip_network

from lxd.snapshots import edited, instance, network, recorded
from routeragent.lxd.config_model import LxdSettings
from routeragent.lxd.lxd_objects import parse_snapshot
from routeragent.lxd.model import desired

SETTINGS = LxdSettings(uplinks=("UPLINK",))


def table(d: object) -> set[tuple[str, str, str]]:
    from routeragent.lxd.model import Desired

    assert isinstance(d, Desired)
    return {(str(a.prefix), str(a.next_hop), a.kind) for a in d.announcements}


def test_recorded_setup_gives_every_kind_with_the_ovn_router_as_next_hop() -> None:
    got = desired(parse_snapshot(recorded()), SETTINGS)
    assert table(got) == {
        ("10.211.1.0/24", "10.210.0.100", "subnet"),
        ("2001:db8:211:1::/64", "2001:db8:210::100", "subnet"),
        ("10.211.2.0/24", "10.210.0.101", "subnet"),
        ("2001:db8:211:2::/64", "2001:db8:210::101", "subnet"),
        ("10.211.4.0/24", "10.210.0.103", "subnet"),
        ("203.0.113.10/32", "10.210.0.102", "nat"),
        ("2001:db8:100:ff::10/128", "2001:db8:210::102", "nat"),
        ("198.51.100.50/32", "10.210.0.100", "forward"),
        ("2001:db8:100:50::1/128", "2001:db8:210::100", "forward"),
        ("198.51.100.16/28", "10.210.0.100", "instance"),
        ("2001:db8:100:1::/64", "2001:db8:210::100", "instance"),
        ("198.51.100.99/32", "10.210.0.100", "instance"),
        ("198.51.100.99/32", "10.210.0.101", "instance"),  # anycast: one path per router
        ("198.51.100.98/32", "10.210.0.101", "instance"),
        ("198.51.100.64/29", "10.210.0.103", "instance"),
    }
    assert got.rejected == () and got.problems == ()
    sources = {a.source for a in got.announcements if str(a.prefix) == "198.51.100.16/28"}
    assert sources == {"default/c1-r2170 eth0"}


def test_stopped_instance_and_nat_without_address_announce_nothing() -> None:
    got = table(desired(parse_snapshot(recorded()), SETTINGS))
    assert not {p for p, _, _ in got} & {"198.51.100.80/29", "2001:db8:100:5::/64"}  # c5 stopped
    assert not any(nh == "10.210.0.104" for _, nh, _ in got)  # ovn5: NAT, no nat.address
    assert not any(p.startswith("10.212.") for p, _, _ in got)  # NATed subnets never


def test_router_address_as_nat_address_when_asked() -> None:
    settings = replace(SETTINGS, announce_router_address=True)
    got = table(desired(parse_snapshot(recorded()), settings))
    assert ("10.210.0.104/32", "10.210.0.104", "nat") in got
    assert ("203.0.113.10/32", "10.210.0.102", "nat") in got  # explicit address still wins


def test_instance_start_adds_its_routes() -> None:
    raw = edited(recorded())
    instance(raw, "c5")["status"] = "Running"
    got = table(desired(parse_snapshot(raw), SETTINGS))
    assert ("198.51.100.80/29", "10.210.0.100", "instance") in got
    assert ("2001:db8:100:5::/64", "2001:db8:210::100", "instance") in got


def test_frozen_instance_keeps_its_routes() -> None:
    raw = edited(recorded())
    instance(raw, "c1")["status"] = "Frozen"
    assert ("198.51.100.16/28", "10.210.0.100", "instance") in table(
        desired(parse_snapshot(raw), SETTINGS)
    )


def test_unspecified_next_hop_is_rejected_with_reason() -> None:
    raw = edited(recorded())
    network(raw, "ovn1")["config"]["volatile.network.ipv4.address"] = "0.0.0.0"
    got = desired(parse_snapshot(raw), SETTINGS)
    assert not any(str(a.next_hop) == "0.0.0.0" for a in got.announcements)
    reasons = {(str(r.prefix), r.reason) for r in got.rejected}
    assert ("10.211.1.0/24", "next hop 0.0.0.0 is unspecified") in reasons
    assert ("198.51.100.16/28", "next hop 0.0.0.0 is unspecified") in reasons
    assert ("198.51.100.50/32", "next hop 0.0.0.0 is unspecified") in reasons
    # the IPv6 side of the same network is unaffected
    assert ("2001:db8:211:1::/64", "2001:db8:210::100", "subnet") in table(got)


def test_next_hop_outside_the_uplink_subnet_is_rejected() -> None:
    raw = edited(recorded())
    network(raw, "ovn2")["config"]["volatile.network.ipv4.address"] = "10.99.0.5"
    network(raw, "ovn2")["config"]["volatile.network.ipv6.address"] = "2001:db8:210::"
    got = desired(parse_snapshot(raw), SETTINGS)
    reasons = {r.reason for r in got.rejected if r.source.startswith("default/ovn2")}
    assert reasons == {
        "next hop 10.99.0.5 is outside uplink UPLINK's subnet 10.210.0.0/24",
        "next hop 2001:db8:210:: is not a host address of 2001:db8:210::/64",
    }
    assert not any(a.source.startswith("default/ovn2") for a in got.announcements)
    # anycast: c2's path is refused, c1's stays
    assert ("198.51.100.99/32", "10.210.0.100", "instance") in table(got)


def test_missing_router_address_and_uplink_without_ipv6() -> None:
    raw = edited(recorded())
    del network(raw, "ovn1")["config"]["volatile.network.ipv6.address"]
    del network(raw, "UPLINK")["config"]["ipv6.gateway"]
    got = desired(parse_snapshot(raw), SETTINGS)
    reasons = {(r.source, r.reason) for r in got.rejected}
    assert (
        "default/ovn1",
        "no OVN router address on the uplink (volatile.network.ipv6.address)",
    ) in reasons
    assert (
        "default/ovn2",
        "uplink UPLINK has no IPv6 subnet to check the next hop against",
    ) in reasons
    assert all(a.prefix.version == 4 for a in got.announcements)


def test_bad_values_become_problems_not_exceptions() -> None:
    raw = edited(recorded())
    instance(raw, "c1")["expanded_devices"]["eth0"]["ipv4.routes.external"] = "198.51.100.17/28"
    network(raw, "ovn3")["config"]["ipv4.nat.address"] = "not-an-address"
    got = desired(parse_snapshot(raw), SETTINGS)
    assert set(got.problems) == {
        "instance default/c1-r2170 eth0 ipv4.routes.external: '198.51.100.17/28' is not a "
        "network prefix",
        "network default/ovn3 ipv4.nat.address: 'not-an-address' is not an IP address",
    }
    assert ("198.51.100.50/32", "10.210.0.100", "forward") in table(got)  # the rest goes on


def test_other_uplinks_and_unknown_uplink() -> None:
    got = desired(parse_snapshot(recorded()), LxdSettings(uplinks=("OTHER",)))
    assert got.announcements == ()
    assert got.problems == ("uplink network OTHER not found (physical or bridge)",)


def test_projects_select_networks_and_instances() -> None:
    only_p2 = LxdSettings(uplinks=("UPLINK",), projects=("p2",))
    want = {
        ("10.211.4.0/24", "10.210.0.103", "subnet"),
        ("198.51.100.64/29", "10.210.0.103", "instance"),
    }
    assert table(desired(parse_snapshot(recorded()), only_p2)) == want
    # the read made with projects = ["p2"] (per-project GETs) gives the same
    assert table(desired(parse_snapshot(recorded("project-p2")), only_p2)) == want
    only_default = LxdSettings(uplinks=("UPLINK",), projects=("default",))
    got = table(desired(parse_snapshot(recorded()), only_default))
    assert not any(nh == "10.210.0.103" for _, nh, _ in got)
    assert ("198.51.100.16/28", "10.210.0.100", "instance") in got


def test_project_without_own_networks_uses_defaults_networks() -> None:
    raw = edited(recorded())
    raw["projects"].append({"name": "p3", "config": {"features.networks": "false"}})
    c5 = edited(recorded())["instances"][4]
    c5.update(project="p3", status="Running")
    raw["instances"].append(c5)
    got = table(desired(parse_snapshot(raw), LxdSettings(uplinks=("UPLINK",), projects=("p3",))))
    assert got == {
        ("198.51.100.80/29", "10.210.0.100", "instance"),
        ("2001:db8:100:5::/64", "2001:db8:210::100", "instance"),
    }


def test_cluster_member_announces_only_its_own_instances() -> None:
    raw = edited(recorded())
    raw["server"]["environment"]["server_clustered"] = True
    raw["server"]["environment"]["server_name"] = "m1"
    instance(raw, "c1")["location"] = "m1"
    instance(raw, "c2")["location"] = "m2"
    instance(raw, "c4")["location"] = "m2"
    snap = parse_snapshot(raw)
    on_m1 = table(desired(snap, SETTINGS))
    assert ("198.51.100.99/32", "10.210.0.100", "instance") in on_m1
    assert ("198.51.100.99/32", "10.210.0.101", "instance") not in on_m1
    assert ("198.51.100.64/29", "10.210.0.103", "instance") not in on_m1
    assert ("10.211.2.0/24", "10.210.0.101", "subnet") in on_m1  # networks: every member
    on_m2 = table(desired(snap, replace(SETTINGS, member="m2")))
    assert ("198.51.100.99/32", "10.210.0.101", "instance") in on_m2
    assert ("198.51.100.16/28", "10.210.0.100", "instance") not in on_m2


def test_load_balancers_are_announced_like_forwards() -> None:
    raw = edited(recorded())
    # the shape of GET /1.0/networks/<n>/load-balancers?recursion=1 (API network_load_balancer)
    raw["load_balancers"]["default/ovn2"] = [
        {
            "listen_address": "198.51.100.60",
            "backends": [{"name": "b1", "target_address": "10.211.2.10"}],
            "config": {},
            "description": "",
            "location": "",
            "ports": [],
        }
    ]
    got = desired(parse_snapshot(raw), SETTINGS)
    assert ("198.51.100.60/32", "10.210.0.101", "load-balancer") in table(got)
    lb = next(a for a in got.announcements if a.kind == "load-balancer")
    assert lb.source == "default/ovn2 load-balancer"


def test_bridge_uplink_subnet_comes_from_its_address() -> None:
    raw = edited(recorded())
    up = network(raw, "UPLINK")
    up["type"] = "bridge"
    up["config"] = {"ipv4.address": "10.210.0.1/24", "ipv6.address": "2001:db8:210::1/64"}
    snap = parse_snapshot(raw)
    assert snap.uplinks["UPLINK"].subnet_v4 == ip_network("10.210.0.0/24")
    assert ("10.211.1.0/24", "10.210.0.100", "subnet") in table(desired(snap, SETTINGS))


def test_order_is_ipv4_then_ipv6_by_address() -> None:
    got = desired(parse_snapshot(recorded()), SETTINGS)
    versions = [a.prefix.version for a in got.announcements]
    assert versions == sorted(versions)
    v4 = [a for a in got.announcements if a.prefix.version == 4]
    assert v4[0].prefix == ip_network("10.211.1.0/24")
    assert v4[0].next_hop == ip_address("10.210.0.100")


def test_networks_without_config_are_a_problem() -> None:
    """What a certificate restricted to projects gets from LXD 5.0 (seen in the interop test)."""
    raw = edited(recorded())
    for net in raw["networks"]["default"]:
        if net["managed"]:
            net["config"] = {}
    got = desired(parse_snapshot(raw), SETTINGS)
    assert "network default/ovn1: LXD sent no config" in " ".join(got.problems)
    assert "uplink network UPLINK not found (physical or bridge)" in got.problems
    assert not any(a.source.startswith("default/") for a in got.announcements)
