"""Faults around the agent, one at a time, in process (fakes for FRR, keepalived and files;
the agent's own loop, retry gate, logs, metrics and state directory are real).

For each fault: the router keeps its last good state (never half-configured), the agent
reports it (a log event when it starts and when it ends, a metric, the status file), and it
recovers by itself once the fault clears. docs/reliability-agent.md has the table.
"""

from __future__ import annotations

import errno
import json
from pathlib import Path

import pytest

from agent.fault_world import FRR_FAULTS, FaultWorld, fault_world
from routeragent.state_store import StateDir

HEALTHY, DEMOTED = 200, 50


def healthy(w: FaultWorld) -> None:
    w.run(5.0)
    assert w.priority == HEALTHY
    assert w.half_configured() == []
    assert w.frr.state.neighbors["10.1.1.1"].route_map_out is not None


def out_maps(w: FaultWorld) -> set[str | None]:
    return {nb.route_map_out for nb in w.frr.state.neighbors.values()}


# --------------------------------------------------------------------------- FRR


@pytest.mark.parametrize("fault", sorted(FRR_FAULTS))
def test_frr_unobservable_keeps_its_policy_while_the_gateway_moves(
    tmp_path: Path, fault: str
) -> None:
    w = fault_world(tmp_path)
    healthy(w)
    before, configured = w.frr.state, len(w.fx.calls)
    w.frr_fault = fault
    w.run(3.0)
    # the BGP check fails (fall 2) and the gateway goes; FRR is not touched at all
    assert w.priority == DEMOTED
    assert w.frr.state == before
    assert not [c for c in w.fx.calls[configured:] if c in ("configure", "dry-run")]
    # reported: once in the log, as a metric, in the status file
    (ev,) = w.events("frr-unobservable")
    assert ev["error"] == FRR_FAULTS[fault] and ev["level"] == "WARNING"
    assert w.metric("routeragent_frr_observable") == 0
    assert w.status()["frr_error"] == FRR_FAULTS[fault]
    assert any("FRR not observable" in line for line in w.status()["pending"])
    assert len([e for e in w.events("blocked") if "FRR not observable" in e["action"]]) == 1
    # and back by itself
    w.frr_fault = None
    w.run(6.0)
    assert w.priority == HEALTHY
    assert len(w.events("frr-observable-again")) == 1
    assert w.metric("routeragent_frr_observable") == 1
    assert w.status()["frr_error"] is None
    assert w.half_configured() == []


def test_frr_refusing_a_line_mid_change_rolls_back_then_backs_off(tmp_path: Path) -> None:
    w = fault_world(tmp_path)
    healthy(w)
    old = out_maps(w)
    # the switch of the third upstream fails: two are already switched when it does
    w.frr.fail_on = r"^neighbor 10\.2\.1\.1 route-map RA-OUT-\S+ out$"
    w.lan_ok = False  # ingress depref (and the gateway goes)
    w.step()
    (failed,) = w.events("apply-failed")
    assert failed["transaction"] == "frr" and failed["rolled_back"]
    assert "% Unknown command: neighbor 10.2.1.1" in failed["error"]
    assert out_maps(w) == old  # rolled back: every neighbor on the previous map
    assert w.half_configured() == []
    assert w.priority == DEMOTED  # the VRRP transaction is independent
    # the same change is not retried at once
    calls = len(w.fx.calls)
    w.step(0.25)
    assert "configure" not in w.fx.calls[calls:]
    assert any(line.startswith("blocked: frr: failed 1 time(s)") for line in w.status()["pending"])
    assert w.metric("routeragent_apply_backoff", transaction="frr") == 1
    assert w.status()["backoff"]["frr"]["failures"] == 1
    # retried after the backoff; fails again, logged once only; then the fault clears
    w.run(1.5, dt=0.25)
    assert w.status()["backoff"]["frr"]["failures"] == 2
    assert len(w.events("apply-failed")) == 1
    assert w.metric("routeragent_apply_total", transaction="frr", result="rolled_back") == 2
    w.frr.fail_on = None
    w.run(3.0, dt=0.25)
    assert out_maps(w) != old and None not in out_maps(w)
    assert w.half_configured() == []
    assert len(w.events("apply-recovered")) == 1
    assert w.metric("routeragent_apply_backoff", transaction="frr") == 0
    assert w.status()["backoff"] == {}


