"""``Peer.drop`` (what BFD does to BGP when the path goes down): the Cease goes out, then the
old connection is half-closed, and the speaker dials again only after the idle hold time and
once the neighbor has closed its side (or ``connect_retry_time`` has passed).

Found against FRR 8.4 (docs/bfd.md, "Dropping BGP"): redialled at once, our new connection
reached FRR's bgpd before it had read the NOTIFICATION on the old one, and FRR took the old
session of a graceful-restart peer for a restart (keeping our routes as stale); or, when it
had read it, the session was back within 20 ms and our routes never left its kernel table.
The neighbor here is a scripted BGP peer on loopback, so each test decides when it closes.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket

import pytest

from bgpspeak import EventStream, Neighbor, PeerDown, PeerUp, Speaker
from bgpspeak.session.config import PeerConfig
from bgpspeak.session.negotiate import build_open
from bgpspeak.wire.codec import StreamDecoder, decode_body
from bgpspeak.wire.errors import CeaseSubcode, ErrorCode
from bgpspeak.wire.family import IPV4_UNICAST, Context
from bgpspeak.wire.message import KEEPALIVE, OPEN, UPDATE, Message
from bgpspeak.wire.simple_messages import Keepalive, Notification

pytestmark = pytest.mark.timeout(30)

US, THEM = "127.0.0.1", "127.0.0.2"
BFD_DOWN = Notification.cease(CeaseSubcode.BFD_DOWN)


def free_port(host: str) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


class Scripted:
    """The neighbor's end of one connection we dialled (AS 65002)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.decoder = StreamDecoder(Context())

    async def read(self, timeout: float = 5.0) -> Message | None:
        """The next message, None at the end of the stream."""
        while True:
            frame = self.decoder.next_frame()
            if frame is not None:
                return decode_body(frame[0], frame[1], self.decoder.ctx)
            data = await asyncio.wait_for(self.reader.read(65536), timeout)
            if not data:
                return None
            self.decoder.feed(data)

    async def establish(self) -> None:
        config = PeerConfig(
            ipaddress.ip_address(US),
            65002,
            65001,
            ipaddress.IPv4Address("10.0.0.2"),
            families=(IPV4_UNICAST,),
        )
        self.writer.write(build_open(config, False).encode(Context()))
        self.writer.write(Keepalive().encode(Context()))
        got = [await self.read(), await self.read()]
        assert [m.TYPE for m in got if m is not None] == [OPEN, KEEPALIVE]


class Neighbor65002:
    def __init__(self) -> None:
        self.port = free_port(THEM)
        self.dials: asyncio.Queue[tuple[float, Scripted]] = asyncio.Queue()
        self.server: asyncio.Server | None = None

    async def __aenter__(self) -> Neighbor65002:
        async def on_dial(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await self.dials.put((asyncio.get_running_loop().time(), Scripted(reader, writer)))

        self.server = await asyncio.start_server(on_dial, THEM, self.port)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()

    async def next_dial(self, timeout: float = 5.0) -> tuple[float, Scripted]:
        return await asyncio.wait_for(self.dials.get(), timeout)


async def until(stream: EventStream, kind: type[object], timeout: float = 5.0) -> object:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        ev = await stream.get(max(0.01, deadline - loop.time()))
        if isinstance(ev, kind):
            return ev


async def established(
    them: Neighbor65002, connect_retry_time: int
) -> tuple[Speaker, EventStream, Scripted]:
    """Our speaker dials and the session comes up; returns the neighbor's end."""
    speaker = Speaker(65001, "10.0.0.1", listen=())
    speaker.add_neighbor(
        Neighbor(
            THEM,
            remote_as=65002,
            port=them.port,
            local_address=US,
            connect_retry_time=connect_retry_time,
            families=("ipv4/unicast",),
        )
    )
    events = speaker.events()
    await speaker.start()
    _, old = await them.next_dial()
    await old.establish()
    await until(events, PeerUp)
    return speaker, events, old


async def up_and_dropped(
    them: Neighbor65002, connect_retry_time: int
) -> tuple[Speaker, Scripted, float]:
    """Up, then BFD drops it; returns the old connection (its Cease and our FIN already
    read) and the loop time of the drop."""
    speaker, events, old = await established(them, connect_retry_time)
    dropped = asyncio.get_running_loop().time()
    speaker.peer(THEM).drop(BFD_DOWN)
    down = await until(events, PeerDown)
    assert isinstance(down, PeerDown) and "BFD_DOWN" in down.reason
    note = await old.read()
    while note is not None and not isinstance(note, Notification):
        note = await old.read()  # our End-of-RIB
    assert isinstance(note, Notification)
    assert (note.code, note.subcode) == (ErrorCode.CEASE, CeaseSubcode.BFD_DOWN)
    assert await old.read() is None  # our FIN: half-closed, everything sent
    return speaker, old, dropped


async def test_redial_waits_for_the_neighbor_to_close_the_old_connection() -> None:
    async with Neighbor65002() as them:
        speaker, old, dropped = await up_and_dropped(them, connect_retry_time=5)
        try:
            # the neighbor has not closed its side: past the idle hold time (1 s), no dial
            with pytest.raises(TimeoutError):
                await them.next_dial(timeout=2.0)
            closed = asyncio.get_running_loop().time()
            old.writer.close()
            at, _ = await them.next_dial(timeout=2.0)
            assert at - closed < 1.0, at - closed
            assert at - dropped >= 2.0
        finally:
            await speaker.stop()


async def test_redial_waits_the_idle_hold_time_after_the_neighbor_closed() -> None:
    async with Neighbor65002() as them:
        speaker, old, dropped = await up_and_dropped(them, connect_retry_time=5)
        try:
            old.writer.close()  # at once, as FRR does when it reads the Cease
            at, _ = await them.next_dial(timeout=3.0)
            assert at - dropped >= 0.9, at - dropped  # idle hold time 1 s, not at once
            assert at - dropped < 2.5, at - dropped
        finally:
            await speaker.stop()


async def test_a_neighbor_that_never_closes_delays_the_redial_by_connect_retry_only() -> None:
    """A dead path (what BFD reports) or a hung neighbor never closes: the old connection
    is aborted after connect_retry_time and dialling resumes."""
    async with Neighbor65002() as them:
        speaker, _old, dropped = await up_and_dropped(them, connect_retry_time=2)
        try:
            at, _ = await them.next_dial(timeout=5.0)
            assert 1.8 <= at - dropped < 4.0, at - dropped
        finally:
            await speaker.stop()


async def test_drop_right_after_the_neighbor_closed_unseen() -> None:
    """The neighbor closed (its FIN is in our socket, not yet read) when BFD drops, as when
    FRR's own BFD Cease crosses ours: our Cease draws a reset, the half-close finds the
    connection gone, and the drop must still end the session and dial again."""
    async with Neighbor65002() as them:
        speaker, events, old = await established(them, connect_retry_time=5)
        try:
            loop = asyncio.get_running_loop()
            eor = await old.read()  # all we sent is read: the close is a FIN, not a reset
            assert eor is not None and eor.TYPE == UPDATE
            old.writer.close()
            loop.call_soon(speaker.peer(THEM).drop, BFD_DOWN)  # after the close, same turn
            down = await until(events, PeerDown)
            assert isinstance(down, PeerDown)
            await them.next_dial(timeout=5.0)
        finally:
            await speaker.stop()
