"""BFD tied to real BGP sessions on loopback: speaker A (127.0.0.1, with BFD) dials speaker B
(127.0.0.2, which announces a route); B's BFD runs in a child process that the tests SIGKILL,
as a router whose forwarding died while its TCP stack did not yet notice.

``StopStartControl`` (BFD attached by hand) is used here; tests/bfd/test_speaker_hook.py runs
the same scenarios through ``Neighbor(bfd=...)`` and the Peer's drop/hold/release."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TypeVar

import pytest

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
from bgpspeak.bfd import BfdConfig, BgpBfd, SessionParams, State

from .loopback import LOCAL_KEY, MS, REMOTE_KEY, RemoteProcess, free_udp_port, local_service
from .loopback import remote_service as make_remote_service

pytestmark = pytest.mark.timeout(60)
FAST = SessionParams(100 * MS, 100 * MS, 3)
PREFIX = "198.51.100.0/24"
E = TypeVar("E")


def free_tcp_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.2", 0))
        return int(s.getsockname()[1])


async def next_event(stream: EventStream, kind: type[E], timeout: float = 10.0) -> E:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        ev = await stream.get(max(0.01, deadline - loop.time()))
        if isinstance(ev, kind):
            return ev


async def quiet(stream: EventStream, kind: type[object], seconds: float) -> bool:
    """True if no ``kind`` event arrives for ``seconds``."""
    try:
        await next_event(stream, kind, seconds)
    except TimeoutError:
        return True
    return False


@dataclass
class Pair:
    a: Speaker
    b: Speaker
    bfd: BgpBfd
    ea: EventStream
    eb: EventStream
    udp_port: int


@pytest.fixture
async def pair(request: pytest.FixtureRequest) -> AsyncIterator[Pair]:
    strict = bool(getattr(request, "param", False))
    tcp_port, udp_port = free_tcp_port(), free_udp_port()
    b = Speaker(65002, "192.0.2.2", listen=[("127.0.0.2", tcp_port)])
    b.add_neighbor(Neighbor("127.0.0.1", remote_as=65001, passive=True))
    b.announce(Route.make(PREFIX))
    a = Speaker(65001, "192.0.2.1", listen=())
    a.add_neighbor(
        Neighbor(
            "127.0.0.2",
            remote_as=65002,
            port=tcp_port,
            local_address="127.0.0.1",
            connect_retry_time=1,
        )
    )
    bfd = BgpBfd(a, local_service(udp_port))
    key = bfd.attach("127.0.0.2", BfdConfig(min_tx_ms=100, min_rx_ms=100, strict=strict))
    assert key == LOCAL_KEY
    ea, eb = a.events(), b.events()
    await b.start()
    await a.start()
    await bfd.start()
    try:
        yield Pair(a, b, bfd, ea, eb, udp_port)
    finally:
        await bfd.stop()
        await a.stop()
        await b.stop()


async def test_bfd_down_takes_bgp_down_and_withdraws_its_routes(pair: Pair) -> None:
    remote = RemoteProcess(pair.udp_port, FAST)
    try:
        await pair.bfd.service.wait_state(LOCAL_KEY, State.UP, 5)
        got = await next_event(pair.ea, RouteReceived)
        assert str(got.prefix) == PREFIX
        await asyncio.sleep(0.5)
        killed = remote.kill()
        down = await next_event(pair.ea, PeerDown, 3)
        took = time.monotonic() - killed
        assert "BFD_DOWN" in down.reason, down.reason
        assert not down.graceful
        gone = await next_event(pair.ea, RouteWithdrawn, 1)
        assert str(gone.prefix) == PREFIX
        assert took < 0.300 + 0.100, took  # detection time + the last packet's age + margin
        # B was told why (RFC 9384 Cease/BFD Down)
        b_down = await next_event(pair.eb, PeerDown, 3)
        assert "BFD_DOWN" in b_down.reason, b_down.reason
        # not strict: BGP comes back over the still working TCP path
        await next_event(pair.ea, PeerUp, 10)
        status = pair.bfd.neighbor_status("127.0.0.2")
        assert status.bgp_drops == 1 and not status.held
        assert status.session.state is State.DOWN
        assert "control detection time expired" in status.last_drop
        assert pair.bfd.counters.drops == 1
    finally:
        remote.kill()


@pytest.mark.parametrize("pair", [True], indirect=True, ids=["strict"])
async def test_strict_mode_holds_bgp_while_bfd_is_not_up(pair: Pair) -> None:
    assert pair.bfd.neighbor_status("127.0.0.2").held
    assert await quiet(pair.ea, PeerUp, 1.5)  # no BFD peer yet: BGP does not even dial
    remote = RemoteProcess(pair.udp_port, FAST)
    try:
        await next_event(pair.ea, PeerUp, 10)  # BFD Up released it
        assert not pair.bfd.neighbor_status("127.0.0.2").held
        await next_event(pair.ea, RouteReceived)
        remote.kill()
        await next_event(pair.ea, PeerDown, 3)
        assert pair.bfd.neighbor_status("127.0.0.2").held
        assert await quiet(pair.ea, PeerUp, 1.5)  # held: no reconnect over the working TCP
        remote = RemoteProcess(pair.udp_port, FAST)
        await next_event(pair.ea, PeerUp, 10)
        status = pair.bfd.neighbor_status("127.0.0.2")
        assert status.session.state is State.UP and not status.held
        assert pair.bfd.counters.holds == 2 and pair.bfd.counters.releases == 2
    finally:
        remote.kill()


async def test_admin_down_of_the_peer_leaves_bgp_alone(pair: Pair) -> None:
    remote = make_remote_service(pair.udp_port, dedicated_thread=False)
    remote.add(REMOTE_KEY, FAST)
    await remote.start()
    try:
        await pair.bfd.service.wait_state(LOCAL_KEY, State.UP, 5)
        await next_event(pair.ea, PeerUp)
        remote.set_admin_down(REMOTE_KEY)
        await pair.bfd.service.wait_state(LOCAL_KEY, State.DOWN, 2)
        assert await quiet(pair.ea, PeerDown, 1.0)
        assert pair.bfd.neighbor_status("127.0.0.2").bgp_drops == 0
        remote.set_admin_down(REMOTE_KEY, False)
        await pair.bfd.service.wait_state(LOCAL_KEY, State.UP, 5)
    finally:
        await remote.stop()


async def test_reconfigure_keeps_the_session_up(pair: Pair) -> None:
    remote = make_remote_service(pair.udp_port, dedicated_thread=False)
    remote.add(REMOTE_KEY, FAST)
    await remote.start()
    try:
        await pair.bfd.service.wait_state(LOCAL_KEY, State.UP, 5)
        await asyncio.sleep(0.3)
        pair.bfd.reconfigure("127.0.0.2", BfdConfig(min_tx_ms=300, min_rx_ms=200, multiplier=4))
        await asyncio.sleep(1.0)
        st = pair.bfd.neighbor_status("127.0.0.2").session
        assert st.state is State.UP and st.counters.down_transitions == 0
        assert st.desired_min_tx == 300 * MS and not st.polling
        assert remote.session_status(REMOTE_KEY).detection_time == 4 * 300 * MS
        with pytest.raises(ValueError, match="detach and attach"):
            pair.bfd.reconfigure("127.0.0.2", BfdConfig(multihop=True))
    finally:
        await remote.stop()


async def test_attach_needs_a_configured_neighbor_and_only_once(pair: Pair) -> None:
    with pytest.raises(KeyError):
        pair.bfd.attach("192.0.2.99", BfdConfig())
    with pytest.raises(ValueError, match="already has BFD"):
        pair.bfd.attach("127.0.0.2", BfdConfig())


def test_bfd_down_is_a_hard_reset_only_with_the_n_bit_on_both_sides() -> None:
    import ipaddress

    from bgpspeak.bfd.bgp import bfd_down_notification
    from bgpspeak.session.negotiate import Negotiated, PeerRestart
    from bgpspeak.wire.errors import CeaseSubcode

    def negotiated(n_bit: bool, local_restart: bool = True) -> Negotiated:
        rid = ipaddress.IPv4Address("192.0.2.2")
        return Negotiated(
            peer_as=65002,
            peer_id=rid,
            local_as=65001,
            local_id=rid,
            hold_time=90,
            keepalive_time=30.0,
            asn4=True,
            families=frozenset(),
            add_path_receive=frozenset(),
            add_path_send=frozenset(),
            extended_message=False,
            route_refresh=True,
            enhanced_route_refresh=False,
            peer_restart=PeerRestart(120, False, n_bit, frozenset(), frozenset()),
            local_restart=local_restart,
            ibgp=False,
        )

    plain = bfd_down_notification(None, True)
    assert (plain.code, plain.subcode) == (6, CeaseSubcode.BFD_DOWN)
    hard = bfd_down_notification(negotiated(True), True)
    assert (hard.code, hard.subcode, hard.data) == (6, CeaseSubcode.HARD_RESET, b"\x06\x0a")
    assert bfd_down_notification(negotiated(False), True).subcode == CeaseSubcode.BFD_DOWN
    assert bfd_down_notification(negotiated(True), False).subcode == CeaseSubcode.BFD_DOWN
    assert bfd_down_notification(negotiated(True, False), True).subcode == CeaseSubcode.BFD_DOWN
