"""Self-tests of the interop lab (tests/lab): if these pass, a failing interop test is about the
code under test, not about the lab. Each daemon test asserts on the daemons' own views (vtysh
JSON, birdc, gobgp JSON); the teardown and sweep tests assert that nothing is left behind."""

from __future__ import annotations

import asyncio
import json
import os
import select
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest
from lab import (
    CommandError,
    FrrConfigError,
    FrrNeighbor,
    GobgpNeighbor,
    Lab,
    WaitTimeout,
    best_path,
    bgpd_config,
    gobgp_config,
    next_hops,
    require,
    wait_until,
)
from lab.netns import namespace_names
from lab.nsenter import current_netns_inode
from lab.peering import frr_facing
from lab.procs import cmdline, pid_alive, run
from lab.runs import Run
from lab.sweep import sweep_stale

pytestmark = pytest.mark.interop

TESTS_DIR = Path(__file__).resolve().parent.parent


def _first_nexthops(view: dict[str, Any]) -> dict[str, str]:
    """scope ("global", "link-local") -> address of the best path's next hops (FRR JSON)."""
    best = best_path(view)
    assert best is not None, view
    return next_hops(best)


# --- namespaces, links and our own code inside them ----------------------------------------


def test_link_addresses_are_usable_at_once(lab: Lab) -> None:
    a, b = lab.namespace("a"), lab.namespace("b")
    link = lab.link(a, b)
    assert a.name.startswith(f"bs-{os.getpid()}-")
    assert (link.a.ipv4, link.b.ipv4, link.a.ipv6, link.b.ipv6) == (
        "10.1.0.1",
        "10.1.0.2",
        "2001:db8:1::1",
        "2001:db8:1::2",
    )
    for end in link:
        inet6 = [x for x in end.ns.addresses(end.ifname) if x["family"] == "inet6"]
        assert {x["local"] for x in inet6 if x["scope"] == "global"} == {end.ipv6}
        assert not [x for x in inet6 if x["scope"] == "global" and x.get("tentative")]  # nodad
    # link-locals come with the carrier; DAD is off for them too, so they are usable at once
    start = time.monotonic()
    lla, llb = link.a.link_local(), link.b.link_local()
    assert time.monotonic() - start < 0.5
    assert lla.startswith("fe80:") and llb.startswith("fe80:") and lla != llb
    # a program run with ip netns exec sees the namespace's addresses, not the host's
    seen = b.exec(["ip", "-j", "addr", "show", "dev", link.b.ifname]).stdout
    assert link.b.ipv4 in seen and link.b.ipv6 in seen


def _tcp_roundtrip(host: str, port: int, payload: bytes) -> bytes:
    """Runs in a forked child inside a namespace: one blocking TCP exchange."""
    import socket

    with socket.create_connection((host, port), timeout=5) as sock:
        sock.sendall(payload)
        return sock.recv(100)


def _serve_echo(host: str, port: int) -> None:
    """Runs in a forked child inside a namespace: an asyncio echo server until SIGTERM."""

    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"echo:" + await reader.read(100))
        await writer.drain()
        writer.close()

    async def main() -> None:
        server = await asyncio.start_server(echo, host, port)
        async with server:
            await server.serve_forever()

    asyncio.run(main())


async def test_asyncio_in_namespaces_in_process_and_forked(lab: Lab) -> None:
    a, b = lab.namespace("a"), lab.namespace("b")
    link = lab.link(a, b)
    host_ns = current_netns_inode()
    served: list[bytes] = []

    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        served.append(await reader.read(100))
        writer.write(b"in-process")
        await writer.drain()
        writer.close()

    # 1. in-process: a listener created while the test thread is inside namespace a ...
    with a.entered():
        inside_a = current_netns_inode()
        server = await asyncio.start_server(echo, "::", 1790)
    assert current_netns_inode() == host_ns != inside_a
    async with server:
        # ... is reached from namespace b over the link-local address with a scope: getaddrinfo
        # runs in the executor, whose threads must see b's interface names
        with b.entered():
            loop = asyncio.get_running_loop()
            assert await loop.run_in_executor(None, current_netns_inode) != host_ns
            target = f"{link.a.link_local()}%{link.b.ifname}"
            reader, writer = await asyncio.open_connection(target, 1790)
            writer.write(b"hello")
            assert await reader.read(100) == b"in-process"
            writer.close()
    assert served == [b"hello"]
    assert await asyncio.get_running_loop().run_in_executor(None, current_netns_inode) == host_ns

    # 2. forked: an asyncio server in a child inside namespace a, reached from b (blocking call
    # in a forked child of its own, moved off the event loop)
    child = lab.spawn(a, _serve_echo, link.a.ipv4, 1791)

    def roundtrip() -> bytes:
        return bytes(b.call(_tcp_roundtrip, link.a.ipv4, 1791, b"ping", timeout=10))

    reply = await asyncio.to_thread(
        wait_until, roundtrip, timeout=10, what="echo server in namespace a"
    )
    assert reply == b"echo:ping"
    child.stop()
    assert not child.alive()

    # 3. ip netns exec: a program started inside b runs in b's namespace
    probe = "import os; print(os.stat('/proc/self/ns/net').st_ino)"
    proc = lab.popen(b, [sys.executable, "-c", probe], stdout=subprocess.PIPE, text=True)
    out, _ = await asyncio.to_thread(proc.communicate, timeout=10)
    assert int(out) == os.stat(f"/run/netns/{b.name}").st_ino


