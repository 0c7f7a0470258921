"""The scenarios: do one thing to the live lab and time what follows.

Each measured event has its own probe polled by its own thread (VIP every 20 ms from ``ip``,
provider paths from the cores' vtysh), so a slow probe does not blur a fast one. Times are from
the moment the scenario acted, wall clock, on whatever else the machine was doing.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from routeragent.lab import system
from routeragent.lab.build import Lab
from routeragent.lab.observe import (
    control_requests,
    gateway_addresses,
    read_view,
    used_routers,
    vtysh_json,
)
from routeragent.lab.system import LabError
from routeragent.lab.topology import (
    ANYCAST4,
    CORES,
    HOST_PREFIXES,
    HOSTS,
    ROUTERS,
    SERVICE,
    VIP4,
    VIP6,
    host_of_address,
    router_of_address,
)
from routeragent.lab.traffic import Traffic
from routeragent.lab.view import problems
from routeragent.state_store import StateDir
from routeragent.status_table import stale

Probe = Callable[[], bool]
Say = Callable[[str], None]


@dataclass
class Report:
    """What a scenario measured: (event, seconds or None if it did not happen in time)."""

    scenario: str
    timings: list[tuple[str, float | None]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    traffic: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        return all(s is not None for _, s in self.timings)

    def as_json(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "ok": self.ok,
            "timings": {w: s for w, s in self.timings},
            "notes": self.notes,
            "traffic": self.traffic,
        }


def measure(
    probes: dict[str, Probe], t0: float, timeout: float, say: Say, step: float = 0.03
) -> list[tuple[str, float | None]]:
    """Poll every probe in its own thread until it holds; print each event as it happens.
    Probes that ask FRR share one vtysh answer per core and 0.1 s (see :class:`Cached`), so
    the measuring does not starve the daemons it measures of CPU."""
    results: dict[str, float | None] = {}
    lock = threading.Lock()

    def watch(what: str, probe: Probe) -> None:
        deadline = t0 + timeout
        took: float | None = None
        while time.monotonic() < deadline:
            try:
                ok = probe()
            except (LabError, ValueError, OSError):
                ok = False
            if ok:
                took = time.monotonic() - t0
                break
            time.sleep(step)
        with lock:
            results[what] = took
            say(f"  {what:<58} {_secs(took)}")

    threads = [threading.Thread(target=watch, args=(w, p), daemon=True) for w, p in probes.items()]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout + 5)
    return [(w, results.get(w)) for w in probes]


def _secs(s: float | None) -> str:
    return "NOT SEEN" if s is None else f"{s:6.2f} s"


# --------------------------------------------------------------------------- probes


class Cached:
    """One fetch shared by every probe that calls within ``ttl`` seconds of the last one."""

    def __init__(self, fetch: Callable[[], Any], ttl: float = 0.1) -> None:
        self.fetch = fetch
        self.ttl = ttl
        self.lock = threading.Lock()
        self.at = -1e9
        self.value: Any = None

    def __call__(self) -> Any:
        with self.lock:
            if time.monotonic() - self.at >= self.ttl:
                self.value = self.fetch()
                self.at = time.monotonic()
            return self.value


_tables: dict[tuple[str, str], Cached] = {}


def core_tables(lab: Lab, core: str) -> tuple[Any, Any]:
    """The core's IPv4 and IPv6 BGP tables (JSON), at most 0.1 s old."""
    key = (str(lab.run_dir), core)
    if key not in _tables:

        def fetch() -> tuple[Any, Any]:
            r4, r6 = vtysh_json(
                lab.frr_dir(core), "show bgp ipv4 unicast json", "show bgp ipv6 unicast json"
            )
            return r4, r6

        _tables[key] = Cached(fetch)
    r4, r6 = _tables[key]()
    return r4, r6


def core_paths(lab: Lab, core: str) -> dict[str, tuple[str, ...]]:
    r4, r6 = core_tables(lab, core)
    paths = used_routers(r4)
    paths.update({p: v for p, v in used_routers(r6).items() if ":" in p})
    return paths


def core_path_sources(lab: Lab, core: str) -> set[str]:
    """Every router that has any path (used or not) for our prefixes at ``core``."""
    r4, r6 = core_tables(lab, core)
    out = set()
    for doc in (r4, r6):
        for prefix, paths in doc.get("routes", {}).items():
            if prefix in HOST_PREFIXES:
                for p in paths:
                    if (r := router_of_address(str(p.get("peerId", "")))) is not None:
                        out.add(r)
    return out


