"""Parsing real FRR 8.4.4 answers (recorded by tests/agent/interop/capture.py)."""

from __future__ import annotations

import pytest

from agent.builders import recorded_config, recorded_state, recording
from routeragent.bgp_policy import Announcement, build_policy
from routeragent.frr_json import (
    FrrOutputError,
    parse_advertised,
    parse_neighbors,
    parse_route_maps,
    split_documents,
)
from routeragent.observations import RouteMapEntry
from routeragent.observe import bgpd_commands, without_deleted_route_maps


def test_recordings_are_real_frr_84() -> None:
    for name in ("r1-before-agent", "r1-steady", "r2-drained", "r3-upstream-down"):
        rec = recording(name)
        assert rec["frr"].startswith("FRRouting 8.4")
        cfg = recorded_config(rec["router"])
        assert [c for c, _ in rec["bgpd"]] == bgpd_commands(cfg)


def test_steady_router_as_the_agent_left_it() -> None:
    cfg = recorded_config("r1")
    st = recorded_state(cfg, "r1-steady")
    assert st.asn == 65010
    assert set(st.neighbors) == {"10.1.1.1", "10.2.1.1", "2001:db8:1:1::1", "2001:db8:2:1::1"}
    for nb in st.neighbors.values():
        assert nb.established and nb.prefixes_received == 2 and nb.prefixes_sent == 1
        assert nb.family == ("ipv6" if ":" in nb.address else "ipv4")
    assert st.routes == {"0.0.0.0/0": True}
    # what FRR shows is exactly what the agent asked for: the plan would be empty
    policy = build_policy(cfg, Announcement(True, cfg.policy.ingress.equal))
    assert {n: st.route_maps[n] for n in (r.name for r in policy.route_maps)} == {
        r.name: r.entries for r in policy.route_maps
    }
    for att in policy.attachments:
        nb = st.neighbors[att.neighbor]
        assert (nb.route_map_in if att.direction == "in" else nb.route_map_out) == att.route_map
    for pl in policy.prefix_lists:
        assert st.prefix_lists[pl.name].entries == pl.entries
        assert st.prefix_lists[pl.name].family == pl.family
    v4 = st.advertised["10.1.1.1"]
    assert [(a.prefix, a.med, a.as_path) for a in v4] == [("203.0.113.0/24", 100, "")]
    v6 = st.advertised["2001:db8:2:1::1"]
    assert [(a.prefix, a.med) for a in v6] == [("2001:db8:100::/48", 100)]


def test_route_map_entries_keep_frr_wording() -> None:
    cfg = recorded_config("r1")
    st = recorded_state(cfg, "r1-steady")
    ins = [e for n, e in st.route_maps.items() if n.startswith("RA-IN-")]
    assert sorted(ins, key=repr) == [
        (RouteMapEntry(10, "permit", (), ("local-preference 100",)),),
        (RouteMapEntry(10, "permit", (), ("local-preference 200",)),),
    ]


def test_drained_router_withdrew_everything() -> None:
    cfg = recorded_config("r2")
    st = recorded_state(cfg, "r2-drained")
    outs = {nb.route_map_out for nb in st.neighbors.values()}
    assert len(outs) == 1
    (out,) = outs
    assert st.route_maps[out] == (RouteMapEntry(10, "deny", (), ()),)
    assert all(nb.prefixes_sent == 0 for nb in st.neighbors.values())
    assert all(adv == () for adv in st.advertised.values())


def test_router_with_upstreams_down() -> None:
    cfg = recorded_config("r3")
    st = recorded_state(cfg, "r3-upstream-down")
    assert {nb.state for nb in st.neighbors.values()} <= {"Idle", "Active", "Connect"}
    assert all(nb.prefixes_received == 0 for nb in st.neighbors.values())
    # the route-maps stay attached while the sessions are down
    assert all(nb.route_map_out for nb in st.neighbors.values())
    assert st.routes == {"0.0.0.0/0": False}


def test_before_the_agent_nothing_is_attached() -> None:
    cfg = recorded_config("r1")
    st = recorded_state(cfg, "r1-before-agent")
    assert st.route_maps == {} and st.prefix_lists == {}
    for nb in st.neighbors.values():
        assert nb.established  # ebgp-requires-policy: up, but nothing exchanged
        assert nb.route_map_in is None and nb.route_map_out is None
        assert nb.prefixes_received == 0


def test_error_answers() -> None:
    rec = recording("r3-upstream-down")
    (_, text) = rec["extra"][0]
    with pytest.raises(FrrOutputError, match="Unknown command: show bgp nonsense json"):
        split_documents(text)
    steady = recording("r1-steady")
    (_, unknown_nb) = steady["extra"][0]
    assert parse_advertised(split_documents(unknown_nb)[0], "10.9.9.9") == ()
    with pytest.raises(FrrOutputError, match="expected an object"):
        parse_neighbors([])
    with pytest.raises(FrrOutputError, match="no BGP section"):
        parse_route_maps({"ZEBRA": {}})
    with pytest.raises(FrrOutputError, match="bgpState"):
        parse_neighbors({"10.0.0.1": {"localAs": 1}})


def test_split_documents_handles_back_to_back_json() -> None:
    assert split_documents('{"a":1}\n{"b":\n2}\n\n') == [{"a": 1}, {"b": 2}]
    assert split_documents("  \n") == []
    with pytest.raises(FrrOutputError, match="not JSON at document 2"):
        split_documents('{"a":1}\n% BGP instance not found\n')


def test_deleted_route_maps_are_dropped_using_the_running_config() -> None:
    cfg = recorded_config("r1")
    st = recorded_state(cfg, "r1-steady")
    lingering = {**st.route_maps, "RA-OUT-deadbeef": (RouteMapEntry(10, "deny", (), ()),)}
    st2 = st.__class__(**{**st.__dict__, "route_maps": lingering})
    running = "\n".join(f"route-map {n} permit 10" for n in st.route_maps)
    assert without_deleted_route_maps(st2, running).route_maps == st.route_maps
    kept = without_deleted_route_maps(st2, running + "\nroute-map RA-OUT-deadbeef deny 10\n")
    assert "RA-OUT-deadbeef" in kept.route_maps
