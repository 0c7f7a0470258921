"""Who owns what: per-run names and directories, so several test runs can share a machine and
a crashed run's leftovers can be told apart from a live run's.

A run is one test process. Its namespaces are called ``bs-<pid>-<n>`` and its files live in
``<tmp>/bs-lab/run-<pid>/``, with ``owner.json`` recording the pid's kernel start time: a pid
that is alive but started at another time is a reused pid, and its run is stale.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import shutil
import tempfile
from pathlib import Path

from .procs import pid_alive, start_time

NS_PREFIX = "bs-"
NS_PATTERN = re.compile(r"^bs-(\d+)-(\d+)$")
RUN_PATTERN = re.compile(r"^run-(\d+)$")


def lab_base() -> Path:
    """Root of every run's files; BS_LAB_BASE overrides it (e.g. to keep labs off /tmp)."""
    return Path(os.environ.get("BS_LAB_BASE") or Path(tempfile.gettempdir()) / "bs-lab")


def run_is_live(pid: int, base: Path | None = None) -> bool:
    """True unless run ``pid`` is certainly gone (dead pid, or a pid reused by another process)."""
    started = start_time(pid)
    if started is None or not pid_alive(pid):
        return False  # a zombie counts as dead: a SIGKILLed run can stay one for a while
    owner = (base or lab_base()) / f"run-{pid}" / "owner.json"
    try:
        recorded = json.loads(owner.read_text())["start_time"]
    except (OSError, ValueError, KeyError):
        return True  # no record to contradict a live pid: leave it alone
    return bool(recorded == started)


class Run:
    """This process's run: hands out namespace names and directories."""

    def __init__(self, base: Path | None = None) -> None:
        self.pid = os.getpid()
        self.base = base or lab_base()
        self.dir = self.base / f"run-{self.pid}"
        self._ns_numbers = itertools.count(1)
        self._lab_numbers = itertools.count(1)
        # FRR and BIRD drop privileges: the path down to their run dirs must be traversable.
        self.base.mkdir(mode=0o755, exist_ok=True)
        self.base.chmod(0o755)
        self.dir.mkdir(mode=0o755, exist_ok=True)
        (self.dir / "owner.json").write_text(
            json.dumps({"pid": self.pid, "start_time": start_time(self.pid)})
        )

    def namespace_name(self) -> str:
        return f"{NS_PREFIX}{self.pid}-{next(self._ns_numbers)}"

    def lab_dir(self, label: str) -> Path:
        safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", label)[-60:] or "lab"
        path = self.dir / f"{next(self._lab_numbers)}-{safe}"
        path.mkdir(mode=0o755)
        return path

    def remove(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)
