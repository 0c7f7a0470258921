"""``bgpspeak run`` as a real daemon subprocess in a namespace, against FRR (tests/lab).

One daemon run walks through what an operator does with it, each step asserted on FRR's own
view: start from TOML (static routes arrive), a health-checked service withdrawn on failure and
restored on recovery, an ExaBGP-style helper (examples/daemon/exabgp-announcer.py) whose
announcements reach FRR and whose watchdog withdraws them, announce/withdraw through the control
socket, a burst of acknowledged commands (the throughput is printed), the metrics endpoint,
SIGHUP adding a second FRR neighbor while the first session keeps its uptime, a bad file
refused by ``bgpspeak reload`` without touching the sessions, and SIGTERM sending Cease.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from lab import FrrInstance, FrrNeighbor, Lab, Namespace, bgpd_config, wait_until

ROOT = Path(__file__).resolve().parents[2]
ANNOUNCER = ROOT / "examples" / "daemon" / "exabgp-announcer.py"
BURST = 3000

pytestmark = pytest.mark.timeout(240)


def bgpspeak(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """The CLI, from the host namespace: the control socket is a file, not a network address."""
    return subprocess.run(
        [sys.executable, "-m", "bgpspeak.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def config(sock: Path, flag: Path, peers: list[tuple[str, int]]) -> str:
    peer_tables = "".join(
        f'\n[[peers]]\naddress = "{a}"\nasn = {asn}\nhold_time = 9\nfamilies = ["ipv4/unicast"]\n'
        for a, asn in peers
    )
    return f"""
local_as = 65002
router_id = "10.1.0.2"
listen = ["[::]:179"]

[control]
socket = "{sock}"

[[routes]]
prefix = "198.51.100.0/24"
communities = ["65002:100"]
med = 10
{peer_tables}
[[services]]
name = "web"
prefixes = ["192.0.2.80/32"]
check = {{ command = ["test", "-e", "{flag}"] }}
interval = 0.3
timeout = 1
rise = 1
fall = 1
damping = false
communities = ["65002:80"]

