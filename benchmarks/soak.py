"""Soak: accelerated route churn and session flaps between a bgpspeak Speaker and FRR.

    sudo .venv/bin/python benchmarks/soak.py --minutes 60 [--out soak.jsonl]

Two namespaces joined by a veth (tests/lab): FRR 8.4 (passive, ``timers 3 9``, originating
``--frr-routes`` prefixes per family) and, in this process, a ``Speaker`` with two sessions to
it: one over IPv4 and one over IPv6, each carrying IPv4 and IPv6 unicast. While it runs:

- churn: every ``--churn-interval`` seconds ``--batch`` random changes over a pool of
  ``--prefixes`` prefixes (announce, change MED / communities / AS-path prepends, withdraw);
- flaps: every ``--flap-interval`` seconds one session (or the link) goes down and comes back,
  in turn: ``clear bgp`` on FRR, our side removing and re-adding the neighbor, ``neighbor X
  shutdown`` on FRR, and the link down for longer than the hold time (``--hold``, 9 s);
- every ``--sample-interval`` seconds a sample: our RSS, open file descriptors, asyncio tasks,
  threads, sessions Established, routes announced, FRR bgpd's RSS (one JSON line each in
  ``--out``).

At the end the churn stops, every flap is undone, and the run waits until FRR's RIB holds
exactly what we announce, path by path (prefix, MED and AS path from ``show bgp ... json`` for
both sessions, communities spot-checked per prefix) and our Adj-RIB-In holds what FRR
originates. The verdict (flat or not, every route accounted for or the differences) is printed
and the exit status is 0 only if both hold. Needs root; other work on the machine shows in
the timings, not in the verdict.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ipaddress
import json
import os
import random
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))
sys.path.insert(0, str(HERE))

from lab import FrrInstance, FrrNeighbor, Lab, Link, Namespace, bgpd_config  # noqa: E402
from lab.preflight import missing  # noqa: E402
from lab.runs import Run  # noqa: E402
from lab.sweep import sweep_stale  # noqa: E402
from soak_series import Sample, judge  # noqa: E402

from bgpspeak import Neighbor, PeerDown, PeerError, PeerUp, Route, Speaker  # noqa: E402

FRR_AS = 65001
OUR_AS = 65002
COMMUNITIES = ("65002:1", "65002:2", "65002:3", "65002:40", "65002:500")
FLAP_KINDS = ("frr-clear", "ours", "frr-shutdown", "link")


@dataclass
class Settings:
    seconds: float = 3600.0
    prefixes: int = 3000  # pool size; about a fifth IPv6
    churn_interval: float = 0.1
    batch: int = 20
    flap_interval: float = 60.0
    sample_interval: float = 10.0
    frr_routes: int = 50
    seed: int = 1
    rss_tolerance_kib: int = 3072
    out: Path | None = None
    summary: Path | None = None
    settle_timeout: float = 120.0
    hold: int = 9  # hold time both ways (keepalives every third of it)


@dataclass
class Counters:
    ops: int = 0
    flaps: int = 0
    flap_kinds: dict[str, int] = field(default_factory=dict)
    peer_up: int = 0
    peer_down: int = 0
    peer_errors: list[str] = field(default_factory=list)


def rss_kib(pid: int | str = "self") -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def prefix_pool(n: int) -> list[str]:
    """``n`` prefixes: IPv4 /24s from 10.128.0.0/9 and IPv6 /48s from 2001:db8:8000::/33
    (the lab's own links use 10.k.0.0/24 and 2001:db8:k::/64 with small k)."""
    n6 = n // 5
    v4 = [f"10.{128 + i // 256}.{i % 256}.0/24" for i in range(n - n6)]
    v6 = [f"2001:db8:{0x8000 + i:x}::/48" for i in range(n6)]
    return v4 + v6


def frr_originated(n: int) -> list[str]:
    return [f"198.51.100.{i * 4}/30" for i in range(min(n, 64))] + [
        f"2001:db8:ffff:{i:x}::/64" for i in range(n)
    ]


@dataclass
class Soak:
    settings: Settings
    lab: Lab
    frr_ns: Namespace
    spk_ns: Namespace
    link: Link
    frr: FrrInstance
    rng: random.Random
    counters: Counters = field(default_factory=Counters)
    expected: dict[str, Route] = field(default_factory=dict)
    samples: list[Sample] = field(default_factory=list)
    stop: bool = False
    t0: float = 0.0

    # ---- the speaker's side

    def neighbors(self) -> list[Neighbor]:
        b = self.link.b
        common: dict[str, Any] = {
            "remote_as": FRR_AS,
            "hold_time": self.settings.hold,
            "connect_retry_time": 1,
            "next_hop_self_v4": b.ipv4,
            "next_hop_self_v6": b.ipv6,
            "link_local": b.link_local(),
        }
        return [Neighbor(self.link.a.ipv4, **common), Neighbor(self.link.a.ipv6, **common)]

    def random_route(self, prefix: str) -> Route:
        r = self.rng
        comms = sorted(r.sample(COMMUNITIES, r.randint(0, 3)))
        return Route.make(
            prefix,
            med=r.randint(0, 1000),
            communities=comms,
            as_path=[OUR_AS] * r.randint(0, 2),
        )

    def churn_once(self, speaker: Speaker, pool: list[str]) -> None:
        announce: dict[str, Route] = {}
        withdraw: set[str] = set()
        for prefix in self.rng.sample(pool, self.settings.batch):
            if prefix in self.expected and self.rng.random() < 0.35:
                withdraw.add(prefix)
                announce.pop(prefix, None)
            else:
                announce[prefix] = self.random_route(prefix)
                withdraw.discard(prefix)
        if announce:
            speaker.announce(list(announce.values()))
            self.expected.update(announce)
        if withdraw:
            speaker.withdraw(sorted(withdraw))
            for p in withdraw:
                self.expected.pop(p, None)
        self.counters.ops += len(announce) + len(withdraw)

    async def churn(self, speaker: Speaker, pool: list[str]) -> None:
        while not self.stop:
            self.churn_once(speaker, pool)
            await asyncio.sleep(self.settings.churn_interval)

    # ---- flaps

    async def flap_once(self, speaker: Speaker, kind: str, which: int) -> None:
        ours = [self.link.b.ipv4, self.link.b.ipv6][which]
        theirs = self.neighbors()[which]
        if kind == "frr-clear":
            await asyncio.to_thread(self.frr.vtysh, f"clear bgp {ours}")
        elif kind == "ours":
            await speaker.remove_neighbor(theirs.address, "soak flap")
            await asyncio.sleep(1.0)
            speaker.add_neighbor(theirs)
        elif kind == "frr-shutdown":
            await asyncio.to_thread(
                self.frr.configure, f"router bgp {FRR_AS}", f"neighbor {ours} shutdown"
            )
            await asyncio.sleep(2.0)
            await asyncio.to_thread(
                self.frr.configure, f"router bgp {FRR_AS}", f"no neighbor {ours} shutdown"
            )
        else:  # the link, longer than the hold time: both sessions, both sides time out
            ifname = self.link.b.ifname
            await asyncio.to_thread(self.spk_ns.ip, "link", "set", ifname, "down")
            try:
                await asyncio.sleep(self.settings.hold + 1)
            finally:
                await asyncio.to_thread(self.spk_ns.ip, "link", "set", ifname, "up")
        self.counters.flaps += 1
        self.counters.flap_kinds[kind] = self.counters.flap_kinds.get(kind, 0) + 1

    async def flapper(self, speaker: Speaker) -> None:
        n = 0
        while not self.stop:
            deadline = time.monotonic() + self.settings.flap_interval
            while not self.stop and time.monotonic() < deadline:
                await asyncio.sleep(min(0.5, deadline - time.monotonic()))
            if self.stop:
                return
            # a flap always runs to its end (link up, no shutdown) even if the soak is over
            await self.flap_once(speaker, FLAP_KINDS[n % len(FLAP_KINDS)], n // 2 % 2)
            n += 1

    # ---- samples

    def established(self, speaker: Speaker) -> int:
        return sum(1 for s in speaker.status() if s.state == "Established")

    def sample(self, speaker: Speaker) -> Sample:
        bgpd = self.frr.daemons["bgpd"].pid
        return Sample(
            t=round(time.monotonic() - self.t0, 1),
            rss_kib=rss_kib() or 0,
            fds=open_fds(),
            tasks=len(asyncio.all_tasks()),
            threads=threading.active_count(),
            established=self.established(speaker),
            announced=len(self.expected),
            ops=self.counters.ops,
            flaps=self.counters.flaps,
            frr_rss_kib=rss_kib(bgpd) if bgpd else None,
        )

    async def sampler(self, speaker: Speaker, out: TextIO | None) -> None:
        last_print = 0.0
        while not self.stop:
            s = self.sample(speaker)
            self.samples.append(s)
            if out is not None:
                out.write(json.dumps(s.as_json()) + "\n")
                out.flush()
            if s.t - last_print >= 60 or not last_print:
                last_print = s.t or 0.001
                print(
                    f"soak t={s.t:7.0f}s rss={s.rss_kib} KiB fds={s.fds} tasks={s.tasks} "
                    f"established={s.established}/2 announced={s.announced} ops={s.ops} "
                    f"flaps={s.flaps} frr_bgpd_rss={s.frr_rss_kib} KiB",
                    file=sys.stderr,
                    flush=True,
                )
            await asyncio.sleep(self.settings.sample_interval)

    async def events(self, speaker: Speaker) -> None:
        async for ev in speaker.events():
            if isinstance(ev, PeerUp):
                self.counters.peer_up += 1
            elif isinstance(ev, PeerDown):
                self.counters.peer_down += 1
            elif isinstance(ev, PeerError) and len(self.counters.peer_errors) < 20:
                self.counters.peer_errors.append(f"{ev.peer}: {ev.reason}")

    # ---- accounting

    def frr_paths(self) -> dict[str, dict[str, tuple[int | None, str]]]:
        """FRR's RIB as (peer -> prefix -> (MED, AS path)), for our two sessions."""
        ours = {self.link.b.ipv4, str(ipaddress.ip_address(self.link.b.ipv6))}
        out: dict[str, dict[str, tuple[int | None, str]]] = {p: {} for p in ours}
        for af in ("ipv4", "ipv6"):
            view = self.frr.show_json(f"show bgp {af} unicast json", timeout=60)
            for prefix, paths in view.get("routes", {}).items():
                for path in paths:
                    peer = path.get("peerId")
                    if peer in out:
                        med = path.get("metric")
                        out[peer][prefix] = (
                            None if med is None else int(med),
                            path.get("path", ""),
                        )
        return out

    def differences(self) -> list[str]:
        want = {
            str(r.prefix): (r.med, " ".join(str(a) for a in (OUR_AS, *r.as_path)))
            for r in self.expected.values()
        }
        problems = []
        for peer, have in self.frr_paths().items():
            missing = sorted(set(want) - set(have))
            extra = sorted(set(have) - set(want))
            wrong = sorted(p for p in set(want) & set(have) if want[p] != have[p])
            for what, items in (("missing", missing), ("extra", extra), ("different", wrong)):
                if items:
                    shown = ", ".join(
                        f"{p} (want {want.get(p)}, FRR {have.get(p)})" for p in items[:5]
                    )
                    problems.append(f"FRR from {peer}: {len(items)} {what}: {shown}")
        return problems

    def community_differences(self, n: int = 20) -> list[str]:
        problems = []
        for prefix in self.rng.sample(sorted(self.expected), min(n, len(self.expected))):
            route = self.expected[prefix]
            af = "ipv6" if ":" in prefix else "ipv4"
            view = self.frr.show_json(f"show bgp {af} unicast {prefix} json")
            want = {str(c) for c in COMMUNITIES if _has(route, c)}
            for path in view.get("paths", []):
                have = set(path.get("community", {}).get("string", "").split())
                if have != want:
                    problems.append(f"{prefix} from {path.get('peer', {}).get('peerId')}: "
                                    f"communities {sorted(have)}, want {sorted(want)}")  # fmt: skip
        return problems

    def our_rib_in(self, speaker: Speaker) -> list[str]:
        want = len(frr_originated(self.settings.frr_routes))
        return [
            f"our Adj-RIB-In from {s.address}: {s.received} routes, FRR originates {want}"
            for s in speaker.status()
            if s.received != want
        ]


def _has(route: Route, community: str) -> bool:
    hi, lo = (int(x) for x in community.split(":"))
    return (hi << 16 | lo) in route.communities


# --------------------------------------------------------------------------- the run


@contextlib.contextmanager
def soak_lab() -> Iterator[tuple[Lab, Namespace, Namespace, Link]]:
    lack = missing("frr")
    if lack:
        raise SystemExit("soak: needs " + ", ".join(lack))
    swept = sweep_stale()
    if swept:
        print(f"soak: removed leftovers of crashed lab runs: {swept}", file=sys.stderr)
    run = Run()
    lab = Lab(run, "soak")
    try:
        frr_ns, spk_ns = lab.namespace("frr"), lab.namespace("spk")
        link = lab.link(frr_ns, spk_ns)
        for ns in (frr_ns, spk_ns):
            ns.sysctl("net.ipv6.conf.all.keep_addr_on_down", "1")
        yield lab, frr_ns, spk_ns, link
    finally:
        lab.close()
        if not os.environ.get("BS_LAB_KEEP"):
            run.remove()


def start_frr(lab: Lab, frr_ns: Namespace, link: Link, frr_routes: int, hold: int) -> FrrInstance:
    lines = ("passive", f"timers {max(1, hold // 3)} {hold}")
    neighbors = [
        FrrNeighbor(link.b.ipv4, OUR_AS, families=("ipv4", "ipv6"), lines=lines),
        FrrNeighbor(link.b.ipv6, OUR_AS, families=("ipv4", "ipv6"), lines=lines),
    ]
    return lab.frr(
        frr_ns,
        bgpd_config(FRR_AS, link.a.ipv4, neighbors, networks=frr_originated(frr_routes)),
    )


async def soak(settings: Settings) -> dict[str, Any]:
    with soak_lab() as (lab, frr_ns, spk_ns, link):
        frr = start_frr(lab, frr_ns, link, settings.frr_routes, settings.hold)
        s = Soak(settings, lab, frr_ns, spk_ns, link, frr, random.Random(settings.seed))
        pool = prefix_pool(settings.prefixes)
        out = settings.out.open("w") if settings.out else None
        with spk_ns.entered():
            speaker = Speaker(OUR_AS, link.b.ipv4, listen=())
            for nb in s.neighbors():
                speaker.add_neighbor(nb)
            for p in pool[::2]:
                s.expected[p] = s.random_route(p)
            speaker.announce(list(s.expected.values()))
            events = asyncio.create_task(s.events(speaker))
            await speaker.start()
            try:
                for nb in s.neighbors():
                    await speaker.wait_established(nb.address, timeout=30)
                s.t0 = time.monotonic()
                tasks = [
                    asyncio.create_task(s.churn(speaker, pool)),
                    asyncio.create_task(s.flapper(speaker)),
                    asyncio.create_task(s.sampler(speaker, out)),
                ]
                await asyncio.sleep(settings.seconds)
                s.stop = True
                await asyncio.gather(*tasks)
                churn_s = time.monotonic() - s.t0
                final = s.sample(speaker)
                s.samples.append(final)
                settle_t0 = time.monotonic()
                problems = await settle(s, speaker)
                settled_in = time.monotonic() - settle_t0
            finally:
                await speaker.stop("soak over")
                events.cancel()
                if out is not None:
                    out.close()
    verdict = judge(s.samples, 2, rss_tolerance_kib=settings.rss_tolerance_kib)
    return {
        "ok": verdict.ok and not problems,
        "flat": verdict.ok,
        "verdict": verdict.lines,
        "figures": verdict.figures,
        "accounted": not problems,
        "problems": problems,
        "churn_seconds": round(churn_s, 1),
        "settled_in_s": round(settled_in, 1),
        "route_changes": s.counters.ops,
        "route_changes_per_s": round(s.counters.ops / max(churn_s, 1e-9), 1),
        "flaps": s.counters.flaps,
        "flap_kinds": s.counters.flap_kinds,
        "peer_up_events": s.counters.peer_up,
        "peer_down_events": s.counters.peer_down,
        "peer_errors": s.counters.peer_errors,
        "announced_at_end": len(s.expected),
        "frr_originated": len(frr_originated(settings.frr_routes)),
    }


async def settle(s: Soak, speaker: Speaker) -> list[str]:
    """Wait until every session is up and FRR holds exactly what we announce (or time out and
    return the differences)."""
    deadline = time.monotonic() + s.settings.settle_timeout
    problems: list[str] = ["not checked"]
    while time.monotonic() < deadline:
        if s.established(speaker) == 2:
            problems = await asyncio.to_thread(s.differences)
            problems += s.our_rib_in(speaker)
            if not problems:
                problems = await asyncio.to_thread(s.community_differences)
                if not problems:
                    return []
        else:
            problems = [f"{s.established(speaker)}/2 sessions Established"]
        await asyncio.sleep(1.0)
    return problems


def parse_args(argv: list[str]) -> Settings:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--minutes", type=float, default=60.0, help="churn duration (60)")
    ap.add_argument("--seconds", type=float, help="churn duration in seconds (overrides)")
    ap.add_argument("--prefixes", type=int, default=3000, help="prefix pool size (3000)")
    ap.add_argument("--batch", type=int, default=20, help="changes per churn tick (20)")
    ap.add_argument("--churn-interval", type=float, default=0.1, help="seconds (0.1)")
    ap.add_argument("--flap-interval", type=float, default=60.0, help="seconds (60)")
    ap.add_argument("--sample-interval", type=float, default=10.0, help="seconds (10)")
    ap.add_argument("--frr-routes", type=int, default=50, help="FRR-originated per family")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--rss-tolerance-kib", type=int, default=3072)
    ap.add_argument("--settle-timeout", type=float, default=120.0, help="seconds (120)")
    ap.add_argument("--hold", type=int, default=9, help="BGP hold time, both sides (9)")
    ap.add_argument("--out", type=Path, help="samples as JSON lines")
    ap.add_argument("--summary", type=Path, help="write the summary JSON here too")
    a = ap.parse_args(argv)
    problems = []
    for name in ("prefixes", "batch", "frr_routes"):
        if getattr(a, name) < 1:
            problems.append(f"--{name.replace('_', '-')}: must be >= 1")
    if a.batch > a.prefixes:
        problems.append("--batch: must not exceed --prefixes")
    for name in ("churn_interval", "flap_interval", "sample_interval"):
        if getattr(a, name) <= 0:
            problems.append(f"--{name.replace('_', '-')}: must be > 0")
    if not 3 <= a.hold <= 65535:
        problems.append("--hold: must be in 3..65535 (RFC 4271)")
    seconds = a.seconds if a.seconds is not None else a.minutes * 60
    if seconds <= 0:
        problems.append("--minutes/--seconds: must be > 0")
    if problems:
        ap.error("; ".join(problems))
    return Settings(
        seconds=seconds,
        prefixes=a.prefixes,
        churn_interval=a.churn_interval,
        batch=a.batch,
        flap_interval=a.flap_interval,
        sample_interval=a.sample_interval,
        frr_routes=a.frr_routes,
        seed=a.seed,
        rss_tolerance_kib=a.rss_tolerance_kib,
        out=a.out,
        summary=a.summary,
        settle_timeout=a.settle_timeout,
        hold=a.hold,
    )


def main(argv: list[str] | None = None) -> int:
    settings = parse_args(sys.argv[1:] if argv is None else argv)
    result = asyncio.run(soak(settings))
    text = json.dumps(result, indent=1)
    if settings.summary is not None:
        settings.summary.write_text(text + "\n")
    print(text)
    for line in result["verdict"] + result["problems"]:
        print("soak:", line, file=sys.stderr)
    print("soak:", "OK" if result["ok"] else "FAILED", file=sys.stderr)
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
