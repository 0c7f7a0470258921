"""Interop tests: real daemons in network namespaces (tests/lab). Every test collected from
this directory is marked ``interop`` so ``-m "not interop"`` deselects them all."""

from __future__ import annotations

from pathlib import Path

import pytest
from lab.pytest_support import lab, lab_run, pytest_runtest_makereport

__all__ = ["lab", "lab_run", "pytest_runtest_makereport"]

HERE = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(pytest.mark.interop)