def kernel_next_hops(lab: Lab, core: str, prefix: str) -> set[str]:
    fam = "-6" if ":" in prefix else "-4"
    out = system.run(["ip", "-n", lab.ns(core), fam, "-j", "route", "show", prefix]).stdout
    hops: set[str] = set()
    for route in json.loads(out or "[]"):
        if "gateway" in route:
            hops.add(route["gateway"])
        for nh in route.get("nexthops", []):
            if "gateway" in nh:
                hops.add(nh["gateway"])
    return {r for h in hops if (r := router_of_address(h)) is not None}


def _every_prefix_uses(lab: Lab, core: str, want: Callable[[tuple[str, ...]], bool]) -> bool:
    paths = core_paths(lab, core)
    return all(want(paths.get(p, ())) for p in HOST_PREFIXES)


def _anycast_hosts_at(lab: Lab, router: str) -> set[str]:
    key = (str(lab.run_dir), f"{router} anycast")
    if key not in _tables:
        _tables[key] = Cached(
            lambda: vtysh_json(lab.frr_dir(router), f"show bgp ipv4 unicast {ANYCAST4} json")[0]
        )
    doc = _tables[key]()
    return {
        h
        for p in doc.get("paths", [])
        if (h := host_of_address(str(p.get("peer", {}).get("peerId", ""))))
    }


def _service_state(lab: Lab, host: str) -> str | None:
    (ans,) = control_requests(lab.node_dir(host) / "bgpspeak.sock", "show-services")
    for s in ans.get("services", []):
        if s.get("name") == SERVICE:
            return str(s.get("state"))
    return None


def wait_steady(lab: Lab, timeout: float, say: Say) -> float:
    """Until the status screen has nothing left to report; returns the seconds it took."""
    t0 = time.monotonic()
    last: list[str] = []
    while True:
        view = read_view(lab)
        last = problems(view)
        if not last:
            return time.monotonic() - t0
        if time.monotonic() - t0 > timeout:
            raise LabError(f"not steady after {timeout:g} s:\n  " + "\n  ".join(last))
        time.sleep(0.2)


def _live_routers(lab: Lab) -> list[str]:
    return [r for r in ROUTERS if lab.frr_running(r)]


# --------------------------------------------------------------------------- probe makers


def avoids(lab: Lab, core: str, router: str) -> Probe:
    """``core`` uses ``router`` for none of the host prefixes."""

    def probe() -> bool:
        return _every_prefix_uses(lab, core, lambda used: router not in used)

    return probe


def uses(lab: Lab, core: str, router: str) -> Probe:
    """``core`` uses ``router`` (among others) for every host prefix."""

    def probe() -> bool:
        return _every_prefix_uses(lab, core, lambda used: router in used)

    return probe


def kernel_avoids(lab: Lab, core: str, router: str, prefix: str) -> Probe:
    def probe() -> bool:
        return router not in kernel_next_hops(lab, core, prefix)

    return probe


def no_paths_from(lab: Lab, core: str, router: str) -> Probe:
    def probe() -> bool:
        return router not in core_path_sources(lab, core)

    return probe


def holds_gateway(lab: Lab, routers: list[str]) -> Probe:
    """One of ``routers`` holds both gateway addresses."""

    def probe() -> bool:
        return any({VIP4, VIP6} <= gateway_addresses(lab, r) for r in routers)

    return probe


def lost_gateway(lab: Lab, router: str) -> Probe:
    def probe() -> bool:
        return not gateway_addresses(lab, router) & {VIP4, VIP6}

    return probe


def anycast_path(lab: Lab, host: str, routers: list[str], present: bool) -> Probe:
    """Every router in ``routers`` has (or has not) ``host``'s anycast path."""

    def probe() -> bool:
        return all((host in _anycast_hosts_at(lab, r)) == present for r in routers)

    return probe


def service_state(lab: Lab, host: str, state: str) -> Probe:
    def probe() -> bool:
        return _service_state(lab, host) == state

    return probe


def _in_background(
    probes: dict[str, Probe], t0: float, timeout: float, say: Say
) -> tuple[threading.Thread, list[list[tuple[str, float | None]]]]:
    results: list[list[tuple[str, float | None]]] = []

    def run() -> None:
        results.append(measure(probes, t0, timeout, say))

    t = threading.Thread(target=run)
    t.start()
    return t, results


