"""The asyncio BFD service over real UDP sockets on loopback: bring-up, failure detection
against a SIGKILLed peer process, Poll/Final without flapping, AdminDown, TTL checks, and a
flood of garbage that must not disturb an Up session. Both the dedicated-thread mode and the
caller's-loop mode are run."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator

import pytest

from bgpspeak.bfd import BfdService, Diag, SessionParams, State

from .loopback import (
    LOCAL,
    LOCAL_KEY,
    MS,
    REMOTE,
    REMOTE_KEY,
    RemoteProcess,
    free_udp_port,
    local_service,
    remote_service,
)

pytestmark = pytest.mark.timeout(60)
FAST = SessionParams(100 * MS, 100 * MS, 3)


@pytest.fixture(params=[True, False], ids=["thread", "same-loop"])
async def pair(request: pytest.FixtureRequest) -> AsyncIterator[tuple[BfdService, BfdService]]:
    port = free_udp_port()
    a = local_service(port, dedicated_thread=request.param)
    b = remote_service(port, dedicated_thread=request.param)
    a.add(LOCAL_KEY, FAST)
    b.add(REMOTE_KEY, FAST)
    await a.start()
    await b.start()
    try:
        await a.wait_state(LOCAL_KEY, State.UP, 5)
        await b.wait_state(REMOTE_KEY, State.UP, 5)
        yield a, b
    finally:
        await a.stop()
        await b.stop()


async def test_sessions_come_up_with_the_negotiated_intervals(
    pair: tuple[BfdService, BfdService],
) -> None:
    a, b = pair
    await asyncio.sleep(0.3)  # past the Poll Sequence that follows Up
    st = a.session_status(LOCAL_KEY)
    assert st.state is State.UP and st.remote_state is State.UP
    assert st.remote_discriminator == b.session_status(REMOTE_KEY).local_discriminator
    assert st.tx_interval == 100 * MS and st.detection_time == 300 * MS
    assert not st.polling and st.counters.polls_completed == 1
    assert st.counters.rx_discarded == {}  # TTL 255 arrived, nothing was refused
    # the session got a receive socket of its own, connected to the peer's source port
    port, sock = a._session_rx[LOCAL_KEY]
    assert sock is not None and 49152 <= port <= 65535
    assert sock.getpeername() == (str(REMOTE), port)
    view = a.status().as_dict()
    (entry,) = view["sessions"]
    assert entry["status"] == "up" and entry["peer"] == str(REMOTE)
    assert entry["transmit-interval"] == 100 and entry["detection-time"] == 300


async def test_removal_says_admin_down_which_is_not_a_path_failure(
    pair: tuple[BfdService, BfdService],
) -> None:
    a, b = pair
    async with a.events() as events:
        b.remove(REMOTE_KEY)
        event = await asyncio.wait_for(events.get(), 2)
    assert (event.old, event.new) == (State.UP, State.DOWN)
    assert event.diag is Diag.NEIGHBOR_SIGNALED_SESSION_DOWN
    assert event.remote_admin and not event.path_down


async def test_admin_down_and_back_up(pair: tuple[BfdService, BfdService]) -> None:
    a, b = pair
    a.set_admin_down(LOCAL_KEY)
    await b.wait_state(REMOTE_KEY, State.DOWN, 2)
    assert b.session_status(REMOTE_KEY).remote_state is State.ADMIN_DOWN
    a.set_admin_down(LOCAL_KEY, False)
    await a.wait_state(LOCAL_KEY, State.UP, 5)
    await b.wait_state(REMOTE_KEY, State.UP, 5)


async def test_parameter_change_goes_through_poll_and_final_without_flapping(
    pair: tuple[BfdService, BfdService],
) -> None:
    a, b = pair
    await asyncio.sleep(0.3)
    a.reconfigure(LOCAL_KEY, SessionParams(300 * MS, 200 * MS, 5))
    await asyncio.sleep(1.0)
    sa, sb = a.session_status(LOCAL_KEY), b.session_status(REMOTE_KEY)
    assert sa.state is State.UP and sb.state is State.UP
    assert sa.counters.polls_completed == 2 and not sa.polling
    assert sa.counters.down_transitions == 0 and sb.counters.down_transitions == 0
    assert sb.tx_interval == 200 * MS  # B may not send faster than A now receives
    assert sb.detection_time == 5 * 300 * MS


async def test_packets_with_a_ttl_below_255_are_refused(
    pair: tuple[BfdService, BfdService],
) -> None:
    a, b = pair
    discr = a.session_status(LOCAL_KEY).local_discriminator
    packet = bytearray(b.table.sessions[REMOTE_KEY].packet().encode())
    packet[4:8] = (discr + 0).to_bytes(4, "big")  # pretend to be B, from another socket
    port = a._ports[False]
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, 64)
        s.bind((str(REMOTE), 0))
        for _ in range(5):
            s.sendto(bytes(packet), (str(LOCAL), port))
    await asyncio.sleep(0.2)
    counters = a.session_status(LOCAL_KEY).counters
    assert counters.rx_discarded.get("ttl") == 5


async def test_garbage_flood_does_not_disturb_an_up_session(
    pair: tuple[BfdService, BfdService],
) -> None:
    a, _b = pair
    port = a._ports[False]
    junk = [b"", b"\x00" * 24, b"\x20\xc0\x03\x18" + b"\x00" * 20, bytes(range(200))]
    sent = 0
    deadline = time.monotonic() + 1.5
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, 255)
        s.bind((str(REMOTE), 0))
        while time.monotonic() < deadline:
            for data in junk * 25:
                s.sendto(data, (str(LOCAL), port))
            sent += 100
            await asyncio.sleep(0)
    await asyncio.sleep(0.2)
    st = a.session_status(LOCAL_KEY)
    assert st.state is State.UP
    assert st.counters.down_transitions == 0
    discarded = sum(a.status().counters.rx_discarded.values())
    assert discarded > 1000, a.status().counters


@pytest.mark.parametrize("thread", [True, False], ids=["thread", "same-loop"])
async def test_killed_peer_is_declared_down_within_the_detection_time(thread: bool) -> None:
    port = free_udp_port()
    a = local_service(port, dedicated_thread=thread)
    a.add(LOCAL_KEY, FAST)
    remote = RemoteProcess(port, FAST)
    await a.start()
    try:
        await a.wait_state(LOCAL_KEY, State.UP, 5)
        await asyncio.sleep(0.5)
        async with a.events() as events:
            killed = remote.kill()
            event = await asyncio.wait_for(events.get(), 3)
        took = event.at - killed
        assert event.path_down and event.diag is Diag.CONTROL_DETECTION_TIME_EXPIRED
        # detection time 300 ms after the last packet, which left at most 100 ms before the kill
        assert took <= 0.300 + 0.050, took
    finally:
        remote.kill()
        await a.stop()
