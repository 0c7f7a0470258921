"""Scenarios of BFD through the Speaker itself (``Neighbor(..., bfd=BfdConfig(...))``). Not
collected by pytest: test_speaker_hook.py runs them.

Speaker A (127.0.0.1, BFD) dials speaker B (127.0.0.2, announces a route); B's BFD runs in a
child process that is SIGKILLed to make the path "fail"."""

from __future__ import annotations

import asyncio
import socket
import sys
from typing import Any, TypeVar

from bgpspeak import (
    EventStream,
    Neighbor,
    PeerDown,
    PeerUp,
    Route,
    RouteReceived,
    RouteWithdrawn,
    Speaker,
)
from bgpspeak.bfd import BfdConfig, BfdService, SessionParams, State

from .loopback import LOCAL, LOCAL_KEY, MS, REMOTE, RemoteProcess, free_udp_port

E = TypeVar("E")
FAST = SessionParams(100 * MS, 100 * MS, 3)
PREFIX = "198.51.100.0/24"


async def next_event(stream: EventStream, kind: type[E], timeout: float = 10.0) -> E:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        ev = await stream.get(max(0.01, deadline - loop.time()))
        if isinstance(ev, kind):
            return ev


async def quiet(stream: EventStream, kind: type[Any], seconds: float) -> bool:
    try:
        await next_event(stream, kind, seconds)
    except TimeoutError:
        return True
    return False


def _tcp_port() -> int:
    with socket.socket() as s:
        s.bind((str(REMOTE), 0))
        return int(s.getsockname()[1])


async def _pair(strict: bool) -> tuple[Speaker, Speaker, EventStream, int]:
    tcp, udp = _tcp_port(), free_udp_port()
    b = Speaker(65002, "192.0.2.2", listen=[(str(REMOTE), tcp)])
    b.add_neighbor(Neighbor(str(LOCAL), remote_as=65002 - 1, passive=True))
    b.announce(Route.make(PREFIX))
    a = Speaker(
        65001,
        "192.0.2.1",
        listen=(),
        bfd=BfdService(single_hop_port=udp, listen_v4=str(LOCAL)),  # type: ignore[call-arg,unused-ignore]
    )
    config = BfdConfig(min_tx_ms=100, min_rx_ms=100, strict=strict)
    a.add_neighbor(
        Neighbor(  # type: ignore[call-arg,unused-ignore]
            str(REMOTE),
            remote_as=65002,
            port=tcp,
            local_address=str(LOCAL),
            connect_retry_time=1,
            bfd=config,
        )
    )
    events = a.events()
    await b.start()
    await a.start()
    return a, b, events, udp


async def strict_mode() -> None:
    a, b, events, udp = await _pair(strict=True)
    bfd = a.bfd  # type: ignore[attr-defined,unused-ignore]
    remote = None
    try:
        assert bfd is not None and bfd.neighbor_status(str(REMOTE)).held
        assert a.peer(str(REMOTE)).held  # type: ignore[attr-defined,unused-ignore]
        assert await quiet(events, PeerUp, 1.5)
        remote = RemoteProcess(udp, FAST)
        await next_event(events, PeerUp)
        await next_event(events, RouteReceived)
        remote.kill()
        down = await next_event(events, PeerDown, 3)
        assert "BFD_DOWN" in down.reason, down.reason
        gone = await next_event(events, RouteWithdrawn, 2)
        assert str(gone.prefix) == PREFIX
        assert a.peer(str(REMOTE)).held  # type: ignore[attr-defined,unused-ignore]
        assert await quiet(events, PeerUp, 1.5)
        remote = RemoteProcess(udp, FAST)
        await next_event(events, PeerUp)
        status = bfd.neighbor_status(str(REMOTE))
        assert status.session.state is State.UP and not status.held
        await a.remove_neighbor(str(REMOTE))
        assert str(REMOTE) not in bfd
    finally:
        if remote is not None:
            remote.kill()
        await a.stop()
        await b.stop()


async def drop_and_reconnect() -> None:
    a, b, events, udp = await _pair(strict=False)
    remote = RemoteProcess(udp, FAST)
    try:
        await next_event(events, PeerUp)
        bfd = a.bfd  # type: ignore[attr-defined,unused-ignore]
        assert bfd is not None
        await bfd.service.wait_state(LOCAL_KEY, State.UP, 5)
        await next_event(events, RouteReceived)
        remote.kill()
        down = await next_event(events, PeerDown, 3)
        assert "BFD_DOWN" in down.reason and not down.graceful, down
        await next_event(events, RouteWithdrawn, 2)
        await next_event(events, PeerUp, 10)  # not strict: back over the working TCP path
        assert bfd.neighbor_status(str(REMOTE)).bgp_drops == 1
    finally:
        remote.kill()
        await a.stop()
        await b.stop()


SCENARIOS = {"strict_mode": strict_mode, "drop_and_reconnect": drop_and_reconnect}

if __name__ == "__main__":
    asyncio.run(SCENARIOS[sys.argv[1]]())
