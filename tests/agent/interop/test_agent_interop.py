"""routeragent against real FRR 8.4 and keepalived 2.2 in network namespaces.

Topology (tests/agent/interop/topology.py): two provider cores p1, p2 (FRR, eBGP multipath)
and our routers r1, r2, r3 (FRR + keepalived VRRPv3 with 100 ms adverts + routeragent each)
on a shared LAN bridge. Every assertion is on what the daemons report: the virtual address on
the interface, the providers' BGP RIB and kernel routes, FRR's neighbor state.

The scenarios run in order on one topology; each starts by waiting for the steady state.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from agent.interop.conftest import TIMINGS
from agent.interop.topology import (
    LINKS,
    OUR_V4,
    OUR_V6,
    PROVIDERS,
    ROOT,
    ROUTERS,
    VIP6,
    Lab,
    agent_toml,
    ns,
    wait_for,
)

pytestmark = [pytest.mark.interop, pytest.mark.timeout(240)]

ALL = {"r1", "r2", "r3"}
HEALTHY = {"r1": 200, "r2": 150, "r3": 100}


# --------------------------------------------------------------------------- helpers


def events(r: str, since: float = 0.0, event: str | None = None) -> list[dict[str, Any]]:
    out = []
    log = ROOT / r / "agent.log"
    if not log.exists():
        return out
    for line in log.read_text().splitlines():
        try:
            e = json.loads(line)
        except ValueError:
            continue
        if e.get("ts", 0) >= since and (event is None or e.get("event") == event):
            out.append(e)
    return out


def status(r: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((ROOT / r / "agent-state" / "status.json").read_text())
    return data


def fresh_status(r: str, after: float) -> dict[str, Any]:
    wait_for(lambda: status(r)["updated"] > after, 10, f"{r} status after {after}")
    return status(r)


def uplinks(lab: Lab, r: str, state: str) -> None:
    """Take router ``r``'s links to both cores down or up, from the provider side (as if the
    provider's port or the cable failed)."""
    for p in PROVIDERS:
        subprocess.run(["ip", "-n", ns(p), "link", "set", r, state], check=True)


def r_addr(r: str, p: str = "p1") -> str:
    return next(lk.r4 for lk in LINKS if lk.r == r and lk.p == p)


def reset(lab: Lab) -> None:
    """Undo whatever a failed scenario may have left, so the next one starts clean: links up,
    bgpd running, agents running with their own config, no drain intent."""
    for r in ROUTERS:
        uplinks(lab, r, "up")
        os.kill(lab.frr_pid(r, "bgpd"), signal.SIGCONT)
        (ROOT / r / "agent-state" / "intent").unlink(missing_ok=True)
        cfg = ROOT / r / "agent.toml"
        if cfg.read_text() != agent_toml(r):
            lab.write_agent_config(r)
            if lab.agent_running(r):
                os.kill(lab.procs[f"agent-{r}"].pid, signal.SIGHUP)
        if not lab.agent_running(r):
            lab.stop_agent(r)
            lab.start_agent(r)
    for p in PROVIDERS:
        lab.stop_traffic(p)


def steady(lab: Lab, timeout: float = 30.0) -> None:
    """r1 holds both virtual addresses, every agent is content, both providers use all three."""
    reset(lab)

    def ok() -> bool:
        if lab.vip_holders() != ["r1"] or lab.vip_holders(VIP6) != ["r1"]:
            return False
        for r in ROUTERS:
            st = status(r)
            if st["gateway"] != "eligible" or st["drain_phase"] != "none" or st["pending"]:
                return False
            if time.time() - st["updated"] > 2:
                return False
        return all(
            lab.provider_multipath_peers(p, pfx) == ALL
            for p in PROVIDERS
            for pfx in (OUR_V4, OUR_V6)
        )

    wait_for(ok, timeout, "steady state", step=0.2)


def owners(lab: Lab) -> str:
    h = lab.vip_holders()
    return ",".join(h) if h else "-"


def provider_path(lab: Lab, p: str, r: str) -> dict[str, Any] | None:
    addr = next(lk.r4 for lk in LINKS if lk.r == r and lk.p == p)
    for path in lab.provider_paths(p):
        if path["peer"]["peerId"] == addr:
            return path
    return None


# --------------------------------------------------------------------------- scenarios


