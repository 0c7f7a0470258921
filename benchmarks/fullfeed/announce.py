"""Cases 1 and 2: one sender announces the table to FRR; how long until FRR has it all.

Each run builds a fresh lab (two namespaces, a veth link, FRR's zebra + bgpd, ``bgpd -n`` for
the BGP-only ceiling), starts the sender at t=0 and polls FRR: the session's Established time
comes from FRR's own uptime counter (not the poll), "all received" is ``pfxRcd == N`` for the
peer, "all in FIB" is zebra's count of BGP routes installed in the kernel. CPU seconds are
taken from /proc for the sender's process tree (everything since its start, config parsing
included), bgpd and zebra (since t=0). Everything is torn down after each run.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lab import FrrNeighbor, Lab, bgpd_config
from lab.runs import Run

from . import frrview, procs
from .senders import LOCAL_AS, PEER_AS, Sender, Session
from .table import Table


@dataclass(frozen=True)
class FeedRun:
    sender: str
    afi: int
    n: int
    fib: bool  # False: bgpd -n (nothing handed to the kernel)
    timeout_s: float
    rss_limit_mb: float = 6000.0  # stop a sender that grows beyond this (shared machine)
    profile: bool = False  # sample the bgpspeak sender with py-spy (a separate, slower run)


def run_feed(run: Run, spec: FeedRun, table: Table, work: Path, poll_s: float) -> dict[str, Any]:
    from .machine import commit

    lab = Lab(run, f"feed-{spec.sender}-{spec.afi}-{spec.n}")
    res: dict[str, Any] = {
        "case": "announce",
        "sender": spec.sender,
        "family": "ipv4" if spec.afi == 1 else "ipv6",
        "n": spec.n,
        "frr_mode": "fib" if spec.fib else "bgpd -n",
        "timeout_s": spec.timeout_s,
        "rss_limit_mb": spec.rss_limit_mb,
        "bgpspeak_commit": commit(),  # the checkout the sender imports, at the run's start
    }
    try:
        res.update(_run(lab, spec, table, work, poll_s))
    except Exception as exc:
        res["error"] = f"{type(exc).__name__}: {exc}"
    finally:
        lab.close()
    return res


def _run(lab: Lab, spec: FeedRun, table: Table, work: Path, poll_s: float) -> dict[str, Any]:
    r_frr, r_spk = lab.namespace("frr"), lab.namespace("spk")
    link = lab.link(r_frr, r_spk)
    v4 = spec.afi == 1
    s = Session(spec.afi, link.a.ipv4 if v4 else link.a.ipv6, link.b.ipv4 if v4 else link.b.ipv6)
    mode = "fib" if spec.fib else "nofib"
    sender = Sender(spec.sender, work / f"{spec.sender}-{spec.afi}-{spec.n}-{mode}")
    t = time.monotonic()
    sender.prepare(table, s)
    prepare_s = time.monotonic() - t
    fam = "ipv4" if v4 else "ipv6"
    conf = bgpd_config(PEER_AS, link.a.ipv4, [FrrNeighbor(s.local, LOCAL_AS, families=(fam,))])
    frr = lab.frr(r_frr, conf, extra_args=None if spec.fib else {"bgpd": ["-n"]})
    bgpd, zebra = frr.daemons["bgpd"].pid, frr.daemons["zebra"].pid
    cpu_bgpd0, cpu_zebra0 = procs.cpu_seconds(bgpd), procs.cpu_seconds(zebra)
    m0 = procs.MachineSample.now()
    t0 = time.monotonic()
    pid = sender.start(lab, r_spk, s)
    profiler = None
    if spec.profile and spec.sender == "bgpspeak":
        from .profile import Profiler

        profiler = Profiler(pid, sender.work / "py-spy.txt")
    started_s = time.monotonic() - t0  # gobgp: includes the inject before the neighbor is enabled
    t_est = t_first = t_rcvd = t_fib = None
    t_prev = 0.0
    cpu_sender_est = None
    last: dict[str, Any] = {}
    n = spec.n
    while time.monotonic() - t0 < spec.timeout_s:
        now = time.monotonic() - t0
        pv = frrview.peer_view(frr, spec.afi, s.local)
        last = {"state": pv.state, "pfx": pv.prefixes}
        if t_est is None and pv.state == "Established":
            # FRR's uptime counter has whole seconds: the poll (fast until now) is finer
            lo, hi = t_prev, now
            if pv.uptime_s is not None:
                lo, hi = max(lo, now - pv.uptime_s - 1), min(hi, now - pv.uptime_s)
            t_est = (lo + hi) / 2 if lo <= hi else now
            cpu_sender_est = procs.cpu_seconds(pid) + sender.extra_cpu_s
        if pv.prefixes > 0 and t_first is None:
            t_first = now
        if pv.prefixes >= n and t_rcvd is None:
            t_rcvd = now
            if not spec.fib:
                break
        if spec.fib and t_rcvd is not None:
            fib = frrview.fib_count(frr, spec.afi)
            last["fib"] = fib
            if fib >= n:
                t_fib = time.monotonic() - t0
                break
        if not lab_alive(pid):
            raise RuntimeError(f"{spec.sender} exited early; see its log in {sender.work}")
        rss = procs.rss_bytes(pid) / 2**20
        if rss > spec.rss_limit_mb:
            last["stopped"] = f"sender RSS {rss:.0f} MB over the {spec.rss_limit_mb:.0f} MB limit"
            break
        t_prev = now
        time.sleep(poll_s if t_est is not None else 0.01)
    m1 = procs.MachineSample.now()
    stats = frrview.message_stats(frr, s.local)
    prof = profiler.stop() if profiler is not None else None
    out: dict[str, Any] = {
        "prepare_s": round(prepare_s, 2),
        "start_call_s": round(started_s, 2),
        "t_established_s": _r(t_est),
        "t_first_prefix_s": _r(t_first),
        "t_all_received_s": _r(t_rcvd),
        "t_all_fib_s": _r(t_fib),
        "est_to_received_s": _r(
            t_rcvd - t_est if t_rcvd is not None and t_est is not None else None
        ),
        "est_to_fib_s": _r(t_fib - t_est if t_fib is not None and t_est is not None else None),
        "cpu_sender_s": round(procs.cpu_seconds(pid) + sender.extra_cpu_s, 2),
        "cpu_sender_to_established_s": _r(cpu_sender_est),
        "cpu_bgpd_s": round(procs.cpu_seconds(bgpd) - cpu_bgpd0, 2),
        "cpu_zebra_s": round(procs.cpu_seconds(zebra) - cpu_zebra0, 2),
        "rss_sender_peak_mb": round(procs.peak_rss_bytes(pid) / 2**20, 1),
        "rss_bgpd_peak_mb": round(procs.peak_rss_bytes(bgpd) / 2**20, 1),
        "rss_zebra_peak_mb": round(procs.peak_rss_bytes(zebra) / 2**20, 1),
        "updates_received_by_frr": stats.get("updatesRecv"),
        "load1_before": round(m0.load1, 2),
        "load1_after": round(m1.load1, 2),
        "machine_busy_cpus": round(procs.busy_cpus(m0, m1), 2),
        "last_seen": last,
        "complete": (t_fib if spec.fib else t_rcvd) is not None,
    }
    if cpu_sender_est is not None:
        # the sender's own BGP work (the initial transfer, whatever the receiver sends back),
        # apart from loading its table: what issue 5 compares to bgpd's CPU
        out["cpu_sender_after_established_s"] = round(out["cpu_sender_s"] - cpu_sender_est, 2)
    if prof is not None:
        out["profile"] = prof
    out["rss_sender_bytes_per_prefix"] = round(out["rss_sender_peak_mb"] * 2**20 / n)
    out.update({f"sender_{k}": round(v, 2) for k, v in sender.notes.items()})
    return out


def lab_alive(pid: int) -> bool:
    return procs.cpu_seconds(pid) > 0 or Path(f"/proc/{pid}").exists()


def _r(x: float | None) -> float | None:
    return None if x is None else round(x, 2)