def test_commands_are_bounded() -> None:
    with pytest.raises(CommandError, match=r"no answer within 0\.2s"):
        run(["sleep", "5"], timeout=0.2)
    with pytest.raises(WaitTimeout, match="never; last probe: False"):
        wait_until(lambda: False, timeout=0.2, what="never", interval=0.05)


# --- daemons ---------------------------------------------------------------------------------


def test_frr_frr_ebgp_ipv4_ipv6_routes_cross(lab: Lab) -> None:
    r1, r2 = lab.namespace("r1"), lab.namespace("r2")
    link = lab.link(r1, r2)

    def bfd(peer: str) -> str:
        return f"bfd\n peer {peer}\n  receive-interval 100\n  transmit-interval 100\n"

    f1 = lab.frr(
        r1,
        bgpd_config(
            65001,
            link.a.ipv4,
            [
                FrrNeighbor(link.b.ipv4, 4200000002, lines=("bfd",)),
                FrrNeighbor(link.b.ipv6, 4200000002),
            ],
            networks=["10.101.0.0/24", "2001:db8:101::/48"],
            family_lines={"ipv4": ["redistribute static"]},
        ),
        staticd="ip route 10.111.0.0/24 blackhole\n",
        bfdd=bfd(link.b.ipv4),
    )
    f2 = lab.frr(
        r2,
        bgpd_config(
            4200000002,
            link.b.ipv4,
            [FrrNeighbor(link.a.ipv4, 65001, lines=("bfd",)), FrrNeighbor(link.a.ipv6, 65001)],
            networks=["10.102.0.0/24", "2001:db8:102::/48"],
        ),
        bfdd=bfd(link.a.ipv4),
    )
    f1.wait_established(link.b.ipv4, link.b.ipv6)
    view = f2.wait_established(link.a.ipv4, link.a.ipv6)
    assert view[link.a.ipv6]["remoteAs"] == 65001
    assert view[link.a.ipv6]["localAs"] == 4200000002

    v4 = f2.wait_route("10.101.0.0/24")
    assert v4["paths"][0]["aspath"]["string"] == "65001"
    assert _first_nexthops(v4) == {"global": link.a.ipv4}
    v6 = f2.wait_route("2001:db8:101::/48")
    assert _first_nexthops(v6) == {"global": link.a.ipv6, "link-local": link.a.link_local()}
    back = f1.wait_route("2001:db8:102::/48")
    assert back["paths"][0]["aspath"]["string"] == "4200000002"

    # the optional daemons: staticd's route is redistributed, bfdd's session comes up
    assert f2.wait_route("10.111.0.0/24")["paths"][0]["origin"] == "incomplete"
    assert f1.fib("10.111.0.0/24")[0]["protocol"] == "static"
    peers = wait_until(
        lambda: [p for p in f2.show_json("show bfd peers", daemon="bfdd") if p["status"] == "up"],
        timeout=10,
        what="BFD session up",
    )
    assert peers[0]["peer"] == link.a.ipv4

    summary = f2.show_json("show bgp ipv4 unicast summary")
    assert summary["peers"][link.a.ipv4]["pfxRcd"] == 2
    # zebra took the routes into the FIB (its JSON and the kernel's)
    fib = wait_until(
        lambda: [r for r in f2.fib("2001:db8:101::/48") if r.get("installed")],
        timeout=10,
        what="v6 route installed by zebra",
    )
    assert fib[0]["nexthops"][0]["ip"] == link.a.link_local()
    kernel = {r["dst"]: r for r in r2.routes(6)}
    assert kernel["2001:db8:101::/48"]["gateway"] == link.a.link_local()
    assert "10.101.0.0/24" in {r["dst"] for r in r2.routes(4)}


