"""plan (pure) and apply (transactions with rollback) against fakes that fail on demand."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from agent.builders import frr_in_sync, make_config, observe
from agent.fakes import FakeEffects, FakeFrr
from routeragent.apply import apply_plan, frr_mismatches
from routeragent.bgp_policy import (
    Announcement,
    build_policy,
    route_map_lines,
)
from routeragent.config_model import Config
from routeragent.decide import Desired, Memory, decide
from routeragent.keepalived_render import render_keepalived, track_file_path
from routeragent.observations import FrrState, RouteMapEntry
from routeragent.plan import Attach, CreateRouteMap, DeletePrefixList, DeleteRouteMap, make_plan


def equal(cfg: Config) -> Announcement:
    return Announcement(True, cfg.policy.ingress.equal)


def depref(cfg: Config) -> Announcement:
    return Announcement(True, cfg.policy.ingress.depref)


def desired_for(cfg: Config, ann: Announcement, priority: int = 200) -> Desired:
    return Desired(
        priorities={"lan": priority},
        announcement=ann,
        gateway="eligible",
        ingress="test",
        drain_phase="none",
        checks=(),
        reasons={"ingress": "test", "gateway": "test", "priority lan": "test", "drain": "test"},
    )


def setup(tmp_path: Path, frr: FrrState | None = None, priority: int = 200):  # type: ignore[no-untyped-def]
    cfg = make_config(tmp=tmp_path)
    frr = frr if frr is not None else frr_in_sync(cfg, equal(cfg))
    rendered = render_keepalived(cfg)
    fx = FakeEffects(FakeFrr(frr))
    fx.files[cfg.keepalived.config_file] = rendered
    fx.files[track_file_path(cfg, cfg.vrrp[0])] = f"{priority - 200}\n"
    return cfg, fx, rendered


def obs_for(cfg: Config, fx: FakeEffects, rendered: str, priority: int = 200):  # type: ignore[no-untyped-def]
    return observe(
        cfg,
        1000.0,
        fx.frr.state,
        priority=priority,
        keepalived_conf=fx.files.get(cfg.keepalived.config_file),
    )


# --------------------------------------------------------------------------- plan


def test_in_sync_means_an_empty_plan_and_nothing_touched(tmp_path: Path) -> None:
    cfg, fx, rendered = setup(tmp_path)
    plan = make_plan(
        cfg,
        obs_for(cfg, fx, rendered),
        desired_for(cfg, equal(cfg)),
        build_policy(cfg, equal(cfg)),
        rendered,
    )
    assert plan.empty and plan.describe() == []
    report = apply_plan(fx, plan, build_policy(cfg, equal(cfg)))
    assert report.ok and not report.changed and fx.calls == []


def test_policy_names_follow_content() -> None:
    cfg = make_config()
    a, b, c = (
        build_policy(cfg, equal(cfg)),
        build_policy(cfg, equal(cfg)),
        build_policy(cfg, depref(cfg)),
    )
    assert a == b
    out_a = {x.route_map for x in a.attachments if x.direction == "out"}
    out_c = {x.route_map for x in c.attachments if x.direction == "out"}
    assert out_a != out_c and len(out_a) == len(out_c) == 1
    assert all(n.startswith("RA-") for n in a.names | c.names)
    withdrawn = build_policy(cfg, Announcement(False, cfg.policy.ingress.equal))
    (out,) = [rm for rm in withdrawn.route_maps if rm.name.startswith("RA-OUT-")]
    assert out.entries == (RouteMapEntry(10, "deny", (), ()),)


def test_route_map_wording_matches_what_frr_reports() -> None:
    cfg = make_config(
        {"policy": {"ingress": {"drain": {"communities": ["graceful-shutdown", "65010:666"]}}}}
    )
    pol = build_policy(cfg, Announcement(True, cfg.policy.ingress.drain))
    (out,) = [rm for rm in pol.route_maps if rm.name.startswith("RA-OUT-")]
    e = out.entries[0]
    assert e.matches[0].startswith("ip address prefix-list RA-P4-")
    assert e.sets == (
        "as-path prepend 65010 65010 65010",
        "community graceful-shutdown 65010:666 additive",
        "metric 1000",
    )
    assert route_map_lines(out.name, out.entries)[:2] == [
        f"route-map {out.name} permit 10",
        f" match {e.matches[0]}",
    ]


def test_changing_ingress_creates_switches_then_deletes(tmp_path: Path) -> None:
    cfg, fx, rendered = setup(tmp_path)
    pol = build_policy(cfg, depref(cfg))
    plan = make_plan(cfg, obs_for(cfg, fx, rendered), desired_for(cfg, depref(cfg)), pol, rendered)
    kinds = [type(a).__name__ for a in plan.frr]
    assert kinds == ["CreateRouteMap"] + ["Attach"] * 4 + ["DeleteRouteMap"], kinds
    assert not plan.vrrp and not plan.keepalived
    attach = plan.frr[1]
    assert isinstance(attach, Attach) and attach.direction == "out" and attach.previous
    report = apply_plan(fx, plan, pol)
    assert report.ok and report.changed
    assert frr_mismatches(pol, fx.frr.state) == []
    assert fx.calls[0] == "dry-run"
    # the old outbound map is gone, the shared prefix-lists stay
    assert len([n for n in fx.frr.state.route_maps if n.startswith("RA-OUT-")]) == 1
    assert len(fx.frr.state.prefix_lists) == 2


def test_priority_change_is_a_track_file_write_only(tmp_path: Path) -> None:
    cfg, fx, rendered = setup(tmp_path)
    plan = make_plan(
        cfg,
        obs_for(cfg, fx, rendered),
        desired_for(cfg, equal(cfg), 50),
        build_policy(cfg, equal(cfg)),
        rendered,
    )
    assert [a.describe() for a in plan.vrrp] == [
        "vrrp lan: track file 0 -> -150 (priority 200 -> 50: test)"
    ]
    assert not plan.frr and not plan.keepalived
    report = apply_plan(fx, plan, build_policy(cfg, equal(cfg)))
    assert report.ok
    assert fx.files[track_file_path(cfg, cfg.vrrp[0])] == "-150\n"
    assert fx.reloads == 0  # no keepalived reload for a priority change


def test_fresh_router_gets_everything(tmp_path: Path) -> None:
    cfg = make_config(tmp=tmp_path)
    bare = frr_in_sync(cfg, equal(cfg))
    nbs = {k: replace(v, route_map_in=None, route_map_out=None) for k, v in bare.neighbors.items()}
    bare = replace(bare, neighbors=nbs, route_maps={}, prefix_lists={})
    fx = FakeEffects(FakeFrr(bare))
    rendered = render_keepalived(cfg)
    obs = observe(cfg, 1.0, bare, keepalived_conf=None)
    obs = replace(obs, vrrp={"lan": replace(obs.vrrp["lan"], track_value=None)})
    pol = build_policy(cfg, equal(cfg))
    plan = make_plan(cfg, obs, desired_for(cfg, equal(cfg), 50), pol, rendered)
    kinds = [type(a).__name__ for a in plan.frr]
    assert kinds == ["CreatePrefixList"] * 2 + ["CreateRouteMap"] * 2 + ["Attach"] * 8
    assert plan.keepalived[0].reason == "no config on disk"
    report = apply_plan(fx, plan, pol)
    assert report.ok, report
    assert fx.files[cfg.keepalived.config_file] == rendered
    assert frr_mismatches(pol, fx.frr.state) == []


def test_hand_edited_route_map_is_replaced_and_refreshed(tmp_path: Path) -> None:
    cfg = make_config(tmp=tmp_path)
    st = frr_in_sync(cfg, equal(cfg))
    name = next(n for n in st.route_maps if n.startswith("RA-OUT-"))
    edited = {**st.route_maps, name: (RouteMapEntry(10, "permit", (), ("metric 5",)),)}
    cfg, fx, rendered = setup(tmp_path, replace(st, route_maps=edited))
    pol = build_policy(cfg, equal(cfg))
    plan = make_plan(cfg, obs_for(cfg, fx, rendered), desired_for(cfg, equal(cfg)), pol, rendered)
    (action,) = plan.frr
    assert isinstance(action, CreateRouteMap) and action.previous is not None
    assert len(action.refresh) == 4
    report = apply_plan(fx, plan, pol)
    assert report.ok
    assert any(c.startswith("exec clear bgp ipv4 unicast 10.1.1.1 soft out") for c in fx.calls)
    assert frr_mismatches(pol, fx.frr.state) == []


def test_foreign_objects_are_left_alone_and_stale_ones_removed(tmp_path: Path) -> None:
    cfg = make_config(tmp=tmp_path)
    st = frr_in_sync(cfg, equal(cfg))
    extra_maps = {**st.route_maps, "CUSTOMER-IN": (), "RA-OUT-00000000": ()}
    extra_lists = {**st.prefix_lists, "RA-P4-00000000": next(iter(st.prefix_lists.values()))}
    st = replace(st, route_maps=extra_maps, prefix_lists=extra_lists)
    cfg, fx, rendered = setup(tmp_path, st)
    plan = make_plan(
        cfg,
        obs_for(cfg, fx, rendered),
        desired_for(cfg, equal(cfg)),
        build_policy(cfg, equal(cfg)),
        rendered,
    )
    assert [type(a) for a in plan.frr] == [DeleteRouteMap, DeletePrefixList]
    assert {a.name for a in plan.frr} == {"RA-OUT-00000000", "RA-P4-00000000"}  # type: ignore[union-attr]


def test_unknown_neighbor_and_wrong_asn_block_instead_of_failing(tmp_path: Path) -> None:
    cfg = make_config(tmp=tmp_path)
    st = frr_in_sync(cfg, equal(cfg))
    st = replace(st, neighbors={k: v for k, v in st.neighbors.items() if k != "10.2.1.1"})
    cfg, fx, rendered = setup(tmp_path, st)
    plan = make_plan(
        cfg,
        obs_for(cfg, fx, rendered),
        desired_for(cfg, depref(cfg)),
        build_policy(cfg, depref(cfg)),
        rendered,
    )
    assert "upstream 10.2.1.1 is not a neighbor in bgpd" in plan.blocked
    assert sum(isinstance(a, Attach) for a in plan.frr) == 3
    other_as = replace(st, asn=64999)
    plan = make_plan(
        cfg,
        observe(cfg, 1.0, other_as, priority=200, keepalived_conf=rendered),
        desired_for(cfg, depref(cfg)),
        build_policy(cfg, depref(cfg)),
        rendered,
    )
    assert plan.frr == () and "bgpd runs AS 64999" in plan.blocked[0]


def test_frr_unobservable_plans_no_frr_change_but_still_vrrp(tmp_path: Path) -> None:
    cfg, _, rendered = setup(tmp_path)
    obs = observe(cfg, 1.0, None, priority=200, keepalived_conf=rendered)
    plan = make_plan(
        cfg, obs, desired_for(cfg, depref(cfg), 50), build_policy(cfg, depref(cfg)), rendered
    )
    assert plan.frr == () and len(plan.vrrp) == 1
    assert plan.blocked[0].startswith("FRR not observable (vtysh did not answer")


# --------------------------------------------------------------------------- apply failures


def ingress_change(tmp_path: Path, **fx_kw: object):  # type: ignore[no-untyped-def]
    cfg, fx, rendered = setup(tmp_path)
    for k, v in fx_kw.items():
        setattr(fx, k, v)
    pol = build_policy(cfg, depref(cfg))
    plan = make_plan(
        cfg, obs_for(cfg, fx, rendered), desired_for(cfg, depref(cfg), 50), pol, rendered
    )
    return cfg, fx, plan, pol


def test_frr_failure_midway_rolls_back_everything_done(tmp_path: Path) -> None:
    cfg, fx, plan, pol = ingress_change(tmp_path)
    before = fx.frr.state
    # switching to the new map fails (switching back, the undo, works)
    fx.frr.fail_on = r"neighbor 10\.2\.1\.1 route-map RA-OUT-(?!7eb2fa62)"
    report = apply_plan(fx, plan, pol)
    frr_tx = report.transactions[2]
    assert not frr_tx.ok and frr_tx.rolled_back and frr_tx.rollback_error is None
    assert "Unknown command: neighbor 10.2.1.1" in (frr_tx.error or "")
    assert len(frr_tx.applied) == 3  # create + two switches, then the failure
    assert fx.frr.state.route_maps == before.route_maps
    assert fx.frr.state.neighbors == before.neighbors
    # the priority transaction is independent and went through
    assert report.transactions[0].ok
    assert fx.files[track_file_path(cfg, cfg.vrrp[0])] == "-150\n"


def test_frr_dry_run_rejection_applies_nothing(tmp_path: Path) -> None:
    _, fx, plan, pol = ingress_change(tmp_path, dry_run_rejects=True)
    before = fx.frr.state
    report = apply_plan(fx, plan, pol)
    tx = report.transactions[2]
    assert not tx.ok and not tx.rolled_back and tx.applied == []
    assert tx.error and tx.error.startswith("dry run failed, nothing applied")
    assert fx.frr.state == before
    assert "configure" not in fx.calls


def test_frr_verification_failure_rolls_back(tmp_path: Path) -> None:
    _, fx, plan, pol = ingress_change(tmp_path, verify_lies=True)
    before = fx.frr.state
    report = apply_plan(fx, plan, pol)
    tx = report.transactions[2]
    assert not tx.ok and tx.rolled_back
    assert "FRR does not show the change" in (tx.error or "")
    assert fx.frr.state.neighbors == before.neighbors


def test_frr_hang_during_rollback_is_reported(tmp_path: Path) -> None:
    _, fx, plan, pol = ingress_change(tmp_path)
    fx.frr.fail_on = r"neighbor 2001:db8:2:1::1 route-map RA-OUT"

    original = fx.frr.configure
    calls = {"n": 0}

    def flaky(lines: list[str]) -> None:
        calls["n"] += 1
        if calls["n"] > 5:  # everything after the failure: vtysh stops answering
            fx.frr.hang = True
        original(lines)

    fx.frr.configure = flaky  # type: ignore[method-assign]
    report = apply_plan(fx, plan, pol)
    tx = report.transactions[2]
    assert not tx.ok and tx.rolled_back and "did not answer" in (tx.rollback_error or "")


def test_track_file_failure_restores_previous_values(tmp_path: Path) -> None:
    cfg = make_config(
        {"vrrp": [
            {"name": "lan", "interface": "lan0", "vrid": 51, "addresses": ["10.50.0.1/24"]},
            {"name": "dmz", "interface": "dmz0", "vrid": 52, "addresses": ["10.60.0.1/24"]},
        ]},
        tmp=tmp_path,
    )  # fmt: skip
    fx = FakeEffects(FakeFrr(frr_in_sync(cfg, equal(cfg))))
    lan, dmz = (track_file_path(cfg, i) for i in cfg.vrrp)
    fx.files[lan] = "0\n"
    fx.files[dmz] = "0\n"
    fx.fail_track_write = dmz
    rendered = render_keepalived(cfg)
    obs = observe(cfg, 1.0, fx.frr.state, priority=200, keepalived_conf=rendered)
    obs = replace(obs, vrrp={**obs.vrrp, "dmz": replace(obs.vrrp["lan"], instance="dmz")})
    d = replace(desired_for(cfg, equal(cfg)), priorities={"lan": 50, "dmz": 50},
                reasons={"priority lan": "x", "priority dmz": "x"})  # fmt: skip
    plan = make_plan(cfg, obs, d, build_policy(cfg, equal(cfg)), rendered)
    assert len(plan.vrrp) == 2
    report = apply_plan(fx, plan, build_policy(cfg, equal(cfg)))
    tx = report.transactions[0]
    assert not tx.ok and tx.rolled_back and "No space left" in (tx.error or "")
    assert fx.files[lan] == "0\n" and fx.files[dmz] == "0\n"


def test_keepalived_rejection_writes_nothing(tmp_path: Path) -> None:
    cfg = make_config(tmp=tmp_path)
    fx = FakeEffects(
        FakeFrr(frr_in_sync(cfg, equal(cfg))), keepalived_rejects="Non-existent interface"
    )
    fx.files[cfg.keepalived.config_file] = "old config\n"
    rendered = render_keepalived(cfg)
    obs = observe(cfg, 1.0, fx.frr.state, priority=200, keepalived_conf="old config\n")
    plan = make_plan(
        cfg, obs, desired_for(cfg, equal(cfg)), build_policy(cfg, equal(cfg)), rendered
    )
    assert plan.keepalived[0].reload
    report = apply_plan(fx, plan, build_policy(cfg, equal(cfg)))
    tx = report.transactions[1]
    assert not tx.ok and "Non-existent interface" in (tx.error or "")
    assert fx.files[cfg.keepalived.config_file] == "old config\n"
    assert fx.reloads == 0


def test_keepalived_dying_on_reload_restores_the_old_file(tmp_path: Path) -> None:
    cfg = make_config(tmp=tmp_path)
    fx = FakeEffects(FakeFrr(frr_in_sync(cfg, equal(cfg))), keepalived_alive=False)
    fx.files[cfg.keepalived.config_file] = "old config\n"
    rendered = render_keepalived(cfg)
    obs = observe(cfg, 1.0, fx.frr.state, priority=200, keepalived_conf="old config\n")
    plan = make_plan(
        cfg, obs, desired_for(cfg, equal(cfg)), build_policy(cfg, equal(cfg)), rendered
    )
    report = apply_plan(fx, plan, build_policy(cfg, equal(cfg)))
    tx = report.transactions[1]
    assert not tx.ok and tx.rolled_back
    assert fx.files[cfg.keepalived.config_file] == "old config\n"
    assert fx.reloads == 2  # the new file, then the old one again


@pytest.mark.parametrize("priority", [50, 200])
def test_decide_plan_apply_converges_in_one_pass(tmp_path: Path, priority: int) -> None:
    cfg, fx, rendered = setup(tmp_path, priority=priority)
    mem = Memory()
    for t in range(12):
        obs = observe(
            cfg,
            1000.0 + t,
            fx.frr.state,
            priority=200 + int(fx.files[track_file_path(cfg, cfg.vrrp[0])]),
            keepalived_conf=fx.files[cfg.keepalived.config_file],
        )
        d, mem = decide(cfg, obs, mem)
        pol = build_policy(cfg, d.announcement)
        plan = make_plan(cfg, obs, d, pol, rendered)
        assert apply_plan(fx, plan, pol).ok
    # once healthy and settled, a pass plans nothing
    obs = observe(cfg, 2000.0, fx.frr.state, priority=200, keepalived_conf=rendered)
    d, mem = decide(cfg, obs, mem)
    assert d.priorities["lan"] == 200
    assert make_plan(cfg, obs, d, build_policy(cfg, d.announcement), rendered).empty
