"""Case 5: churn. bgpspeak announces the table to FRR (``bgpd -n``); once FRR has all of it,
every second ``fraction`` of the routes take the attributes of other routes of the table (a
path change to an existing path), for ``seconds`` seconds.

The speaker should send only what changed: measured are the bytes leaving the sender's veth
(kernel counters, so TCP/IP headers included) during the initial transfer and during the
churn window, the sender's CPU over the window (its own rusage), FRR bgpd's CPU, and whether
FRR still holds every prefix afterwards.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from lab import FrrNeighbor, Lab, Namespace, bgpd_config
from lab.runs import Run

from . import formats, frrview, procs
from .agentproc import AgentProcess
from .labcase import measure_in_lab
from .table import Table

FRR_AS, SPK_AS = 65001, 65002


def tx_bytes(ns: Namespace, ifname: str) -> int:
    view = ns.ip_json("-s", "link", "show", "dev", ifname)
    stats = view[0].get("stats64", {}) if view else {}
    return int(stats.get("tx", {}).get("bytes", 0))


def run_churn(
    run: Run, table: Table, fraction: float, seconds: int, work: Path, timeout: float
) -> dict[str, Any]:
    res: dict[str, Any] = {
        "case": "churn",
        "family": "ipv4",
        "n": len(table),
        "fraction_per_s": fraction,
        "seconds": seconds,
    }
    return measure_in_lab(
        run,
        f"churn-{len(table)}",
        res,
        lambda lab: _run(lab, table, fraction, seconds, work, timeout),
    )


def _run(
    lab: Lab, table: Table, fraction: float, seconds: int, work: Path, timeout: float
) -> dict[str, Any]:
    n = len(table)
    work.mkdir(parents=True, exist_ok=True)
    frr_ns, spk = lab.namespace("frr"), lab.namespace("spk")
    link = lab.link(frr_ns, spk)
    mrt = work / f"churn-table-{n}.mrt"
    (work / "churn-go").unlink(missing_ok=True)
    formats.write_mrt(table, mrt, link.b.ipv4, SPK_AS)
    conf = bgpd_config(FRR_AS, link.a.ipv4, [FrrNeighbor(link.b.ipv4, SPK_AS)])
    frr = lab.frr(frr_ns, conf, extra_args={"bgpd": ["-n"]})
    bgpd = frr.daemons["bgpd"].pid
    tx0 = tx_bytes(spk, link.b.ifname)
    agent = AgentProcess(
        lab,
        spk,
        [
            "--timeout",
            str(timeout),
            "--linger",
            "3",
            "churn",
            "--peer",
            link.a.ipv4,
            "--local",
            link.b.ipv4,
            "--table",
            str(mrt),
            "--fraction",
            str(fraction),
            "--seconds",
            str(seconds),
            "--settle",
            "0",
            "--go",
            str(work / "churn-go"),
        ],
        work / "churn-agent.log",
    )
    agent.wait("initial_sent", timeout=timeout)
    t = time.monotonic()
    while frrview.peer_view(frr, 1, link.b.ipv4).prefixes < n:
        if time.monotonic() - t > timeout:
            raise TimeoutError(f"FRR did not get all {n} prefixes in {timeout} s")
        time.sleep(0.5)
    initial_wait = time.monotonic() - t
    tx1 = tx_bytes(spk, link.b.ifname)
    cb0 = procs.cpu_seconds(bgpd)
    tx2 = tx_bytes(spk, link.b.ifname)
    (work / "churn-go").touch()
    start = agent.wait("churn_start", timeout=60)
    m0 = procs.MachineSample.now()
    end = agent.wait("churn_end", timeout=seconds * 3 + 60)
    tx3 = tx_bytes(spk, link.b.ifname)
    cb1 = procs.cpu_seconds(bgpd)
    m1 = procs.MachineSample.now()
    time.sleep(2.0)  # the last UPDATEs reach FRR (the agent lingers 3 s before it stops)
    pfx = frrview.peer_view(frr, 1, link.b.ipv4).prefixes
    rss_peak = procs.peak_rss_bytes(agent.pid)
    agent.wait("end", timeout=60)
    tx4 = tx_bytes(spk, link.b.ifname)
    ticks = [ev for ev in agent.events if ev["event"] == "tick"]
    window = end["t"] - start["t"]
    churn_bytes = tx4 - tx2  # the window plus the linger that lets the last UPDATEs leave
    initial = tx1 - tx0
    return {
        "complete": len(ticks) == seconds and pfx >= n,
        "frr_prefixes_after": pfx,
        "changed_per_s": ticks[0]["changed"] if ticks else None,
        "window_s": round(window, 2),
        "cpu_sender_window_s": round(end["cpu_s"] - start["cpu_s"], 2),
        "cpu_sender_pct_of_core": round(100 * (end["cpu_s"] - start["cpu_s"]) / window, 1),
        "cpu_bgpd_window_s": round(cb1 - cb0, 2),
        "announce_call_max_s": max((ev["announce_call_s"] for ev in ticks), default=None),
        "bytes_initial_transfer": initial,
        "bytes_churn_window": tx3 - tx2,
        "bytes_churn_incl_linger": churn_bytes,
        "bytes_per_s": round(churn_bytes / window),
        "bytes_per_changed_route": round(churn_bytes / max(1, sum(ev["changed"] for ev in ticks))),
        "churn_bytes_vs_initial_per_s": round(churn_bytes / window / max(initial, 1), 4),
        "initial_transfer_wait_s": round(initial_wait, 1),
        "rss_sender_peak_mb": round(rss_peak / 2**20, 1),
        "load1_before": round(m0.load1, 2),
        "load1_after": round(m1.load1, 2),
        "machine_busy_cpus": round(procs.busy_cpus(m0, m1), 2),
    }
