"""LXD interop setup: one LXD + OVN + FRR world per module (bringing LXD up costs seconds),
torn down whatever happens; crashed runs' beds are removed first. Root only: a skip elsewhere,
a failure when CI is set (a green CI run must mean these ran)."""

from __future__ import annotations

import os
import warnings
from collections.abc import Generator, Iterator
from pathlib import Path

import pytest
from lab.preflight import missing
from lab.pytest_support import lab_run
from lab.runs import Run
from lab.testlab import Lab

from .bed import LxdBed, missing_prerequisites
from .sweep import sweep_stale_beds
from .world import World

__all__ = ["lab_run"]

HERE = Path(__file__).parent

#: (what, seconds) measured by the tests, printed in the terminal summary
TIMINGS: list[tuple[str, float]] = []
#: the world of the running module, for failure reports
WORLDS: list[World] = []


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(pytest.mark.interop)


def require_lxd() -> None:
    lack = missing("frr") + missing_prerequisites()
    if not lack:
        return
    reason = "LXD interop tests need " + ", ".join(dict.fromkeys(lack))
    reason += " (scripts/debian-packages lists the packages)"
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set: a skip would hide it)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def world(lab_run: Run) -> Iterator[World]:
    require_lxd()
    swept = sweep_stale_beds()
    if swept:
        warnings.warn(f"LXD interop: removed leftovers of crashed runs: {swept}", stacklevel=1)
    lab = Lab(lab_run, "lxd")
    w = World(LxdBed(), lab)
    WORLDS.append(w)
    problems: list[str] = []
    try:
        w.up()
        yield w
    finally:
        WORLDS.remove(w)
        TIMINGS.extend((t.what, t.seconds) for t in w.timings)
        try:
            if w.announcer is not None:
                w.stop_announcer()
        except Exception as e:
            problems.append(f"announcer: {e}")
        try:
            lab.close()
        except Exception as e:
            problems.append(f"lab: {e}")
        problems += w.bed.down()
        for what, secs in sorted(w.bed.timings.items()):
            TIMINGS.append((f"bed: {what}", secs))
    if problems:
        pytest.fail("LXD world teardown: " + "; ".join(problems))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """A failed test's report gets the end of the announcer's, FRR's and LXD's logs."""
    report = yield
    if report.failed and WORLDS and HERE in item.path.parents:
        w = WORLDS[-1]
        for title, text in w.lab.log_tails(40):
            report.sections.append((f"lab log {title}", text))
        lxd_log = w.bed.logs / "lxd.log"
        if lxd_log.exists():
            tail = "\n".join(lxd_log.read_text(errors="replace").splitlines()[-40:])
            report.sections.append(("lxd.log", tail))
    return report


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not TIMINGS:
        return
    terminalreporter.section("LXD announcer timings (real LXD 5.0 + OVN + FRR 8.4)")
    width = max(len(w) for w, _ in TIMINGS)
    for what, secs in TIMINGS:
        terminalreporter.write_line(f"{what.ljust(width)}  {secs:7.3f} s")
