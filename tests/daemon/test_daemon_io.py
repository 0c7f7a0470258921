"""The asyncio pieces on their own, with real sockets and processes (loopback and files only):
the control socket with its client, health checks, the metrics endpoint, helper processes."""

from __future__ import annotations

import asyncio
import os
import socket
import stat
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from bgpspeak import Route
from bgpspeak.daemon.checks import run_check
from bgpspeak.daemon.config_model import (
    CommandCheck,
    ControlConfig,
    HttpCheck,
    ProcessConfig,
    ServiceConfig,
    TcpCheck,
)
from bgpspeak.daemon.control_client import ControlClient, ControlError
from bgpspeak.daemon.control_protocol import RequestError
from bgpspeak.daemon.control_server import ControlServer, ControlSocketError
from bgpspeak.daemon.exabgp_apply import ExaSource, Request
from bgpspeak.daemon.exabgp_json import NeighborInfo
from bgpspeak.daemon.health import HealthView
from bgpspeak.daemon.metrics import Snapshot, render, serve_metrics
from bgpspeak.daemon.processes import ProcessRunner
from bgpspeak.daemon.route_table import Op, RouteTable
from bgpspeak.daemon.services import ServiceRunner
from bgpspeak.speaker import PeerStatus
from bgpspeak.speaker_events import PeerUp

pytestmark = pytest.mark.timeout(60)


# --- control socket -----------------------------------------------------------------------------


async def echo(req: dict[str, Any]) -> dict[str, Any]:
    if req["command"] == "withdraw":
        raise RequestError("no such route")
    if req["command"] == "reload":
        raise RuntimeError("boom")
    return {"echo": req.get("n")}


async def test_control_socket_answers_in_order_with_acks(tmp_path: Path) -> None:
    server = ControlServer(ControlConfig(str(tmp_path / "run" / "c.sock")), echo)
    await server.start()
    try:
        assert stat.S_IMODE(os.stat(server.path).st_mode) == 0o660

        def client() -> list[dict[str, Any]]:
            with ControlClient(str(server.path)) as c:
                one = c.request("ping", n=-1)
                many = list(
                    c.pipeline(({"command": "ping", "n": i} for i in range(5000)), window=64)
                )
                errors = [c.request("withdraw"), c.request("reload"), c.request("nonsense")]
            return [one, *many, *errors]

        answers = await asyncio.to_thread(client)
        assert answers[0] == {"echo": -1, "ok": True}
        assert [a["echo"] for a in answers[1:5001]] == list(range(5000))
        assert answers[5001] == {"ok": False, "error": "no such route"}
        assert answers[5002] == {"ok": False, "error": "internal error: boom"}
        assert answers[5003]["error"].startswith("unknown command 'nonsense'")
        assert server.requests == 5004
    finally:
        await server.close()
    assert not server.path.exists()


async def test_a_client_that_never_reads_does_not_stall_others(tmp_path: Path) -> None:
    server = ControlServer(ControlConfig(str(tmp_path / "c.sock")), echo)
    await server.start()
    lazy = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        lazy.connect(str(server.path))
        lazy.setblocking(False)
        sent = 0
        big = b'{"command":"ping","n":"' + b"x" * 4000 + b'"}\n'
        for _ in range(2000):  # ~8 MB of requests whose answers nobody reads
            try:
                sent += lazy.send(big)
            except BlockingIOError:
                await asyncio.sleep(0.01)
        assert sent > 1_000_000

        def other() -> dict[str, Any]:
            with ControlClient(str(server.path), timeout=5) as c:
                return c.request("ping", n=1)

        assert await asyncio.wait_for(asyncio.to_thread(other), 10) == {"echo": 1, "ok": True}
    finally:
        lazy.close()
        await server.close()


async def test_stale_and_busy_sockets(tmp_path: Path) -> None:
    path = tmp_path / "c.sock"
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(str(path))
    stale.close()  # a file nobody listens on, as after a crash
    first = ControlServer(ControlConfig(str(path), mode=0o600), echo)
    await first.start()
    try:
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        with pytest.raises(ControlSocketError, match="is in use"):
            await ControlServer(ControlConfig(str(path)), echo).start()
        with pytest.raises(ControlSocketError, match="no group"):
            await ControlServer(
                ControlConfig(str(tmp_path / "g.sock"), group="no-such-grp"), echo
            ).start()
    finally:
        await first.close()
    with pytest.raises(ControlError, match="is bgpspeak running"):
        ControlClient(str(path))


