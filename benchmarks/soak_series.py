"""The numbers a soak run keeps over time, and the verdict on them (pure, no I/O).

A leak shows as a trend, not as a single high value: RSS of a Python process grows in steps
(arenas, dict resizes) during the first minutes and then stays put, and file descriptors and
asyncio tasks go up and down with every session flap. So the series is compared at equal
moments (samples taken while every session is Established) between the first and the last
quarter of the run after a warm-up, and RSS also gets a least-squares slope.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Sample:
    t: float  # seconds since the churn started
    rss_kib: int
    fds: int
    tasks: int
    threads: int
    established: int  # sessions Established at the moment of the sample
    announced: int  # routes we announce right now
    ops: int  # route changes sent so far
    flaps: int  # session flaps so far
    frr_rss_kib: int | None = None

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Verdict:
    ok: bool
    lines: list[str]
    figures: dict[str, Any]


def _slope_per_hour(points: Sequence[tuple[float, float]]) -> float:
    if len(points) < 2:
        return 0.0
    mx = statistics.fmean(t for t, _ in points)
    my = statistics.fmean(v for _, v in points)
    den = sum((t - mx) ** 2 for t, _ in points)
    if den == 0:
        return 0.0
    return sum((t - mx) * (v - my) for t, v in points) / den * 3600.0


def judge(
    samples: Sequence[Sample],
    sessions: int,
    *,
    warmup_fraction: float = 0.25,
    rss_tolerance_kib: int = 3072,
) -> Verdict:
    """Flat or not: RSS (median of the last quarter minus median of the first quarter, after
    warm-up, within ``rss_tolerance_kib``), and open file descriptors and tasks (the last
    quarter's highest at most the first quarter's highest), all at full-mesh moments."""
    full = [s for s in samples if s.established == sessions]
    if not full:
        return Verdict(False, ["no sample was taken with every session Established"], {})
    start = full[0].t + (full[-1].t - full[0].t) * warmup_fraction
    steady = [s for s in full if s.t >= start] or full
    q = max(1, len(steady) // 4)
    first, last = steady[:q], steady[-q:]
    rss_first = statistics.median(s.rss_kib for s in first)
    rss_last = statistics.median(s.rss_kib for s in last)
    growth = rss_last - rss_first
    slope = _slope_per_hour([(s.t, float(s.rss_kib)) for s in steady])
    fds_first, fds_last = max(s.fds for s in first), max(s.fds for s in last)
    tasks_first, tasks_last = max(s.tasks for s in first), max(s.tasks for s in last)
    figures: dict[str, Any] = {
        "samples": len(samples),
        "samples_full_mesh": len(full),
        "steady_from_s": round(start, 1),
        "rss_kib": {
            "min": min(s.rss_kib for s in samples),
            "max": max(s.rss_kib for s in samples),
            "first_quarter_median": rss_first,
            "last_quarter_median": rss_last,
            "growth": growth,
            "slope_per_hour": round(slope, 1),
        },
        "fds": {
            "min": min(s.fds for s in samples),
            "max": max(s.fds for s in samples),
            "first_quarter_max": fds_first,
            "last_quarter_max": fds_last,
        },
        "tasks": {
            "min": min(s.tasks for s in samples),
            "max": max(s.tasks for s in samples),
            "first_quarter_max": tasks_first,
            "last_quarter_max": tasks_last,
        },
        "threads_max": max(s.threads for s in samples),
    }
    frr = [s.frr_rss_kib for s in steady if s.frr_rss_kib is not None]
    if frr:
        figures["frr_bgpd_rss_kib"] = {"first": frr[0], "last": frr[-1], "max": max(frr)}
    lines = []
    ok = True
    if growth > rss_tolerance_kib:
        ok = False
        lines.append(f"RSS grew {growth} KiB between the quarters (tolerance {rss_tolerance_kib})")
    if fds_last > fds_first:
        ok = False
        lines.append(f"open file descriptors grew: {fds_first} -> {fds_last}")
    if tasks_last > tasks_first:
        ok = False
        lines.append(f"asyncio tasks grew: {tasks_first} -> {tasks_last}")
    if ok:
        lines.append(
            f"flat: RSS {rss_first} -> {rss_last} KiB ({growth:+} KiB, slope "
            f"{slope:+.0f} KiB/h), fds <= {fds_last}, tasks <= {tasks_last}"
        )
    return Verdict(ok, lines, figures)
