"""bgpspeak programs the harness runs inside a namespace (one process each, so their CPU and
memory are measured apart from the harness): ``python -m benchmarks.fullfeed.agent MODE ...``.

* ``receive``: dial FRR, take its table, report when the first and the last prefix arrived.
* ``peers``: one speaker with K neighbors (``--side listen``: the speaker under test, which
  accepts; ``--side dial``: the other end, K neighbors dialling from K local addresses).
* ``churn``: announce a table dump, then every second give a fraction of its routes the
  attributes of other routes of the table, for a number of seconds (the speaker sends only the
  difference).

Each prints one JSON object per line on stdout (``{"event": ...}``) for the harness to read.
Only the public API is used (``Speaker``, ``Neighbor``, ``Route``, ``peer().rib_in``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ipaddress
import json
import os
import random
import resource
import sys
import time
from dataclasses import replace
from typing import Any

from bgpspeak import Neighbor, Route, Speaker
from bgpspeak.daemon.mrt_replay import ReplayOptions, rib_routes
from bgpspeak.mrt import read_mrt

T0 = time.monotonic()


def emit(event: str, **kw: Any) -> None:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    kw.update(
        event=event,
        t=round(time.monotonic() - T0, 3),
        wall=time.time(),
        cpu_s=round(ru.ru_utime + ru.ru_stime, 3),
        maxrss_mb=round(ru.ru_maxrss / 1024, 1),
    )
    print(json.dumps(kw), flush=True)


async def receive(a: argparse.Namespace) -> None:
    fam = "ipv4/unicast" if ":" not in a.peer else "ipv6/unicast"
    speaker = Speaker(a.local_as, a.router_id, listen=())
    speaker.add_neighbor(
        Neighbor(
            a.peer,
            remote_as=a.peer_as,
            local_address=a.local,
            connect_retry_time=1,
            families=(fam,),
        )
    )
    await speaker.start()
    peer = speaker.peer(a.peer)
    try:
        await speaker.wait_established(a.peer, timeout=a.timeout)
        emit("established")
        first = False
        deadline = time.monotonic() + a.timeout
        while time.monotonic() < deadline:
            n = len(peer.rib_in)
            if n and not first:
                first = True
                emit("first", prefixes=n)
            if n >= a.n:
                emit("all", prefixes=n)
                break
            await asyncio.sleep(0.02)
        else:
            emit("timeout", prefixes=len(peer.rib_in))
        await asyncio.sleep(a.linger)
        emit("end", prefixes=len(peer.rib_in))
    finally:
        await speaker.stop("benchmark done")


def _addresses(base: str, k: int) -> list[str]:
    start = int(ipaddress.IPv4Address(base))
    return [str(ipaddress.IPv4Address(start + i)) for i in range(k)]


async def peers(a: argparse.Namespace) -> None:
    mine = _addresses(a.local_base, a.count)
    theirs = _addresses(a.peer_base, a.count)
    listen = a.side == "listen"
    speaker = Speaker(a.local_as, a.router_id, listen=[("0.0.0.0", 179)] if listen else ())
    for local, remote in zip(mine, theirs, strict=True):
        speaker.add_neighbor(
            Neighbor(
                remote,
                remote_as=a.peer_as,
                local_address=local,
                passive=listen,
                hold_time=a.hold,
                connect_retry_time=1,
                families=("ipv4/unicast",),
            )
        )
    if a.routes:
        speaker.announce(Route.make("198.51.100.0/24"))
    await speaker.start()
    emit("started")
    try:
        deadline = time.monotonic() + a.timeout
        while time.monotonic() < deadline:
            up = sum(1 for s in speaker.status() if s.state == "Established")
            if up >= a.count:
                emit("all_established", established=up)
                break
            await asyncio.sleep(0.05)
        else:
            emit(
                "timeout", established=sum(1 for s in speaker.status() if s.state == "Established")
            )
        # steady state: report every second until stopped
        while True:
            await asyncio.sleep(1.0)
            up = sum(1 for s in speaker.status() if s.state == "Established")
            emit("tick", established=up)
    finally:
        await speaker.stop("benchmark done")


async def churn(a: argparse.Namespace) -> None:
    fam = "ipv4/unicast" if ":" not in a.peer else "ipv6/unicast"
    afis = frozenset({1}) if fam.startswith("ipv4") else frozenset({2})
    routes = list(rib_routes(read_mrt(a.table), ReplayOptions(afis=afis)))
    emit("loaded", routes=len(routes))
    speaker = Speaker(a.local_as, a.router_id, listen=())
    speaker.add_neighbor(
        Neighbor(
            a.peer,
            remote_as=a.peer_as,
            local_address=a.local,
            connect_retry_time=1,
            families=(fam,),
        )
    )
    speaker.announce(routes)
    await speaker.start()
    peer = speaker.peer(a.peer)
    rng = random.Random(7)
    try:
        await speaker.wait_established(a.peer, timeout=a.timeout)
        emit("established")
        deadline = time.monotonic() + a.timeout
        while len(peer.rib_out) < len(routes) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        emit("initial_sent", routes=len(peer.rib_out))
        while a.go and not os.path.exists(a.go) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)  # the harness says when the neighbor has it all
        await asyncio.sleep(a.settle)
        emit("churn_start")
        per_tick = max(1, int(len(routes) * a.fraction))
        next_tick = time.monotonic()
        for _tick in range(a.seconds):
            picks = rng.sample(range(len(routes)), per_tick)
            changed = []
            for i in picks:
                # the route takes the attributes of another route of the table: a path change
                # to a path that exists, as most churn is (the number of attribute sets stays)
                o = routes[rng.randrange(len(routes))]
                r = replace(
                    routes[i],
                    as_path=o.as_path,
                    origin=o.origin,
                    med=o.med,
                    communities=o.communities,
                    large_communities=o.large_communities,
                )
                routes[i] = r
                changed.append(r)
            t = time.monotonic()
            speaker.announce(changed)
            emit("tick", changed=per_tick, announce_call_s=round(time.monotonic() - t, 4))
            next_tick += 1.0
            await asyncio.sleep(max(0.0, next_tick - time.monotonic()))
        emit("churn_end")
        await asyncio.sleep(a.linger)
        emit("end")
    finally:
        await speaker.stop("benchmark done")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.fullfeed.agent")
    ap.add_argument("--local-as", type=int, default=65002)
    ap.add_argument("--peer-as", type=int, default=65001)
    ap.add_argument("--router-id", default="10.255.0.2")
    ap.add_argument("--timeout", type=float, default=600.0)
    ap.add_argument("--linger", type=float, default=0.0)
    sub = ap.add_subparsers(dest="mode", required=True)
    r = sub.add_parser("receive")
    r.add_argument("--peer", required=True)
    r.add_argument("--local", required=True)
    r.add_argument("--n", type=int, required=True)
    p = sub.add_parser("peers")
    p.add_argument("--side", choices=["listen", "dial"], required=True)
    p.add_argument("--count", type=int, required=True)
    p.add_argument("--local-base", required=True)
    p.add_argument("--peer-base", required=True)
    p.add_argument("--hold", type=int, default=90)
    p.add_argument("--routes", action="store_true", help="announce one route to every peer")
    c = sub.add_parser("churn")
    c.add_argument("--peer", required=True)
    c.add_argument("--local", required=True)
    c.add_argument("--table", required=True)
    c.add_argument("--fraction", type=float, default=0.01)
    c.add_argument("--seconds", type=int, default=60)
    c.add_argument("--settle", type=float, default=2.0)
    c.add_argument("--go", help="start churning once this file exists")
    a = ap.parse_args(argv)
    fn = {"receive": receive, "peers": peers, "churn": churn}[a.mode]
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(fn(a))
    return 0


if __name__ == "__main__":
    sys.exit(main())
