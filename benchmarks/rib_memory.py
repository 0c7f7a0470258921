"""Memory per route in the Adj-RIB-Out and Adj-RIB-In, ingest speed, and event-loop stalls.

    .venv/bin/python benchmarks/rib_memory.py                 # N = 100,000 and 1,000,000
    .venv/bin/python benchmarks/rib_memory.py --n 200000 --attr-sets 10000 --json out.json
    .venv/bin/python benchmarks/rib_memory.py --modes mrt --mrt table.mrt   # a table dump

Each measurement runs in a fresh subprocess so RSS figures do not mix:

* ``out``: a Speaker with one neighbor; N IPv4 /24 routes (``--attr-sets`` distinct
  attribute sets) announced from a generator. Bytes per prefix = RSS growth / N, and
  the whole process RSS / N (the issue's "sender RSS per announced prefix").
* ``mrt``: ``--mrt FILE``, a table dump loaded as ``bgpspeak mrt replay`` loads it (the
  streaming loader into a Speaker's store, collector paused, then ``gc.freeze()``): CPU
  seconds, RSS growth and whole-process RSS (peak too) per prefix, templates made. N is ignored.
* ``in``: N prefixes packed into UPDATEs, fed through a Peer's receive path (session state
  machine, decode, Adj-RIB-In) in-process, 64 KiB at a time as a socket would deliver them:
  prefixes/s and RSS growth / N.
* ``stall``: a Speaker with an Established session to a receiving Speaker in another process;
  N routes announced while a sampling task measures how late a 1 ms sleep wakes up (the event
  loop stall), in wall time and in CPU time of this thread (on a busy machine the wall figure
  is mostly other processes running). Reports max, p99 and median, and the time until all N
  reached the receiver.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import ipaddress
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

PAGE = os.sysconf("SC_PAGE_SIZE")


def rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE


def measure_out(n: int, attr_sets: int) -> dict[str, Any]:
    from bgpspeak import Neighbor, Speaker

    s = Speaker(65001, "192.0.2.1", listen=())
    s.add_neighbor(Neighbor("192.0.2.2", remote_as=65002))
    gc.collect()
    base = rss()
    t0, c0 = time.perf_counter(), time.process_time()
    s.announce(routes_exact(n, attr_sets))
    dt, cpu = time.perf_counter() - t0, time.process_time() - c0
    gc.collect()
    after = rss()
    return {
        "n": n,
        "attr_sets": attr_sets,
        "announce_s": round(dt, 2),
        "announce_cpu_s": round(cpu, 2),  # includes making the Route objects
        "out_bytes_per_prefix": round((after - base) / n, 1),
        "process_rss_mb": round(after / 2**20, 1),
        "process_rss_bytes_per_prefix": round(after / n, 1),
        "stored": len(s.peer("192.0.2.2").store),
    }


def peak_rss() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return 0


def measure_mrt(path: str) -> dict[str, Any]:
    from bgpspeak import Neighbor, Speaker
    from bgpspeak.daemon.mrt_replay import ReplayOptions, keyed_routes

    s = Speaker(65001, "192.0.2.1", listen=())
    s.add_neighbor(Neighbor("192.0.2.2", remote_as=65002))
    gc.collect()
    base = rss()
    t0, c0 = time.perf_counter(), time.process_time()
    gc.disable()  # as the command does
    templates = s.peer("192.0.2.2").store.templates
    s.announce_keyed(keyed_routes(path, ReplayOptions(), templates))
    gc.enable()
    gc.collect()
    gc.freeze()
    dt, cpu = time.perf_counter() - t0, time.process_time() - c0
    after = rss()
    store = s.peer("192.0.2.2").store
    n = len(store)
    return {
        "file": os.path.basename(path),
        "n": n,
        "templates": len(store.templates),
        "load_s": round(dt, 2),
        "load_cpu_s": round(cpu, 2),
        "out_bytes_per_prefix": round((after - base) / n, 1),
        "process_rss_mb": round(after / 2**20, 1),
        "process_rss_bytes_per_prefix": round(after / n, 1),
        "process_peak_rss_bytes_per_prefix": round(peak_rss() / n, 1),
    }


def routes_exact(n: int, attr_sets: int) -> Iterator[Any]:
    """Like :func:`routes` but without a seen-set: /24s only, so every prefix is distinct."""
    from bgpspeak import Route
    from bgpspeak.wire import Prefix

    paths = [(64600 + i % 300, 200000 + i) for i in range(attr_sets)]
    for i in range(n):
        a = i % attr_sets
        yield Route(
            Prefix(1, (11 << 24) + (i << 8), 24),
            as_path=paths[a],
            communities=(65000 << 16 | a % 100,),
        )


def packed_updates(n: int, attr_sets: int) -> list[bytes]:
    from bgpspeak.rib import UpdatePacker
    from bgpspeak.route_store import prefix_key
    from bgpspeak.routes import ExportContext, export_attributes
    from bgpspeak.wire import Context
    from bgpspeak.wire.family import IPV4_UNICAST

    ectx = ExportContext(65002, False, ipaddress.IPv4Address("192.0.2.2"), None)
    packer = UpdatePacker(IPV4_UNICAST, Context())
    groups: dict[int, Any] = {}
    for i, r in enumerate(routes_exact(n, attr_sets)):
        a = i % attr_sets
        g = groups.get(a)
        if g is None:
            g = groups[a] = packer.group(*export_attributes(r, ectx))
        packer.announce(g, prefix_key(r.prefix))
    packer.flush()
    data, _ = packer.take()
    return [data[i : i + 65536] for i in range(0, len(data), 65536)]


def measure_in(n: int, attr_sets: int) -> dict[str, Any]:
    from bgpspeak import Neighbor
    from bgpspeak.peer import Peer
    from bgpspeak.session import Connected, DataReceived, State
    from bgpspeak.session.negotiate import build_open
    from bgpspeak.wire import Context, Keepalive

    chunks = packed_updates(n, attr_sets)
    neighbor = Neighbor("192.0.2.2", remote_as=65002, passive=True)
    peer = Peer(neighbor, neighbor.peer_config(65001, ipaddress.IPv4Address("192.0.2.1"), None),
                lambda ev: None, listening=lambda: False)  # fmt: skip
    loop = asyncio.new_event_loop()
    peer.start(loop)
    conn = peer._new_connection(outbound=False)

    class Sink:
        def write(self, data: bytes) -> None:
            pass

        def get_write_buffer_size(self) -> int:
            return 0

    conn.transport = Sink()  # type: ignore[assignment]
    conn.local = ipaddress.IPv4Address("192.0.2.1")
    from bgpspeak.session import Start

    peer.feed(conn, Start())
    peer.feed(conn, Connected(outbound=False))
    # the neighbor's OPEN, as a bgpspeak speaker with the mirror configuration would send it
    mirror = Neighbor("192.0.2.1", remote_as=65001)
    hello = build_open(mirror.peer_config(65002, ipaddress.IPv4Address("192.0.2.2"), None))
    peer.feed(conn, DataReceived(hello.encode(Context()) + Keepalive().encode(Context())))
    assert conn.session.state is State.ESTABLISHED, conn.session.state
    gc.collect()
    base = rss()
    t0, c0 = time.perf_counter(), time.process_time()
    for c in chunks:
        peer.feed(conn, DataReceived(c))
    dt, cpu = time.perf_counter() - t0, time.process_time() - c0
    del chunks
    gc.collect()
    after = rss()
    got = len(peer.rib_in)
    loop.close()
    assert got == n, (got, n)
    return {
        "n": n,
        "attr_sets": attr_sets,
        "ingest_s": round(dt, 2),
        "ingest_prefixes_per_s": round(n / dt),
        "ingest_cpu_s": round(cpu, 2),
        "ingest_prefixes_per_cpu_s": round(n / cpu),
        "in_bytes_per_prefix": round((after - base) / n, 1),
    }


RECEIVER = """
import asyncio, sys
from bgpspeak import Neighbor, Speaker
async def main():
    s = Speaker(65002, "192.0.2.2", listen=[("127.0.0.1", int(sys.argv[1]))])
    s.add_neighbor(Neighbor("127.0.0.2", remote_as=65001, passive=True,
                            families=("ipv4/unicast",), hold_time=9))
    await s.start()
    p = s.peer("127.0.0.2")
    while True:
        await asyncio.sleep(0.05)
        print(len(p.rib_in), flush=True)