def test_frr_hanging_in_the_middle_of_a_route_map_is_rolled_forward(tmp_path: Path) -> None:
    """A route-map half created (vtysh stopped at a line), and vtysh then hangs so the undo
    fails too: the partial map is never attached, and the next pass that reaches FRR
    replaces it and completes the change."""
    w = fault_world(tmp_path)
    healthy(w)
    old = out_maps(w)
    w.frr.fail_on = r"^set metric 200$"  # the depref map's MED line
    w.frr.hang_after_failure = True
    w.lan_ok = False
    w.step()
    (failed,) = w.events("apply-failed")
    assert failed["rollback_error"] and "did not answer" in failed["rollback_error"]
    partial = [n for n in w.frr.state.route_maps if n not in old]
    assert partial, "the half-created map is left behind"
    assert w.half_configured() == []  # ... but nobody uses it
    assert out_maps(w) == old
    w.frr.fail_on, w.frr.hang, w.frr.hang_after_failure = None, False, False
    w.run(4.0, dt=0.25)
    assert out_maps(w) != old
    assert w.half_configured() == []
    assert all(n in w.known_route_maps() for n in w.frr.state.route_maps)


# --------------------------------------------------------------------------- keepalived


def test_keepalived_rejecting_a_config_keeps_the_old_file_and_backs_off(tmp_path: Path) -> None:
    w = fault_world(tmp_path)
    healthy(w)
    path = w.config.keepalived.config_file
    good = w.fx.files[path]
    reloads = w.fx.reloads
    w.agent.rendered = good + "# a new VRRP topology\n"
    w.fx.keepalived_rejects = "keepalived -t rejected the rendered config (exit 5): bad iface"
    w.step(0.25)
    (failed,) = w.events("apply-failed")
    assert failed["transaction"] == "keepalived" and "exit 5" in failed["error"]
    assert w.fx.files[path] == good and w.fx.reloads == reloads
    checks = w.fx.calls.count("keepalived -t")
    w.run(0.5, dt=0.25)
    assert w.fx.calls.count("keepalived -t") == checks  # backing off
    # priorities are never held back by keepalived's config
    w.lan_ok = False
    w.run(1.0, dt=0.25)
    assert w.priority == DEMOTED
    w.run(3.0, dt=0.25)
    assert w.fx.calls.count("keepalived -t") > checks  # retried (and rejected again)
    assert len(w.events("apply-failed")) == 1
    assert w.fx.files[path] == good
    assert w.metric("routeragent_apply_total", transaction="keepalived", result="failed") >= 2
    # the operator fixes the config: a different text is tried at once
    w.fx.keepalived_rejects = None
    w.agent.rendered = good + "# the fixed topology\n"
    w.step(0.25)
    assert w.fx.files[path].endswith("# the fixed topology\n")
    assert w.fx.reloads == reloads + 1
    assert w.status()["backoff"] == {}


