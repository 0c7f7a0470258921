"""`routeragent lab` end to end, through its command line, as a user runs it.

A first `up` is killed half-way (a crashed run); the second `up` must clean what it left and
build the lab all the scenarios then share: failover, drain, anycast-stop, each followed by
restore; at the end `down` must leave nothing behind (namespaces, processes, files)."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from bgpspeak import Neighbor, Route, RouteReceived, Speaker
from demo.conftest import TIMINGS
from routeragent.cli import main as cli_main
from routeragent.lab import system
from routeragent.lab.build import missing_programs
from routeragent.lab.datapath import in_namespace
from routeragent.lab.observe import vtysh_json
from routeragent.lab.topology import GUEST4

pytestmark = pytest.mark.interop


@dataclass
class LabRun:
    run_dir: Path
    prefix: str
    up_output: str = ""
    crashed_pids: list[int] = field(default_factory=list)
    crashed_namespaces: set[str] = field(default_factory=set)

    def cli(self, *args: str, timeout: float = 150.0) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "routeragent.cli", "lab", *args, "--run-dir", str(self.run_dir)],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def inproc(self, *args: str) -> subprocess.CompletedProcess[str]:
        """The same command line, run in this process: starting Python for every command
        costs seconds on a loaded 2-core box; `up`, `down`, the crash and the live view
        still run as programs of their own."""
        out, err = io.StringIO(), io.StringIO()
        argv = ["lab", *args, "--run-dir", str(self.run_dir)]
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                rc = cli_main(argv)
            except SystemExit as e:  # argparse refusals
                rc = int(e.code or 0)
        return subprocess.CompletedProcess(argv, rc, out.getvalue(), err.getvalue())

    def scenario(self, *args: str) -> dict[str, Any]:
        r = self.inproc(*args, "--json")
        assert r.returncode == 0, f"{args} -> {r.returncode}\n{r.stderr}\n{r.stdout}"
        report: dict[str, Any] = json.loads(r.stdout)
        for what, secs in report["timings"].items():
            TIMINGS.append((f"{args[0]}: {what}", secs))
        return report

    def status(self) -> str:
        r = self.inproc("status", "--once")
        assert r.returncode == 0, r.stderr
        return r.stdout

    def namespaces(self) -> set[str]:
        return {n for n in system.namespaces() if n.startswith(self.prefix)}

    def processes(self) -> list[int]:
        """Every process whose command line names the run directory."""
        mine = []
        for d in Path("/proc").iterdir():
            pid = int(d.name) if d.name.isdigit() else 0
            if pid and str(self.run_dir) in system.cmdline(pid) and system.alive(pid):
                mine.append(pid)
        return mine


def _require() -> None:
    why = None
    if os.geteuid() != 0:
        why = "the lab needs root (network namespaces)"
    elif missing := missing_programs():
        why = f"the lab needs {', '.join(missing)} (scripts/debian-packages)"
    if why is not None:
        if os.environ.get("CI"):
            pytest.fail(why)
        pytest.skip(why)


def row(screen: str, first: str) -> list[str]:
    """The cells of the status screen's line that starts with ``first``."""
    for line in screen.splitlines():
        if line.startswith(first + " "):
            return line.split()
    raise AssertionError(f"no line for {first} in\n{screen}")


