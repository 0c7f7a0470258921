"""``routeragent announce-lxd`` against a real LXD 5.0 with OVN, asserted on FRR's own RIB.

One world for the module (tests run in file order and each leaves it as it found it):

    ovn1  NAT off  10.211.1.0/24, 2001:db8:211:1::/64  router 10.210.0.100 / 2001:db8:210::100
          forward 198.51.100.50 -> c1
          c1: 10.211.1.10, 2001:db8:211:1::10; routes.external 198.51.100.16/28,
              2001:db8:100:1::/64 and the anycast 198.51.100.99/32
    ovn2  NAT off  10.211.2.0/24, 2001:db8:211:2::/64  router 10.210.0.101
          c2: 10.211.2.10; routes.external 198.51.100.99/32 (anycast with c1)
    ovn3  NAT on   nat.address 203.0.113.10 and 2001:db8:100:ff::10   router 10.210.0.102

The announcer runs as the real command (``python -m routeragent.cli announce-lxd``) in the LXD
host's namespace, peering with FRR; LXD's own BGP (core.bgp_*) peers with the same FRR.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from .world import World

pytestmark = pytest.mark.timeout(300)

C1_V4, C1_V6 = "198.51.100.16/28", "2001:db8:100:1::/64"
ANYCAST = "198.51.100.99/32"
R1_V4, R1_V6 = "10.210.0.100", "2001:db8:210::100"
R2_V4 = "10.210.0.101"
R3_V4, R3_V6 = "10.210.0.102", "2001:db8:210::102"

# what FRR must hold from us once everything runs
EXPECTED = {
    ("10.211.1.0/24", R1_V4),
    ("10.211.2.0/24", R2_V4),
    ("198.51.100.50/32", R1_V4),
    (C1_V4, R1_V4),
    (ANYCAST, R1_V4),
    (ANYCAST, R2_V4),
    ("203.0.113.10/32", R3_V4),
    ("2001:db8:211:1::/64", R1_V6),
    ("2001:db8:211:2::/64", "2001:db8:210::101"),
    ("2001:db8:100:50::1/128", R1_V6),
    (C1_V6, R1_V6),
    ("2001:db8:100:ff::10/128", R3_V6),
}


def ours(world: World) -> set[tuple[str, str]]:
    return world.table("ipv4", world.our_addr) | world.table("ipv6", world.our_addr)


def wait_ours(world: World, want: set[tuple[str, str]], timeout: float = 20.0) -> float:
    t0 = time.monotonic()
    got: set[tuple[str, str]] = set()
    while time.monotonic() - t0 < timeout:
        got = ours(world)
        if got == want:
            return time.monotonic() - t0
        time.sleep(0.05)
    raise AssertionError(f"FRR from us: missing {want - got}, extra {got - want}")


@pytest.fixture(scope="module")
def c1(world: World) -> str:
    return world.bed.name("c1")


@pytest.fixture(scope="module")
def c2(world: World) -> str:
    return world.bed.name("c2")


@pytest.fixture(scope="module", autouse=True)
def scenario(world: World, c1: str, c2: str) -> Iterator[None]:
    bed = world.bed
    t0 = time.monotonic()
    nonat = {"ipv4.nat": "false", "ipv6.nat": "false", "ipv6.dhcp.stateful": "true"}
    bed.create_ovn_network(
        "ovn1", {"ipv4.address": "10.211.1.1/24", "ipv6.address": "2001:db8:211:1::1/64", **nonat}
    )
    bed.create_ovn_network(
        "ovn2", {"ipv4.address": "10.211.2.1/24", "ipv6.address": "2001:db8:211:2::1/64", **nonat}
    )
    bed.create_ovn_network(
        "ovn3",
        {
            "ipv4.address": "10.212.3.1/24",
            "ipv4.nat": "true",
            "ipv4.nat.address": "203.0.113.10",
            "ipv6.address": "2001:db8:212:3::1/64",
            "ipv6.nat": "true",
            "ipv6.nat.address": "2001:db8:100:ff::10",
        },
    )
    bed.lxc("network", "forward", "create", "ovn1", "198.51.100.50", "target_address=10.211.1.10")
    bed.lxc(
        "network", "forward", "create", "ovn1", "2001:db8:100:50::1",
        "target_address=2001:db8:211:1::10",
    )  # fmt: skip
    bed.lxc("init", "busybox", c1, "-n", "ovn1", "-q")
    bed.lxc(
        "config", "device", "set", c1, "eth0",
        "ipv4.address=10.211.1.10", "ipv6.address=2001:db8:211:1::10",
        f"ipv4.routes.external={C1_V4},{ANYCAST}", f"ipv6.routes.external={C1_V6}",
    )  # fmt: skip
    # busybox has no DHCPv6 client: the image's rcS sets these
    bed.lxc("file", "push", "-", f"{c1}/etc/ipv6", stdin="2001:db8:211:1::10/64\n")
    bed.lxc("init", "busybox", c2, "-n", "ovn2", "-q")
    bed.lxc(
        "config", "device", "set", c2, "eth0",
        "ipv4.address=10.211.2.10", f"ipv4.routes.external={ANYCAST}",
    )  # fmt: skip
    bed.lxc("start", c1, c2)
    world.timed("scenario: 3 OVN networks, 2 forwards, 2 containers", time.monotonic() - t0)
    t1 = time.monotonic()
    world.start_announcer()
    world.timed("announcer start -> FRR holds everything", wait_ours(world, EXPECTED))
    world.timed("(of which LXD read + BGP up, from process start)", time.monotonic() - t1)
    yield


def test_subnets_nat_and_forwards_with_the_ovn_router_as_next_hop(world: World) -> None:
    assert ours(world) == EXPECTED
    sub = world.paths("10.211.1.0/24")[0]
    assert sub["community"]["string"] == "65010:100"
    assert sub["aspath"]["string"] == "65010"
    fwd = world.paths("198.51.100.50/32")[0]
    assert fwd["community"]["string"] == "65010:120"
    nat = world.paths("203.0.113.10/32")[0]
    assert nat["community"]["string"] == "65010:110"
    inst = world.paths(C1_V4)[0]
    assert inst["community"]["string"] == "65010:140" and inst["metric"] == 10
    # NATed subnets are never announced, and no next hop is ever 0.0.0.0
    assert not any(p.startswith("10.212.") or nh in ("0.0.0.0", "::") for p, nh in ours(world))


def test_traffic_follows_the_announced_routes_into_ovn(world: World, c1: str) -> None:
    """FRR installed the routes (zebra); the upstream namespace reaches c1 through them."""
    up = world.bed.up_ns
    assert up is not None
    fib = world.frr.fib("10.211.1.0/24") if world.frr else []
    assert fib and fib[0]["nexthops"][0]["ip"] == R1_V4
    for argv in (
        ["busybox", "ping", "-c1", "-W1", "10.211.1.10"],
        ["busybox", "ping6", "-c1", "-W1", "2001:db8:211:1::10"],  # after DAD in the container
    ):
        deadline = time.monotonic() + 20
        while True:
            done = up.exec(argv, check=False, timeout=5)
            if done.returncode == 0:
                break
            if time.monotonic() > deadline:
                inside = world.bed.lxc("exec", c1, "--", "sh", "-c", "ip addr; ip -6 route")
                pytest.fail(f"{' '.join(argv)}: no answer through OVN\nin c1:\n{inside}")
    out = up.exec(["busybox", "nc", "-w", "3", "10.211.1.10", "8080"], timeout=10).stdout
    assert out.strip() == c1  # the container answers with its name
