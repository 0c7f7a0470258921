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

import signal
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from routeragent.lxd.config_model import LxdSettings
from routeragent.lxd.lxd_reader import LxdReader, LxdUnavailable, StreamMessage

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


def test_superset_of_lxds_own_bgp(world: World) -> None:
    """Everything LXD 5.0's own speaker announces for this setup, we announce too (same next
    hops); beyond it we have the second anycast path (LXD sends one path per prefix)."""
    native: set[tuple[str, str]] = set()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        native = world.table("ipv4", world.native_addr) | world.table("ipv6", world.native_addr)
        if ("10.211.1.0/24", R1_V4) in native and (C1_V4, R1_V4) in native:
            break
        time.sleep(0.2)
    assert ("10.211.1.0/24", R1_V4) in native and ("203.0.113.10/32", R3_V4) in native
    mine = ours(world)
    assert native <= mine, f"LXD announces what we do not: {native - mine}"
    assert (ANYCAST, R1_V4) in mine and (ANYCAST, R2_V4) in mine
    assert len([p for p, _ in native if p == ANYCAST]) == 1
    world.timed(f"LXD's own BGP: {len(native)} paths, ours: {len(mine)} (superset)", 0.0)


def stop_start_cycle(world: World, name: str, prefix: str, up: list[str], down: list[str]) -> None:
    bed = world.bed
    t0 = time.monotonic()
    bed.lxc("stop", "--force", name)
    returned = time.monotonic()
    gone = world.wait_paths(prefix, lambda nh: nh == down, f"{name} stopped", since=returned)
    world.timed(f"{name} stop: lxc stop took", returned - t0)
    world.timed(f"{name} stop: lxc stop returned -> {prefix} withdrawn in FRR", gone)
    assert gone + (returned - t0) < 2.0
    t0 = time.monotonic()
    bed.lxc("start", name)
    returned = time.monotonic()
    back = world.wait_paths(prefix, lambda nh: nh == up, f"{name} started", since=returned)
    world.timed(f"{name} start: lxc start took", returned - t0)
    world.timed(f"{name} start: lxc start returned -> {prefix} back in FRR", back)
    assert back + (returned - t0) < 2.0


def test_instance_routes_follow_the_instance(world: World, c1: str) -> None:
    for _ in range(2):
        stop_start_cycle(world, c1, C1_V4, up=[R1_V4], down=[])
    world.wait_paths(C1_V6, lambda nh: nh == [R1_V6], "c1 IPv6 back too")
    # both families went and came back together
    world.bed.lxc("stop", "--force", c1)
    world.wait_paths(C1_V6, lambda nh: nh == [], "c1 IPv6 withdrawn")
    world.wait_paths(ANYCAST, lambda nh: nh == [R2_V4], "anycast: c2's path stays, c1's goes")
    world.bed.lxc("start", c1)
    world.wait_paths(C1_V6, lambda nh: nh == [R1_V6], "c1 IPv6 back")
    wait_ours(world, EXPECTED)


def test_anycast_one_path_per_running_instance(world: World, c2: str) -> None:
    assert world.next_hops(ANYCAST) == [R1_V4, R2_V4]  # two paths from one peer: ADD-PATH
    stop_start_cycle(world, c2, ANYCAST, up=[R1_V4, R2_V4], down=[R1_V4])
    wait_ours(world, EXPECTED)


def test_forward_and_nat_changes_at_runtime(world: World) -> None:
    bed = world.bed
    t0 = time.monotonic()
    bed.lxc("network", "forward", "create", "ovn2", "198.51.100.70", "target_address=10.211.2.10")
    world.timed(
        "forward created -> in FRR",
        world.wait_paths("198.51.100.70/32", lambda nh: nh == [R2_V4], "forward", since=t0),
    )
    t0 = time.monotonic()
    bed.lxc("network", "forward", "delete", "ovn2", "198.51.100.70")
    world.timed(
        "forward deleted -> gone from FRR",
        world.wait_paths("198.51.100.70/32", lambda nh: nh == [], "forward gone", since=t0),
    )
    t0 = time.monotonic()
    bed.lxc("network", "set", "ovn3", "ipv4.nat.address=203.0.113.11")
    world.timed(
        "NAT address changed -> new one in FRR",
        world.wait_paths("203.0.113.11/32", lambda nh: nh == [R3_V4], "new NAT address", since=t0),
    )
    world.wait_paths("203.0.113.10/32", lambda nh: nh == [], "old NAT address gone")
    bed.lxc("network", "set", "ovn3", "ipv4.nat.address=203.0.113.10")
    wait_ours(world, EXPECTED)