# --- health checks ------------------------------------------------------------------------------


async def test_command_checks() -> None:
    assert await run_check(CommandCheck(("true",)), 5) == (True, "exit 0")
    ok, detail = await run_check(CommandCheck(("sh", "-c", "echo broken >&2; exit 3")), 5)
    assert (ok, detail) == (False, "exit 3: broken")
    t0 = time.monotonic()
    ok, detail = await run_check(CommandCheck(("sh", "-c", "sleep 30 & sleep 30")), 0.3)
    assert (ok, detail) == (False, "timeout after 0.3 s") and time.monotonic() - t0 < 5
    ok, detail = await run_check(CommandCheck(("/nonexistent/check",)), 5)
    assert not ok and "No such file" in detail


async def test_tcp_and_http_checks() -> None:
    status = {"code": 200}

    async def http(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request = await reader.readuntil(b"\r\n\r\n")
        assert request.startswith(b"GET /health?x=1 HTTP/1.0\r\nHost: 127.0.0.1:")
        writer.write(f"HTTP/1.0 {status['code']} X\r\n\r\n".encode())
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(http, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        assert await run_check(TcpCheck("127.0.0.1", port), 2) == (
            True,
            f"connected to 127.0.0.1:{port}",
        )
        check = HttpCheck("127.0.0.1", port, "/health?x=1", f"127.0.0.1:{port}", (200, 204))
        assert await run_check(check, 2) == (True, "HTTP 200")
        status["code"] = 503
        assert await run_check(check, 2) == (False, "HTTP 503")
    finally:
        server.close()
        await server.wait_closed()
    ok, _ = await run_check(TcpCheck("127.0.0.1", port), 2)  # nobody listens any more
    assert not ok


async def test_service_runner_publishes_both_forms(tmp_path: Path) -> None:
    flag = tmp_path / "ok"
    flag.touch()
    svc = ServiceConfig(
        "dns",
        (Route.make("192.0.2.53/32"),),
        CommandCheck(("test", "-e", str(flag))),
        interval=0.05,
        timeout=1,
        rise=1,
        fall=2,
        damping=None,
    )
    table = RouteTable()
    applied: list[Op] = []
    runner = ServiceRunner(svc, table, applied.extend, 65000)
    runner.start()
    try:

        async def until(present: bool) -> None:
            for _ in range(200):
                if bool(table.best()) == present:
                    return
                await asyncio.sleep(0.02)
            raise AssertionError(f"service routes present={present} never reached")

        await until(True)
        flag.unlink()
        await until(False)
        runner.force("up")
        await until(True)
        runner.force(None)
        await until(False)
        assert runner.view().state == "failed" and runner.view().flaps == 1
    finally:
        await runner.stop()
    assert table.best() == {}


# --- metrics ------------------------------------------------------------------------------------


def snapshot() -> Snapshot:
    import ipaddress

    peer = PeerStatus(
        address=ipaddress.ip_address("10.0.0.1"),
        remote_as=65001,
        state="Established",
        uptime=12.5,
        received=3,
        advertised=4,
        messages_in={"update": 5, "keepalive": 2},
        messages_out={"update": 1},
        last_error="",
        description='core "A"',
    )
    view = HealthView("healthy", True, False, 0.0, None, 3, 0, 1, "exit 0")
    return Snapshot((peer,), {"10.0.0.1": 2}, {"dns": view}, 9, 100, {"p": 7}, 60.0)


def test_metrics_text() -> None:
    text = render(snapshot())
    lines = text.splitlines()
    assert 'bgpspeak_peer_up{peer="10.0.0.1"} 1' in lines
    assert 'bgpspeak_peer_state{peer="10.0.0.1",state="Established"} 1' in lines
    assert 'bgpspeak_peer_state{peer="10.0.0.1",state="Idle"} 0' in lines
    assert 'bgpspeak_messages_received_total{peer="10.0.0.1",type="update"} 5' in lines
    assert 'bgpspeak_peer_errors_total{peer="10.0.0.1"} 2' in lines
    assert 'bgpspeak_service_healthy{service="dns"} 1' in lines
    assert (
        "bgpspeak_routes 9" in lines and 'bgpspeak_process_commands_total{process="p"} 7' in lines
    )
    families = [ln.split()[2] for ln in lines if ln.startswith("# TYPE")]
    assert len(families) == len(set(families))  # each family declared once
    for ln in lines:  # every sample is NAME{labels} VALUE with a float-parsable value
        if not ln.startswith("#"):
            float(ln.rsplit(" ", 1)[1])


async def test_metrics_over_http() -> None:
    server = await serve_metrics("127.0.0.1", 0, snapshot)
    port = server.sockets[0].getsockname()[1]

    async def get(path: str) -> bytes:
        r, w = await asyncio.open_connection("127.0.0.1", port)
        w.write(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        data = await r.read()
        w.close()
        return data

    try:
        ok = await get("/metrics")
        assert ok.startswith(b"HTTP/1.0 200 OK\r\n") and b"text/plain; version=0.0.4" in ok
        assert ok.endswith(render(snapshot()).encode())
        assert (await get("/nope")).startswith(b"HTTP/1.0 404")
    finally:
        server.close()
        await server.wait_closed()


# --- helper processes ---------------------------------------------------------------------------

HELPER = textwrap.dedent(
    """
    import sys
    out = open(sys.argv[1], "w")
    def say(line):
        sys.stdout.write(line + "\\n"); sys.stdout.flush()
        out.write(sys.stdin.readline()); out.flush()
    say("announce route 10.0.0.0/24 next-hop self med 5")
    say("announce route 10.0.0.1/24")
    say("version")
    out.write(sys.stdin.readline()); out.flush()
    for line in sys.stdin:   # JSON events, until bgpspeak closes our stdin
        out.write(line); out.flush()
        if '"state": "up"' in line:
            sys.stdout.write("withdraw route 10.0.0.0/24\\n"); sys.stdout.flush()
            out.write(sys.stdin.readline()); out.flush()
            break
    """
)


async def test_a_helper_process_end_to_end(tmp_path: Path) -> None:
    import ipaddress

    from bgpspeak.session.negotiate import Negotiated

    script = tmp_path / "helper.py"
    script.write_text(HELPER)
    record = tmp_path / "record.txt"
    table = RouteTable()
    peer = ipaddress.ip_address("10.0.0.1")
    exa = ExaSource("process:h", table, lambda: [peer])
    answered: list[Request] = []

    def requests(r: Request) -> list[str]:
        answered.append(r)
        return ["bgpspeak test"]

    runner = ProcessRunner(
        ProcessConfig(
            "h", (sys.executable, str(script), str(record)), events=("state",), respawn=False
        ),
        exa,
        lambda ops: None,
        requests,
        lambda addr: NeighborInfo(str(addr), "10.0.0.2", 65001, 65002),
        "host",
    )
    runner.start()
    try:
        for _ in range(200):
            if record.exists() and record.read_text().count("\n") >= 4:
                break
            await asyncio.sleep(0.02)
        assert [str(k[1]) for k in table.best()] == ["10.0.0.0/24"]
        runner.on_event(PeerUp(peer, Negotiated.__new__(Negotiated)))
        for _ in range(200):
            if runner._task is not None and runner._task.done():
                break
            await asyncio.sleep(0.02)
    finally:
        await runner.stop()
    lines = record.read_text().splitlines()
    assert lines[:3] == ["done", "error", "bgpspeak test"]
    assert lines[3] == "done"
    assert '"type": "state"' in lines[4] and '"peer": "10.0.0.1"' in lines[4]
    assert lines[5] == "done"
    assert answered == [Request("version")]
    assert runner.commands == 4 and runner.errors == 1
    assert table.best() == {}  # withdrawn by the helper, and everything goes when it exits


async def test_a_helper_that_exits_loses_its_routes_and_is_restarted(tmp_path: Path) -> None:
    script = tmp_path / "once.py"
    script.write_text(
        "import sys, time\n"
        "print('announce route 10.5.0.0/16 next-hop self', flush=True)\n"
        "time.sleep(0.3)\n"
    )
    table = RouteTable()
    seen: list[bool] = []

    def apply(ops: list[Op]) -> None:
        seen.append(bool(table.best()))

    runner = ProcessRunner(
        ProcessConfig("once", (sys.executable, str(script)), ack=False),
        ExaSource("process:once", table, list),
        apply,
        lambda r: [],
        lambda a: NeighborInfo(str(a), "", None, 1),
        "host",
    )
    runner.start()
    try:
        for _ in range(300):
            if runner.starts >= 2:
                break
            await asyncio.sleep(0.02)
    finally:
        await runner.stop()
    assert runner.starts >= 2  # started again after the first run ended (1 s backoff)
    assert seen[:2] == [True, False]  # announced, then withdrawn when the helper exited
    assert table.best() == {}
