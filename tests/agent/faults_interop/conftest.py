"""Fault interop tests: one router (FRR + keepalived + routeragent) and its provider, built
once for the module with tests/lab (namespaces named with the pid, torn down whatever
happens). Each test leaves the router healthy again, and the next one checks that first."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from lab import Lab
from lab.preflight import require
from lab.pytest_support import lab_run
from lab.runs import Run

from agent.faults_interop.router import Router, router

__all__ = ["lab_run"]


@pytest.fixture(scope="module")
def rt(lab_run: Run) -> Iterator[Router]:
    require("frr")
    the_lab = Lab(lab_run, "routeragent-faults")
    try:
        with router(the_lab) as it:
            yield it
    finally:
        the_lab.close()


@pytest.fixture
def healthy(rt: Router) -> Iterator[Router]:
    """The router, healthy; whatever fault a test injected is cleared after it, even when
    the test failed half-way, so the next test starts from a healthy router again."""
    rt.clear_faults()
    if rt.keepalived is None:
        rt.start_keepalived()
    rt.wait_healthy()
    try:
        yield rt
    finally:
        rt.clear_faults()
