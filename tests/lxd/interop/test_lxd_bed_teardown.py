"""The LXD test bed leaves nothing behind: not after a clean teardown, and not after the test
process was killed (the next run's sweep removes it). "Nothing" is checked where leftovers
would be: processes naming the run, namespaces, the run directory, mounts, cgroups."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from lab.netns import namespace_names

from routeragent.lab.lxd_host import run_processes

from .bed import NS_PREFIX, LxdBed, bed_base
from .conftest import require_lxd
from .sweep import sweep_stale_beds

pytestmark = pytest.mark.timeout(180)

TESTS = Path(__file__).resolve().parents[2]


def footprint(run_dir: Path, pid: int, tag: str) -> dict[str, object]:
    mounts = [
        line
        for line in Path("/proc/self/mountinfo").read_text().splitlines()
        if str(run_dir) in line
    ]
    cgroups = [str(p) for p in Path("/sys/fs/cgroup").glob(f"*/lxc.*{tag}")]
    return {
        "processes": run_processes(run_dir),
        "namespaces": [n for n in namespace_names() if n.startswith(f"{NS_PREFIX}{pid}-")],
        "directory": run_dir.exists(),
        "mounts": mounts,
        "cgroups": cgroups,
    }


EMPTY = {"processes": [], "namespaces": [], "directory": False, "mounts": [], "cgroups": []}


def populate(bed: LxdBed) -> None:
    bed.create_ovn_network(
        "tn1", {"ipv4.address": "10.211.9.1/24", "ipv4.nat": "false", "ipv6.address": "none"}
    )
    name = bed.name("t1")
    bed.lxc("init", "busybox", name, "-n", "tn1", "-q")
    bed.lxc("start", name)


def test_clean_teardown_leaves_nothing() -> None:
    require_lxd()
    bed = LxdBed()
    try:
        bed.up()
        populate(bed)
        during = footprint(bed.run_dir, bed.pid, bed.tag)
        assert len(during["processes"]) >= 8  # type: ignore[arg-type]
        assert during["cgroups"] and len(during["namespaces"]) == 2  # type: ignore[arg-type]
    finally:
        problems = bed.down()
    assert problems == []
    assert footprint(bed.run_dir, bed.pid, bed.tag) == EMPTY


CHILD = """
import sys, time
sys.path.insert(0, {tests!r})
from lxd.interop.bed import LxdBed
from lxd.interop.test_lxd_bed_teardown import populate
bed = LxdBed()
bed.up()
populate(bed)
print(bed.run_dir, flush=True)
time.sleep(600)
"""


def test_killed_run_is_swept_by_the_next() -> None:
    require_lxd()
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD.format(tests=str(TESTS))],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        line = child.stdout.readline().strip()
        assert line, "the child did not bring its bed up"
        run_dir = Path(line)
        assert run_dir.parent == bed_base()
        child.send_signal(signal.SIGKILL)  # no teardown at all
        child.wait(10)
        left = footprint(run_dir, child.pid, f"r{child.pid}")
        assert left["processes"] and left["namespaces"] and left["directory"]
        t0 = time.monotonic()
        report = sweep_stale_beds()
        swept = time.monotonic() - t0
        assert run_dir in report.dirs
        assert footprint(run_dir, child.pid, f"r{child.pid}") == EMPTY
        assert swept < 30
    finally:
        if child.poll() is None:
            os.kill(child.pid, signal.SIGKILL)
            child.wait(10)
        sweep_stale_beds()