def test_keepalived_dead_is_reported_and_the_files_still_follow(tmp_path: Path) -> None:
    w = fault_world(tmp_path)
    healthy(w)
    w.keepalived_up = w.fx.keepalived_alive = False
    w.run(1.0)
    (ev,) = w.events("keepalived-not-running")
    assert ev["level"] == "WARNING"
    assert w.metric("routeragent_keepalived_running") == 0
    assert w.status()["keepalived_running"] is False
    # the priority it will start with is still kept right, and a new config is written
    # without a reload (keepalived reads it when it starts)
    w.lan_ok = False
    reloads = w.fx.reloads
    w.agent.rendered += "# changed while keepalived was down\n"
    w.run(1.0)
    assert w.priority == DEMOTED
    assert w.fx.files[w.config.keepalived.config_file] == w.agent.rendered
    assert w.fx.reloads == reloads
    w.keepalived_up = w.fx.keepalived_alive = True
    w.lan_ok = True
    w.run(5.0)
    assert len(w.events("keepalived-running")) == 1
    assert w.metric("routeragent_keepalived_running") == 1
    assert w.priority == HEALTHY


def test_keepalived_dying_on_reload_restores_the_previous_config(tmp_path: Path) -> None:
    w = fault_world(tmp_path)
    healthy(w)
    path = w.config.keepalived.config_file
    good = w.fx.files[path]
    w.agent.rendered = good + "# keepalived dies on this one\n"
    w.fx.keepalived_alive = False  # the reload kills it
    w.step(0.25)
    (failed,) = w.events("apply-failed")
    assert failed["error"] == "keepalived is not running after the reload"
    assert failed["rolled_back"]
    assert w.fx.files[path] == good
    # keepalived is now down: the same text is not written again right away
    w.keepalived_up = False
    w.step(0.25)
    assert w.fx.files[path] == good
    assert w.status()["backoff"]["keepalived"]["failures"] == 1


# --------------------------------------------------------------------------- disk full


def test_track_file_enospc_keeps_the_old_priority_and_retries_every_pass(tmp_path: Path) -> None:
    w = fault_world(tmp_path)
    healthy(w)
    track = next(p for p in w.fx.files if p.name.endswith(".track"))
    w.fx.fail_track_write = track
    w.lan_ok = False
    w.run(3.0, dt=0.25)
    assert w.priority == HEALTHY  # the old value, intact and readable
    writes = [c for c in w.fx.calls if c.startswith(f"track_write {track.name}")]
    assert len(writes) >= 10  # tried on every pass: a failover never waits for a backoff
    (failed,) = w.events("apply-failed")
    assert "No space left on device" in failed["error"]
    assert w.metric("routeragent_apply_total", transaction="vrrp", result="rolled_back") is None
    assert w.metric("routeragent_apply_total", transaction="vrrp", result="failed") >= 10
    w.fx.fail_track_write = None
    w.step(0.25)
    assert w.priority == DEMOTED
    assert len(w.events("apply-recovered")) == 1


