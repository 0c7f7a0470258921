"""Each BGP example in examples/, run as the program a reader would run, against real FRR in
network namespaces: what the example promises is checked in FRR's own RIB and FIB."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from lab import FrrNeighbor, Lab, best_path, bgpd_config, wait_until
from lab.peering import frr_facing

pytestmark = pytest.mark.interop

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
PY = sys.executable


def _lines(path: Path) -> list[dict[str, Any]]:
    out = []
    for line in path.read_text().splitlines():
        if line.startswith("{"):
            out.append(json.loads(line))
    return out


def _communities(path: dict[str, Any]) -> str:
    return str(path.get("community", {}).get("string", ""))


def test_route_collector_prints_updates_as_json_lines(lab: Lab, tmp_path: Path) -> None:
    frr, link = frr_facing(
        lab, ("r1", "col"), 65002, networks=["198.51.100.0/24", "2001:db8:100::/48"]
    )
    out = tmp_path / "collector.jsonl"
    with out.open("w") as f:
        lab.popen(
            link.b.ns,
            [
                PY,
                str(EXAMPLES / "route_collector.py"),
                "--local-as",
                "65002",
                "--router-id",
                link.b.ipv4,
                "--peer",
                f"{link.a.ipv4}:65001",
                "--peer",
                f"{link.a.ipv6}:65001",
            ],
            stdout=f,
            stderr=subprocess.STDOUT,
        )

    def announced() -> dict[str, dict[str, Any]] | None:
        lines = _lines(out)
        got = {ev["prefix"]: ev for ev in lines if ev["event"] == "announce"}
        eors = {ev["family"] for ev in lines if ev["event"] == "eor"}
        want = {"198.51.100.0/24", "2001:db8:100::/48"}
        return got if want <= set(got) and {"ipv4/unicast", "ipv6/unicast"} <= eors else None

    got = wait_until(announced, timeout=30, what="both prefixes and End-of-RIB on stdout")
    v4 = got["198.51.100.0/24"]
    assert v4["peer"] == link.a.ipv4 and v4["next_hops"] == [link.a.ipv4]
    by_name = {a["name"]: a for a in v4["attributes"]}
    assert by_name["ORIGIN"]["value"] == "igp"
    assert "65001" in json.dumps(by_name["AS_PATH"]["value"])
    assert got["2001:db8:100::/48"]["next_hops"][0] == link.a.ipv6
    assert {ev["event"] for ev in _lines(out)} >= {"up", "announce", "eor"}

    frr.configure("router bgp 65001", "address-family ipv4 unicast", "no network 198.51.100.0/24")
    wait_until(
        lambda: any(
            ev["event"] == "withdraw" and ev["prefix"] == "198.51.100.0/24" for ev in _lines(out)
        ),
        timeout=20,
        what="the withdrawal on stdout",
    )


def test_anycast_healthcheck_two_hosts(lab: Lab, tmp_path: Path) -> None:
    """Two hosts announce the same /32 while their check passes: two paths and ECMP at the
    router; one host's service fails: its path goes, the other stays; back: two again."""
    r1, h1, h2 = lab.namespace("r1"), lab.namespace("h1"), lab.namespace("h2")
    l1, l2 = lab.link(r1, h1), lab.link(r1, h2)
    frr = lab.frr(
        r1,
        bgpd_config(
            65001,
            l1.a.ipv4,
            [FrrNeighbor(l1.b.ipv4, 65100), FrrNeighbor(l2.b.ipv4, 65100)],
            family_lines={"ipv4": ["maximum-paths 4"]},
        ),
    )
    prefix = "192.0.2.53/32"
    for name, link in (("h1", l1), ("h2", l2)):
        (tmp_path / f"{name}.ok").touch()
        lab.popen(
            link.b.ns,
            [
                PY,
                str(EXAMPLES / "anycast_healthcheck.py"),
                "--local-as",
                "65100",
                "--router-id",
                link.b.ipv4,
                "--peer",
                f"{link.a.ipv4}:65001",
                "--prefix",
                prefix,
                "--community",
                "65100:53",
                "--command",
                f"test -e {tmp_path / name}.ok",
                "--interval",
                "0.2",
                "--rise",
                "2",
                "--fall",
                "2",
            ],
            log=f"anycast-{name}.log",
        )

    def paths(n: int) -> dict[str, Any] | None:
        view = frr.route(prefix)
        ps = view.get("paths", [])
        return view if len(ps) == n else None

    def hops_in_fib() -> set[str]:
        entries = frr.fib(prefix)
        return {h.get("ip", "") for e in entries for h in e.get("nexthops", []) if h.get("fib")}

    view = wait_until(lambda: paths(2), timeout=30, what="two anycast paths")
    assert all("65100:53" in _communities(p) for p in view["paths"])
    wait_until(lambda: hops_in_fib() == {l1.b.ipv4, l2.b.ipv4}, timeout=10, what="2-way ECMP")

    (tmp_path / "h1.ok").unlink()
    view = wait_until(lambda: paths(1), timeout=15, what="h1's path withdrawn")
    assert best_path(view) is not None
    wait_until(lambda: hops_in_fib() == {l2.b.ipv4}, timeout=10, what="only h2 in the FIB")

    (tmp_path / "h1.ok").touch()
    wait_until(lambda: paths(2), timeout=15, what="h1's path back")


