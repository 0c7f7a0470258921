"""Interop setup: root only, real FRR and keepalived; timings printed at the end of the run."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

import pytest

from agent.interop.topology import Lab, cleanup_stale

#: (what, seconds) measured by the scenarios, printed in the terminal summary
TIMINGS: list[tuple[str, float]] = []

NEEDED = ("vtysh", "keepalived", "ip", "/usr/lib/frr/bgpd", "/usr/lib/frr/zebra")


def _missing() -> list[str]:
    return [b for b in NEEDED if shutil.which(b) is None and not os.path.exists(b)]


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    if os.geteuid() != 0:
        pytest.skip("interop tests need root (network namespaces, FRR, keepalived)")
    missing = _missing()
    if missing:
        msg = f"interop tests need {', '.join(missing)} (scripts/debian-packages: frr, keepalived)"
        if os.environ.get("CI"):
            pytest.fail(msg)
        pytest.skip(msg)
    it = Lab()
    try:
        it.up()
        yield it
    finally:
        it.down()
        cleanup_stale()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not TIMINGS:
        return
    terminalreporter.section("routeragent failover timings (real FRR 8.4 + keepalived)")
    width = max(len(w) for w, _ in TIMINGS)
    for what, secs in TIMINGS:
        terminalreporter.write_line(f"{what.ljust(width)}  {secs:7.3f} s")
