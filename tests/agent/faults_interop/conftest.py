"""Fault interop tests: one router (FRR + keepalived + routeragent) and its provider, built
per test with tests/lab (namespaces named with the pid, torn down whatever happens)."""

from __future__ import annotations

from lab.pytest_support import lab, lab_run, pytest_runtest_makereport

__all__ = ["lab", "lab_run", "pytest_runtest_makereport"]