def test_state_directory_full_does_not_stop_the_loop(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    w = fault_world(tmp_path)
    healthy(w)
    state: StateDir = w.agent.state
    memory_before = state.memory_file.read_text()
    status_before = state.status_file.read_text()

    def full(*args: object, **kw: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("routeragent.state_store.write_atomic", full)
    w.lan_ok = False
    w.run(2.0)
    assert w.priority == DEMOTED  # decisions and changes go on
    (ev,) = w.events("state-write-failed")
    assert "No space left on device" in ev["error"]
    assert w.metric("routeragent_state_writable") == 0
    assert w.metric("routeragent_state_write_errors_total") == 4
    assert state.memory_file.read_text() == memory_before
    assert state.status_file.read_text() == status_before
    monkeypatch.undo()
    w.step()
    assert len(w.events("state-write-ok")) == 1
    assert w.metric("routeragent_state_writable") == 1
    assert w.status()["gateway"] == "demoted"
    assert json.loads(state.memory_file.read_text())["gateway_ok"] is False


# --------------------------------------------------------------------------- clock jumps


def _flapping_history(tmp: Path, jumps: dict[int, float]) -> tuple[list[object], FaultWorld]:
    """Priorities and decisions pass by pass through three flaps of the LAN check and a
    recovery; ``jumps`` steps the wall clock (seconds) before the given pass."""
    w = fault_world(tmp)
    script = [True] * 12 + ([False] * 2 + [True] * 6) * 3 + [True] * 40
    out: list[object] = []
    for i, lan in enumerate(script):
        w.clock.wall_now += jumps.get(i, 0.0)
        w.lan_ok = lan
        w.step()
        decisions = [{k: v for k, v in d.items() if k != "ts"} for d in w.agent.decisions]
        out.append((w.priority, w.status()["gateway"], decisions[-1:]))
    return out, w


@pytest.mark.parametrize(
    "jumps",
    [
        {14: -86400.0},  # back a day while demoted
        {20: 86400.0, 40: 3600.0},  # forward: would end a take-back delay, forget demotions
        {13: -30.0, 15: 30.0, 50: -600.0, 51: 7200.0},  # NTP-style steps both ways
    ],
)
def test_wall_clock_jumps_change_no_decision(tmp_path: Path, jumps: dict[int, float]) -> None:
    steady, plain = _flapping_history(tmp_path / "plain", {})
    jumped, w = _flapping_history(tmp_path / "jumped", jumps)
    assert jumped == steady
    # the scenario is a real one: demoted by each flap, a doubled take-back delay, back at last
    gateways = [g for _, g, _ in steady]
    assert gateways.count("demoted") >= 6 and "holding" in gateways
    assert gateways[-1] == "eligible"
    assert any("(take-back delay 4 s after 2 recent" in r["reason"] for r in plain.agent.decisions)
    # timestamps for people follow the wall clock
    assert abs(w.status()["updated"] - w.clock.wall_now) < 1e-3


def test_memory_timers_survive_a_restart_on_the_same_boot_only(tmp_path: Path) -> None:
    w = fault_world(tmp_path)
    healthy(w)
    w.lan_ok = False
    w.run(1.0)
    w.lan_ok = True
    w.run(1.5)
    assert w.status()["gateway"] == "holding"
    state = w.agent.state
    same = StateDir(state.path, boot=state.boot).load_memory()
    assert same is not None and same == w.agent.memory
    assert same.ready_since is not None and same.demotions
    # written on another boot (state_dir on persistent storage): states kept, timers restart
    other = StateDir(state.path, boot="another-boot").load_memory()
    assert other is not None
    assert other.gateway_ok is False and other.drain_phase == same.drain_phase
    assert other.ready_since is None and other.demotions == ()
    assert {n: m.up for n, m in other.checks.items()} == {n: m.up for n, m in same.checks.items()}
    # a version 1 file (wall-clock timers) is read the same way
    data = json.loads(state.memory_file.read_text())
    data["version"] = 1
    del data["boot_id"]
    state.memory_file.write_text(json.dumps(data))
    v1 = StateDir(state.path, boot=state.boot).load_memory()
    assert v1 is not None and v1.ready_since is None and v1.checks.keys() == same.checks.keys()


@pytest.mark.parametrize("where", ["write", "fsync", "replace"])
def test_atomic_write_failing_anywhere_leaves_the_old_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    from routeragent import files

    path = tmp_path / "lan.track"
    files.write_atomic(path, "0\n")

    def enospc(*args: object, **kw: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    if where == "write":
        real_fdopen = files.os.fdopen

        class Full:
            def __init__(self, fd: int, mode: str) -> None:
                self.f = real_fdopen(fd, mode)

            def __enter__(self) -> Full:
                return self

            def __exit__(self, *exc: object) -> None:
                self.f.close()

            def write(self, text: str) -> int:
                raise OSError(errno.ENOSPC, "No space left on device")

        monkeypatch.setattr(files.os, "fdopen", Full)
    else:
        monkeypatch.setattr(files.os, where, enospc)
    with pytest.raises(OSError, match="No space left"):
        files.write_atomic(path, "-150\n")
    monkeypatch.undo()
    assert path.read_text() == "0\n"
    assert [p.name for p in tmp_path.iterdir()] == ["lan.track"]  # no temporary file left
