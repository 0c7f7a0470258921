"""Removing what an LXD test bed left behind: its processes, namespaces, cgroups and files.

A bed's processes all name its run directory on their command line (LXD's ``--logfile``, the
OVS/OVN sockets, ``[lxc monitor] <run>/lxd/containers <name>``) or descend from one that does
(a container's init, LXD's helpers). The tree is collected before anything is killed, because
a container's init is reparented to the host's init once its monitor dies. LXD runs in a
private mount namespace, so its mounts disappear with its last process; the cgroups LXD made
for instances stay, and are named after instances, which carry the run's tag. Collecting and
killing the processes is ``routeragent lab down``'s own code (routeragent/lab/lxd_host.py).
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from lab.netns import delete_namespace, namespace_names
from lab.runs import run_is_live
from lab.sweep import SweepReport

from routeragent.lab.lxd_host import kill_run_processes, remove_cgroup

from .bed import NS_PREFIX, bed_base

NS_PATTERN = re.compile(rf"^{re.escape(NS_PREFIX)}(\d+)-")
RUN_PATTERN = re.compile(r"^run-(\d+)$")


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
                remove_cgroup(d)
                if not d.exists():
                    removed.append(d)
    return removed


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