[[process]]
name = "announcer"
run = ["{sys.executable}", "{ANNOUNCER}", "203.0.113.0/24"]
ack = true
events = ["state"]
"""


def frr_neighbor(frr: FrrInstance, addr: str) -> dict[str, Any]:
    return dict(frr.neighbors()[addr])


def received(frr: FrrInstance, addr: str) -> int:
    view = frr.show_json("show bgp ipv4 unicast summary")
    return int(view.get("peers", {}).get(addr, {}).get("pfxRcd", 0))


def ceased(frr: FrrInstance, addr: str) -> bool:
    reason = frr_neighbor(frr, addr).get("lastNotificationReason")
    return bool(reason == "Cease/Administrative Shutdown")


def community(view: dict[str, Any]) -> str:
    return str(view["paths"][0].get("community", {}).get("string", ""))


def test_daemon_against_frr(lab: Lab) -> None:
    r1, r2, spk = lab.namespace("r1"), lab.namespace("r2"), lab.namespace("spk")
    l1 = lab.link(r1, spk)  # 10.1.0.1 - 10.1.0.2
    l2 = lab.link(r2, spk)  # 10.2.0.1 - 10.2.0.2
    f1 = lab.frr(r1, bgpd_config(65001, l1.a.ipv4, [FrrNeighbor(l1.b.ipv4, 65002)]))
    f2 = lab.frr(r2, bgpd_config(65003, l2.a.ipv4, [FrrNeighbor(l2.b.ipv4, 65002)]))
    sock, flag, toml = lab.dir / "bgpspeak.sock", lab.dir / "web-healthy", lab.dir / "speaker.toml"
    maintenance = lab.dir / "maintenance"
    flag.touch()
    toml.write_text(config(sock, flag, [(l1.a.ipv4, 65001)]))
    env = dict(os.environ, MAINTENANCE_FILE=str(maintenance), PYTHONPATH=str(ROOT))
    daemon = lab.popen(
        spk,
        [sys.executable, "-m", "bgpspeak.cli", "run", str(toml), "--metrics", "10.1.0.2:9179"],
        log="bgpspeak.log",
        env=env,
    )

    # --- started from TOML: static route, healthy service, the helper's route ----------------
    f1.wait_established(l1.b.ipv4, timeout=30)
    view = f1.wait_route("198.51.100.0/24")
    assert community(view) == "65002:100" and view["paths"][0]["metric"] == 10
    assert view["paths"][0]["aspath"]["string"] == "65002"
    assert community(f1.wait_route("192.0.2.80/32")) == "65002:80"
    assert community(f1.wait_route("203.0.113.0/24")) == "65010:10"  # from the helper
    assert stat_mode(sock) == 0o660

    # --- the helper's watchdog: maintenance file withdraws, removing it announces again ------
    maintenance.touch()
    f1.wait_route("203.0.113.0/24", present=False, timeout=15)
    maintenance.unlink()
    f1.wait_route("203.0.113.0/24", timeout=15)

    # --- health check: failure withdraws, recovery restores -----------------------------------
    flag.unlink()
    f1.wait_route("192.0.2.80/32", present=False, timeout=10)
    show = bgpspeak("show", "services", "--json", "--socket", str(sock))
    (svc,) = json.loads(show.stdout)["services"]
    assert (svc["name"], svc["state"], svc["announced"]) == ("web", "failed", "withdraw")
    flag.touch()
    f1.wait_route("192.0.2.80/32", timeout=10)

    # --- control socket: announce and withdraw --------------------------------------------------
    done = bgpspeak(
        "announce",
        "10.99.0.0/24",
        "--med",
        "5",
        "--community",
        "65002:99",
        "--as-path",
        "65100",
        "--socket",
        str(sock),
    )
    assert done.returncode == 0, done.stderr
    view = f1.wait_route("10.99.0.0/24")
    assert view["paths"][0]["aspath"]["string"] == "65002 65100" and community(view) == "65002:99"
    routes = json.loads(bgpspeak("show", "routes", "--json", "--socket", str(sock)).stdout)
    sources = {r["prefix"]: r["source"] for r in routes["routes"]}
    assert sources["10.99.0.0/24"] == "api" and sources["198.51.100.0/24"] == "static"
    assert sources["192.0.2.80/32"] == "service:web"
    assert sources["203.0.113.0/24"] == "process:announcer"
    assert bgpspeak("withdraw", "10.99.0.0/24", "--socket", str(sock)).returncode == 0
    f1.wait_route("10.99.0.0/24", present=False, timeout=10)
    refused = bgpspeak("announce", "10.99.0.1/24", "--socket", str(sock))
    assert refused.returncode == 1 and "is not a prefix" in refused.stderr

    # --- a burst of acknowledged commands through the socket ----------------------------------
    base = received(f1, l1.b.ipv4)
    lines = lab.dir / "burst.txt"
    lines.write_text(
        "".join(
            f"announce route 10.{100 + (i >> 8)}.{i & 255}.0/24 next-hop self med {i % 50}\n"
            for i in range(BURST)
        )
    )
    burst = bgpspeak("api", str(lines), "--stats", "--socket", str(sock))
    assert burst.returncode == 0, burst.stderr
    print(f"\ncontrol socket: {burst.stderr.strip()}")
    t0 = time.monotonic()
    wait_until(lambda: received(f1, l1.b.ipv4) >= base + BURST, timeout=60, what="burst in FRR")
    print(f"FRR had all {BURST} routes {time.monotonic() - t0:.2f} s after the last ack")
    withdraw = "".join(f"withdraw route 10.{100 + (i >> 8)}.{i & 255}.0/24\n" for i in range(BURST))
    lines.write_text(withdraw)
    assert bgpspeak("api", str(lines), "--socket", str(sock)).returncode == 0
    wait_until(lambda: received(f1, l1.b.ipv4) == base, timeout=60, what="burst withdrawn")

    # --- metrics ---------------------------------------------------------------------------------
    metrics = fetch(spk, "http://10.1.0.2:9179/metrics")
    assert 'bgpspeak_peer_up{peer="10.1.0.1"} 1' in metrics
    assert 'bgpspeak_service_healthy{service="web"} 1' in metrics
    assert "bgpspeak_control_requests_total" in metrics

    # --- SIGHUP adds a peer; the first session is not reset -----------------------------------
    before = frr_neighbor(f1, l1.b.ipv4)
    toml.write_text(config(sock, flag, [(l1.a.ipv4, 65001), (l2.a.ipv4, 65003)]))
    daemon.send_signal(signal.SIGHUP)
    f2.wait_established(l2.b.ipv4, timeout=30)
    f2.wait_route("198.51.100.0/24")
    f2.wait_route("203.0.113.0/24")
    # FRR's uptime counts in whole seconds: wait for it to move on
    after = wait_until(
        lambda: (
            n
            if (n := frr_neighbor(f1, l1.b.ipv4))["bgpTimerUpMsec"] > before["bgpTimerUpMsec"]
            else None
        ),
        timeout=5,
        what="r1's uptime counting on",
    )
    assert after["bgpState"] == "Established"
    assert after["connectionsEstablished"] == before["connectionsEstablished"]
    # FRR derives the epoch from "now - uptime", so it wobbles by a second
    assert abs(after["bgpTimerUpEstablishedEpoch"] - before["bgpTimerUpEstablishedEpoch"]) <= 1

    # --- a bad file is refused by reload; nothing changes ---------------------------------------
    toml.write_text(config(sock, flag, [(l1.a.ipv4, 65001), (l2.a.ipv4, 4294967296)]))
    bad = bgpspeak("reload", "--socket", str(sock))
    assert bad.returncode == 1
    assert f"{toml}: peers[1].asn: 4294967296 is not a valid AS number" in bad.stderr
    peers = json.loads(bgpspeak("show", "peers", "--json", "--socket", str(sock)).stdout)
    assert {p["address"]: p["state"] for p in peers["peers"]} == {
        l1.a.ipv4: "Established",
        l2.a.ipv4: "Established",
    }
    assert frr_neighbor(f1, l1.b.ipv4)["connectionsEstablished"] == before["connectionsEstablished"]

    # --- SIGTERM: Cease to every peer, exit 0, socket removed ---------------------------------
    daemon.send_signal(signal.SIGTERM)
    assert daemon.wait(timeout=15) == 0
    for frr, addr in ((f1, l1.b.ipv4), (f2, l2.b.ipv4)):
        wait_until(
            lambda frr=frr, addr=addr: ceased(frr, addr),  # type: ignore[misc]
            timeout=10,
            what=f"{frr.name}: Cease from {addr}",
        )
    assert not sock.exists()
    log = (lab.dir / "bgpspeak.log").read_text()
    assert "reload refused" in log and "add peer 10.2.0.1" in log


def test_bad_configuration_exit_code(lab: Lab, tmp_path: Path) -> None:
    """The daemon refuses to start: every problem on stderr, exit status 78."""
    spk = lab.namespace("spk")
    toml = tmp_path / "speaker.toml"
    toml.write_text(
        'local_as = 65002\nrouter_id = "10.1.0.2"\nlisten = ["10.1.0.2:179"]\n'
        '[[peers]]\naddress = "10.1.0.1"\nasn = 65001\n'
        '[[peers]]\naddress = "10.1.0.3"\nasn = 65001\nhold_tme = 9\n'
        '[[peers]]\naddress = "10.1.0.4"\nasn = 4294967296\n'
    )
    out = lab.dir / "bad.log"
    proc = lab.popen(
        spk,
        [sys.executable, "-m", "bgpspeak.cli", "run", str(toml)],
        stdout=out.open("wb"),
        stderr=subprocess.STDOUT,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
    )
    assert proc.wait(timeout=30) == 78
    assert out.read_text().splitlines() == [
        f"{toml}: peers[1].hold_tme: unknown key",
        f"{toml}: peers[2].asn: 4294967296 is not a valid AS number",
    ]


def stat_mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


def fetch(ns: Namespace, url: str) -> str:
    with ns.entered(), urllib.request.urlopen(url, timeout=5) as r:
        return str(r.read().decode())
