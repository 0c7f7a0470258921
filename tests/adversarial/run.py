"""``python -m tests.adversarial.run``: every attack against bgpspeak and/or FRR, as a table.

    python -m tests.adversarial.run                    # bgpspeak, CI sizes
    python -m tests.adversarial.run --target frr       # FRR 8.4's bgpd, the same cases
    python -m tests.adversarial.run --target both --full --markdown out.md

Root only (a lab namespace; tests/lab). The bystander session (a well-behaved peer with one
route) must come through every attack untouched, and the target's memory must not grow by more
than a bound: both are reported, and checked by tests/adversarial/test_adversarial.py.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

TESTS = Path(__file__).resolve().parent.parent
if str(TESTS) not in sys.path:
    sys.path.insert(0, str(TESTS))

from .cases import CASES, Case, Ctx  # noqa: E402
from .rawpeer import Attrs as RawAttrs  # noqa: E402
from .rawpeer import Closed, RawPeer, keepalive, open_message, prefix, update  # noqa: E402
from .targets import (  # noqa: E402
    BYSTANDER,
    BYSTANDER_AS,
    TARGET_ADDRESS,
    BgpspeakTarget,
    FrrTarget,
    NeighborSpec,
    neighbor_address,
    neighbor_as,
)

BYSTANDER_PREFIX = "203.0.113.2/32"


@dataclass
class Result:
    case: str
    group: str
    rfc: str
    expect: tuple[str, ...]
    got: str
    seconds: float
    notes: list[str] = field(default_factory=list)
    memory: dict[str, int] = field(default_factory=dict)  # growth over the case (alone only)

    @property
    def ok(self) -> bool:
        return self.got in self.expect


@dataclass
class Report:
    target: str
    results: list[Result]
    bystander: dict[str, Any]
    memory_before: dict[str, int]
    memory_after: dict[str, int]
    seconds: float
    loop_errors: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "seconds": round(self.seconds, 1),
            "bystander": self.bystander,
            "memory_before": self.memory_before,
            "memory_after": self.memory_after,
            "loop_errors": self.loop_errors,
            "results": [
                {
                    "case": r.case,
                    "group": r.group,
                    "rfc": r.rfc,
                    "expect": list(r.expect),
                    "got": r.got,
                    "ok": r.ok,
                    "seconds": round(r.seconds, 2),
                    "notes": r.notes,
                    "memory_growth": r.memory,
                }
                for r in self.results
            ],
        }


def neighbor_specs(cases: list[Case]) -> list[NeighborSpec]:
    specs = [NeighborSpec(BYSTANDER, BYSTANDER_AS, {})]
    for i, case in enumerate(CASES):
        if case in cases:
            specs.append(NeighborSpec(neighbor_address(i), neighbor_as(i), dict(case.neighbor)))
    return specs


def topology(lab: Any) -> tuple[Any, Any]:
    """Two namespaces joined by a veth: the target's (10.77.0.1) and the attackers' (the
    bystander and one address per case, all in 10.77.0.0/24). Separate namespaces, because a
    target that owns its peers' addresses rejects their next hops as its own (FRR does)."""
    tgt, atk = lab.namespace("target"), lab.namespace("attackers")
    link = lab.link(tgt, atk)
    tgt.ip("addr", "add", f"{TARGET_ADDRESS}/24", "dev", link.a.ifname)
    batch = lab.dir / "attacker-addresses.batch"
    addresses = [BYSTANDER] + [neighbor_address(i) for i in range(len(CASES))]
    batch.write_text("".join(f"addr add {a}/24 dev {link.b.ifname}\n" for a in addresses))
    atk.ip("-batch", str(batch))
    return tgt, atk


class Bystander:
    """A well-behaved peer: one route, answers KEEPALIVEs, notes anything else."""

    def __init__(self, target: Any) -> None:
        self.target = target
        self.peer: RawPeer | None = None
        self.trouble: list[str] = []
        self.messages = 0
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        t = self.target
        self.peer = await RawPeer.connect(BYSTANDER, t.address, t.port)
        await self.peer.handshake(open_message(BYSTANDER_AS, BYSTANDER, hold=9))
        attrs = RawAttrs(BYSTANDER_AS, BYSTANDER).all()
        await self.peer.send(update(attrs=attrs, nlri=prefix(BYSTANDER_PREFIX)))
        self._task = asyncio.create_task(self._loop())

    async def _loop(self) -> None:
        assert self.peer is not None
        last = time.monotonic()
        while True:
            try:
                msg = await self.peer.read(1.0)
            except Closed:
                self.trouble.append("connection closed")
                return
            if msg is not None:
                self.messages += 1
                if msg.notification is not None:
                    self.trouble.append(f"notification {msg.notification[:2]}")
                    return
            if time.monotonic() - last > 2.0:  # hold time 9: a KEEPALIVE every 2 s
                await self.peer.send(keepalive())
                last = time.monotonic()

    async def check(self) -> dict[str, Any]:
        route = await self.target.route(BYSTANDER, BYSTANDER_PREFIX)
        up = await self.target.established(BYSTANDER)
        out = {
            "established": up,
            "route": route is not None,
            "trouble": list(self.trouble),
            "messages": self.messages,
        }
        if self._task is not None:
            self._task.cancel()
        if self.peer is not None:
            await self.peer.close()
        return out


