"""A second connection from the same neighbor: collisions our side loses, and a graceful-restart
peer that reconnects while its old connection still looks alive (RFC 4724 section 4.2).

The neighbor is a scripted BGP peer on loopback (raw asyncio streams and the wire codec), so
each test controls exactly which message crosses when. Found against FRR in the interop tests:
the primary connection redialled at once after losing a collision, the late close of its old
socket was fed into its next attempt, and a reconnecting graceful-restart peer crashed
``Peer.accept``.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket

import pytest

from bgpspeak import EventStream, Neighbor, PeerDown, PeerUp, Prefix, RouteWithdrawn, Speaker
from bgpspeak.session.config import PeerConfig
from bgpspeak.session.negotiate import build_open
from bgpspeak.wire.aspath import AsPath
from bgpspeak.wire.attributes import NextHop, Origin, OriginValue
from bgpspeak.wire.codec import StreamDecoder, decode_body
from bgpspeak.wire.errors import CeaseSubcode, ErrorCode
from bgpspeak.wire.family import IPV4_UNICAST, Context
from bgpspeak.wire.message import KEEPALIVE, NOTIFICATION, OPEN, UPDATE, Message
from bgpspeak.wire.simple_messages import Keepalive, Notification
from bgpspeak.wire.update import Update, build_update

pytestmark = pytest.mark.timeout(30)

US, THEM = "127.0.0.1", "127.0.0.2"
US_ID, THEM_HIGH_ID = "10.0.0.1", "10.0.0.2"


def free_port(host: str) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


async def until(stream: EventStream, kind: type, timeout: float = 10.0) -> object:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        ev = await stream.get(max(0.01, deadline - loop.time()))
        if isinstance(ev, kind):
            return ev


class ScriptedPeer:
    """One TCP connection of the scripted neighbor (AS 65002, graceful restart offered)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.decoder = StreamDecoder(Context())

    def send(self, *messages: Message) -> None:
        for m in messages:
            self.writer.write(m.encode(Context()))

    def send_open(self, bgp_id: str, restarting: bool = False) -> None:
        config = PeerConfig(
            ipaddress.ip_address(US), 65002, 65001, ipaddress.IPv4Address(bgp_id),
            families=(IPV4_UNICAST,),
        )  # fmt: skip
        self.send(build_open(config, restarting))

    async def read(self, timeout: float = 5.0) -> Message:
        """The next message; EOFError at the end of the stream."""
        while True:
            frame = self.decoder.next_frame()
            if frame is not None:
                return decode_body(frame[0], frame[1], self.decoder.ctx)
            data = await asyncio.wait_for(self.reader.read(65536), timeout)
            if not data:
                raise EOFError
            self.decoder.feed(data)

    async def read_until_closed(self, timeout: float = 5.0) -> list[int]:
        kinds = []
        try:
            while True:
                m = await self.read(timeout)
                kinds.append(m.TYPE)
                if isinstance(m, Notification):
                    self.last_notification = m
        except (EOFError, ConnectionResetError):
            return kinds


async def scripted_dial(port: int) -> ScriptedPeer:
    reader, writer = await asyncio.open_connection(US, port, local_addr=(THEM, 0))
    return ScriptedPeer(reader, writer)


def route_update(prefix: str) -> Update:
    return build_update(
        nlri=[Prefix.parse(prefix)],
        attributes=[
            Origin(OriginValue.IGP),
            AsPath.sequence(65002),
            NextHop(ipaddress.IPv4Address(THEM)),
        ],
    )


