"""The whole daemon in process over loopback (127.0.0.1 <-> 127.0.0.2), with a plain Speaker as
its neighbor: control requests, peer actions, rib-in and reload, without root. The same daemon
against FRR, as a subprocess in namespaces, is tests/interop/test_daemon_frr.py."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path
from typing import Any

import pytest

from bgpspeak import EventStream, Neighbor, PeerDown, PeerUp, Route, RouteReceived, Speaker
from bgpspeak.cli import main
from bgpspeak.daemon.config_load import load_config
from bgpspeak.daemon.control_protocol import RequestError
from bgpspeak.daemon.runtime import Daemon
from bgpspeak.wire import Prefix

pytestmark = pytest.mark.timeout(60)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def toml(port: int, sock: Path, extra_peer: bool = False) -> str:
    peers = (
        '[[peers]]\naddress = "127.0.0.2"\nasn = 65002\npassive = true\n'
        'families = ["ipv4/unicast"]\n'
    )
    if extra_peer:
        peers += '[[peers]]\naddress = "127.0.0.3"\nasn = 65003\npassive = true\n'
    return (
        f'local_as = 65001\nrouter_id = "192.0.2.1"\nlisten = ["127.0.0.1:{port}"]\n'
        f'[control]\nsocket = "{sock}"\n'
        '[[routes]]\nprefix = "198.51.100.0/24"\nmed = 1\n' + peers
    )


async def until(stream: EventStream, kind: type, timeout: float = 10.0, **match: object) -> Any:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        ev = await stream.get(max(0.01, deadline - loop.time()))
        if isinstance(ev, kind) and all(getattr(ev, k) == v for k, v in match.items()):
            return ev


async def test_daemon_in_process(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    port = free_port()
    path = tmp_path / "speaker.toml"
    path.write_text(toml(port, tmp_path / "c.sock"))
    daemon = Daemon(load_config(path), path)
    neighbor = Speaker(65002, "192.0.2.2", listen=())
    neighbor.add_neighbor(
        Neighbor(
            "127.0.0.1",
            remote_as=65001,
            port=port,
            local_address="127.0.0.2",
            families=("ipv4/unicast",),
            connect_retry_time=1,
        )
    )
    neighbor.announce(Route.make("203.0.113.0/24", communities=["65002:7"]))
    events = neighbor.events()
    run = asyncio.create_task(daemon.run())
    await neighbor.start()
    try:
        await until(events, PeerUp)
        got = await until(events, RouteReceived, prefix=Prefix.parse("198.51.100.0/24"))
        assert got.peer.exploded == "127.0.0.1"

        async def ask(**req: Any) -> dict[str, Any]:
            answer = await daemon.handle(req)
            answer.setdefault("ok", True)
            return answer

        # announce through the ExaBGP form and the JSON form, both reach the neighbor
        assert (await ask(command="exabgp", line="announce route 10.7.0.0/16 next-hop self med 7"))[
            "ok"
        ]
        await until(events, RouteReceived, prefix=Prefix.parse("10.7.0.0/16"))
        assert (await ask(command="announce", routes=[{"prefix": "10.8.0.0/16", "med": 8}]))[
            "announced"
        ] == 1
        await until(events, RouteReceived, prefix=Prefix.parse("10.8.0.0/16"))
        version = await ask(command="exabgp", line="version")
        assert version["output"][0].startswith("bgpspeak ")

        # rib-in and peers
        rib = await ask(command="show-rib-in", peer="127.0.0.2")
        (r,) = rib["routes"]
        assert (r["prefix"], r["communities"], r["as_path"]) == (
            "203.0.113.0/24",
            ["65002:7"],
            "65002",
        )
        (p,) = (await ask(command="show-peers"))["peers"]
        assert (p["state"], p["received"], p["advertised"], p["enabled"]) == (
            "Established",
            1,
            3,
            True,
        )
        routes = (await ask(command="show-routes"))["routes"]
        assert [(x["prefix"], x["source"]) for x in routes] == [
            ("10.7.0.0/16", "api"),
            ("10.8.0.0/16", "api"),
            ("198.51.100.0/24", "static"),
        ]

        # the CLI's tables, over the real control socket (the CLI blocks: run it in a thread)
        sock = str(tmp_path / "c.sock")
        assert await asyncio.to_thread(main, ["show", "peers", "--socket", sock]) == 0
        table = capsys.readouterr().out.splitlines()
        assert table[0].split() == [
            "PEER",
            "AS",
            "STATE",
            "UPTIME",
            "RECEIVED",
            "ADVERTISED",
            "NOTE",
        ]
        assert table[1].split()[:3] == ["127.0.0.2", "65002", "Established"]
        assert await asyncio.to_thread(main, ["show", "routes", "--socket", sock]) == 0
        table = capsys.readouterr().out.splitlines()
        assert table[1].split() == ["10.7.0.0/16", "self", "api", "all", "med", "7"]
        assert await asyncio.to_thread(main, ["show", "rib-in", "127.0.0.2", "--socket", sock]) == 0
        table = capsys.readouterr().out.splitlines()
        assert table[1].split() == [
            "203.0.113.0/24",
            "127.0.0.2",
            "path",
            "65002,",
            "communities",
            "65002:7",
        ]
        assert await asyncio.to_thread(main, ["withdraw", "10.9.0.0/16", "--socket", sock]) == 0
        assert await asyncio.to_thread(main, ["peer", "127.0.0.9", "reset", "--socket", sock]) == 1
        assert "no neighbor 127.0.0.9 is configured" in capsys.readouterr().err
        assert await asyncio.to_thread(main, ["show", "peers", "--socket", sock + "x"]) == 69

        # route refresh: the daemon asks, the neighbor answers by sending its routes again
        assert (
            "route refresh requested"
            in (await ask(command="peer", peer="127.0.0.2", action="refresh"))["result"]
        )

        # shutdown and enable one neighbor
        await ask(command="peer", peer="127.0.0.2", action="shutdown", message="maintenance")
        down = await until(events, PeerDown)
        assert "maintenance" in down.reason
        (p,) = (await ask(command="show-peers"))["peers"]
        assert not p["enabled"]
        await ask(command="peer", peer="127.0.0.2", action="enable")
        await until(events, PeerUp, timeout=15)

        # reload with an extra neighbor: the session with 127.0.0.2 stays up
        path.write_text(toml(port, tmp_path / "c.sock", extra_peer=True))
        reloaded = await ask(command="reload")
        assert reloaded["changes"] == ["add peer 127.0.0.3"]
        assert [x["address"] for x in (await ask(command="show-peers"))["peers"]] == [
            "127.0.0.2",
            "127.0.0.3",
        ]
        assert not any(isinstance(e, PeerDown) for e in await drain(events, 0.3))

        with pytest.raises(RequestError, match=r"no neighbor 127\.0\.0\.9 is configured"):
            await ask(command="peer", peer="127.0.0.9", action="reset")
    finally:
        daemon.request_stop()
        assert await asyncio.wait_for(run, 10) == 0
        await neighbor.stop()
    assert not (tmp_path / "c.sock").exists()


async def drain(stream: EventStream, quiet: float) -> list[object]:
    """Events until none came for ``quiet`` seconds."""
    out: list[object] = []
    while True:
        try:
            out.append(await stream.get(quiet))
        except TimeoutError:
            return out
