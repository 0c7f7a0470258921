"""pytest glue: the ``lab_run`` and ``lab`` fixtures and the hook that puts daemon logs into
the report of a failed test. A conftest imports these names to activate them
(tests/interop/conftest.py does)."""

from __future__ import annotations

import os
import warnings
from collections.abc import Generator, Iterator

import pytest

from .preflight import require
from .runs import Run
from .sweep import sweep_stale
from .testlab import Lab

LAB_KEY = pytest.StashKey[Lab]()


@pytest.fixture(scope="session")
def lab_run() -> Iterator[Run]:
    """This test process's lab run. First sweeps what crashed runs left behind; at the end
    removes the run's files (kept when BS_LAB_KEEP is set, for post-mortems)."""
    require()
    swept = sweep_stale()
    if swept:
        warnings.warn(f"interop lab: removed leftovers of crashed runs: {swept}", stacklevel=1)
    run = Run()
    try:
        yield run
    finally:
        if not os.environ.get("BS_LAB_KEEP"):
            run.remove()


@pytest.fixture
def lab(lab_run: Run, request: pytest.FixtureRequest) -> Iterator[Lab]:
    """A fresh ``Lab`` for one test, torn down whatever the test did."""
    require()
    the_lab = Lab(lab_run, request.node.name)
    request.node.stash[LAB_KEY] = the_lab
    try:
        yield the_lab
    finally:
        the_lab.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """On failure, append the tail of every lab log to the report (shown by pytest under
    "Captured ..."-style sections). Files outlive the daemons, so teardown failures get them too."""
    report = yield
    the_lab = item.stash.get(LAB_KEY, None)
    if the_lab is not None and report.failed:
        for title, text in the_lab.log_tails():
            report.sections.append((f"lab log {title}", text))
    return report
