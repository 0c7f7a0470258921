"""The adversarial tests use the interop lab (a namespace for the target's addresses) but no
third-party daemon: they are not marked ``interop`` and run in every CI run (as root)."""

from lab.pytest_support import lab, lab_run, pytest_runtest_makereport

__all__ = ["lab", "lab_run", "pytest_runtest_makereport"]
