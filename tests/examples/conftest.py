"""The examples' tests: the BGP ones run each example as a program against real FRR in network
namespaces (tests/lab), and are marked ``interop``; the config ones run the real commands."""

from __future__ import annotations

from lab.pytest_support import lab, lab_run, pytest_runtest_makereport

__all__ = ["lab", "lab_run", "pytest_runtest_makereport"]
