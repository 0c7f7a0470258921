"""Announcements -> bgpspeak routes: merged paths, attributes per kind, ADD-PATH ids."""

from __future__ import annotations

from ipaddress import ip_address, ip_network

from lxd.snapshots import recorded
from routeragent.lxd.bgp_routes import Path, PathIds, merge, route_for, routes_for_neighbor
from routeragent.lxd.config_load import parse_lxd_config
from routeragent.lxd.config_model import KindAttributes, LxdConfig, LxdSettings
from routeragent.lxd.lxd_objects import parse_snapshot
from routeragent.lxd.model import Announcement, desired


def config(**kinds: KindAttributes) -> LxdConfig:
    c = parse_lxd_config(
        {
            "announcer": {"name": "t"},
            "bgp": {"asn": 65010, "router_id": "192.0.2.1"},
            "neighbor": [{"address": "192.0.2.2", "remote_as": 65000}],
        }
    )
    return LxdConfig(c.announcer, c.lxd, c.bgp, dict(kinds.items()))  # type: ignore[arg-type]


def ann(prefix: str, nh: str, kind: str = "instance", source: str = "s") -> Announcement:
    return Announcement(ip_network(prefix), ip_address(nh), kind, source)  # type: ignore[arg-type]


def test_same_prefix_and_next_hop_is_one_path_with_every_kind() -> None:
    paths = merge(
        [
            ann("203.0.113.10/32", "10.210.0.102", "nat", "default/ovn3"),
            ann("203.0.113.10/32", "10.210.0.102", "forward", "default/ovn3 forward"),
        ]
    )
    assert paths == [
        Path(
            ip_network("203.0.113.10/32"),
            ip_address("10.210.0.102"),
            ("forward", "nat"),
            ("default/ovn3 forward", "default/ovn3"),
        )
    ]
    c = config(
        nat=KindAttributes(communities=("65010:110",), med=50),
        forward=KindAttributes(communities=("65010:120", "65010:110"), med=20),
    )
    r = route_for(paths[0], c, None)
    assert r.med == 20
    assert r.communities == (65010 << 16 | 120, 65010 << 16 | 110)
    assert str(r.next_hop) == "10.210.0.102" and r.path_id is None


def test_path_ids_are_stable_and_reused() -> None:
    ids = PathIds()
    a, b, c = "10.210.0.100", "10.210.0.101", "10.210.0.102"
    p = "198.51.100.99/32"
    first = ids.assign(merge([ann(p, a), ann(p, b)]))
    assert sorted(first.values()) == [1, 2]
    second = ids.assign(merge([ann(p, b)]))  # a's path goes: b keeps its id
    key_b = (ip_network(p), ip_address(b))
    assert second == {key_b: first[key_b]}
    third = ids.assign(merge([ann(p, b), ann(p, c)]))  # c takes the free id
    assert third[key_b] == first[key_b]
    assert third[(ip_network(p), ip_address(c))] == 3 - first[key_b]


def test_without_add_path_the_lowest_next_hop_wins() -> None:
    paths = merge(
        [ann("198.51.100.99/32", "10.210.0.101"), ann("198.51.100.99/32", "10.210.0.100")]
    )
    ids = PathIds().assign(paths)
    single = routes_for_neighbor(paths, config(), frozenset(), ids)
    assert [(str(r.next_hop), r.path_id) for r in single] == [("10.210.0.100", None)]
    both = routes_for_neighbor(paths, config(), frozenset({4}), ids)
    assert sorted((str(r.next_hop), r.path_id) for r in both) == [
        ("10.210.0.100", ids[(ip_network("198.51.100.99/32"), ip_address("10.210.0.100"))]),
        ("10.210.0.101", ids[(ip_network("198.51.100.99/32"), ip_address("10.210.0.101"))]),
    ]


def test_add_path_per_ip_version() -> None:
    paths = merge(
        [
            ann("198.51.100.99/32", "10.210.0.100"),
            ann("198.51.100.99/32", "10.210.0.101"),
            ann("2001:db8:100:1::/64", "2001:db8:210::100"),
            ann("2001:db8:100:1::/64", "2001:db8:210::101"),
        ]
    )
    routes = routes_for_neighbor(paths, config(), frozenset({6}), PathIds().assign(paths))
    v4 = [r for r in routes if r.prefix.afi == 1]
    v6 = [r for r in routes if r.prefix.afi == 2]
    assert len(v4) == 1 and v4[0].path_id is None
    assert len(v6) == 2 and {r.path_id for r in v6} == {1, 2}


def test_recorded_setup_routes() -> None:
    d = desired(parse_snapshot(recorded()), LxdSettings())
    paths = merge(d.announcements)
    assert len(paths) == len(d.announcements) == 15
    c = config(instance=KindAttributes(large_communities=("65010:140:1",), med=10))
    routes = routes_for_neighbor(paths, c, frozenset({4, 6}), PathIds().assign(paths))
    inst = [r for r in routes if r.med == 10]
    assert len(inst) == 6 and all(r.large_communities == ((65010, 140, 1),) for r in inst)
    anycast = [r for r in routes if str(r.prefix).startswith("198.51.100.99/32")]
    assert sorted(r.path_id or 0 for r in anycast) == [1, 2]
