"""Anycast from two LXD hosts, each with its own LXD + OVN and its own announcer, both peering
with one FRR: the same /32 routed to a container on each host is two paths in FRR (one per
host, no ADD-PATH needed) and an ECMP route in its FIB; a host's instance stopping takes
exactly that host's path away.

    bsl-<pid>-a-lxd  LXD host a: uplink 10.210.0.0/24, OVN network ovna, container ca
    bsl-<pid>-b-lxd  LXD host b: uplink 10.220.0.0/24, OVN network ovnb, container cb
    bsl-<pid>-a-up   FRR (AS 65000) with both uplink gateways and a BGP link to each host

This is what an LXD cluster gives when each member runs its announcer (each announces only
its own instances); a real two-member cluster needs a second OVN chassis with Geneve tunnels
in OVS's userspace datapath, which is not set up here (docs/lxd.md).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from lab.frr import FrrInstance, FrrNeighbor, bgpd_config
from lab.netns import Link
from lab.runs import Run
from lab.testlab import Lab

from .bed import LxdBed
from .conftest import TIMINGS, require_lxd
from .sweep import sweep_stale_beds
from .world import FRR_AS, OUR_AS, announcer_toml

pytestmark = pytest.mark.timeout(240)

ANYCAST = "198.51.100.99/32"
NH_A, NH_B = "10.210.0.100", "10.220.0.100"


@dataclass
class Host:
    bed: LxdBed
    link: Link
    instance: str


@dataclass
class Two:
    lab: Lab
    frr: FrrInstance
    a: Host
    b: Host

    def paths(self, prefix: str) -> dict[str, str]:
        """peer -> next hop of FRR's paths for ``prefix``."""
        view = self.frr.show_json(f"show bgp ipv4 unicast {prefix}")
        return {
            str(p["peer"]["peerId"]): str(p["nexthops"][0]["ip"]) for p in view.get("paths", [])
        }

    def wait(self, want: dict[str, str], since: float, what: str, timeout: float = 10.0) -> float:
        got: dict[str, str] = {}
        while time.monotonic() - since < timeout:
            got = self.paths(ANYCAST)
            if got == want:
                return time.monotonic() - since
            time.sleep(0.02)
        raise AssertionError(f"{what}: FRR has {got}, wanted {want}")


def setup_host(bed: LxdBed, lab: Lab, link: Link, frr_addr: str, subnet: int) -> Host:
    bed.lxc("network", "set", "UPLINK", "ipv4.routes.anycast=true")
    net = f"ovn{bed.label}"
    bed.create_ovn_network(
        net, {"ipv4.address": f"10.211.{subnet}.1/24", "ipv4.nat": "false", "ipv6.address": "none"}
    )
    name = bed.name("c")
    bed.lxc("init", "busybox", name, "-n", net, "-q")
    bed.lxc(
        "config", "device", "set", name, "eth0",
        f"ipv4.address=10.211.{subnet}.10", f"ipv4.routes.external={ANYCAST}",
    )  # fmt: skip
    bed.lxc("start", name)
    cfg = bed.dir / "announcer.toml"
    cfg.write_text(announcer_toml(bed, link.b.ipv4, frr_addr))
    assert bed.lxd_ns is not None
    argv = [sys.executable, "-m", "routeragent.cli", "announce-lxd", "-c", str(cfg)]
    lab.popen(bed.lxd_ns, argv, log=f"announcer-{bed.label}.log")
    return Host(bed, link, name)


@pytest.fixture(scope="module")
def two(lab_run: Run) -> Iterator[Two]:
    require_lxd()
    sweep_stale_beds()
    lab = Lab(lab_run, "lxd-two-hosts")
    a = LxdBed(label="a")
    b: LxdBed | None = None
    problems: list[str] = []
    try:
        t0 = time.monotonic()
        a.up()
        b = LxdBed(label="b", uplink=220, up_ns=a.up_ns)
        b.up()
        assert a.up_ns is not None and a.lxd_ns is not None and b.lxd_ns is not None
        la, lb = lab.link(a.up_ns, a.lxd_ns), lab.link(a.up_ns, b.lxd_ns)
        a.up_ns.enable_forwarding()
        frr = lab.frr(
            a.up_ns,
            bgpd_config(
                FRR_AS,
                la.a.ipv4,
                [FrrNeighbor(la.b.ipv4, OUR_AS), FrrNeighbor(lb.b.ipv4, OUR_AS)],
                family_lines={"ipv4": ["maximum-paths 8"]},
            ),
        )
        host_a = setup_host(a, lab, la, la.a.ipv4, 30)
        host_b = setup_host(b, lab, lb, lb.a.ipv4, 40)
        TIMINGS.append(("two hosts: both beds, FRR, containers, announcers", time.monotonic() - t0))
        yield Two(lab, frr, host_a, host_b)
    finally:
        try:
            lab.close()
        except Exception as e:
            problems.append(f"lab: {e}")
        if b is not None:
            problems += b.down()
        problems += a.down()
    if problems:
        pytest.fail("two-host teardown: " + "; ".join(problems))


def test_one_path_per_host_and_ecmp(two: Two) -> None:
    want = {two.a.link.b.ipv4: NH_A, two.b.link.b.ipv4: NH_B}
    two.wait(want, time.monotonic(), "both hosts' paths", timeout=20)
    fib: list[dict[str, Any]] = []
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        fib = two.frr.fib(ANYCAST)
        if fib and len(fib[0].get("nexthops", [])) == 2:
            break
        time.sleep(0.1)
    assert sorted(h["ip"] for h in fib[0]["nexthops"]) == [NH_A, NH_B]


def test_a_hosts_instance_takes_only_its_own_path(two: Two) -> None:
    both = {two.a.link.b.ipv4: NH_A, two.b.link.b.ipv4: NH_B}
    for host, other, nh in ((two.b, two.a, NH_A), (two.a, two.b, NH_B)):
        t0 = time.monotonic()
        host.bed.lxc("stop", "--force", host.instance)
        returned = time.monotonic()
        gone = two.wait({other.link.b.ipv4: nh}, returned, f"{host.instance} stopped")
        TIMINGS.append(
            (f"two hosts: host {host.bed.label} instance stopped -> its path gone", gone)
        )
        assert gone + (returned - t0) < 2.0
        t0 = time.monotonic()
        host.bed.lxc("start", host.instance)
        returned = time.monotonic()
        back = two.wait(both, returned, f"{host.instance} started")
        TIMINGS.append((f"two hosts: host {host.bed.label} instance started -> path back", back))
        assert back + (returned - t0) < 2.0