async def run_cases(
    target: Any, cases: list[Case], *, full: bool = False, concurrency: int = 16
) -> Report:
    """Start ``target`` (already configured for ``neighbor_specs(cases)``), the bystander, then
    every case (``concurrency`` at a time), then check the bystander and the memory."""
    start = time.monotonic()
    loop_errors: list[str] = []
    # an exception in a protocol callback or timer of the (in-process) target lands here
    asyncio.get_running_loop().set_exception_handler(
        lambda _loop, ctx: loop_errors.append(f"{ctx.get('message')}: {ctx.get('exception')!r}")
    )
    await target.start()
    bystander = Bystander(target)
    try:
        await bystander.start()
        for _ in range(100):
            if await target.route(BYSTANDER, BYSTANDER_PREFIX) is not None:
                break
            await asyncio.sleep(0.1)
        before = target.memory()
        sem = asyncio.Semaphore(concurrency)
        quiet = 1.5 if target.name == "bgpspeak" else 3.0

        async def one(case: Case) -> Result:
            i = CASES.index(case)
            ctx = Ctx(target, neighbor_address(i), neighbor_as(i), 10 + i, full=full, quiet=quiet)
            ctx.expect = case.expect
            async with sem:
                t0 = time.monotonic()
                try:
                    got = await asyncio.wait_for(case.run(ctx), 600 if full else 90)
                except NotImplementedError as e:
                    got = f"not run: {e}"
                except Exception as e:  # a case that could not run says why
                    got = f"error: {type(e).__name__}: {e}"
                return Result(
                    case.name,
                    case.group,
                    case.rfc,
                    case.expect,
                    got,
                    time.monotonic() - t0,
                    ctx.notes,
                )

        # the quick cases together, then each resource case alone: a flood or a storm keeps
        # the target busy, and a case waiting for an answer must not time out because of it
        quick = [c for c in cases if c.group != "resources"]
        results = list(await asyncio.gather(*(one(c) for c in quick)))
        for c in cases:
            if c.group == "resources":
                m0 = target.memory()
                res = await one(c)
                m1 = target.memory()
                res.memory = {k: m1[k] - m0[k] for k in m0}
                results.append(res)
        results.sort(key=lambda r: [c.name for c in CASES].index(r.case))
        after = target.memory()
        by = await bystander.check()
    finally:
        await target.stop()
    report = Report(target.name, list(results), by, before, after, time.monotonic() - start)
    report.loop_errors = loop_errors
    return report


def markdown(reports: list[Report]) -> str:
    """One table: each case, the RFC, what it asks, and each target's answer."""
    names = [r.target for r in reports]
    head = "| case | RFC | expected | " + " | ".join(names) + " |"
    lines = [head, "|" + "---|" * (3 + len(names))]
    for i, res in enumerate(reports[0].results):
        cells = []
        for rep in reports:
            r = rep.results[i]
            mark = "" if r.ok else " ✗"
            cells.append(f"{r.got}{mark}")
        lines.append(
            f"| {res.case} | {res.rfc} | {' or '.join(res.expect)} | " + " | ".join(cells) + " |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tests.adversarial.run")
    ap.add_argument("--target", choices=("bgpspeak", "frr", "both"), default="bgpspeak")
    ap.add_argument("--full", action="store_true", help="bigger floods and storms")
    ap.add_argument("--case", action="append", help="only these cases (by name)")
    ap.add_argument("--json", type=Path, help="write the reports here")
    ap.add_argument("--markdown", type=Path, help="write the comparison table here")
    args = ap.parse_args(argv)
    from lab import Lab
    from lab.runs import Run

    cases = [c for c in CASES if not args.case or c.name in args.case]
    names = ["bgpspeak", "frr"] if args.target == "both" else [args.target]
    run = Run()
    reports = []
    try:
        for name in names:
            lab = Lab(run, f"adversarial-{name}")
            try:
                tgt, atk = topology(lab)
                specs = neighbor_specs(cases)
                RawPeer.socket_context = atk.entered
                with tgt.entered():
                    target: Any = (
                        BgpspeakTarget(specs) if name == "bgpspeak" else FrrTarget(lab, tgt, specs)
                    )
                    reports.append(asyncio.run(run_cases(target, cases, full=args.full)))
            finally:
                lab.close()
    finally:
        if not os.environ.get("BS_LAB_KEEP"):
            run.remove()
    for rep in reports:
        bad = [r for r in rep.results if not r.ok]
        print(
            f"== {rep.target}: {len(rep.results) - len(bad)}/{len(rep.results)} as expected, "
            f"{rep.seconds:.0f} s, bystander {rep.bystander}, "
            f"memory {rep.memory_before} -> {rep.memory_after}, loop errors {rep.loop_errors}"
        )
        for r in rep.results:
            flag = "ok " if r.ok else "DIFF"
            extra = f" {r.notes}" if r.notes else ""
            extra += f" memory growth {r.memory}" if r.memory else ""
            print(f"  {flag} {r.case}: {r.got} (expected {' or '.join(r.expect)}){extra}")
    if args.json:
        args.json.write_text(json.dumps([r.to_json() for r in reports], indent=2) + "\n")
    if args.markdown:
        args.markdown.write_text(markdown(reports))
    return 0


if __name__ == "__main__":
    sys.exit(main())