def _traffic_result(rep: Report, traffic: Traffic, say: Say, settle: float) -> None:
    """Stop the test traffic (after ``settle`` more seconds, to catch late losses) and add to
    the report when the cores' requests were answered again after the last loss (0: none lost)."""
    time.sleep(settle)
    summary = traffic.stop()
    rep.traffic = summary.as_json()
    label = "traffic from both cores answered again"
    rep.timings.append((label, summary.recovered_at))
    say(f"  {label:<58} {_secs(summary.recovered_at)}")
    say(f"    ({summary.describe()})")


# --------------------------------------------------------------------------- scenarios


def failover(lab: Lab, router: str, say: Say, timeout: float = 30.0) -> Report:
    """A power cut on ``router``: every process killed at once, its links down."""
    if router not in ROUTERS:
        raise LabError(f"no router {router!r} (one of {', '.join(ROUTERS)})")
    if not lab.frr_running(router):
        raise LabError(f"{router} is already down (`routeragent lab restore` powers it on)")
    held = router in read_view(lab).gateway(VIP4)
    others = [r for r in _live_routers(lab) if r != router]
    rep = Report("failover")
    say(f"failover: power cut on {router} (all its processes SIGKILLed, its links down)")
    if not any(read_view(lab).router(r).serving for r in others):
        say("  no other router is serving: the provider will have no path left to us")
    t0 = time.monotonic()
    traffic = Traffic(lab, t0, interval=0.05, timeout=0.4).start()
    lab.kill_router(router)
    say(f"  {router} killed in {time.monotonic() - t0:.2f} s; timing what follows")
    probes: dict[str, Probe] = {}
    if held and others:
        probes["gateway (IPv4 + IPv6 address) on another router"] = holds_gateway(lab, others)
    for c in CORES:
        probes[f"{c} stopped using {router} (BGP, all 8 prefixes)"] = avoids(lab, c, router)
        probes[f"{c} kernel ECMP route without {router} (203.0.113.0/27)"] = kernel_avoids(
            lab, c, router, "203.0.113.0/27"
        )
    rep.timings = measure(probes, t0, timeout, say)
    _traffic_result(rep, traffic, say, settle=1.0)
    after = read_view(lab).gateway(VIP4)
    rep.notes.append(f"gateway now on {' '.join(after) or 'nobody'}")
    say(f"  gateway now on {' '.join(after) or 'nobody'}")
    return rep


def _set_intent(
    lab: Lab, router: str, intent: str, want: str, say: Say, t0: float, timeout: float
) -> bool:
    """What ``routeragent drain|undrain`` does: write the intent into the agent's state
    directory, then follow the phases the running agent reports until ``want``. Done in
    process so that the timings do not include starting Python."""
    state = StateDir(lab.node_dir(router) / "agent-state")
    state.set_intent("drain" if intent == "drain" else "normal")
    last = ""
    while time.monotonic() - t0 < timeout:
        status = state.load_status()
        if status is None or stale(status, time.time()):
            say(f"  {router}: the agent is not running; the intent waits for it")
            return False
        phase = str(status.get("drain_phase"))
        line = f"{phase}: {status.get('reasons', {}).get('drain', '')}"
        if line != last:
            say(f"  {time.monotonic() - t0:6.2f} s  {router} agent: {line}")
            last = line
        if phase == want:
            return True
        time.sleep(0.1)
    return False


def drain(lab: Lab, router: str, say: Say, timeout: float = 60.0) -> Report:
    """``routeragent drain`` on ``router``, as an operator would before a reboot."""
    if router not in ROUTERS:
        raise LabError(f"no router {router!r} (one of {', '.join(ROUTERS)})")
    if not lab.frr_running(router):
        raise LabError(f"{router} is down (`routeragent lab restore` first)")
    held = router in read_view(lab).gateway(VIP4)
    rep = Report("drain")
    say(f"drain {router}: as `routeragent drain` (gateway away, ingress away, then withdraw)")
    t0 = time.monotonic()
    probes: dict[str, Probe] = {}
    if held:
        probes[f"gateway left {router}"] = lost_gateway(lab, router)
    for c in CORES:
        probes[f"{c} stopped using {router} (graceful-shutdown)"] = avoids(lab, c, router)
        probes[f"{c}: {router}'s paths withdrawn"] = no_paths_from(lab, c, router)
    traffic = Traffic(lab, t0, timeout=2.0).start()
    watcher, results = _in_background(probes, t0, timeout, say)
    ok = _set_intent(lab, router, "drain", "drained", say, t0, timeout)
    done = time.monotonic() - t0 if ok else None
    watcher.join()
    what = f"{router} drained: ready for reboot"
    rep.timings = [*results[0], (what, done)]
    say(f"  {what:<58} {_secs(done)}")
    summary = traffic.stop()
    rep.traffic = summary.as_json()
    say(f"  traffic during the drain: {summary.describe()}")
    return rep