def test_frr_bird_ipv4_ipv6(lab: Lab) -> None:
    frr, link = frr_facing(
        lab, ("frr", "bird"), 65002, networks=["10.101.0.0/24", "2001:db8:101::/48"]
    )
    bird = lab.bird(
        link.b.ns,
        textwrap.dedent(
            f"""\
            router id {link.b.ipv4};
            protocol device {{ }}
            protocol static s4 {{ ipv4; route 10.102.0.0/24 blackhole; }}
            protocol static s6 {{ ipv6; route 2001:db8:102::/48 blackhole; }}
            protocol bgp frr4 {{
              local {link.b.ipv4} as 65002; neighbor {link.a.ipv4} as 65001;
              connect retry time 1;
              ipv4 {{ import all; export all; next hop self; }};
            }}
            protocol bgp frr6 {{
              local {link.b.ipv6} as 65002; neighbor {link.a.ipv6} as 65001;
              connect retry time 1;
              ipv6 {{ import all; export all; next hop self; }};
            }}
            """
        ),
    )
    frr.wait_established(link.b.ipv4, link.b.ipv6)
    bird.wait_established("frr4", "frr6")
    assert bird.protocol("frr6")["Neighbor AS"] == "65001"

    v4 = frr.wait_route("10.102.0.0/24")
    assert v4["paths"][0]["aspath"]["string"] == "65002"
    assert _first_nexthops(v4) == {"global": link.b.ipv4}
    v6 = frr.wait_route("2001:db8:102::/48")
    assert _first_nexthops(v6)["global"] == link.b.ipv6

    [b4] = bird.wait_route("10.101.0.0/24")
    assert (b4["protocol"], b4["BGP.as_path"], b4["via"]) == ("frr4", "65001", link.a.ipv4)
    [b6] = bird.wait_route("2001:db8:101::/48")
    # FRR sends global + link-local next hops (32 bytes) on a shared link; BIRD shows both
    assert b6["BGP.next_hop"].split() == [link.a.ipv6, link.a.link_local()]


def test_frr_gobgp_ipv4_ipv6(lab: Lab) -> None:
    frr, link = frr_facing(
        lab, ("frr", "gobgp"), 65003, networks=["10.101.0.0/24", "2001:db8:101::/48"]
    )
    gobgp = lab.gobgp(
        link.b.ns,
        gobgp_config(
            65003,
            link.b.ipv4,
            [GobgpNeighbor(link.a.ipv4, 65001), GobgpNeighbor(link.a.ipv6, 65001)],
        ),
    )
    gobgp.add_route("10.103.0.0/24", "nexthop", link.b.ipv4, "community", "65003:7")
    gobgp.add_route("2001:db8:103::/48", "nexthop", link.b.ipv6)
    frr.wait_established(link.b.ipv4, link.b.ipv6)
    gobgp.wait_established(link.a.ipv4, link.a.ipv6)

    v4 = frr.wait_route("10.103.0.0/24")
    assert v4["paths"][0]["community"]["string"] == "65003:7"
    assert _first_nexthops(v4) == {"global": link.b.ipv4}
    v6 = frr.wait_route("2001:db8:103::/48")
    assert _first_nexthops(v6)["global"] == link.b.ipv6

    [g4] = gobgp.wait_route("10.101.0.0/24")
    attrs = {a["type"]: a for a in g4["attrs"]}
    assert attrs[2]["as_paths"][0]["asns"] == [65001]
    assert attrs[3]["nexthop"] == link.a.ipv4
    [g6] = gobgp.wait_route("2001:db8:101::/48")
    assert {a["type"]: a for a in g6["attrs"]}[14]["nexthop"] == link.a.ipv6


def test_frr_config_errors_and_timeouts_explain_themselves(lab: Lab) -> None:
    ns = lab.namespace("r")
    with pytest.raises(FrrConfigError, match="no such thing"):
        lab.frr(ns, "router bgp 65001\n no such thing\n", name="broken")
    frr = lab.frr(ns, bgpd_config(65001, "10.9.9.9", [FrrNeighbor("10.9.9.1", 65002)]))
    with pytest.raises(WaitTimeout, match=r"10\.9\.9\.2: not configured"):
        frr.wait_established("10.9.9.2", timeout=0.3)
    with pytest.raises(CommandError, match="Unknown command"):
        frr.vtysh("show no such command")
    assert any(name.endswith("bgpd.log") for name, _ in lab.log_tails())


# --- teardown and sweeping -------------------------------------------------------------------


def _processes_naming(text: str) -> list[int]:
    return [
        int(p.name)
        for p in Path("/proc").iterdir()
        if p.name.isdigit() and any(text in arg for arg in cmdline(int(p.name)))
    ]


