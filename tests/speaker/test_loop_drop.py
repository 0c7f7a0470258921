"""Routes that hold our AS in their path (RFC 4271 9.1.2), as FRR echoes our own table back:
dropped before decoding on external sessions, counted, never stored; a stored route they
replace is withdrawn; internal sessions take the full path; malformed ones are still judged
by the decoder (RFC 7606)."""

from __future__ import annotations

import asyncio
import ipaddress
import random
import socket

import pytest

from bgpspeak import (
    EndOfRib,
    EventStream,
    Neighbor,
    PeerUp,
    Prefix,
    Route,
    RouteReceived,
    RouteWithdrawn,
    Speaker,
)
from bgpspeak.session import (
    Connected,
    DataReceived,
    PeerConfig,
    ProtocolError,
    Send,
    Session,
    Start,
    State,
    UpdateReceived,
    build_open,
)
from bgpspeak.wire import IPV4_UNICAST, Context, Keepalive, Notification, decode_message
from bgpspeak.wire.loop_peek import looped_announcement

pytestmark = pytest.mark.timeout(60)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def until(stream: EventStream, kind: type, timeout: float = 10.0, **match: object) -> object:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        ev = await stream.get(max(0.01, deadline - loop.time()))
        if isinstance(ev, kind) and all(getattr(ev, k) == v for k, v in match.items()):
            return ev


async def pair(b_as: int = 65002) -> tuple[Speaker, Speaker, EventStream]:
    port = free_port()
    a = Speaker(65001, "192.0.2.1", listen=[("127.0.0.1", port)])
    b = Speaker(b_as, "192.0.2.2", listen=())
    a.add_neighbor(Neighbor("127.0.0.2", remote_as=b_as, passive=True))
    b.add_neighbor(Neighbor("127.0.0.1", remote_as=65001, port=port, local_address="127.0.0.2"))
    ea, eb = a.events(), b.events()
    await a.start()
    await b.start()
    await until(ea, PeerUp)
    await until(eb, PeerUp)
    eb.close()
    return a, b, ea


async def test_our_routes_echoed_by_an_external_peer_are_dropped_undecoded() -> None:
    a, b, ea = await pair()
    try:
        peer = a.peer("127.0.0.2")
        await until(ea, EndOfRib)
        looped = [Route.make(f"10.{i}.0.0/16", as_path=[65001, 7], med=i) for i in range(50)]
        b.announce([*looped, Route.make("203.0.113.0/24", as_path=[7])])
        ev = await until(ea, RouteReceived)
        assert isinstance(ev, RouteReceived) and ev.prefix == Prefix.parse("203.0.113.0/24")
        await b.flush()
        await asyncio.sleep(0.2)
        assert peer.updates_looped == peer.updates_looped_raw == 50  # one set each
        assert [str(p) for p in peer.rib_in.routes[IPV4_UNICAST]] == ["203.0.113.0/24"]
        while not ea._queue.empty():
            ev = ea._queue.get_nowait()
            assert not isinstance(ev, RouteReceived), ev
        session = peer.session
        assert session is not None and session.counters.messages_in["update"] >= 52
    finally:
        await b.stop()
        await a.stop()


async def test_a_looped_route_replaces_the_stored_one() -> None:
    a, b, ea = await pair()
    try:
        peer = a.peer("127.0.0.2")
        b.announce(Route.make("198.51.100.0/24", as_path=[7]))
        await until(ea, RouteReceived, prefix=Prefix.parse("198.51.100.0/24"))
        b.announce(Route.make("198.51.100.0/24", as_path=[7, 65001]))
        await until(ea, RouteWithdrawn, prefix=Prefix.parse("198.51.100.0/24"))
        assert len(peer.rib_in) == 0
        assert peer.updates_looped_raw == 1
    finally:
        await b.stop()
        await a.stop()


async def test_internal_peers_take_the_full_path() -> None:
    a, b, ea = await pair(b_as=65001)
    try:
        peer = a.peer("127.0.0.2")
        conn = peer._established
        assert conn is not None and conn.session.skip_update is None
        b.announce(
            [
                Route.make("198.51.100.0/24", as_path=[7, 65001]),  # looped
                Route.make("203.0.113.0/24", as_path=[7]),
            ]
        )
        await until(ea, RouteReceived, prefix=Prefix.parse("203.0.113.0/24"))
        await b.flush()
        await asyncio.sleep(0.2)
        assert peer.updates_looped == 1 and peer.updates_looped_raw == 0
        assert [str(p) for p in peer.rib_in.routes[IPV4_UNICAST]] == ["203.0.113.0/24"]
    finally:
        await b.stop()
        await a.stop()


# --- the session still judges malformed messages (synchronously, fake clock) -----------------

LOCAL = 65001


def _established() -> Session:
    cfg = PeerConfig(
        peer_address=ipaddress.ip_address("192.0.2.2"),
        local_as=LOCAL,
        peer_as=65002,
        router_id=ipaddress.IPv4Address("192.0.2.1"),
        hold_time=90,
    )
    peer = PeerConfig(
        peer_address=ipaddress.ip_address("192.0.2.1"),
        local_as=65002,
        peer_as=LOCAL,
        router_id=ipaddress.IPv4Address("192.0.2.2"),
        hold_time=90,
    )
    s = Session(cfg, rng=random.Random(1))
    now = 1_000_000
    s.handle(Start(), now)
    s.handle(Connected(), now)
    s.handle(DataReceived(build_open(peer).encode(Context())), now)
    s.handle(DataReceived(Keepalive().encode(Context())), now)
    assert s.state is State.ESTABLISHED
    s.skip_update = lambda body: looped_announcement(body, LOCAL, True)
    return s


def _update(attrs: bytes, nlri: bytes) -> bytes:
    body = b"\x00\x00" + len(attrs).to_bytes(2, "big") + attrs + nlri
    return b"\xff" * 16 + (19 + len(body)).to_bytes(2, "big") + b"\x02" + body


PATH = bytes.fromhex("4002060201") + LOCAL.to_bytes(4, "big")
NEXT = bytes.fromhex("400304c0000202")


def test_a_looped_update_is_skipped_only_when_well_formed() -> None:
    s = _established()
    outs = s.handle(
        DataReceived(_update(bytes.fromhex("40010100") + PATH + NEXT, b"\x10\x0a\x01")), 2
    )
    assert outs == [] and s.state is State.ESTABLISHED
    assert s.counters.messages_in["update"] == 1


def test_a_looped_update_with_a_bad_origin_is_treat_as_withdraw() -> None:
    s = _established()
    msg = _update(bytes.fromhex("40010109") + PATH + NEXT, b"\x10\x0a\x01")
    outs = s.handle(DataReceived(msg), 2)
    got = [o for o in outs if isinstance(o, UpdateReceived)]
    assert len(got) == 1 and got[0].treat_as_withdraw
    assert any(isinstance(o, ProtocolError) for o in outs)
    assert s.state is State.ESTABLISHED


def test_a_looped_update_with_a_bad_nlri_field_resets_the_session() -> None:
    s = _established()
    msg = _update(bytes.fromhex("40010100") + PATH + NEXT, bytes.fromhex("210a010203ff"))
    outs = s.handle(DataReceived(msg), 2)
    notes = [
        m
        for o in outs
        if isinstance(o, Send)
        for m in [decode_message(o.data, Context())]
        if isinstance(m, Notification)
    ]
    assert len(notes) == 1 and notes[0].code == 3  # UPDATE Message Error
    assert s.state is State.IDLE