asyncio.run(main())
"""


async def _stall(n: int, attr_sets: int) -> dict[str, Any]:
    from bgpspeak import Neighbor, Speaker

    with socket.socket() as sk:
        sk.bind(("127.0.0.1", 0))
        port = sk.getsockname()[1]
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", RECEIVER, str(port), stdout=asyncio.subprocess.PIPE
    )
    s = Speaker(65001, "192.0.2.1", listen=())
    s.add_neighbor(Neighbor("127.0.0.1", remote_as=65002, port=port, local_address="127.0.0.2",
                            families=("ipv4/unicast",), hold_time=9))  # fmt: skip
    stalls: list[float] = []  # how late a 1 ms sleep woke up (wall clock)
    cpu_stalls: list[float] = []  # CPU the loop spent elsewhere meanwhile (not preemption)
    stop = False

    async def sample() -> None:
        loop = asyncio.get_running_loop()
        while not stop:
            t, c = loop.time(), time.thread_time()
            await asyncio.sleep(0.001)
            stalls.append(loop.time() - t - 0.001)
            cpu_stalls.append(time.thread_time() - c)

    try:
        await asyncio.sleep(0.5)  # the receiver's listener
        await s.start()
        await s.wait_established("127.0.0.1", 30)
        sampler = asyncio.create_task(sample())
        t0 = time.perf_counter()
        cpu0 = time.process_time()
        s.announce(routes_exact(n, attr_sets))
        await s.flush(timeout=600)
        sent = time.perf_counter() - t0
        assert proc.stdout is not None
        got = 0
        while got < n:
            line = await asyncio.wait_for(proc.stdout.readline(), 120)
            got = int(line)
        total = time.perf_counter() - t0
        cpu = time.process_time() - cpu0
        stop = True
        await sampler
    finally:
        await s.stop()
        proc.kill()
        await proc.wait()
    stalls.sort()
    ms = [x * 1000 for x in stalls]
    cms = sorted(x * 1000 for x in cpu_stalls)
    return {
        "n": n,
        "attr_sets": attr_sets,
        "written_s": round(sent, 2),
        "received_s": round(total, 2),
        "sender_cpu_s": round(cpu, 2),
        "stall_max_ms": round(ms[-1], 2),
        "stall_p99_ms": round(ms[int(len(ms) * 0.99)], 2),
        "stall_median_ms": round(ms[len(ms) // 2], 2),
        "cpu_stall_max_ms": round(cms[-1], 2),
        "cpu_stall_p99_ms": round(cms[int(len(cms) * 0.99)], 2),
        "cpu_stall_median_ms": round(cms[len(cms) // 2], 2),
        "samples": len(ms),
    }


def measure_stall(n: int, attr_sets: int) -> dict[str, Any]:
    return asyncio.run(_stall(n, attr_sets))


MODES = {"out": measure_out, "in": measure_in, "stall": measure_stall}
ARG_MODES = {"mrt": measure_mrt}  # take --mrt, not a count


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--n", default="100000,1000000", help="comma-separated route counts")
    ap.add_argument("--attr-sets", type=int, default=1000)
    ap.add_argument("--modes", default="out,in,stall")
    ap.add_argument("--stall-n", type=int, default=1_000_000)
    ap.add_argument("--mrt", help="the table dump of mode mrt")
    ap.add_argument("--json", help="write the results here too")
    ap.add_argument("--one", help=argparse.SUPPRESS)  # mode:n, in this process
    args = ap.parse_args()
    if args.one:
        mode, n = args.one.split(":", 1)
        if mode in ARG_MODES:
            print(json.dumps(ARG_MODES[mode](n)))
        else:
            print(json.dumps(MODES[mode](int(n), args.attr_sets)))
        return 0
    results = []
    for mode in args.modes.split(","):
        counts: list[int | str] = [int(x) for x in args.n.split(",")]
        if mode == "stall":
            counts = [args.stall_n]
        elif mode in ARG_MODES:
            if not args.mrt:
                ap.error(f"mode {mode} needs --mrt FILE")
            counts = [os.path.abspath(args.mrt)]
        for n in counts:
            cmd = [sys.executable, __file__, "--one", f"{mode}:{n}", "--attr-sets",
                   str(args.attr_sets)]  # fmt: skip
            out = subprocess.run(cmd, capture_output=True, text=True, check=False)
            if out.returncode != 0:
                print(f"{mode} {n}: failed\n{out.stderr}", file=sys.stderr)
                return 1
            r = {"mode": mode, **json.loads(out.stdout.strip().splitlines()[-1])}
            print(json.dumps(r), flush=True)
            results.append(r)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
