"""The machine a benchmark ran on, and how busy it was with other work meanwhile.

A number measured on a shared two-core VM means little without the load next to it, so every
worker run is bracketed with /proc/stat samples: per CPU, the fraction of the interval it was
busy. For the CPU the worker was pinned to, the worker's own CPU time is subtracted, which
leaves what other processes took from it.
"""

from __future__ import annotations

import os
import platform
import resource
import time
from dataclasses import dataclass
from typing import Any

_TICK = os.sysconf("SC_CLK_TCK")


def _cpu_times() -> dict[str, tuple[int, int]]:
    """Per CPU ('cpu' is the total): (busy ticks, all ticks)."""
    out = {}
    with open("/proc/stat") as f:
        for line in f:
            if not line.startswith("cpu"):
                break
            name, *fields = line.split()
            ticks = [int(x) for x in fields]
            idle = ticks[3] + (ticks[4] if len(ticks) > 4 else 0)  # idle + iowait
            # guest time is already counted in user time
            total = sum(ticks[:8])
            out[name] = (total - idle, total)
    return out


@dataclass
class LoadSample:
    wall: float
    cpu: dict[str, tuple[int, int]]
    children_cpu: float
    loadavg: tuple[float, float, float]

    @classmethod
    def now(cls) -> LoadSample:
        ru = resource.getrusage(resource.RUSAGE_CHILDREN)
        return cls(time.monotonic(), _cpu_times(), ru.ru_utime + ru.ru_stime, os.getloadavg())


def load_between(a: LoadSample, b: LoadSample, pinned_cpu: int | None) -> dict[str, Any]:
    """How busy each CPU was between two samples, and what the child (the worker) used."""
    busy = {}
    for name, (busy_b, total_b) in b.cpu.items():
        busy_a, total_a = a.cpu.get(name, (busy_b, total_b))
        dt = total_b - total_a
        busy[name] = round((busy_b - busy_a) / dt, 3) if dt else 0.0
    elapsed = b.wall - a.wall
    worker_cpu = b.children_cpu - a.children_cpu
    out: dict[str, Any] = {
        "elapsed_s": round(elapsed, 2),
        "worker_cpu_s": round(worker_cpu, 2),
        "busy_fraction_per_cpu": busy,
        "loadavg_1m_end": b.loadavg[0],
    }
    if pinned_cpu is not None and elapsed > 0:
        mine = busy.get(f"cpu{pinned_cpu}", 0.0)
        out["others_on_pinned_cpu"] = round(max(0.0, mine - worker_cpu / elapsed), 3)
        ncpu = len(busy) - 1
        total_busy = busy.get("cpu", 0.0) * ncpu
        out["others_cpus_busy"] = round(max(0.0, total_busy - worker_cpu / elapsed), 3)
    return out


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def describe() -> dict[str, Any]:
    return {
        "cpu_model": cpu_model(),
        "cpus_online": os.cpu_count(),
        "cpus_usable": sorted(os.sched_getaffinity(0)),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "loadavg_at_start": os.getloadavg(),
    }
