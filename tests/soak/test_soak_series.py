"""The soak verdict (benchmarks/soak_series.py): flat series pass, a leak of memory, file
descriptors or tasks fails, and flaps (fewer sessions at a sample) do not count."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

from soak_series import Sample, judge


def series(rss: int = 0, fds: int = 0, tasks: int = 0, n: int = 100) -> list[Sample]:
    """``n`` samples 10 s apart; the extra RSS/fds/tasks grow linearly to the given amount."""
    out = []
    for i in range(n):
        f = i / (n - 1)
        flap = i % 7 == 3  # one session down at this sample: fewer fds and tasks
        out.append(
            Sample(
                t=10.0 * i,
                rss_kib=50_000 + int(rss * f) + (i % 3) * 100,
                fds=13 + int(fds * f) - flap,
                tasks=5 + int(tasks * f) - 2 * flap,
                threads=2,
                established=1 if flap else 2,
                announced=2200,
                ops=200 * i,
                flaps=i // 3,
            )
        )
    return out


def test_flat_series_pass() -> None:
    v = judge(series(), 2)
    assert v.ok, v.lines
    assert v.figures["rss_kib"]["growth"] == 0
    assert v.figures["fds"]["last_quarter_max"] == 13
    assert v.figures["samples_full_mesh"] < v.figures["samples"]


def test_memory_leak_fails() -> None:
    v = judge(series(rss=8000), 2)
    assert not v.ok
    assert "RSS grew" in v.lines[0]
    assert v.figures["rss_kib"]["slope_per_hour"] > 0


def test_descriptor_and_task_leaks_fail() -> None:
    assert "file descriptors grew" in " ".join(judge(series(fds=3), 2).lines)
    assert "asyncio tasks grew" in " ".join(judge(series(tasks=2), 2).lines)


def test_no_full_mesh_sample() -> None:
    v = judge([s for s in series() if s.established == 1], 2)
    assert not v.ok and "no sample" in v.lines[0]
