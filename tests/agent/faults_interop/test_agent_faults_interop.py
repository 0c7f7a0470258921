"""routeragent faults against real FRR 8.4 and keepalived 2.2 (root, namespaces): a vtysh that
hangs (a wrapper that sleeps), keepalived killed, a config keepalived rejects, and a disk that
fills up under the state directory (a real 512 KiB tmpfs). For each: the last good state
stays, the fault is reported (log event, metric, status), and the agent recovers by itself.
"""

from __future__ import annotations

import time

import pytest

from agent.faults_interop.router import Router, fill, until

pytestmark = [pytest.mark.interop, pytest.mark.timeout(120)]


def test_vtysh_hanging(healthy: Router) -> None:
    rt = healthy
    maps = rt.running_maps()
    t0 = time.time()
    rt.hang_all.touch()
    ev = rt.wait_event("frr-unobservable", t0)
    assert ev["error"] == "vtysh did not answer within 1 s"
    # FRR unobservable = the BGP check fails (fall 1): the gateway goes away
    until(lambda: rt.priority() == 50, "priority demoted to 50")
    assert rt.status()["frr_error"] == "vtysh did not answer within 1 s"
    assert rt.metrics()["routeragent_frr_observable"] == 0
    assert rt.running_maps() == maps  # FRR untouched
    # the hung vtysh processes are killed each time, not piled up
    time.sleep(2)
    assert len(rt.hung_pids.read_text().split()) >= 3
    assert rt.hung_alive() <= 1
    t1 = time.time()
    rt.hang_all.unlink()
    rt.wait_event("frr-observable-again", t1)
    rt.wait_healthy()
    assert rt.metrics()["routeragent_frr_observable"] == 1

    # now only configuration hangs, in the middle of a policy change (ingress depref)
    before = rt.out_maps()
    rt.hang_config.touch()
    t2 = time.time()
    rt.ingress_probe("down")
    failed = rt.wait_event("apply-failed", t2, timeout=20)
    assert failed["transaction"] == "frr" and "did not answer" in failed["error"]
    until(lambda: rt.status()["backoff"].get("frr"), "FRR change backing off")
    assert rt.metrics()['routeragent_apply_backoff{transaction="frr"}'] == 1
    # never half-configured: the neighbor uses one complete map, the old one
    assert rt.out_maps() == before
    rt.hang_config.unlink()
    until(lambda: rt.out_maps() != before, "the depref map in use", timeout=40)
    assert len(rt.out_maps()) == 1
    until(
        lambda: len([m for m in rt.running_maps() if m.startswith("route-map RA-OUT-")]) == 1,
        "the old outbound map deleted",
    )
    rt.wait_event("apply-recovered", t2)
    until(lambda: rt.status()["backoff"] == {}, "backoff forgotten")
    rt.ingress_probe("up")
    until(lambda: rt.out_maps() == before, "back to the equal map")


def test_keepalived_killed_then_a_config_it_rejects(healthy: Router) -> None:
    rt = healthy
    t0 = time.time()
    rt.kill_keepalived()
    ev = rt.wait_event("keepalived-not-running", t0)
    assert ev["level"] == "warning"
    until(lambda: rt.status()["keepalived_running"] is False, "status: keepalived down")
    assert rt.metrics()["routeragent_keepalived_running"] == 0
    # the priority keepalived will start with still follows health
    rt.uplink_state("down")
    until(lambda: rt.priority() == 50, "track file at the demoted priority")
    conf = rt.keepalived_conf.read_text()
    rt.start_keepalived()
    rt.wait_event("keepalived-running", t0)
    assert rt.metrics()["routeragent_keepalived_running"] == 1
    assert rt.keepalived_conf.read_text() == conf
    rt.uplink_state("up")
    rt.wait_healthy()

    # a config keepalived -t rejects (no such interface in r's namespace)
    assert rt.keepalived is not None
    pid = rt.keepalived.pid
    good = rt.config.read_text()
    rt.config.write_text(rt.toml(interface="lan9"))
    t1 = rt.sighup_agent()
    failed = rt.wait_event("apply-failed", t1)
    assert failed["transaction"] == "keepalived"
    assert "keepalived -t rejected the rendered config" in failed["error"]
    assert "lan9" in failed["error"]
    until(lambda: rt.status()["backoff"].get("keepalived"), "keepalived change backing off")
    time.sleep(2)  # several retries meanwhile, each rejected
    assert len(rt.events("apply-failed", t1)) == 1  # logged once
    m = rt.metrics()
    assert m['routeragent_apply_total{result="failed",transaction="keepalived"}'] >= 2
    assert m['routeragent_apply_backoff{transaction="keepalived"}'] == 1
    assert rt.keepalived_conf.read_text() == conf
    assert rt.keepalived.poll() is None and rt.keepalived.pid == pid and rt.has_vip()
    st = rt.run_agent("status")
    assert "keepalived -t rejected the rendered config" in st.stdout, st.stdout
    # fixed: nothing to do any more, the backoff is forgotten
    rt.config.write_text(good)
    t2 = rt.sighup_agent()
    rt.wait_event("config-reloaded", t2)
    until(lambda: rt.status()["backoff"] == {}, "backoff cleared")
    assert rt.keepalived_conf.read_text() == conf
    assert rt.events("unblocked", t2)


def test_disk_full_under_the_state_directory(healthy: Router) -> None:
    rt = healthy
    assert rt.track.read_text() == "0\n"
    filler = fill(rt.tmpfs)
    t0 = time.time()
    rt.uplink_state("down")  # wants priority 50: a track file write
    failed = rt.wait_event("apply-failed", t0)
    assert failed["transaction"] == "vrrp"
    assert "No space left on device" in failed["error"]
    full = rt.wait_event("state-write-failed", t0)
    assert "No space left on device" in full["error"]
    time.sleep(2)
    # the old files are intact and readable, no temporary file is left behind
    assert rt.track.read_text() == "0\n"
    assert rt.priority() == 200 and rt.has_vip()
    assert (rt.state / "status.json").read_text().endswith("}\n")
    leftovers = [p.name for p in rt.state.rglob(".*")]
    assert leftovers == [], leftovers
    m = rt.metrics()
    assert m["routeragent_state_writable"] == 0
    assert m['routeragent_apply_total{result="failed",transaction="vrrp"}'] >= 4
    assert len(rt.events("apply-failed", t0)) == 1  # logged once, retried every pass
    assert rt.agent is not None and rt.agent.poll() is None
    t1 = time.time()
    filler.unlink()
    rt.wait_event("apply-recovered", t1)
    rt.wait_event("state-write-ok", t1)
    until(lambda: rt.priority() == 50, "track file written once there is room")
    assert rt.status()["state_error"] is None
    rt.uplink_state("up")
    rt.wait_healthy()