def test_steady_state(lab: Lab) -> None:
    steady(lab, timeout=60)
    for r in ROUTERS:
        st = status(r)
        assert st["vrrp"][0]["priority"] == HEALTHY[r]
        assert st["vrrp"][0]["holds"] == (r == "r1")
        assert st["ingress"] == "equal"
        assert all(s["state"] == "Established" for s in st["sessions"])
    for p in PROVIDERS:
        for pfx in (OUR_V4, OUR_V6):
            paths = lab.provider_paths(p, pfx)
            assert len(paths) == 3
            # equal attributes: MED 100, AS path just our AS, no local-pref games
            assert {(x.get("metric"), x["aspath"]["string"]) for x in paths} == {(100, "65010")}
            assert lab.provider_multipath_peers(p, pfx) == ALL
            assert len(lab.kernel_nexthops(p, pfx)) == 3  # the kernel uses all three (ECMP)
    # egress: local-preference 200 toward core1, so r1's default route goes to core1 only
    default = lab.vjson("r1", "show ip route 0.0.0.0/0 json")["0.0.0.0/0"][0]
    assert {nh["ip"] for nh in default["nexthops"] if nh.get("fib")} == {"10.1.1.1"}
    # nothing left to do anywhere
    for r in ROUTERS:
        out = lab.agent(r, "plan").stdout
        assert "plan: nothing to change" in out, out
    metrics = subprocess.run(
        ["ip", "netns", "exec", ns("r1"), sys.executable, "-c",
         "import urllib.request;print(urllib.request.urlopen('http://127.0.0.1:9108/metrics').read().decode())"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert 'routeragent_vrrp_master{instance="lan"} 1.0' in metrics
    assert 'routeragent_vrrp_priority{instance="lan"} 200.0' in metrics
    assert 'routeragent_bgp_session_established{neighbor="10.1.1.1"} 1.0' in metrics
    table = lab.agent("r1", "status").stdout
    assert "lan   lan0   51    yes   200" in table


def test_upstream_loss_moves_the_gateway(lab: Lab) -> None:
    steady(lab)
    t0 = time.time()
    uplinks(lab, "r1", "down")
    t_vip = wait_for(lambda: lab.vip_holders() == ["r2"], 10, "VIP on r2 only", step=0.005)
    wait_for(lambda: lab.vip_holders(VIP6) == ["r2"], 5, "IPv6 VIP on r2 only")
    gone = r_addr("r1")

    def provider_dropped() -> bool:
        return all("r1" not in lab.provider_multipath_peers(p) for p in PROVIDERS) and (
            gone not in lab.kernel_nexthops("p1")
        )

    t_prov = wait_for(provider_dropped, 10, "providers stop using r1", step=0.01) + t_vip
    demote = [
        e for e in events("r1", t0, "decision") if e["subject"] == "priority lan" and e["to"] == 50
    ]
    assert demote, events("r1", t0)
    noticed = demote[0]["ts"] - t0
    # whichever noticed first: bgpd's sessions or zebra's default route
    assert "upstream-bgp down" in demote[0]["reason"] or "default-route down" in demote[0]["reason"]
    vip_after_notice = t_vip - noticed
    assert vip_after_notice < 1.0, f"VIP moved {vip_after_notice:.3f} s after the agent noticed"
    TIMINGS.append(("upstream loss -> agent decides (r1 priority 200 -> 50)", noticed))
    TIMINGS.append(("upstream loss -> VIP on r2", t_vip))
    TIMINGS.append(("agent decision -> VIP on r2", vip_after_notice))
    TIMINGS.append(("upstream loss -> providers stop using r1 (RIB + kernel)", t_prov))
    assert lab.provider_multipath_peers("p1") == {"r2", "r3"}
    assert status("r1")["gateway"] == "demoted"


def test_recovery_takes_the_gateway_back_once_converged(lab: Lab) -> None:
    assert lab.vip_holders() == ["r2"]  # left so by the previous scenario
    t0 = time.time()
    uplinks(lab, "r1", "up")
    t_bgp = t_vip = None
    seq = ["r2"]
    while time.time() - t0 < 30:
        now = time.time() - t0
        if t_bgp is None:
            nbs = lab.vjson("r1", "show bgp neighbors json")
            for nb in nbs.values():
                afi = next(iter(nb.get("addressFamilyInfo", {}).values()), {})
                if nb["bgpState"] == "Established" and afi.get("acceptedPrefixCounter", 0) >= 1:
                    t_bgp = now
        o = owners(lab)
        if o in ALL and o != seq[-1]:
            seq.append(o)
            if o == "r1" and t_vip is None:
                t_vip = now
        if t_vip is not None and now - t_vip > 3:
            break
        time.sleep(0.02)
    assert t_bgp is not None and t_vip is not None, (t_bgp, t_vip, seq)
    assert seq == ["r2", "r1"], f"gateway moved back and forth: {seq}"
    # only after sessions are Established with routes, plus rise and the take-back delay
    assert t_vip - t_bgp >= 1.0, (t_bgp, t_vip)
    TIMINGS.append(("uplinks back -> first session Established with routes on r1", t_bgp))
    TIMINGS.append(("uplinks back -> VIP back on r1 (rise 3 x 0.25 s + take-back 1 s)", t_vip))
    steady(lab)


def test_flapping_upstream_does_not_flap_the_gateway(lab: Lab) -> None:
    steady(lab)
    t0 = time.time()
    seq = [owners(lab)]

    def watch(seconds: float) -> None:
        end = time.time() + seconds
        while time.time() < end:
            o = owners(lab)
            if o in ALL and o != seq[-1]:
                seq.append(o)
            time.sleep(0.02)

    for _ in range(3):
        uplinks(lab, "r1", "down")
        watch(1.0)
        uplinks(lab, "r1", "up")
        watch(1.0)
    wait_for(lambda: lab.vip_holders() == ["r1"], 30, "r1 back after the flaps")
    watch(2.0)
    assert seq == ["r1", "r2", "r1"], f"the gateway followed the flaps: {seq}"
    ups = [
        e for e in events("r1", t0, "decision") if e["subject"] == "priority lan" and e["to"] == 200
    ]
    assert len(ups) == 1, ups
    steady(lab)


def _drain(lab: Lab, r: str, watch: Any) -> tuple[subprocess.CompletedProcess[str], float]:
    t0 = time.time()
    proc = subprocess.Popen(
        [*lab.agent_cmd(r, "drain"), "--wait", "60"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    while proc.poll() is None:
        watch(time.time() - t0)
        time.sleep(0.03)
    watch(time.time() - t0)
    out = proc.stdout.read() if proc.stdout else ""
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, ""), time.time() - t0


def session_resets(lab: Lab, r: str) -> dict[str, tuple[int, int, int]]:
    """Per neighbor: (connections dropped, NOTIFICATIONs sent, OPENs sent)."""
    out = {}
    for addr, nb in lab.vjson(r, "show bgp neighbors json").items():
        st = nb["messageStats"]
        out[addr] = (nb.get("connectionsDropped", 0), st["notificationsSent"], st["opensSent"])
    return out


def test_drain_and_undrain_router2(lab: Lab) -> None:
    steady(lab)
    resets = session_resets(lab, "r2")
    lab.start_traffic("p1", pps=400)
    try:
        rx0 = lab.rx_packets("r2", "up1")
        time.sleep(1.0)
        assert lab.rx_packets("r2", "up1") - rx0 > 60, "r2 receives its share of the traffic"
        seen: dict[str, Any] = {}

        def watch(t: float) -> None:
            path = provider_path(lab, "p1", "r2")
            if path is not None and path.get("metric") == 1000:
                seen.setdefault("shifted", t)
                seen["shifted_path"] = path  # the last look before the withdrawal
            if path is None and "withdrawn" not in seen:
                seen["withdrawn"] = t
            if "unused" not in seen and r_addr("r2") not in lab.kernel_nexthops("p1"):
                seen["unused"] = t

        done, t_done = _drain(lab, "r2", watch)
        assert done.returncode == 0, done.stdout
        assert "r2 is drained: ready for reboot" in done.stdout
        assert "shifted" in seen, "the provider never saw the drain attributes"
        t_shift, path = seen["shifted"], seen["shifted_path"]
        # graceful shutdown as the provider sees it: community, MED, prepends, LOCAL_PREF 0
        assert path["aspath"]["string"] == "65010 65010 65010 65010"
        assert path["community"]["string"] == "graceful-shutdown"
        assert path.get("locPrf") == 0
        assert not path.get("multipath") and not path.get("bestpath")
        assert t_shift <= seen["unused"] <= seen["withdrawn"]
        assert lab.provider_multipath_peers("p1") == {"r1", "r3"}
        rx1 = lab.rx_packets("r2", "up1")
        time.sleep(1.0)
        assert lab.rx_packets("r2", "up1") - rx1 < 30, "traffic still reaches r2"
        st = status("r2")
        assert st["drain_phase"] == "drained" and st["vrrp"][0]["priority"] == 1
        TIMINGS.append(("drain r2 -> provider sees graceful-shutdown/MED/prepend", t_shift))
        TIMINGS.append(("drain r2 -> provider kernel stops using r2", seen["unused"]))
        TIMINGS.append(("drain r2 -> prefixes withdrawn at the provider", seen["withdrawn"]))
        TIMINGS.append(("drain r2 -> 'ready for reboot' (counters quiet 1 s)", t_done))

        t0 = time.time()
        back = lab.agent("r2", "undrain", "--wait", "60")
        assert back.returncode == 0, back.stdout
        assert "r2 is back in service" in back.stdout
        wait_for(lambda: lab.provider_multipath_peers("p1") == ALL, 10, "r2 back")
        TIMINGS.append(("undrain r2 -> provider uses r2 again", time.time() - t0))
        path = provider_path(lab, "p1", "r2")
        assert path is not None and path.get("metric") == 100 and "community" not in path
        steady(lab)
        assert status("r2")["vrrp"][0]["priority"] == 150
        # all of it by route-map switches: not one session was reset
        assert session_resets(lab, "r2") == resets
    finally:
        lab.stop_traffic("p1")


def test_drain_of_the_gateway_moves_it_before_ingress(lab: Lab) -> None:
    steady(lab)
    seen: dict[str, float] = {}

    def watch(t: float) -> None:
        if "vip" not in seen and lab.vip_holders() == ["r2"]:
            seen["vip"] = t
        path = provider_path(lab, "p1", "r1")
        if "ingress" not in seen and (path is None or path.get("metric") == 1000):
            seen["ingress"] = t

    done, _ = _drain(lab, "r1", watch)
    assert done.returncode == 0, done.stdout
    assert seen["vip"] < seen["ingress"], seen  # make before break
    TIMINGS.append(("drain r1 (the gateway) -> VIP on r2", seen["vip"]))
    t0 = time.time()
    back = lab.agent("r1", "undrain", "--wait", "60")
    assert back.returncode == 0, back.stdout
    wait_for(lambda: lab.vip_holders() == ["r1"], 15, "r1 gateway again")
    TIMINGS.append(("undrain r1 -> VIP back on r1", time.time() - t0))
    # the gateway came back only after the ingress was restored
    decisions = events("r1", t0, "decision")
    restored = next(e["ts"] for e in decisions if e["subject"] == "ingress" and e["to"] == "equal")
    prio = next(e["ts"] for e in decisions if e["subject"] == "priority lan" and e["to"] == 200)
    assert restored < prio
    steady(lab)


def test_agent_crash_and_stop_leave_the_last_good_state(lab: Lab) -> None:
    steady(lab)
    track = ROOT / "r1" / "agent-state" / "keepalived" / "lan.track"
    before = (lab.keepalived_pid("r1"), lab.frr_pid("r1", "bgpd"), track.read_text())
    conf_mtime = (ROOT / "r1" / "keepalived.conf").stat().st_mtime
    for sig in (signal.SIGKILL, signal.SIGTERM):
        rc = lab.stop_agent("r1", sig)
        assert rc == (-9 if sig == signal.SIGKILL else 0)
        end = time.time() + 3
        while time.time() < end:
            assert lab.vip_holders() == ["r1"]
            assert lab.provider_multipath_peers("p1") == ALL
            time.sleep(0.1)
        assert (lab.keepalived_pid("r1"), lab.frr_pid("r1", "bgpd"), track.read_text()) == before
        t0 = time.time()
        lab.start_agent("r1")
        fresh_status("r1", t0)
        time.sleep(1.0)
        new = events("r1", t0)
        assert any(e["event"] == "memory-restored" for e in new)
        assert not [e for e in new if e["event"] in ("plan", "applied", "apply-failed")], new
        assert (lab.keepalived_pid("r1"), track.read_text()) == (before[0], before[2])
        assert (ROOT / "r1" / "keepalived.conf").stat().st_mtime == conf_mtime
        if sig == signal.SIGTERM:
            assert events("r1", t0 - 30, "stopped")
    steady(lab)


def _sighup(lab: Lab, r: str) -> float:
    t0 = time.time()
    proc = lab.procs[f"agent-{r}"]
    os.kill(proc.pid, signal.SIGHUP)
    return t0


def test_bad_config_is_rejected_and_nothing_changes(lab: Lab) -> None:
    steady(lab)
    path = ROOT / "r3" / "agent.toml"
    good = path.read_text()
    try:
        path.write_text(good.replace("vrid = 51", "vrid = 300") + "\n[bogus]\nx = 1\n")
        check = lab.agent("r3", "check-config")
        assert check.returncode == 2
        assert "vrrp[0].vrid: must be in 1..255, got 300" in check.stderr
        assert "bogus: unknown key" in check.stderr
        t0 = _sighup(lab, "r3")
        wait_for(lambda: events("r3", t0, "config-rejected"), 10, "config rejected")
        problems = events("r3", t0, "config-rejected")[0]["problems"]
        assert "vrrp[0].vrid: must be in 1..255, got 300" in problems
        assert lab.agent_running("r3")
        fresh_status("r3", time.time())
        assert not events("r3", t0, "applied")
    finally:
        path.write_text(good)
    t1 = _sighup(lab, "r3")
    wait_for(lambda: events("r3", t1, "config-reloaded"), 10, "config reloaded")
    time.sleep(1)
    assert not events("r3", t1, "applied")  # the same config: nothing to do
    steady(lab)


def test_keepalived_rejecting_the_rendered_file_changes_nothing(lab: Lab) -> None:
    steady(lab)
    path = ROOT / "r3" / "agent.toml"
    good = path.read_text()
    conf = ROOT / "r3" / "keepalived.conf"
    before = (conf.read_bytes(), lab.keepalived_pid("r3"))
    assert 'interface = "lan0"\nvrid' in good
    try:
        # valid for the agent, but keepalived -t in r3's namespace: no such interface
        path.write_text(good.replace('interface = "lan0"\nvrid', 'interface = "lan9"\nvrid'))
        t0 = _sighup(lab, "r3")
        wait_for(lambda: events("r3", t0, "apply-failed"), 10, "keepalived rejection")
        failed = events("r3", t0, "apply-failed")[0]
        assert failed["transaction"] == "keepalived"
        assert "keepalived -t rejected the rendered config" in failed["error"]
        assert "lan9" in failed["error"]
        assert (conf.read_bytes(), lab.keepalived_pid("r3")) == before
        last = fresh_status("r3", time.time())["last_apply"]
        assert last and not last["ok"]
        assert "keepalived -t rejected" in lab.agent("r3", "status").stdout
    finally:
        path.write_text(good)
    t1 = _sighup(lab, "r3")
    wait_for(lambda: events("r3", t1, "config-reloaded"), 10, "config reloaded")
    time.sleep(1)
    assert not [e for e in events("r3", t1, "applied") if e["transaction"] == "keepalived"]
    assert (conf.read_bytes(), lab.keepalived_pid("r3")) == before
    steady(lab)


def test_vtysh_not_answering(lab: Lab) -> None:
    steady(lab)
    bgpd = lab.frr_pid("r3", "bgpd")
    maps_before = lab.vjson("r3", "show bgp neighbors json")
    os.kill(bgpd, signal.SIGSTOP)
    try:
        t0 = time.time()
        wait_for(lambda: events("r3", t0, "frr-unobservable"), 15, "FRR unobservable")
        err = events("r3", t0, "frr-unobservable")[0]["error"]
        assert err == "vtysh did not answer within 2 s"
        # a drain now: the gateway part goes through, the BGP part waits for FRR
        lab.agent("r3", "drain", "--wait", "0", check=True)
        wait_for(
            lambda: "waiting: FRR not observable" in status("r3")["reasons"]["drain"],
            20,
            "r3 waiting for FRR to shift ingress",
        )
        st = status("r3")
        assert st["drain_phase"] == "ingress-shifting"
        assert st["vrrp"][0]["priority"] == 1
        assert st["frr_error"] == "vtysh did not answer within 2 s"
        assert any("FRR not observable" in p for p in st["pending"])
        assert lab.vip_holders() == ["r1"]  # the rest of the set does not care
    finally:
        os.kill(bgpd, signal.SIGCONT)
    t1 = time.time()
    wait_for(lambda: events("r3", t1, "frr-observable-again"), 20, "FRR back")
    wait_for(lambda: status("r3")["drain_phase"] == "drained", 30, "r3 drained")
    # nothing half-applied: every upstream uses the one outbound map, which withdraws
    nbs = lab.vjson("r3", "show bgp neighbors json")
    outs = {
        next(iter(nb["addressFamilyInfo"].values()))["routeMapForOutgoingAdvertisements"]
        for nb in nbs.values()
    }
    assert len(outs) == 1
    running = lab.vtysh("r3", "show running-config")
    assert len([ln for ln in running.splitlines() if ln.startswith("route-map RA-OUT-")]) == 1
    assert set(nbs) == set(maps_before)
    back = lab.agent("r3", "undrain", "--wait", "60")
    assert back.returncode == 0, back.stdout
    steady(lab, timeout=60)


def test_logs_are_json_lines_with_reasons(lab: Lab) -> None:
    for r in ROUTERS:
        lines = (ROOT / r / "agent.log").read_text().splitlines()
        parsed = [json.loads(line) for line in lines]
        assert all({"ts", "level", "router", "event"} <= set(e) for e in parsed)
        decisions = [e for e in parsed if e["event"] == "decision"]
        assert decisions and all(e["reason"] for e in decisions)
    assert Path(ROOT).is_dir()