async def test_primary_that_loses_a_collision_does_not_dial_again() -> None:
    """We dial and the neighbor dials us; its BGP identifier is higher, so its connection
    wins (RFC 4271 6.8). Our dialled connection is closed with a Cease, and must not be
    replaced by a new dial while the winning connection comes up or after it has."""
    their_port, our_port = free_port(THEM), free_port(US)
    accepted: asyncio.Queue[ScriptedPeer] = asyncio.Queue()

    async def on_dial(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await accepted.put(ScriptedPeer(reader, writer))

    server = await asyncio.start_server(on_dial, THEM, their_port)
    speaker = Speaker(65001, US_ID, listen=[(US, our_port)])
    speaker.add_neighbor(
        Neighbor(THEM, remote_as=65002, port=their_port, local_address=US, connect_retry_time=1,
                 families=("ipv4/unicast",))
    )  # fmt: skip
    events = speaker.events()
    await speaker.start()
    try:
        ours = await asyncio.wait_for(accepted.get(), 5)  # the connection we dialled
        theirs = await scripted_dial(our_port)
        ours.send_open(THEM_HIGH_ID)
        theirs.send_open(THEM_HIGH_ID)
        assert [m.TYPE for m in [await ours.read(), await ours.read()]] == [OPEN, KEEPALIVE]
        assert (await ours.read_until_closed()) == [NOTIFICATION]
        note = ours.last_notification
        assert (note.code, note.subcode) == (
            ErrorCode.CEASE,
            CeaseSubcode.CONNECTION_COLLISION_RESOLUTION,
        )
        assert [m.TYPE for m in [await theirs.read(), await theirs.read()]] == [OPEN, KEEPALIVE]
        theirs.send(Keepalive())
        up = await until(events, PeerUp)
        assert isinstance(up, PeerUp)
        # idle hold (1 s) and connect retry (1 s) have passed twice over: no new dial
        await asyncio.sleep(2.5)
        assert accepted.empty()
        peer = speaker.peer(THEM)
        assert peer.state.value == "Established"
        assert [c.outbound for c in peer._conns if c.transport is not None] == [False]
    finally:
        await speaker.stop()
        server.close()


async def test_graceful_restart_peer_reconnecting_while_the_old_connection_looks_alive() -> None:
    """The neighbor restarted without our noticing (its old connection is silent, not
    closed) and dials again. We run the new connection; when the neighbor completes it, the
    old session is dropped as if its TCP connection had failed: its routes stay, as stale,
    until the new session's End-of-RIB removes the ones not announced again."""
    our_port = free_port(US)
    speaker = Speaker(65001, US_ID, listen=[(US, our_port)])
    speaker.add_neighbor(Neighbor(THEM, remote_as=65002, passive=True, families=("ipv4/unicast",)))
    events = speaker.events()
    await speaker.start()
    try:
        old = await scripted_dial(our_port)
        old.send_open(THEM_HIGH_ID)
        assert [m.TYPE for m in [await old.read(), await old.read()]] == [OPEN, KEEPALIVE]
        old.send(Keepalive(), route_update("198.51.100.0/24"), route_update("203.0.113.0/24"))
        old.send(Update.end_of_rib_marker(IPV4_UNICAST))
        await until(events, PeerUp)
        peer = speaker.peer(THEM)
        while len(peer.rib_in) < 2:
            await asyncio.sleep(0.02)

        new = await scripted_dial(our_port)
        new.send_open(THEM_HIGH_ID, restarting=True)
        assert [m.TYPE for m in [await new.read(), await new.read()]] == [OPEN, KEEPALIVE]
        assert peer.state.value == "Established"  # the old session still runs meanwhile
        new.send(Keepalive())
        down = await until(events, PeerDown)
        assert isinstance(down, PeerDown) and down.graceful
        assert "graceful restart" in down.reason
        await until(events, PeerUp)
        assert len(peer.rib_in) == 2  # kept as stale
        assert await old.read_until_closed() in ([], [UPDATE], [UPDATE, UPDATE])  # closed
        new.send(route_update("198.51.100.0/24"), Update.end_of_rib_marker(IPV4_UNICAST))
        gone = await until(events, RouteWithdrawn)
        assert isinstance(gone, RouteWithdrawn) and gone.prefix == Prefix.parse("203.0.113.0/24")
        assert list(peer.rib_in.routes[IPV4_UNICAST]) == [Prefix.parse("198.51.100.0/24")]
        assert [c.outbound for c in peer._conns] == [False]
    finally:
        await speaker.stop()


async def test_accepted_connection_lost_before_open_is_forgotten() -> None:
    """RFC 4271 8.2.2 sends a connection lost in OpenSent back to Active; an accepted
    connection has nothing to go back to, and lingering there would also keep the primary
    from dialling (it waits while another connection is on its way up)."""
    our_port = free_port(US)
    speaker = Speaker(65001, US_ID, listen=[(US, our_port)])
    speaker.add_neighbor(Neighbor(THEM, remote_as=65002, passive=True, families=("ipv4/unicast",)))
    events = speaker.events()
    await speaker.start()
    try:
        peer = speaker.peer(THEM)
        scripted = await scripted_dial(our_port)
        assert (await scripted.read()).TYPE == OPEN
        scripted.writer.close()
        changes: list[str | None] = []
        while not changes or changes[-1] != "Active":
            ev = await events.get(5)
            changes.append(getattr(ev, "new", None))
        for _ in range(50):
            if not peer._conns:
                break
            await asyncio.sleep(0.02)
        assert peer._conns == []
    finally:
        await speaker.stop()
