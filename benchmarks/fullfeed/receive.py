"""Case 3: bgpspeak receives a full table from FRR.

BIRD (static routes, the same synthesized table) feeds FRR first; FRR runs ``bgpd -n`` so its
CPU goes to BGP, not to the kernel. Once FRR holds all N prefixes, its neighbor toward
bgpspeak is enabled (``no neighbor X shutdown``) and bgpspeak (``agent.py receive``, one
process, measured from /proc and its own rusage) dials in and takes FRR's initial transfer,
packed as FRR packs it. Timing is bgpspeak's own: Established, first prefix, all N prefixes in
its Adj-RIB-In.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from lab import FrrNeighbor, Lab, bgpd_config
from lab.runs import Run

from . import formats, frrview, procs
from .agentproc import AgentProcess
from .table import Table

FRR_AS, SPK_AS, FEED_AS = 65001, 65002, 65003


def run_receive(run: Run, table: Table, work: Path, timeout: float) -> dict[str, Any]:
    lab = Lab(run, f"receive-{len(table)}")
    res: dict[str, Any] = {
        "case": "receive",
        "family": "ipv4",
        "n": len(table),
        "timeout_s": timeout,
    }
    try:
        res.update(_run(lab, table, work, timeout))
    except Exception as exc:
        res["error"] = f"{type(exc).__name__}: {exc}"
    finally:
        lab.close()
    return res


def _run(lab: Lab, table: Table, work: Path, timeout: float) -> dict[str, Any]:
    n = len(table)
    work.mkdir(parents=True, exist_ok=True)
    feed, frr_ns, spk = lab.namespace("feed"), lab.namespace("frr"), lab.namespace("spk")
    l1, l2 = lab.link(feed, frr_ns), lab.link(frr_ns, spk)
    conf = bgpd_config(
        FRR_AS,
        l1.b.ipv4,
        [
            FrrNeighbor(l1.a.ipv4, FEED_AS),
            FrrNeighbor(l2.b.ipv4, SPK_AS, lines=("shutdown",)),
        ],
    )
    frr = lab.frr(frr_ns, conf, extra_args={"bgpd": ["-n"]})
    bird_conf = work / "bird-feed.conf"
    formats.bird_config(
        table, bird_conf, peer=l1.b.ipv4, local=l1.a.ipv4, local_as=FEED_AS, peer_as=FRR_AS
    )
    bird = lab.popen(
        feed,
        ["/usr/sbin/bird", "-f", "-c", str(bird_conf), "-s", str(work / "bird-feed.ctl")],
        log="bird-feed.log",
    )
    del bird
    t = time.monotonic()
    while frrview.peer_view(frr, 1, l1.a.ipv4).prefixes < n:
        if time.monotonic() - t > timeout:
            raise TimeoutError(f"FRR did not get the {n} prefixes from BIRD in {timeout} s")
        time.sleep(0.5)
    fill_s = time.monotonic() - t
    bgpd = frr.daemons["bgpd"].pid
    cpu_bgpd0 = procs.cpu_seconds(bgpd)
    m0 = procs.MachineSample.now()
    frr.configure(f"router bgp {FRR_AS}", f"no neighbor {l2.b.ipv4} shutdown")
    agent = AgentProcess(
        lab,
        spk,
        [
            "--timeout",
            str(timeout),
            "--linger",
            "1",
            "receive",
            "--peer",
            l2.a.ipv4,
            "--local",
            l2.b.ipv4,
            "--n",
            str(n),
        ],
        work / "receive-agent.log",
    )
    est = agent.wait("established", timeout=60)
    last = agent.wait("all", "timeout", timeout=timeout + 30)
    first = agent.find("first") or last
    m1 = procs.MachineSample.now()
    cpu_bgpd = procs.cpu_seconds(bgpd) - cpu_bgpd0
    rss_now = procs.rss_bytes(agent.pid)
    rss_peak = procs.peak_rss_bytes(agent.pid)  # VmHWM: ru_maxrss would span the exec
    end = agent.wait("end", timeout=30)
    stats = frrview.message_stats(frr, l2.b.ipv4)
    span = last["t"] - first["t"]
    out: dict[str, Any] = {
        "frr_filled_from_bird_s": round(fill_s, 1),
        "complete": last["event"] == "all",
        "prefixes": last.get("prefixes"),
        "est_to_first_s": round(first["t"] - est["t"], 2),
        "est_to_all_s": round(last["t"] - est["t"], 2),
        "prefixes_per_s": round(n / max(last["t"] - est["t"], 1e-3)),
        "prefixes_per_s_first_to_all": round(n / max(span, 1e-3)),
        "cpu_receiver_s": round(last["cpu_s"] - est["cpu_s"], 2),
        "cpu_receiver_total_s": end["cpu_s"],
        "cpu_bgpd_s": round(cpu_bgpd, 2),
        "rss_receiver_peak_mb": round(rss_peak / 2**20, 1),
        "rss_receiver_after_mb": round(rss_now / 2**20, 1),
        "rss_receiver_bytes_per_prefix": round(rss_peak / n),
        "updates_sent_by_frr": stats.get("updatesSent"),
        "load1_before": round(m0.load1, 2),
        "load1_after": round(m1.load1, 2),
        "machine_busy_cpus": round(procs.busy_cpus(m0, m1), 2),
    }
    return out