def wait_until(probe: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not probe():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def keep_logs(run_dir: Path) -> None:
    """After a failure: the daemons' logs, configs and the agents' status, for the report."""
    keep = Path(f"{run_dir}-failed")
    shutil.rmtree(keep, ignore_errors=True)
    for f in run_dir.rglob("*"):
        if f.is_file() and f.suffix in (".log", ".toml", ".conf", ".json"):
            dest = keep / f.relative_to(run_dir)
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(f, dest)
    print(f"\nlab logs kept in {keep}")  # shown with the failure report (-rA / -s)


@pytest.fixture(scope="module")
def lab(request: pytest.FixtureRequest) -> Iterator[LabRun]:
    _require()
    run = LabRun(Path(f"/tmp/ra-demo-{os.getpid()}"), f"d{os.getpid()}-")
    try:
        # a first `up` dies half-way: namespaces, FRR and the speakers are left behind
        crashed = subprocess.Popen(
            [sys.executable, "-m", "routeragent.cli", "lab", "up", "--quiet",
             "--run-dir", str(run.run_dir), "--prefix", run.prefix],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            wait_until(
                lambda: (run.run_dir / "core2" / "frr" / "bgpd.pid").exists() or crashed.poll(),
                60,
                "the first up to start FRR",
            )
        finally:
            crashed.send_signal(signal.SIGKILL)
            crashed.wait(10)
        run.crashed_namespaces = run.namespaces()
        run.crashed_pids = [p for ns in run.crashed_namespaces for p in system.pids_in(ns)]
        r = run.cli("up", "--prefix", run.prefix)
        assert r.returncode == 0, f"up -> {r.returncode}\n{r.stderr}\n{r.stdout}"
        run.up_output = r.stdout
        yield run
    finally:
        if request.session.testsfailed and run.run_dir.exists():
            keep_logs(run.run_dir)
        run.cli("down", timeout=60)
        shutil.rmtree(run.run_dir, ignore_errors=True)


def test_up_cleans_a_crashed_run_and_reaches_steady(lab: LabRun) -> None:
    assert len(lab.crashed_namespaces) == 10, lab.crashed_namespaces
    assert lab.crashed_pids, "the crashed run left no processes: nothing was tested"
    assert "removed leftovers of an earlier lab" in lab.up_output, lab.up_output
    survivors = [p for p in lab.crashed_pids if system.alive(p)]
    assert survivors == [], f"processes of the crashed run survived: {survivors}"
    assert "steady: every path where it should be" in lab.up_output, lab.up_output


def test_status_shows_gateway_paths_and_anycast(lab: LabRun) -> None:
    screen = lab.status()
    assert "held by router1" in screen, screen
    for prefix in ("203.0.113.0/27", "2001:db8:100:3::/64", "203.0.113.200/32"):
        assert row(screen, prefix)[2:] == ["r1", "r2", "r3"] * 2, screen
    for h in ("host1", "host2", "host3"):
        assert row(screen, h) == [h, "running", "healthy", "3/3", "yes", "yes", "yes"], screen
    # real traffic: both cores reach the anycast service on some host
    traffic = row(screen, "traffic:")
    assert traffic[5] in ("host1", "host2", "host3") and traffic[8] in ("host1", "host2", "host3")
    assert "steady" in screen, screen
    # the live view refreshes (plain text when not on a terminal) until interrupted
    live = subprocess.Popen(
        [sys.executable, "-m", "routeragent.cli", "lab", "status", "--interval", "0.3",
         "--run-dir", str(lab.run_dir)],
        stdout=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    stdout = live.stdout
    assert stdout is not None
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(stdout.readline, "")))
    reader.start()
    try:
        wait_until(lambda: sum("routeragent lab   up" in x for x in lines) >= 2, 30, "2 screens")
    finally:
        live.send_signal(signal.SIGINT)
        live.wait(20)
        reader.join(20)
    assert live.returncode == 0


def test_failover_moves_the_gateway_and_the_provider_paths(lab: LabRun) -> None:
    report = lab.scenario("failover")
    t = report["timings"]
    assert report["ok"], report
    assert t["gateway (IPv4 + IPv6 address) on another router"] < 5.0
    for c in ("core1", "core2"):
        assert t[f"{c} stopped using router1 (BGP, all 8 prefixes)"] < 5.0
    assert report["notes"] == ["gateway now on router2"]
    # real requests from the cores to the anycast service: answered again within seconds
    assert report["traffic"]["sent"] > 0
    assert t["traffic from both cores answered again"] < 5.0
    screen = lab.status()
    assert "held by router2" in screen and "router1  DOWN" in screen, screen
    assert row(screen, "203.0.113.0/27") == ["203.0.113.0/27", "host1", "r2", "r3", "r2", "r3"]
    restored = lab.scenario("restore")
    assert restored["ok"], restored
    assert restored["timings"]["router1 holds the gateway again"] < 60  # a boot, under load


def test_drain_moves_traffic_off_router2_before_it_is_ready(lab: LabRun) -> None:
    report = lab.scenario("drain", "router2")
    t = report["timings"]
    assert report["ok"], report
    for c in ("core1", "core2"):
        # make before break: the provider moves away first, the withdrawal comes after
        assert (
            t[f"{c} stopped using router2 (graceful-shutdown)"]
            <= t[f"{c}: router2's paths withdrawn"]
        )
    assert t["router2 drained: ready for reboot"] < 40
    # make before break, seen by real traffic: not one request lost while draining
    traffic = report["traffic"]
    assert traffic["sent"] > 10 and traffic["failed"] == 0, traffic
    screen = lab.status()
    assert row(screen, "2001:db8:100:2::/64")[2:] == ["r1", "r3", "r1", "r3"], screen
    assert row(screen, "router2")[-1] == "drained", screen
    assert "held by router1" in screen, screen
    restored = lab.scenario("restore")
    assert restored["ok"], restored  # includes: every path where it should be again


def test_anycast_stop_withdraws_only_that_hosts_path(lab: LabRun) -> None:
    report = lab.scenario("anycast-stop", "host1")
    assert report["ok"], report
    assert report["timings"]["router1 router2 router3 dropped host1's anycast path"] < 15
    assert "still served by host2 host3" in report["notes"][0], report
    screen = lab.status()
    assert row(screen, "host1")[:3] == ["host1", "STOPPED", "failed"], screen
    assert row(screen, "host2")[4:] == ["yes", "yes", "yes"], screen
    # the provider still reaches the service through every router
    assert row(screen, "203.0.113.200/32")[2:] == ["r1", "r2", "r3"] * 2, screen
    traffic = row(screen, "traffic:")
    assert traffic[5] in ("host2", "host3") and traffic[8] in ("host2", "host3"), screen
    restored = lab.scenario("restore")
    assert restored["ok"], restored


def test_your_own_speaker_in_the_guest_namespace(lab: LabRun) -> None:
    """What docs/lab.md tells a newcomer: a bgpspeak Speaker in the guest namespace peers with
    a router, receives the provider's and the hosts' routes, and its route reaches the router
    (and stays inside: the agent announces only the hosts' prefixes upstream)."""
    received: set[str] = set()

    async def guest() -> None:
        speaker = Speaker(65099, GUEST4, listen=())
        speaker.add_neighbor(Neighbor("10.50.0.11", remote_as=65010))
        speaker.announce(Route.make("203.0.113.128/27"))
        events = speaker.events()
        await speaker.start()
        try:
            await speaker.wait_established("10.50.0.11", timeout=30)

            async def collect() -> None:
                async for ev in events:
                    if isinstance(ev, RouteReceived):
                        received.add(str(ev.prefix))
                    if {"198.51.100.0/24", "203.0.113.200/32"} <= received:
                        return

            await asyncio.wait_for(collect(), 30)
            frr_dir = lab.run_dir / "router1" / "frr"
            deadline = time.monotonic() + 20
            while True:
                (doc,) = await asyncio.to_thread(
                    vtysh_json, frr_dir, "show bgp ipv4 unicast 203.0.113.128/27 json"
                )
                if doc.get("paths"):
                    break
                assert time.monotonic() < deadline, "router1 never got the guest's route"
                await asyncio.sleep(0.2)
            assert "guest speakers (namespace" in lab.status()
        finally:
            await speaker.stop("test done")

    # the whole asyncio loop runs in a thread inside the guest namespace: every socket the
    # speaker opens is in there
    in_namespace(f"{lab.prefix}guest", lambda: asyncio.run(guest()), timeout=90)
    assert {"0.0.0.0/0", "203.0.113.0/27"} <= received
    core = vtysh_json(lab.run_dir / "core1" / "frr", "show bgp ipv4 unicast json")[0]
    assert "203.0.113.128/27" not in core.get("routes", {})


def test_scenarios_refuse_what_cannot_be_done(lab: LabRun) -> None:
    r = lab.inproc("drain", "router7")
    assert r.returncode == 2 and "router7" in r.stderr
    nothing = LabRun(Path("/tmp/ra-demo-nothing-here"), lab.prefix)
    r = nothing.inproc("status", "--once")
    assert r.returncode == 1 and "no lab in /tmp/ra-demo-nothing-here" in r.stderr
    # a second lab with the same namespace names is refused, the running one left alone
    second = LabRun(Path(f"{lab.run_dir}-other"), lab.prefix)
    r = second.inproc("up", "--prefix", lab.prefix)
    assert r.returncode == 1 and f"namespaces {lab.prefix}core1" in r.stderr, r.stderr
    assert not second.run_dir.exists()
    assert "steady" in lab.status()


def test_down_leaves_nothing_behind(lab: LabRun) -> None:
    frr_pids = [
        (d, system.read_pid(lab.run_dir / node / "frr" / f"{d}.pid"))
        for node in ("core1", "router1")
        for d in ("zebra", "bgpd")
    ]
    r = lab.cli("down")
    assert r.returncode == 0, r.stderr
    assert lab.namespaces() == set()
    assert lab.processes() == []
    assert not lab.run_dir.exists()
    for daemon, pid in frr_pids:
        assert not Path(f"/var/tmp/frr/{daemon}.{pid}").exists()
    again = lab.cli("down")
    assert again.returncode == 0 and "nothing to remove" in again.stdout
