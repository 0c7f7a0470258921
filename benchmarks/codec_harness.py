"""What the codec benchmark's driver and its workers share: the message pack and the timing loop.

The workers run in different interpreters (the project's venv for bgpspeak, a private venv for
ExaBGP), so this module is standard library only and imports neither codec. The driver reads the
MRT files once and writes every UPDATE with its negotiated context into a *pack* file; each
worker loads the pack before anything is timed, so file I/O and MRT parsing are never measured.

Pack layout: ``MAGIC``, a 4-octet length and a JSON header (the distinct contexts), then per
message a 2-octet context index, a 4-octet length and the whole BGP message (header included).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import struct
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

MAGIC = b"bgpspeak-codec-bench-pack-1\n"
_RECORD = struct.Struct("!HI")


@dataclass(frozen=True)
class ContextSpec:
    """The negotiated session state a message was received under, in a form both codecs can
    turn into their own objects: 2-/4-octet AS, ADD-PATH families (AFI, SAFI), extended
    messages, and whether the session is iBGP (it changes how LOCAL_PREF is treated)."""

    asn4: bool
    add_path: tuple[tuple[int, int], ...] = ()
    extended_message: bool = False
    ibgp: bool = False

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> ContextSpec:
        return cls(
            bool(obj["asn4"]),
            tuple((int(a), int(s)) for a, s in obj["add_path"]),
            bool(obj["extended_message"]),
            bool(obj["ibgp"]),
        )


@dataclass
class Pack:
    contexts: list[ContextSpec] = field(default_factory=list)
    #: (whole BGP message, index into ``contexts``)
    messages: list[tuple[bytes, int]] = field(default_factory=list)

    def context_index(self, spec: ContextSpec) -> int:
        try:
            return self.contexts.index(spec)
        except ValueError:
            self.contexts.append(spec)
            return len(self.contexts) - 1

    def subset(self, keep: Iterable[int]) -> Pack:
        return Pack(list(self.contexts), [self.messages[i] for i in keep])

    def write(self, path: Path) -> None:
        header = json.dumps({"contexts": [asdict(c) for c in self.contexts]}).encode()
        with path.open("wb") as f:
            f.write(MAGIC + len(header).to_bytes(4, "big") + header)
            for data, ctx in self.messages:
                f.write(_RECORD.pack(ctx, len(data)))
                f.write(data)

    @classmethod
    def read(cls, path: Path) -> Pack:
        raw = path.read_bytes()
        if not raw.startswith(MAGIC):
            raise ValueError(f"{path} is not a codec benchmark pack")
        pos = len(MAGIC)
        hlen = int.from_bytes(raw[pos : pos + 4], "big")
        pos += 4
        header = json.loads(raw[pos : pos + hlen])
        pos += hlen
        pack = cls([ContextSpec.from_json(c) for c in header["contexts"]])
        append = pack.messages.append
        unpack_from = _RECORD.unpack_from
        size = _RECORD.size
        while pos < len(raw):
            ctx, n = unpack_from(raw, pos)
            pos += size
            append((raw[pos : pos + n], ctx))
            pos += n
        return pack


# --- timing ----------------------------------------------------------------------------------

#: One timed pass over every message; what it returns is kept alive until the clock stops, so
#: the decoded objects are really materialized (and their deallocation is not timed).
TimedPass = Callable[[], object]
#: Called before every repetition, outside the clock, to build fresh state (a new cache, a new
#: session) and return the pass to time.
Prepare = Callable[[], TimedPass]


def _status_kib(field: str) -> int:
    """A memory figure of this process from /proc/self/status, in KiB (Linux).

    VmHWM (the peak) rather than getrusage's ru_maxrss: Linux carries ru_maxrss over an
    exec, so a worker would report the peak of the driver it was forked from.
    """
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def measure(
    prepare: Prepare,
    warmup: int,
    repeat: int,
    pause_gc: bool = False,
    around: Callable[[], AbstractContextManager[Any]] | None = None,
) -> dict[str, Any]:
    """Run ``warmup`` untimed passes, then ``repeat`` timed ones; wall and CPU seconds of each.

    The garbage collector stays enabled inside the passes, as it is in a real process, unless
    ``pause_gc``: then it is off during each pass, which shows what the codec itself costs
    apart from the collector walking the objects it made. ``around`` (the codec's own
    collector policy for bulk work, e.g. bgpspeak's ``bulk_receive_gc``) is entered inside the
    clock around each pass. A full collection between passes keeps one pass's garbage from
    being billed to the next.
    """
    policy = around if around is not None else nullcontext
    rss_before = _status_kib("VmRSS")
    for _ in range(warmup):
        run = prepare()
        if pause_gc:
            gc.disable()
        with policy():
            result = run()
        gc.enable()
        del result, run
        gc.collect()
    wall: list[float] = []
    cpu: list[float] = []
    for _ in range(repeat):
        run = prepare()
        gc.collect()
        if pause_gc:
            gc.disable()
        w0 = time.perf_counter()
        c0 = time.process_time()
        with policy():
            result = run()
        c1 = time.process_time()
        w1 = time.perf_counter()
        gc.enable()
        wall.append(w1 - w0)
        cpu.append(c1 - c0)
        del result, run
        gc.collect()
    return {
        "wall_s": wall,
        "cpu_s": cpu,
        "rss_before_kib": rss_before,
        "peak_rss_kib": _status_kib("VmHWM"),
    }


def summarize(samples: Sequence[float]) -> dict[str, float]:
    med = statistics.median(samples)
    return {
        "median": med,
        "min": min(samples),
        "max": max(samples),
        "spread_pct": 100.0 * (max(samples) - min(samples)) / med if med else 0.0,
    }


# --- the worker side ---------------------------------------------------------------------------

#: check(pack) -> per message: (prefix count, or None when the codec rejected it; a note: why it
#: was rejected, or a remark about an accepted one, "" for none)
Check = Callable[[Pack], list[tuple[int | None, str]]]
#: variant(pack) -> the Prepare of that variant
Variant = Callable[[Pack], Prepare]


def worker_main(
    name: str,
    check: Check,
    variants: dict[str, Variant],
    version: Callable[[], str],
    argv: Sequence[str] | None = None,
    facts: Callable[[], dict[str, Any]] | None = None,
    bulk_gc: Callable[[], AbstractContextManager[Any]] | None = None,
) -> int:
    """The command line every worker has: ``--check`` or ``--variant NAME``; JSON on stdout.
    ``facts`` adds what the codec itself can tell after the work (e.g. its cache sizes)."""
    ap = argparse.ArgumentParser(prog=f"codec benchmark worker ({name})")
    ap.add_argument("--pack", type=Path, required=True)
    ap.add_argument("--check", action="store_true", help="decode every message once, report")
    ap.add_argument("--variant", choices=sorted(variants))
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--cpu", type=int, default=None, help="pin this process to one CPU")
    ap.add_argument("--pause-gc", action="store_true", help="garbage collector off in passes")
    if bulk_gc is not None:
        ap.add_argument(
            "--gc-bulk", action="store_true", help="the codec's collector policy for bulk work"
        )
    args = ap.parse_args(argv)
    if args.cpu is not None:
        os.sched_setaffinity(0, {args.cpu})
    pack = Pack.read(args.pack)
    out: dict[str, Any] = {
        "codec": name,
        "version": version(),
        "python": sys.version.split()[0],
        "messages": len(pack.messages),
        "cpu_affinity": sorted(os.sched_getaffinity(0)),
    }
    if args.check:
        results = check(pack)
        out["counts"] = [n for n, _ in results]
        # why a message was rejected (count None), or a remark about an accepted one
        out["notes"] = {str(i): why for i, (_, why) in enumerate(results) if why}
    else:
        if args.variant is None:
            ap.error("give --check or --variant")
        out["variant"] = args.variant
        bulk = bulk_gc if getattr(args, "gc_bulk", False) else None
        out["gc"] = "paused" if args.pause_gc else "bulk" if bulk is not None else "on"
        out.update(
            measure(variants[args.variant](pack), args.warmup, args.repeat, args.pause_gc, bulk)
        )
    if facts is not None:
        out["facts"] = facts()
    json.dump(out, sys.stdout)
    sys.stdout.write("\n")
    return 0
