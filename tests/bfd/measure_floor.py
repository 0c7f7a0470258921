"""Measure how fast a pure-Python BFD session can run here without flapping (docs/bfd.md).

Not a test (pytest does not collect it): run as ``python tests/bfd/measure_floor.py``.
For each interval, ``--sessions`` sessions run for ``--seconds`` between this process
(127.0.0.1 with one extra loopback address per session) and a child process (127.0.0.2),
under three conditions:

* ``idle``: nothing else of ours runs (the machine's other load is whatever it is);
* ``cpu``: two busy-looping processes, one per core, compete for the CPUs;
* ``loop``: this process's event loop is kept busy by CPU-bound callbacks of 20-300 ms, the
  way a speaker decoding a full table keeps it busy, with BFD on its dedicated thread
  (``loop-thread``) or on that same loop (``loop-same``).

Reported per run: flaps (Up -> Down on either side), the worst silence between two packets
seen by an Up session (``rx gap``), the worst delay of a periodic transmission
(``tx late``), and the CPU seconds this process spent per session per minute.
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import json
import multiprocessing
import os
import random
import signal
import socket
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bgpspeak.bfd import BfdService, SessionKey, SessionParams, State

REMOTE = ipaddress.IPv4Address("127.0.0.2")
SWITCH_INTERVAL: float | None = 0.001  # what BfdService lowers the GIL switch interval to


def local_address(i: int) -> ipaddress.IPv4Address:
    return ipaddress.IPv4Address(f"127.0.1.{i + 1}")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.2", 0))
        return int(s.getsockname()[1])


def _remote_main(port: int, params: SessionParams, count: int, ready: object) -> None:
    async def main() -> None:
        svc = BfdService(
            single_hop_port=port, listen_v4=str(REMOTE), switch_interval=SWITCH_INTERVAL
        )
        for i in range(count):
            svc.add(SessionKey(local_address(i), local=REMOTE), params)
        await svc.start()
        ready.set()  # type: ignore[attr-defined]
        await asyncio.Event().wait()

    asyncio.run(main())


def _spin() -> None:
    while True:
        pass


@contextmanager
def cpu_hogs(n: int) -> Iterator[None]:
    procs = [multiprocessing.Process(target=_spin, daemon=True) for _ in range(n)]
    for p in procs:
        p.start()
    try:
        yield
    finally:
        for p in procs:
            p.kill()
            p.join()


async def busy_loop(stop: asyncio.Event, rng: random.Random) -> None:
    """CPU-bound slices of 20-300 ms on this loop, a few per second."""
    while not stop.is_set():
        end = time.perf_counter() + rng.uniform(0.02, 0.3)
        x = 0
        while time.perf_counter() < end:
            x += 1
        await asyncio.sleep(rng.uniform(0.05, 0.3))


async def run_one(
    interval_ms: int, mult: int, count: int, seconds: float, load: str
) -> dict[str, object]:
    params = SessionParams(interval_ms * 1000, interval_ms * 1000, mult)
    port = free_port()
    ctx = multiprocessing.get_context("fork")
    ready = ctx.Event()
    remote = ctx.Process(target=_remote_main, args=(port, params, count, ready), daemon=True)
    remote.start()
    ready.wait(10)
    svc = BfdService(
        single_hop_port=port,
        dedicated_thread=load != "loop-same",
        switch_interval=SWITCH_INTERVAL,
    )
    keys = [SessionKey(REMOTE, local=local_address(i)) for i in range(count)]
    for key in keys:
        svc.add(key, params)
    await svc.start()
    stop = asyncio.Event()
    busy = None
    hogs = cpu_hogs(2) if load == "cpu" else None
    try:
        deadline = time.monotonic() + 15
        while any(svc.state(k) is not State.UP for k in keys):
            if time.monotonic() > deadline:
                raise RuntimeError("sessions did not come up")
            await asyncio.sleep(0.05)
        await asyncio.sleep(1.5)  # past the polls
        with svc._lock:
            for session in svc.table.sessions.values():
                session.counters.reset_timing()
                session.counters.down_transitions = 0
        if load.startswith("loop"):
            busy = asyncio.ensure_future(busy_loop(stop, random.Random(1)))
        if hogs is not None:
            hogs.__enter__()
        cpu0, t0 = time.process_time(), time.monotonic()
        await asyncio.sleep(seconds)
        cpu, wall = time.process_time() - cpu0, time.monotonic() - t0
    finally:
        stop.set()
        if busy is not None:
            await busy
        if hogs is not None:
            hogs.__exit__(None, None, None)
    sessions = svc.status().sessions
    await svc.stop()
    os.kill(remote.pid or 0, signal.SIGKILL)
    remote.join()
    return {
        "interval_ms": interval_ms,
        "mult": mult,
        "sessions": count,
        "load": load,
        "seconds": round(wall, 1),
        "flaps": sum(s.counters.down_transitions for s in sessions),
        "down_now": sum(1 for s in sessions if s.state is not State.UP),
        "rx_gap_max_ms": round(max(s.counters.rx_gap_max_us for s in sessions) / 1000, 1),
        "tx_late_max_ms": round(max(s.counters.tx_late_max_us for s in sessions) / 1000, 1),
        "tx_late_over_10ms": sum(s.counters.tx_late_over_10ms for s in sessions),
        "cpu_s_per_session_minute": round(cpu / count / wall * 60, 3),
        "load_avg": os.getloadavg()[0],
        "switch_interval": sys.getswitchinterval(),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--intervals", default="20,30,50,100,300")
    ap.add_argument("--mult", type=int, default=3)
    ap.add_argument("--sessions", type=int, default=10)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--loads", default="idle,cpu,loop-thread,loop-same")
    ap.add_argument("--json", type=Path, help="append one JSON line per run here")
    ap.add_argument(
        "--gil-switch",
        type=float,
        default=0.001,
        help="BfdService(switch_interval=...) on both sides; 0 keeps CPython's 5 ms",
    )
    args = ap.parse_args()
    global SWITCH_INTERVAL
    SWITCH_INTERVAL = args.gil_switch or None
    for load in args.loads.split(","):
        for interval in (int(x) for x in args.intervals.split(",")):
            result = asyncio.run(run_one(interval, args.mult, args.sessions, args.seconds, load))
            print(json.dumps(result), flush=True)
            if args.json:
                with args.json.open("a") as f:
                    f.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
