"""Case 4: many peers on one speaker.

Two namespaces joined by one veth; each side gets K extra addresses (10.200.x.y and
10.201.x.y, on-link routes for the other side's range). The speaker under test
(``agent.py peers --side listen``) has K passive neighbors; a second bgpspeak process
(``--side dial``) opens the K sessions from K local addresses at once. Measured: time from the
dialler's start until the listener reports all K Established, then the listener's CPU over a
steady window (keepalives only, at the configured hold time), and its memory.
"""

from __future__ import annotations

import ipaddress
import subprocess
import time
from pathlib import Path
from typing import Any

from lab import Lab, Namespace
from lab.runs import Run

from . import procs
from .agentproc import AgentProcess
from .labcase import measure_in_lab

LISTEN_BASE, DIAL_BASE = "10.200.0.1", "10.201.0.1"


def _add_addresses(ns: Namespace, ifname: str, base: str, k: int, other: str) -> None:
    start = int(ipaddress.IPv4Address(base))
    lines = [f"addr add {ipaddress.IPv4Address(start + i)}/32 dev {ifname}" for i in range(k)]
    lines.append(f"route add {other}/16 dev {ifname}")
    subprocess.run(
        ["ip", "-n", ns.name, "-batch", "-"], input="\n".join(lines) + "\n", text=True, check=True
    )


def run_peers(
    run: Run, count: int, hold: int, steady_s: float, work: Path, timeout: float
) -> dict[str, Any]:
    res: dict[str, Any] = {"case": "peers", "family": "ipv4", "n": count, "hold_time": hold}
    return measure_in_lab(
        run, f"peers-{count}", res, lambda lab: _run(lab, count, hold, steady_s, work, timeout)
    )


def _run(
    lab: Lab, count: int, hold: int, steady_s: float, work: Path, timeout: float
) -> dict[str, Any]:
    work.mkdir(parents=True, exist_ok=True)
    a, b = lab.namespace("listen"), lab.namespace("dial")
    link = lab.link(a, b)
    _add_addresses(a, link.a.ifname, LISTEN_BASE, count, "10.201.0.0")
    _add_addresses(b, link.b.ifname, DIAL_BASE, count, "10.200.0.0")
    common = ["--timeout", str(timeout)]
    listener = AgentProcess(
        lab,
        a,
        [
            *common,
            "--local-as",
            "65002",
            "--peer-as",
            "65003",
            "--router-id",
            "10.255.0.2",
            "peers",
            "--side",
            "listen",
            "--count",
            str(count),
            "--local-base",
            LISTEN_BASE,
            "--peer-base",
            DIAL_BASE,
            "--hold",
            str(hold),
        ],
        work / "peers-listen.log",
    )
    listener.wait("started", timeout=60)
    m0 = procs.MachineSample.now()
    t0 = time.time()
    dialer = AgentProcess(
        lab,
        b,
        [
            *common,
            "--local-as",
            "65003",
            "--peer-as",
            "65002",
            "--router-id",
            "10.255.0.3",
            "peers",
            "--side",
            "dial",
            "--count",
            str(count),
            "--local-base",
            DIAL_BASE,
            "--peer-base",
            LISTEN_BASE,
            "--hold",
            str(hold),
            "--routes",
        ],
        work / "peers-dial.log",
    )
    up = listener.wait("all_established", "timeout", timeout=timeout + 30)
    m1 = procs.MachineSample.now()
    cpu_setup = procs.cpu_seconds(listener.pid)
    time.sleep(2.0)  # let the UPDATEs and End-of-RIBs of the start settle
    c0, w0 = procs.cpu_seconds(listener.pid), time.monotonic()
    d0 = procs.cpu_seconds(dialer.pid)
    s0 = procs.MachineSample.now()
    time.sleep(steady_s)
    c1, w1 = procs.cpu_seconds(listener.pid), time.monotonic()
    d1 = procs.cpu_seconds(dialer.pid)
    s1 = procs.MachineSample.now()
    listener.poll()
    ticks = [ev for ev in listener.events if ev["event"] == "tick"]
    return {
        "complete": up["event"] == "all_established",
        "established": up.get("established"),
        "all_established_s": round(up["wall"] - t0, 2),
        "cpu_listener_setup_s": round(cpu_setup, 2),
        "steady_window_s": round(w1 - w0, 1),
        "steady_cpu_listener_s": round(c1 - c0, 3),
        "steady_cpu_listener_pct_of_core": round(100 * (c1 - c0) / (w1 - w0), 2),
        "steady_cpu_dialer_pct_of_core": round(100 * (d1 - d0) / (w1 - w0), 2),
        "steady_min_established": min(
            (ev["established"] for ev in ticks[-int(steady_s) :]), default=None
        ),
        "rss_listener_mb": round(procs.rss_bytes(listener.pid) / 2**20, 1),
        "rss_listener_peak_mb": round(procs.peak_rss_bytes(listener.pid) / 2**20, 1),
        "load1_before": round(m0.load1, 2),
        "load1_after": round(s1.load1, 2),
        "machine_busy_cpus_setup": round(procs.busy_cpus(m0, m1), 2),
        "machine_busy_cpus_steady": round(procs.busy_cpus(s0, s1), 2),
    }