def test_rtbh_announcer_blackholes_at_the_edge(lab: Lab, tmp_path: Path) -> None:
    """iBGP trigger: /32s with 65535:666 and the discard next hop; FRR resolves them through its
    Null0 route and installs a blackhole; commands on stdin add and release addresses."""
    edge, trig = lab.namespace("edge"), lab.namespace("trigger")
    link = lab.link(edge, trig)
    frr = lab.frr(
        edge,
        bgpd_config(65001, link.a.ipv4, [FrrNeighbor(link.b.ipv4, 65001)]),
        staticd="ip route 192.0.2.1/32 Null0\n",
    )
    # the lab gives programs /dev/null as stdin: the commands come through a FIFO instead,
    # held open for writing (O_RDWR does not block) before the program opens it
    fifo = tmp_path / "commands"
    os.mkfifo(fifo)
    commands = os.open(fifo, os.O_RDWR)
    lab.popen(
        trig,
        [
            "sh",
            "-c",
            f'exec "$0" "$@" < {fifo}',
            PY,
            str(EXAMPLES / "rtbh_announcer.py"),
            "--local-as",
            "65001",
            "--router-id",
            link.b.ipv4,
            "--peer",
            f"{link.a.ipv4}:65001",
            "--blackhole-next-hop",
            "192.0.2.1",
            "203.0.113.7",
        ],
        log="rtbh.log",
    )

    def blackholed(prefix: str) -> dict[str, Any] | None:
        path = best_path(frr.route(prefix))
        if path is None:
            return None
        nhs = [h.get("ip") for h in path.get("nexthops", [])]
        return path if nhs == ["192.0.2.1"] else None

    path = wait_until(lambda: blackholed("203.0.113.7/32"), timeout=30, what="blackhole route")
    assert "blackhole" in _communities(path) and "no-export" in _communities(path)

    def fib_blackhole(prefix: str) -> bool:
        for entry in frr.fib(prefix):
            for hop in entry.get("nexthops", []):
                if hop.get("fib") and (hop.get("unreachable") or hop.get("blackhole")):
                    return True
        return False

    wait_until(lambda: fib_blackhole("203.0.113.7/32"), timeout=10, what="FIB blackhole")

    os.write(commands, b"add 203.0.113.9\nadd 2001:db8::1\ndel 203.0.113.7\n")
    wait_until(lambda: blackholed("203.0.113.9/32"), timeout=15, what="added address")
    frr.wait_route("203.0.113.7/32", present=False, timeout=15)

    def answers() -> str | None:
        text = (lab.dir / "rtbh.log").read_text()
        return text if "released" in text else None

    log = wait_until(answers, timeout=10, what="the announcer's answers")
    assert "error: 2001:db8::1/128: no IPv6 blackhole next hop" in log
    os.close(commands)


def test_mrt_replay_announces_the_sample_table(lab: Lab) -> None:
    frr, link = frr_facing(lab, ("r1", "replay"), 65002, ipv6_session=False)
    lab.popen(
        link.b.ns,
        [
            PY,
            str(EXAMPLES / "mrt_replay.py"),
            str(EXAMPLES / "mrt" / "sample-rib.mrt"),
            "--peer",
            f"{link.a.ipv4}:65001",
            "--local-as",
            "65002",
            "--router-id",
            link.b.ipv4,
            "--next-hop-v6",
            link.b.ipv6,
        ],
        log="replay.log",
    )
    wait_until(
        lambda: len(frr.routes("ipv4")) == 20 and len(frr.routes("ipv6")) == 4,
        timeout=30,
        what="the 24 prefixes of the sample dump",
    )
    path = best_path(frr.route("198.51.100.16/28"))
    assert path is not None
    assert path["aspath"]["string"] == "65002 64496 64501 65537"
    assert path.get("metric") == 10 and "64496:101" in _communities(path)
    v6 = best_path(frr.route("2001:db8:103::/48"))
    assert v6 is not None and v6["aspath"]["string"] == "65002 64496 64503 65559"


