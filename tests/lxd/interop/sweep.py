"""Removing what an LXD test bed left behind: its processes, namespaces, cgroups and files.

A bed's processes all name its run directory on their command line (LXD's ``--logfile``, the
OVS/OVN sockets, ``[lxc monitor] <run>/lxd/containers <name>``) or descend from one that does
(a container's init, LXD's helpers). The tree is collected before anything is killed, because
a container's init is reparented to the host's init once its monitor dies. LXD runs in a
private mount namespace, so its mounts disappear with its last process; the cgroups LXD made
for instances stay, and are named after instances, which carry the run's tag.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path

from lab.netns import delete_namespace, namespace_names
from lab.procs import cmdline, pid_alive
from lab.runs import run_is_live

from .bed import NS_PREFIX, bed_base

NS_PATTERN = re.compile(rf"^{re.escape(NS_PREFIX)}(\d+)-")
RUN_PATTERN = re.compile(r"^run-(\d+)$")


def _parents() -> dict[int, int]:
    out = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            raw = (entry / "stat").read_text()
        except OSError:
            continue
        out[int(entry.name)] = int(raw[raw.rindex(")") + 2 :].split()[1])
    return out


def _protected() -> set[int]:
    """Ourselves and our ancestors: never killed, whatever their command line says."""
    parents = _parents()
    out, pid = set(), os.getpid()
    while pid > 1 and pid not in out:
        out.add(pid)
        pid = parents.get(pid, 1)
    return out


def run_processes(run_dir: Path) -> list[int]:
    """Every live process of the bed in ``run_dir``: those naming it, and their descendants."""
    parents = _parents()
    mark = f"{run_dir}/"  # run-12/ must not match run-123, nor bed a/ bed ab/
    roots = {pid for pid in parents if any(mark in arg for arg in cmdline(pid))}
    found = set(roots)
    changed = True
    while changed:
        changed = False
        for pid, ppid in parents.items():
            if ppid in found and pid not in found:
                found.add(pid)
                changed = True
    return sorted(p for p in found - _protected() if pid_alive(p))


def kill_run_processes(run_dir: Path) -> list[int]:
    """SIGKILL the bed's processes (collected first, then killed together); returns them."""
    pids = run_processes(run_dir)
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    end = time.monotonic() + 5.0
    while any(pid_alive(p) for p in pids) and time.monotonic() < end:
        time.sleep(0.05)
    return pids


def remove_cgroups(tag: str, label: str = "") -> list[Path]:
    """The (empty, once their processes are gone) cgroups LXD made for this run's instances
    (of bed ``label``, or of every bed), and liblxc's shared ``lxc.pivot`` when it is empty
    (rmdir refuses a cgroup in use, and liblxc makes it again when it needs it)."""
    removed = []
    suffix = f"{label}{tag}"
    for root in Path("/sys/fs/cgroup").glob("*"):
        if not root.is_dir():
            continue
        for d in root.glob("lxc.*"):
            if d.is_dir() and (d.name.endswith(suffix) or d.name == "lxc.pivot"):
                _rmdir_tree(d)
                if not d.exists():
                    removed.append(d)
    return removed


def _rmdir_tree(path: Path) -> None:
    for sub in sorted((p for p in path.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)):
        with contextlib.suppress(OSError):  # not empty: a process is still in it
            sub.rmdir()
    with contextlib.suppress(OSError):
        path.rmdir()


@dataclass
class SweepReport:
    pids: list[int] = field(default_factory=list)
    namespaces: list[str] = field(default_factory=list)
    dirs: list[Path] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.pids or self.namespaces or self.dirs)


def sweep_stale_beds(base: Path | None = None) -> SweepReport:
    """Remove the beds of runs that are certainly dead; a live run's bed is never touched."""
    base = base or bed_base()
    report = SweepReport()
    if base.is_dir():
        for run_dir in sorted(base.iterdir()):
            match = RUN_PATTERN.match(run_dir.name)
            if match is None or run_is_live(int(match.group(1)), base):
                continue
            report.pids += kill_run_processes(run_dir)
            remove_cgroups(f"r{match.group(1)}")
            shutil.rmtree(run_dir, ignore_errors=True)
            report.dirs.append(run_dir)
    for name in namespace_names():
        match = NS_PATTERN.match(name)
        if match is None or run_is_live(int(match.group(1)), base):
            continue
        report.pids += delete_namespace(name)
        report.namespaces.append(name)
    return report