def anycast_stop(lab: Lab, host: str, say: Say, timeout: float = 30.0) -> Report:
    """Stop the anycast service instance on ``host``; its speaker's check withdraws the path."""
    if host not in HOSTS:
        raise LabError(f"no host {host!r} (one of {', '.join(HOSTS)})")
    if not lab.service_running(host):
        raise LabError(f"the anycast service on {host} is already stopped")
    routers = _live_routers(lab)
    rep = Report("anycast-stop")
    say(f"anycast-stop {host}: the HTTP service on {host} stopped (SIGTERM)")
    t0 = time.monotonic()
    traffic = Traffic(lab, t0, interval=0.05, timeout=0.4).start()
    lab.stop_service(host)
    probes: dict[str, Probe] = {
        f"{host}'s speaker: check failed, path withdrawn": service_state(lab, host, "failed"),
        f"{' '.join(routers)} dropped {host}'s anycast path": anycast_path(
            lab, host, routers, present=False
        ),
    }
    rep.timings = measure(probes, t0, timeout, say)
    _traffic_result(rep, traffic, say, settle=0.5)
    view = read_view(lab)
    left = sorted(view.router(routers[0]).anycast_hosts) if routers else []
    used = {c.name: c.paths.get(ANYCAST4, ()) for c in view.cores}
    note = (
        f"{ANYCAST4} still served by {' '.join(left) or 'nobody'}; the provider still reaches it "
        + "; ".join(f"{c} via {' '.join(u) or 'nothing'}" for c, u in used.items())
    )
    rep.notes.append(note)
    say(f"  {note}")
    return rep


def restore(lab: Lab, say: Say, timeout: float = 90.0) -> Report:
    """Undo every scenario: power routers back on, undrain, restart anycast instances."""
    rep = Report("restore")
    view = read_view(lab)
    off = [r.name for r in view.routers if not r.frr]
    drained = [r.name for r in view.routers if r.frr and r.intent == "drain"]
    stopped = [h.name for h in view.hosts if not h.service]
    speakers = [h.name for h in view.hosts if not h.speaker]
    if not (off or drained or stopped or speakers):
        say("restore: nothing to restore")
    t0 = time.monotonic()
    probes: dict[str, Probe] = {}
    if off:
        say(
            f"restore: powering {' '.join(off)} on "
            "(links up, FRR, routeragent --once, keepalived, agent)"
        )
        lab.boot_routers(off)
        say(f"  {' '.join(off)} booted in {time.monotonic() - t0:.2f} s")
    if ROUTERS[0] in off:
        probes[f"{ROUTERS[0]} holds the gateway again"] = holds_gateway(lab, [ROUTERS[0]])
    for h in speakers:
        say(f"restore: starting {h}'s speaker")
        lab.start_speaker(h)
    for h in stopped:
        say(f"restore: starting the anycast service on {h}")
        lab.start_service(h)
        probes[f"{h}'s anycast path back at every router"] = anycast_path(
            lab, h, _live_routers(lab), present=True
        )
    for r in (*off, *drained):
        for c in CORES:
            probes[f"{c} uses {r} again"] = uses(lab, c, r)
    watcher, results = _in_background(probes, t0, timeout, say)
    for r in drained:
        say(f"restore: undrain {r} (as `routeragent undrain`)")
        _set_intent(lab, r, "normal", "none", say, t0, timeout)
    watcher.join()
    rep.timings = list(results[0])
    try:
        wait_steady(lab, max(5.0, timeout - (time.monotonic() - t0)), say)
        took: float | None = time.monotonic() - t0
    except LabError as e:
        took = None
        rep.notes.append(str(e))
        say(f"  {e}")
    rep.timings.append(("whole lab steady again", took))
    say(f"  {'whole lab steady again':<58} {_secs(took)}")
    return rep