SEED = EXAMPLES / "seed"


def test_seed_frr_and_keepalived_configs_are_accepted(lab: Lab, tmp_path: Path) -> None:
    """r1's frr.conf runs (bgpd and staticd pass their dry runs and start) with the four core
    sessions and originates the aggregates; keepalived -t accepts the keepalived.conf that the
    agent renders for r1, in a namespace that has r1's eth1."""
    r1 = lab.namespace("r1")
    lines = (SEED / "frr-r1.conf").read_text().splitlines()
    static = [ln for ln in lines if ln.startswith(("ip route", "ipv6 route"))]
    bgpd = [ln for ln in lines if ln not in static]
    frr = lab.frr(r1, "\n".join(bgpd) + "\n", staticd="\n".join(static) + "\n")
    cores = {"198.51.100.1", "198.51.100.9", "2001:db8:ffff:101::1", "2001:db8:ffff:102::1"}
    assert cores <= set(frr.neighbors())
    frr.wait_route("203.0.113.0/24", timeout=15)
    frr.wait_route("2001:db8:100::/48", timeout=15)

    conf = tmp_path / "keepalived.conf"
    rendered = subprocess.run(
        [
            str(Path(PY).parent / "routeragent"),
            "render-keepalived",
            "-c",
            str(SEED / "routeragent-r1.toml"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    conf.write_text(rendered.stdout)
    r1.ip(
        "link", "add", "eth1", "type", "veth", "peer", "name", "eth1-peer"
    )  # no dummy module here
    r1.ip("link", "set", "eth1", "up")
    check = r1.exec(["keepalived", "-t", "-f", str(conf)], check=False)
    assert check.returncode == 0, check.stdout + check.stderr


def test_announce_to_frr(lab: Lab) -> None:
    """The README's smallest speaker: both default prefixes reach FRR with our community."""
    frr, link = frr_facing(lab, ("r1", "spk"), 65002, ipv6_session=False)
    lab.popen(
        link.b.ns,
        [
            PY,
            str(EXAMPLES / "announce_to_frr.py"),
            link.a.ipv4,
            "65001",
            "--local-as",
            "65002",
            "--router-id",
            link.b.ipv4,
            "--prefix",
            "198.51.100.0/24",
        ],
        log="announce.log",
    )
    view = frr.wait_route("198.51.100.0/24", timeout=30)
    path = best_path(view)
    assert path is not None and "65002:100" in _communities(path)
    assert path["aspath"]["string"] == "65002"


def _tutorial_block(n: int, router: str, host: str) -> str:
    """The n-th Python block of docs/tutorial.md with the tutorial's addresses replaced by the
    lab's (10.0.0.1 is the router, 10.0.0.2 this host)."""
    text = (ROOT / "docs" / "tutorial.md").read_text()
    code = text.split("```python\n")[n + 1].split("```", 1)[0]
    return code.replace("10.0.0.1", router).replace("10.0.0.2", host)


def test_tutorial_first_speaker_and_anycast_run_against_frr(lab: Lab, tmp_path: Path) -> None:
    """The tutorial's programs as a reader copies them: the first speaker's route reaches FRR;
    the anycast program announces while something listens on 127.0.0.1:53 and withdraws
    when it stops."""
    r1, h1, h2 = lab.namespace("r1"), lab.namespace("h1"), lab.namespace("h2")
    l1, l2 = lab.link(r1, h1), lab.link(r1, h2)
    frr = lab.frr(
        r1,
        bgpd_config(
            65001, l1.a.ipv4, [FrrNeighbor(l1.b.ipv4, 65002), FrrNeighbor(l2.b.ipv4, 65002)]
        ),
    )
    first = tmp_path / "first.py"
    first.write_text(_tutorial_block(0, l1.a.ipv4, l1.b.ipv4))
    lab.popen(h1, [PY, str(first)], log="tutorial-first.log")
    path = best_path(frr.wait_route("198.51.100.0/24", timeout=30))
    assert path is not None and "65002:100" in _communities(path)

    dns = lab.popen(
        h2,
        [PY, "-c", "import socket,time\ns=socket.create_server(('127.0.0.1',53))\ntime.sleep(600)"],
        log="fake-dns.log",
    )
    anycast = tmp_path / "anycast.py"
    anycast.write_text(_tutorial_block(2, l2.a.ipv4, l2.b.ipv4))
    lab.popen(h2, [PY, str(anycast)], log="tutorial-anycast.log")
    path = best_path(frr.wait_route("192.0.2.53/32", timeout=30))
    assert path is not None and "65002:53" in _communities(path)
    dns.kill()
    frr.wait_route("192.0.2.53/32", present=False, timeout=30)