class Watcher:
    """Polls FRR's view of our routes in a thread; remembers every moment something was
    missing (a flap) and every stale mark."""

    def __init__(self, world: World, want: set[tuple[str, str]]) -> None:
        import threading

        self.world = world
        self.want = want
        self.missing: list[tuple[float, set[tuple[str, str]]]] = []
        self.polls = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            got = ours(self.world)
            self.polls += 1
            if not self.want <= got:
                self.missing.append((time.monotonic(), self.want - got))
            time.sleep(0.02)

    def __enter__(self) -> Watcher:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)


def test_lxd_daemon_restart_never_loses_a_route(world: World) -> None:
    bed = world.bed
    updates = world.neighbor(world.our_addr)["messageStats"]["updatesRecv"]
    connects = sum(e["event"] == "lxd-events-connected" for e in world.announcer_log())
    with Watcher(world, EXPECTED) as watch:
        t0 = time.monotonic()
        bed.stop_lxd()
        stopped = time.monotonic()
        time.sleep(1.0)  # LXD away for a while: reads and reconnects fail meanwhile
        bed.start_lxd()
        ready = time.monotonic()
        deadline = ready + 15
        while sum(e["event"] == "lxd-events-connected" for e in world.announcer_log()) == connects:
            assert time.monotonic() < deadline, "the announcer did not reconnect to LXD"
            time.sleep(0.02)
        reconnected = time.monotonic()
        time.sleep(1.0)  # the resync after reconnecting has run
    world.timed("LXD daemon stop (SIGTERM)", stopped - t0)
    world.timed("LXD daemon start -> waitready", ready - stopped - 1.0)
    world.timed("LXD ready -> announcer's event stream reconnected", reconnected - ready)
    assert watch.polls >= 10  # about every 0.1 s (two vtysh calls each)
    assert watch.missing == [], f"routes missing in FRR during the LXD restart: {watch.missing[:3]}"
    assert world.neighbor(world.our_addr)["messageStats"]["updatesRecv"] == updates
    assert ours(world) == EXPECTED
    failed = [
        e
        for e in world.announcer_log()
        if e["event"] in ("lxd-read-failed", "lxd-events-unavailable")
    ]
    assert failed, "LXD was down: the announcer should have seen it"


def test_announcer_restart_keeps_routes_by_graceful_restart(world: World, c2: str) -> None:
    still = EXPECTED - {(ANYCAST, R2_V4)}
    with Watcher(world, still) as watch:
        t0 = time.monotonic()
        assert world.stop_announcer(signal.SIGTERM) == 0
        stopped = time.monotonic()
        deadline = time.monotonic() + 10
        while not all(p.get("stale") for p in world.paths("10.211.1.0/24")):
            assert time.monotonic() < deadline, world.paths("10.211.1.0/24")
            time.sleep(0.05)
        # while the announcer is away, c2 stops: the restarted one must not bring its path back
        world.bed.lxc("stop", "--force", c2)
        t1 = time.monotonic()
        world.start_announcer()
        swept = world.wait_paths(
            ANYCAST, lambda nh: nh == [R1_V4], "stale anycast path swept", since=t1
        )
        deadline = time.monotonic() + 10
        while any(p.get("stale") for p in world.paths("10.211.1.0/24")):
            assert time.monotonic() < deadline, "still stale after the restart"
            time.sleep(0.05)
        fresh = time.monotonic()
    world.timed("announcer SIGTERM -> exited", stopped - t0)
    world.timed("announcer restarted -> stale path of a stopped instance swept", swept)
    world.timed("announcer restarted -> all routes fresh again", fresh - t1)
    assert watch.missing == [], f"routes missing in FRR during the restart: {watch.missing[:3]}"
    starts = [e for e in world.announcer_log() if e["event"] == "started"]
    assert starts[-1]["restarting"] is True
    world.bed.lxc("start", c2)
    wait_ours(world, EXPECTED)


