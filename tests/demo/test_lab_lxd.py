"""`routeragent lab up --lxd`: host1 is a real LXD 5.0 + OVN with a container, announced by
`routeragent announce-lxd`; its subnet must reach both cores through all three routers with
the OVN router's uplink address as next hop, traffic from a core must reach the container,
and `down` must leave nothing (namespaces, processes, LXD's cgroups, files). A first
`up --lxd` killed half-way must be cleaned by the next."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from demo.conftest import TIMINGS
from routeragent.lab import lxd_host, system
from routeragent.lab.build import missing_programs
from routeragent.lab.datapath import in_namespace
from routeragent.lab.observe import vtysh_json
from routeragent.lab.topology import (
    CORES,
    ROUTERS,
    UPLINKS,
    core_loopback,
    host_lan4,
    host_subnets,
    ovn_router4,
    ovn_router6,
)

pytestmark = pytest.mark.interop


def _require() -> None:
    if os.geteuid() != 0:
        pytest.skip("the lab needs root (network namespaces)")
    if missing := missing_programs():
        if os.environ.get("CI"):
            pytest.fail(f"the lab needs {', '.join(missing)}")
        pytest.skip(f"the lab needs {', '.join(missing)} (scripts/debian-packages)")
    if missing := lxd_host.missing():
        pytest.skip(f"lab --lxd needs LXD + OVN: missing {', '.join(missing)}")


def cli(run_dir: Path, *args: str, timeout: float = 150.0) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "routeragent.cli", "lab", *args, "--run-dir", str(run_dir)],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def paths(frr_dir: Path, prefix: str) -> list[dict[str, Any]]:
    fam = "ipv6" if ":" in prefix else "ipv4"
    doc = vtysh_json(frr_dir, f"show bgp {fam} unicast {prefix} json")[0]
    return list(doc.get("paths", []))


def next_hops(frr_dir: Path, prefix: str, peer: str) -> set[str]:
    return {
        str(h["ip"])
        for p in paths(frr_dir, prefix)
        if p.get("peer", {}).get("peerId") == peer
        for h in p.get("nexthops", [])
        if h.get("scope", "global") == "global"
    }


def tcp_answer(ns: str, address: str, source: str) -> bytes:
    def ask() -> bytes:
        with socket.create_connection((address, 8080), timeout=3, source_address=(source, 0)) as s:
            return s.recv(100)

    return in_namespace(ns, ask, timeout=10)


def test_up_lxd_cleans_a_crash_announces_the_ovn_subnet_and_down_leaves_nothing() -> None:
    _require()
    run_dir = Path(f"/tmp/ra-lxd-{os.getpid()}")
    prefix = f"x{os.getpid()}-"
    host = "host1"
    sub4, sub6 = host_subnets(host)
    try:
        # a first `up --lxd` dies once its container exists: LXD, OVS/OVN and the container
        # are left behind, and the real `up` must remove them first
        crashed = subprocess.Popen(
            [sys.executable, "-m", "routeragent.cli", "lab", "up", "--lxd", "--quiet",
             "--run-dir", str(run_dir), "--prefix", prefix],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 60
            while not (run_dir / host / "announcer.pid").exists() and crashed.poll() is None:
                assert time.monotonic() < deadline, "the first up never started the announcer"
                time.sleep(0.1)
        finally:
            crashed.kill()
            crashed.wait(10)
        first = (run_dir / host / lxd_host.INSTANCE_FILE).read_text().strip()
        assert lxd_host.leftover_cgroups([first]), "the crashed run left no container"
        assert lxd_host.run_processes(run_dir), "the crashed run left no processes"

        t0 = time.monotonic()
        r = cli(run_dir, "up", "--lxd", "--prefix", prefix, "--timeout", "90")
        TIMINGS.append(("lab up --lxd: steady", time.monotonic() - t0))
        assert r.returncode == 0, f"up --lxd -> {r.returncode}\n{r.stderr}\n{r.stdout}"
        instance = (run_dir / host / lxd_host.INSTANCE_FILE).read_text().strip()
        assert "removed leftovers of an earlier lab" in r.stdout, r.stdout
        assert not lxd_host.leftover_cgroups([first])
        assert f"{host} is LXD + OVN, announced by routeragent announce-lxd (running)" in r.stdout
        assert f"container {instance} RUNNING {lxd_host.instance_address(host)}" in r.stdout
        assert "steady: every path where it should be" in r.stdout, r.stdout

        # the routers hold the subnets (and the container's own route) from the announcer,
        # with the real OVN router's uplink addresses as next hops
        for router in ROUTERS:
            frr = run_dir / router / "frr"
            assert next_hops(frr, sub4, host_lan4(host)) == {ovn_router4(host)}, router
            assert next_hops(frr, sub6, host_lan4(host)) == {ovn_router6(host)}, router
            route = lxd_host.INSTANCE_ROUTE
            assert next_hops(frr, route, host_lan4(host)) == {ovn_router4(host)}, router
        # both cores use all three routers for them
        for core in CORES:
            for prefix_ in (sub4, sub6):
                hops = {str(p["nexthops"][0]["ip"]) for p in paths(run_dir / core / "frr", prefix_)}
                want = {
                    u.router6 if ":" in prefix_ else u.router4 for u in UPLINKS if u.core == core
                }
                assert hops == want, (core, prefix_, hops)

        # a TCP connection from a core's own address reaches the container through OVN
        answer = tcp_answer(
            f"{prefix}core1", lxd_host.instance_address(host), core_loopback("core1")
        )
        assert answer.strip() == instance.encode()

        status = cli(run_dir, "status", "--once", timeout=30)
        assert status.returncode == 0 and f"container {instance} RUNNING" in status.stdout

        t1 = time.monotonic()
        d = cli(run_dir, "down", timeout=120)
        TIMINGS.append(("lab down (with LXD)", time.monotonic() - t1))
        assert d.returncode == 0, d.stderr
        assert not {n for n in system.namespaces() if n.startswith(prefix)}
        assert not run_dir.exists()
        assert not lxd_host.run_processes(run_dir)
        assert not lxd_host.leftover_cgroups([instance])
    finally:
        if run_dir.exists():
            cli(run_dir, "down", timeout=120)
            shutil.rmtree(run_dir, ignore_errors=True)
