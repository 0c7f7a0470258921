"""Removing what a crashed run left behind, and nothing else.

A test process killed before its teardown leaves namespaces ``bs-<pid>-<n>``, daemons inside
them (or, for a daemon whose namespace is already gone, only a pid file) and its directory
``run-<pid>``. Only runs that are certainly dead are touched (``runs.run_is_live``): a second
test run on the same machine keeps its lab.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

from .netns import delete_namespace, namespace_names
from .procs import cmdline, kill_pid, pid_alive, read_pid_file, start_time
from .runs import NS_PATTERN, RUN_PATTERN, lab_base, run_is_live


@dataclass
class SweepReport:
    namespaces: list[str] = field(default_factory=list)
    pids: list[int] = field(default_factory=list)
    dirs: list[Path] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.namespaces or self.pids or self.dirs)


def sweep_stale(base: Path | None = None) -> SweepReport:
    base = base or lab_base()
    report = SweepReport()
    for name in namespace_names():
        match = NS_PATTERN.match(name)
        if match is None or run_is_live(int(match.group(1)), base):
            continue
        report.pids += delete_namespace(name)
        report.namespaces.append(name)
    if not base.is_dir():
        return report
    for run_dir in sorted(base.iterdir()):
        match = RUN_PATTERN.match(run_dir.name)
        if match is None or run_is_live(int(match.group(1)), base):
            continue
        for pid_file in run_dir.rglob("*.pid"):
            entry = read_pid_file(pid_file)
            if entry is None:
                continue
            pid, started = entry
            # trusted only while it is provably the same process: same start time, or (for
            # pid files the daemons write themselves) a command line naming a file of this run
            same = started is not None and start_time(pid) == started
            ours = same or any(str(run_dir) in arg for arg in cmdline(pid))
            if ours and pid_alive(pid):
                kill_pid(pid, timeout=2.0)
                report.pids.append(pid)
        shutil.rmtree(run_dir, ignore_errors=True)
        report.dirs.append(run_dir)
    return report