def test_teardown_leaves_no_namespace_or_process(lab_run: Run) -> None:
    require("frr", "bird", "gobgp")
    lab = Lab(lab_run, "teardown")
    try:
        r1, r2, r3 = lab.namespace("r1"), lab.namespace("r2"), lab.namespace("r3")
        link = lab.link(r1, r2)
        lan = lab.lan([r1, r2, r3])
        assert lan[2].ipv4 == "10.2.0.3"
        frr = lab.frr(r1, bgpd_config(65001, link.a.ipv4, [FrrNeighbor(link.b.ipv4, 65002)]))
        lab.bird(r2, "protocol device { }\n")
        lab.gobgp(r3, gobgp_config(65003, lan[2].ipv4, []))
        lab.spawn(r2, _serve_echo, "0.0.0.0", 1792)
        lab.popen(r3, ["sleep", "600"])
        # a process the lab never heard of, and a daemon that died on its own
        rogue = r2.popen(["sleep", "600"])
        frr.daemons["bgpd"].kill()
    finally:
        footprint = lab.footprint()
        lab.close()
    assert len(footprint.namespaces) == 4 and len(footprint.pids) == 6
    assert not set(footprint.namespaces) & set(namespace_names())
    assert not [p for p in footprint.pids if pid_alive(p)]
    assert rogue.wait(timeout=5) == -signal.SIGTERM
    assert _processes_naming(str(footprint.directory)) == []


_CRASHING_RUN = """
import json, sys, time
from lab import Lab, bgpd_config
from lab.runs import Run
lab = Lab(Run(), "crashed")
ns = lab.namespace("victim")
frr = lab.frr(ns, bgpd_config(65001, "10.9.0.1"))
lab.popen(ns, ["sleep", "600"])
fp = lab.footprint()
print(json.dumps({"ns": fp.namespaces, "pids": fp.pids, "run": str(lab.run.dir)}), flush=True)
time.sleep(600)
"""


def _start_run() -> tuple[subprocess.Popen[str], dict[str, Any]]:
    env = {**os.environ, "PYTHONPATH": str(TESTS_DIR)}
    proc = subprocess.Popen(
        [sys.executable, "-c", _CRASHING_RUN], stdout=subprocess.PIPE, text=True, env=env
    )
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], 30)
    if not ready:
        proc.kill()
        pytest.fail("the run to be crashed did not build its lab in 30 s")
    return proc, json.loads(proc.stdout.readline())


def test_sweeper_removes_crashed_runs_and_spares_a_live_one(lab_run: Run) -> None:
    require("frr")
    runs: list[tuple[subprocess.Popen[str], dict[str, Any]]] = []
    try:
        for _ in range(3):
            runs.append(_start_run())  # one by one: a failure still kills the earlier ones
        (crashed, dead), (orphaned, headless), (_, live) = runs
        for proc in (crashed, orphaned):
            proc.kill()  # SIGKILL: no teardown ran
            proc.wait(5)
        # a run whose namespace vanished (ip netns del) but whose daemons live on: only the
        # pid files lead to them
        for name in headless["ns"]:
            run(["ip", "netns", "del", name])
        for leftovers in (dead, headless):
            assert all(pid_alive(p) for p in leftovers["pids"])
        report = sweep_stale()
        assert set(dead["ns"]) <= set(report.namespaces)
        assert set(dead["pids"]) | set(headless["pids"]) <= set(report.pids)
        for leftovers in (dead, headless):
            assert not set(leftovers["ns"]) & set(namespace_names())
            assert not [p for p in leftovers["pids"] if pid_alive(p)]
            assert not Path(leftovers["run"]).exists()
            assert _processes_naming(leftovers["run"]) == []
        # the live run (and this one) keep everything
        assert set(live["ns"]) <= set(namespace_names())
        assert all(pid_alive(p) for p in live["pids"])
        assert Path(live["run"]).is_dir() and lab_run.dir.is_dir()
    finally:
        for proc, _ in runs:
            proc.kill()
            proc.wait(5)
        sweep_stale()
    assert not set(live["ns"]) & set(namespace_names())
    assert not [p for p in live["pids"] if pid_alive(p)]


def test_failed_test_report_carries_daemon_logs(tmp_path: Path) -> None:
    require("frr")
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    (tmp_path / "conftest.py").write_text(
        "from lab.pytest_support import lab, lab_run, pytest_runtest_makereport\n"
    )
    (tmp_path / "test_fails.py").write_text(
        textwrap.dedent(
            """\
            from lab import bgpd_config

            def test_fails(lab):
                lab.frr(lab.namespace("x"), bgpd_config(65001, "10.9.0.1"), name="r-x")
                assert False, "deliberate"
            """
        )
    )
    env = {**os.environ, "PYTHONPATH": str(TESTS_DIR)}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1, done.stdout
    assert "1 failed" in done.stdout
    assert "lab log r-x/bgpd.log" in done.stdout
    assert "lab log r-x/zebra.log" in done.stdout