def test_metrics(world: World) -> None:
    ns = world.bed.lxd_ns
    assert ns is not None
    with ns.entered():
        text = urllib.request.urlopen("http://127.0.0.1:9109/metrics", timeout=5).read().decode()
    values = {
        line.split(" ")[0]: float(line.split(" ")[1])
        for line in text.splitlines()
        if line and not line.startswith("#")
    }
    assert values['routeragent_lxd_announcements{kind="subnet"}'] == 4
    assert values['routeragent_lxd_announcements{kind="instance"}'] == 4
    assert values['routeragent_lxd_announcements{kind="forward"}'] == 2
    assert values['routeragent_lxd_announcements{kind="nat"}'] == 2
    assert values["routeragent_lxd_connected"] == 1
    assert values[f'routeragent_lxd_bgp_established{{neighbor="{world.frr_addr}"}}'] == 1
    assert values['routeragent_lxd_reads_total{result="ok"}'] >= 2
    assert values['routeragent_lxd_events_total{action="instance-started"}'] >= 1
    reads = values["routeragent_lxd_read_seconds_count"]
    world.timed(
        f"one full read of LXD (mean of {reads:.0f})",
        values["routeragent_lxd_read_seconds_sum"] / reads,
    )


def client_certificate(directory: Path, name: str) -> tuple[Path, Path]:
    """A self-signed client certificate, as ``lxc remote add`` would make one."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP384R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "routeragent-test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    crt, pem = directory / f"{name}.crt", directory / f"{name}.key"
    crt.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    pem.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return crt, pem


def https_settings(world: World, crt: Path, key: Path, pin: Path) -> LxdSettings:
    return LxdSettings(
        endpoint=f"https://{world.our_addr}:8443",
        client_cert=crt,
        client_key=key,
        server_cert=pin,
        projects=("default",),
    )


def table_rows(text: str) -> set[tuple[str, str]]:
    return {tuple(line.split()[:2]) for line in text.splitlines()[1:] if line.strip()}  # type: ignore[misc]


def test_remote_https_with_a_client_certificate(world: World) -> None:
    """The same read over HTTPS with a client certificate LXD trusts, the server's certificate
    pinned; the event stream over the same TLS (pin checked too). A certificate restricted to
    projects is not enough: LXD 5.0 shows network config only to unrestricted clients."""
    bed = world.bed
    ns = bed.lxd_ns
    assert ns is not None
    crt, key = client_certificate(bed.dir, "client")
    bed.lxc("config", "set", f"core.https_address={world.our_addr}:8443")
    bed.lxc("config", "trust", "add", str(crt))
    # the certificate LXD serves, as `lxc remote add` pins it
    pin = bed.dir / "server.crt"
    pin.write_text(bed.query("/1.0")["environment"]["certificate"])
    settings = https_settings(world, crt, key, pin)
    cfg = bed.dir / "https.toml"
    cfg.write_text(
        world.config_file()
        .read_text()
        .replace(
            f'socket = "{bed.socket}"',
            f'endpoint = "{settings.endpoint}"\nclient_cert = "{crt}"\nclient_key = "{key}"\n'
            f'server_cert = "{settings.server_cert}"\nprojects = ["default"]',
        )
    )
    argv = [sys.executable, "-m", "routeragent.cli", "announce-lxd", "-c"]
    remote = ns.exec([*argv, str(cfg), "--dry-run"], timeout=30)
    local = ns.exec([*argv, str(world.config_file()), "--dry-run"], timeout=30)
    assert table_rows(remote.stdout) == table_rows(local.stdout) == EXPECTED, remote.stdout
    got: list[StreamMessage] = []
    with ns.entered():
        reader = LxdReader(settings)
        close = reader.open_events(got.append)
        try:
            bed.lxc("network", "set", "ovn1", "user.touched=1")
            deadline = time.monotonic() + 10
            while not any(
                (m.event or {}).get("metadata", {}).get("action") == "network-updated" for m in got
            ):
                assert time.monotonic() < deadline, got
                time.sleep(0.02)
        finally:
            close()
        wrong = https_settings(world, crt, key, pin=crt)  # not the server's certificate
        with pytest.raises(LxdUnavailable, match="Fingerprints did not match"):
            LxdReader(wrong).read()
        # the event stream (ws4py checks nothing itself) compares with the pin on its own
        reader = LxdReader(settings)
        reader.connect()
        reader.settings = wrong
        with pytest.raises(LxdUnavailable, match="not the pinned one"):
            reader.open_events(got.append)
    bed.lxc("network", "unset", "ovn1", "user.touched")
    # restricted to project default: networks come without config, and the table says why
    rcrt, rkey = client_certificate(bed.dir, "restricted")
    bed.lxc("config", "trust", "add", str(rcrt), "--restricted", "--projects", "default")
    cfg.write_text(cfg.read_text().replace(str(crt), str(rcrt)).replace(str(key), str(rkey)))
    restricted = ns.exec([*argv, str(cfg), "--dry-run"], timeout=30).stdout
    assert restricted.startswith("nothing to announce")
    assert "network default/ovn1: LXD sent no config" in restricted
