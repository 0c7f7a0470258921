"""The lab (`routeragent lab`) as CI runs it: root only, real FRR, keepalived and bgpspeak.

One lab per module (building it takes 10-20 s); the timings the scenarios measured are printed
at the end of the run."""

from __future__ import annotations

import pytest

#: (what, seconds) measured by the scenarios, printed in the terminal summary
TIMINGS: list[tuple[str, float]] = []


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not TIMINGS:
        return
    terminalreporter.section("routeragent lab timings (real FRR 8.4, keepalived, bgpspeak)")
    width = max(len(w) for w, _ in TIMINGS)
    for what, secs in TIMINGS:
        terminalreporter.write_line(f"{what.ljust(width)}  {secs:7.2f} s")
