"""CPU seconds, peak memory and machine load, read from /proc (Linux only, like the lab).

CPU is utime + stime of a process and its live descendants, so a sender that forks helpers
(ExaBGP's, ``gobgp`` CLI children) is charged for them; peak memory is VmHWM (the kernel's
high-water mark of the resident set), summed over the same tree.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

CLK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def _stat(pid: int) -> tuple[int, float] | None:
    """(ppid, cpu seconds) of a live process."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    rest = raw[raw.rindex(")") + 2 :].split()
    return int(rest[1]), (int(rest[11]) + int(rest[12])) / CLK


def tree(root: int) -> list[int]:
    """``root`` and its live descendants."""
    children: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            st = _stat(int(name))
            if st is not None:
                children.setdefault(st[0], []).append(int(name))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo += children.get(pid, [])
    return out


def cpu_seconds(root: int) -> float:
    total = 0.0
    for pid in tree(root):
        st = _stat(pid)
        if st is not None:
            total += st[1]
    return total


def _status_kb(pid: int, key: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def peak_rss_bytes(root: int) -> int:
    return sum(_status_kb(pid, "VmHWM") for pid in tree(root)) * 1024


def rss_bytes(root: int) -> int:
    return sum(_status_kb(pid, "VmRSS") for pid in tree(root)) * 1024


@dataclass(frozen=True)
class MachineSample:
    """Load average and the machine's busy CPU time, to say how busy the box was."""

    at: float
    load1: float
    busy_s: float  # all CPUs, seconds not idle/iowait since boot
    total_s: float

    @classmethod
    def now(cls) -> MachineSample:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
        ticks = [int(x) for x in fields]
        idle = ticks[3] + ticks[4]
        return cls(
            time.monotonic(), os.getloadavg()[0], (sum(ticks) - idle) / CLK, sum(ticks) / CLK
        )


def busy_cpus(a: MachineSample, b: MachineSample) -> float:
    """How many CPUs were busy on average between two samples (all processes)."""
    wall = max(b.at - a.at, 1e-6)
    return (b.busy_s - a.busy_s) / wall
