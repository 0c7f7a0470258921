"""decide(): every gateway, ingress and drain path, without a daemon.

The simulator (builders.Sim) plays a router whose keepalived and FRR do exactly what the agent
asks; each step is one agent pass 0.5 s after the previous one.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from agent.builders import UPSTREAMS, Sim, base_dict, frr_in_sync, make_config, observe
from routeragent.bgp_policy import Announcement
from routeragent.config_load import parse_config
from routeragent.decide import Memory, decide
from routeragent.drain_phases import own_prepends
from routeragent.hysteresis import CheckMemory, step

HEALTHY, DEMOTED, DRAINED = 200, 50, 1


def healthy_sim(**overrides: object) -> Sim:
    sim = Sim(make_config(overrides or None))
    d = sim.run(5)
    assert d.gateway == "eligible", d.reasons
    return sim


# --------------------------------------------------------------------------- hysteresis


def test_hysteresis_needs_rise_consecutive_successes_and_fall_failures() -> None:
    m = CheckMemory()
    for _ in range(2):
        m = step(m, True, rise=3, fall=2, now=1)
        assert not m.up
    m = step(m, True, 3, 2, now=2)
    assert m.up and m.since == 2
    m = step(m, False, 3, 2, now=3)
    assert m.up and m.streak == 1
    m = step(m, True, 3, 2, now=4)  # one good result resets the failure streak
    assert m.up and m.streak == 0
    m = step(m, False, 3, 2, now=5)
    m = step(m, False, 3, 2, now=6)
    assert not m.up and m.since == 6


@given(st.lists(st.booleans(), max_size=60), st.integers(1, 5), st.integers(1, 5))
def test_hysteresis_flips_only_after_a_full_streak(
    results: list[bool], rise: int, fall: int
) -> None:
    m = CheckMemory()
    run_value, run_len = None, 0
    for i, ok in enumerate(results):
        before = m.up
        m = step(m, ok, rise, fall, float(i))
        run_len = run_len + 1 if ok == run_value else 1
        run_value = ok
        if m.up != before:
            assert m.up == ok
            assert run_len >= (rise if ok else fall)


# --------------------------------------------------------------------------- gateway


def test_fresh_router_starts_demoted_and_takes_the_gateway_after_rise_and_takeback() -> None:
    sim = Sim(make_config())
    d = sim.step()
    assert d.priorities["lan"] == DEMOTED and d.gateway == "demoted"
    assert "bgp down" in d.reasons["gateway"]
    d = sim.step()  # bgp check: rise 2 reached
    assert d.gateway == "holding" and d.priorities["lan"] == DEMOTED
    assert "taking the gateway back in 2.0 s" in d.reasons["gateway"]
    sim.run(1.5)
    assert sim.history[-1].priorities["lan"] == DEMOTED
    d = sim.step()
    assert d.gateway == "eligible" and d.priorities["lan"] == HEALTHY


def test_losing_all_upstream_sessions_demotes_after_fall() -> None:
    sim = healthy_sim()
    sim.down = set(UPSTREAMS)
    d = sim.step()
    assert d.priorities["lan"] == HEALTHY  # fall 2: one bad pass is not enough
    d = sim.step()
    assert d.priorities["lan"] == DEMOTED and d.gateway == "demoted"
    assert "0/4 upstream sessions Established" in d.reasons["priority lan"]


def test_losing_some_sessions_is_fine_while_min_established_is_met() -> None:
    sim = healthy_sim()
    sim.down = set(UPSTREAMS[:3])
    assert sim.run(3).priorities["lan"] == HEALTHY


def test_sessions_without_enough_prefixes_count_as_down() -> None:
    cfg = make_config()
    mem = Memory()
    frr = frr_in_sync(cfg, Announcement(True, cfg.policy.ingress.equal))
    starved = {
        k: v.__class__(**{**v.__dict__, "prefixes_received": 0}) for k, v in frr.neighbors.items()
    }
    frr = frr.__class__(**{**frr.__dict__, "neighbors": starved})
    for t in range(5):
        d, mem = decide(cfg, observe(cfg, 1000.0 + t, frr), mem)
    assert d.gateway == "demoted"
    assert "0 prefixes" in d.reasons["gateway"]


def test_recovery_waits_for_rise_then_takeback_delay_without_flapping() -> None:
    sim = healthy_sim()
    sim.down = set(UPSTREAMS)
    sim.run(2)
    sim.down = set()
    prios = [sim.step().priorities["lan"] for _ in range(12)]
    # rise 2 passes (1 s) + take-back delay 2 s; then up and it stays up: one transition only
    first = prios.index(HEALTHY)
    assert 3 <= first <= 6, prios
    assert all(p == HEALTHY for p in prios[first:]), prios
    assert all(p == DEMOTED for p in prios[:first]), prios


def test_flapping_upstream_doubles_the_takeback_delay_up_to_the_cap() -> None:
    sim = healthy_sim(policy={"takeback_delay": 2.0, "max_takeback_delay": 8.0, "flap_window": 600})
    delays = []
    for _ in range(4):
        sim.down = set(UPSTREAMS)
        sim.run(1.5)
        assert sim.history[-1].gateway == "demoted"
        sim.down = set()
        t0 = sim.now
        while sim.step().priorities["lan"] != HEALTHY:
            assert sim.now - t0 < 60
        delays.append(round(sim.now - t0, 1))
    # rise (1 s) + 2, 4, 8, 8 (capped)
    assert delays == [3.0, 5.0, 9.0, 9.0], delays


def test_demotions_outside_the_flap_window_are_forgotten() -> None:
    sim = healthy_sim(policy={"takeback_delay": 2.0, "flap_window": 10.0})
    sim.down = set(UPSTREAMS)
    sim.run(1.5)
    sim.down = set()
    sim.run(10)
    assert sim.history[-1].priorities["lan"] == HEALTHY
    sim.run(20)  # first demotion leaves the window
    sim.down = set(UPSTREAMS)
    sim.run(1.5)
    sim.down = set()
    t0 = sim.now
    while sim.step().priorities["lan"] != HEALTHY:
        pass
    assert round(sim.now - t0, 1) == 3.0


def test_frr_unobservable_fails_the_bgp_check() -> None:
    sim = healthy_sim()
    sim.frr_ok = False
    d = sim.run(1)
    assert d.priorities["lan"] == DEMOTED
    assert "FRR not observable" in d.reasons["gateway"]
    # the announcement is left as it was: nothing can be applied anyway
    assert d.announcement.announce


def test_egress_roles_and_explicit_priority() -> None:
    for role, prio in (("secondary", 150), ("tertiary", 100), ("standby", 60)):
        sim = healthy_sim(policy={"egress_role": role})
        assert sim.history[-1].priorities["lan"] == prio
        sim.down = set(UPSTREAMS)
        assert sim.run(1.5).priorities["lan"] == prio // 4


def test_explicit_vrrp_priority_overrides_the_role() -> None:
    d = base_dict()
    d["vrrp"][0]["priority"] = 180
    sim = Sim(parse_config(d))
    assert sim.run(5).priorities["lan"] == 180


def test_demoted_priority_of_every_role_is_below_every_healthy_priority() -> None:
    roles = ("primary", "secondary", "tertiary", "standby")
    healthy = [make_config({"policy": {"egress_role": r}}) for r in roles]
    lowest_healthy = min(c.healthy_priority(c.vrrp[0]) for c in healthy)
    highest_demoted = max(c.demoted_priority(c.vrrp[0]) for c in healthy)
    assert highest_demoted < lowest_healthy
    assert all(c.demoted_priority(c.vrrp[0]) > c.policy.drained_priority for c in healthy)


# --------------------------------------------------------------------------- ingress


def test_ingress_modes_pick_their_attributes() -> None:
    for mode, med, prepend in (("equal", 100, 0), ("prefer", 50, 0), ("depref", 200, 2)):
        d = healthy_sim(policy={"ingress_mode": mode}).history[-1]
        assert d.ingress == mode
        assert d.announcement.announce
        assert (d.announcement.attributes.med, d.announcement.attributes.prepend) == (med, prepend)
    d = healthy_sim(policy={"ingress_mode": "drained"}).history[-1]
    assert d.announcement.attributes.communities == ("graceful-shutdown",)


def test_failed_ingress_check_depreferences_then_restores() -> None:
    sim = healthy_sim()
    sim.lan_ok = False
    d = sim.step()
    assert d.ingress == "depref" and d.announcement.attributes.prepend == 2
    assert "lan down" in d.reasons["ingress"]
    assert d.priorities["lan"] == DEMOTED  # the lan check gates the gateway too
    sim.lan_ok = True
    d = sim.step()
    assert d.ingress == "equal"


def test_failed_ingress_check_can_withdraw() -> None:
    sim = healthy_sim(policy={"ingress_on_failure": "withdraw"})
    sim.lan_ok = False
    d = sim.step()
    assert d.ingress == "withdrawn" and not d.announcement.announce


# --------------------------------------------------------------------------- drain


def phases(sim: Sim, passes: int) -> list[str]:
    return [sim.step().drain_phase for _ in range(passes)]


def test_drain_is_make_before_break_and_waits_for_the_gateway_to_move() -> None:
    sim = healthy_sim()
    sim.holds = True  # we are the master
    sim.intent = "drain"
    d = sim.step()
    assert d.drain_phase == "gateway-moving" and d.priorities["lan"] == DRAINED
    assert d.announcement.attributes.med == 100  # ingress untouched until the gateway moved
    for _ in range(5):
        d = sim.step()
        assert d.drain_phase == "gateway-moving", d.reasons["drain"]
        assert "virtual addresses still here" in d.reasons["drain"]
    sim.holds = False  # another router took the VIP
    got = phases(sim, 4)
    assert got == ["ingress-shifting", "withdrawing", "drained", "drained"], got
    d = sim.history[-1]
    assert not d.announcement.announce and d.priorities["lan"] == DRAINED
    assert "ready for reboot" in d.reasons["drain"]


def test_drain_shifts_ingress_with_graceful_shutdown_before_withdrawing() -> None:
    sim = healthy_sim()
    sim.intent = "drain"
    sim.step()
    d = sim.step()
    assert d.drain_phase == "ingress-shifting"
    a = d.announcement.attributes
    assert d.announcement.announce and a.communities == ("graceful-shutdown",) and a.prepend == 3


def test_drain_without_withdraw_stays_announced_with_drain_attributes() -> None:
    sim = healthy_sim(drain={"withdraw": False})
    sim.intent = "drain"
    assert phases(sim, 4) == ["gateway-moving", "ingress-shifting", "drained", "drained"]
    d = sim.history[-1]
    assert d.announcement.announce and d.ingress == "drain"


def test_drain_waits_until_the_interface_counters_are_quiet() -> None:
    sim = healthy_sim(drain={"quiet_interfaces": ["up1"], "quiet_pps": 10.0, "quiet_seconds": 1.0})
    sim.intent = "drain"
    sim.rx = {"up1": 0}
    sim.step()
    for _ in range(4):  # 1000 packets per 0.5 s pass = 2000 pps
        sim.rx["up1"] += 1000
        d = sim.step()
        assert d.drain_phase == "ingress-shifting"
    assert "traffic still arriving (up1 2000 pps)" in d.reasons["drain"]
    sim.rx["up1"] += 2  # 4 pps: quiet from now on
    d = sim.step()
    assert d.drain_phase == "ingress-shifting" and "quiet for 0.0" in d.reasons["drain"]
    assert sim.step().drain_phase == "ingress-shifting"  # quiet for 0.5 of 1 s
    assert sim.step().drain_phase == "withdrawing"


def test_drain_does_not_advance_while_frr_does_not_show_the_new_attributes() -> None:
    sim = healthy_sim()
    sim.intent = "drain"
    sim.step()
    sim.frr_ok = False  # FRR stops answering: nothing can be confirmed
    assert phases(sim, 4) == ["ingress-shifting"] * 4


def test_undrain_restores_ingress_before_the_gateway() -> None:
    sim = healthy_sim()
    sim.intent = "drain"
    sim.run(3)
    assert sim.history[-1].drain_phase == "drained"
    sim.intent = "normal"
    d = sim.step()
    assert d.drain_phase == "ingress-restoring"
    assert d.announcement.announce and d.announcement.attributes.med == 100
    assert d.priorities["lan"] == DRAINED  # gateway only after ingress is confirmed
    d = sim.step()
    assert d.drain_phase == "gateway-restoring" and d.priorities["lan"] == HEALTHY
    d = sim.step()
    assert d.drain_phase == "none"


def test_undrain_in_the_middle_of_a_drain() -> None:
    sim = healthy_sim()
    sim.holds = True
    sim.intent = "drain"
    sim.run(2)
    sim.intent = "normal"
    assert phases(sim, 3) == ["ingress-restoring", "gateway-restoring", "none"]
    assert sim.history[-1].priorities["lan"] == HEALTHY


def test_an_unhealthy_router_drains_and_undrains_to_demoted() -> None:
    sim = healthy_sim()
    sim.down = set(UPSTREAMS)
    sim.intent = "drain"
    sim.run(3)
    assert sim.history[-1].drain_phase == "drained"
    sim.intent = "normal"
    sim.run(2)
    d = sim.history[-1]
    assert d.drain_phase == "none" and d.priorities["lan"] == DEMOTED


# --------------------------------------------------------------------------- invariants


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sets(st.sampled_from(UPSTREAMS)),
            st.booleans(),
            st.booleans(),
            st.sampled_from(["normal", "drain"]),
            st.booleans(),
        ),
        min_size=1,
        max_size=40,
    )
)
def test_invariants_under_any_sequence(
    steps: list[tuple[set[str], bool, bool, str, bool]],
) -> None:
    sim = Sim(make_config())
    for down, lan_ok, frr_ok, intent, holds in steps:
        sim.down, sim.lan_ok, sim.frr_ok, sim.holds = down, lan_ok, frr_ok, holds
        sim.intent = intent  # type: ignore[assignment]
        d = sim.step()
        prio = d.priorities["lan"]
        assert prio in (HEALTHY, DEMOTED, DRAINED)
        # never the healthy priority while a gateway check is down
        if any(not c.up for c in d.checks):
            assert prio != HEALTHY
        # never the gateway while draining (except after the gateway was restored)
        if d.drain_phase in ("gateway-moving", "ingress-shifting", "withdrawing", "drained"):
            assert prio == DRAINED
            assert intent == "drain"
        # withdraw only in the drain phases or for a failed ingress check (on_failure=depref here)
        if not d.announcement.announce:
            assert d.drain_phase in ("withdrawing", "drained")
        assert d.reasons["gateway"] and d.reasons["ingress"] and d.reasons["drain"]


def test_a_check_added_by_a_reload_starts_from_its_first_result() -> None:
    sim = healthy_sim()
    d = base_dict()
    d["policy"]["takeback_delay"] = 2.0
    d["check"].append({"name": "core1", "type": "bgp", "neighbors": ["10.1.1.1"], "rise": 5})
    sim.config = parse_config(d)
    assert sim.step().priorities["lan"] == HEALTHY  # passing: no demotion while it "rises"
    d["check"][-1] = {"name": "core2", "type": "bgp", "neighbors": ["10.2.1.1"], "fall": 3}
    sim.config = parse_config(d)
    sim.down = {"10.2.1.1"}
    assert sim.step().priorities["lan"] == DEMOTED  # failing from the start: demoted at once


def test_prepends_are_our_own_as_in_front_of_the_path_also_for_learned_routes() -> None:
    # routes the router originates, and routes it learned from a host in AS 65020 (the lab)
    assert own_prepends("", 65010) == 0
    assert own_prepends("65010 65010", 65010) == 2
    assert own_prepends("65020", 65010) == 0
    assert own_prepends("65010 65010 65010 65020", 65010) == 3
    assert own_prepends("65020 65010", 65010) == 0
