"""Two bgpspeak speakers peering over loopback (127.0.0.1 <-> 127.0.0.2): the asyncio layer end
to end without root or namespaces. Real daemons are in tests/interop."""

from __future__ import annotations

import asyncio
import socket

import pytest

from bgpspeak import (
    EndOfRib,
    EventStream,
    Neighbor,
    PeerDown,
    PeerUp,
    Prefix,
    Route,
    RouteReceived,
    RouteWithdrawn,
    Speaker,
)
from bgpspeak.wire import IPV4_UNICAST, IPV6_UNICAST

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


async def pair(**b_kw: object) -> tuple[Speaker, Speaker, EventStream, EventStream]:
    port = free_port()
    a = Speaker(65001, "192.0.2.1", listen=[("127.0.0.1", port)])
    b = Speaker(65002, "192.0.2.2", listen=())
    a.add_neighbor(Neighbor("127.0.0.2", remote_as=65002, passive=True))
    b.add_neighbor(
        Neighbor(
            "127.0.0.1",
            remote_as=65001,
            port=port,
            local_address="127.0.0.2",
            next_hop_self_v6="2001:db8::2",
            **b_kw,  # type: ignore[arg-type]
        )
    )
    ea, eb = a.events(), b.events()
    await a.start()
    await b.start()
    await until(ea, PeerUp)
    await until(eb, PeerUp)
    return a, b, ea, eb


async def test_session_comes_up_and_routes_flow_both_families() -> None:
    a, b, ea, _eb = await pair()
    try:
        b.announce(
            [
                Route.make("198.51.100.0/24", communities=["65002:7", "no-export"], med=20),
                Route.make("2001:db8:100::/48", large_communities=["65002:1:2"]),
            ]
        )
        got = {}
        for _ in range(2):
            ev = await until(ea, RouteReceived)
            assert isinstance(ev, RouteReceived)
            got[ev.family] = ev
        v4, v6 = got[IPV4_UNICAST], got[IPV6_UNICAST]
        assert v4.prefix == Prefix.parse("198.51.100.0/24")
        assert [str(n) for n in v4.next_hops] == ["127.0.0.2"]
        names = {x.name: x for x in v4.attributes}
        assert names["AS_PATH"].json_value() == [{"type": "as-sequence", "asns": [65002]}]  # type: ignore[attr-defined]
        assert names["COMMUNITIES"].json_value() == ["65002:7", "65535:65281"]  # type: ignore[attr-defined]
        assert names["MULTI_EXIT_DISC"].json_value() == 20  # type: ignore[attr-defined]
        assert [str(n) for n in v6.next_hops] == ["2001:db8::2"]
        assert len(a.peer("127.0.0.2").rib_in) == 2
        # withdraw one, replace the set, and see only the differences arrive
        b.withdraw("198.51.100.0/24")
        ev = await until(ea, RouteWithdrawn)
        assert isinstance(ev, RouteWithdrawn) and ev.prefix == Prefix.parse("198.51.100.0/24")
        b.replace([Route.make("2001:db8:100::/48", large_communities=["65002:1:2"]),
                   Route.make("203.0.113.0/24")])  # fmt: skip
        ev = await until(ea, RouteReceived)
        assert isinstance(ev, RouteReceived) and ev.prefix == Prefix.parse("203.0.113.0/24")
        await asyncio.sleep(0.2)
        assert len(a.peer("127.0.0.2").rib_in) == 2
        sent = b.peer("127.0.0.1").session
        assert sent is not None and sent.counters.messages_out["update"] >= 4
    finally:
        await b.stop("test over")
        await a.stop()


async def test_end_of_rib_and_admin_shutdown_message() -> None:
    a, b, ea, _eb = await pair()
    try:
        ev = await until(ea, EndOfRib, family=IPV4_UNICAST)
        await b.stop("maintenance window")
        down = await until(ea, PeerDown)
        assert isinstance(down, PeerDown)
        assert "maintenance window" in down.reason
    finally:
        await a.stop()
        await b.stop()
    assert ev is not None


async def test_max_prefixes_ceases_the_session() -> None:
    port = free_port()
    a = Speaker(65001, "192.0.2.1", listen=[("127.0.0.1", port)])
    b = Speaker(65002, "192.0.2.2", listen=())
    a.add_neighbor(Neighbor("127.0.0.2", remote_as=65002, passive=True, max_prefixes=3))
    b.add_neighbor(Neighbor("127.0.0.1", remote_as=65001, port=port, local_address="127.0.0.2"))
    eb = b.events()
    await a.start()
    await b.start()
    try:
        await until(eb, PeerUp)
        b.announce([Route.make(f"198.51.{i}.0/24") for i in range(5)])
        down = await until(eb, PeerDown)
        assert isinstance(down, PeerDown) and "MAXIMUM_PREFIXES_REACHED" in down.reason
    finally:
        await a.stop()
        await b.stop()


async def test_unknown_neighbor_is_refused_and_wrong_as_is_rejected() -> None:
    port = free_port()
    a = Speaker(65001, "192.0.2.1", listen=[("127.0.0.1", port)])
    b = Speaker(65002, "192.0.2.2", listen=())
    a.add_neighbor(Neighbor("127.0.0.2", remote_as=65099, passive=True))
    b.add_neighbor(
        Neighbor("127.0.0.1", remote_as=65001, port=port, local_address="127.0.0.2",
                 connect_retry_time=1)
    )  # fmt: skip
    eb = b.events()
    await a.start()
    await b.start()
    try:
        from bgpspeak import PeerError

        err = await until(eb, PeerError)
        assert isinstance(err, PeerError)
        # b hears OPEN Message Error / Bad Peer AS from a
        assert b.peer("127.0.0.1").state.value != "Established"
        await asyncio.sleep(0.1)
        status = b.status()[0]
        assert status.messages_in.get("notification", 0) >= 1
    finally:
        await a.stop()
        await b.stop()


async def test_collision_when_both_sides_dial_at_once() -> None:
    pa, pb = free_port(), free_port()
    a = Speaker(65001, "192.0.2.1", listen=[("127.0.0.1", pa)])
    b = Speaker(65002, "192.0.2.2", listen=[("127.0.0.2", pb)])
    a.add_neighbor(Neighbor("127.0.0.2", remote_as=65002, port=pb, local_address="127.0.0.1"))
    b.add_neighbor(Neighbor("127.0.0.1", remote_as=65001, port=pa, local_address="127.0.0.2"))
    ea, eb = a.events(), b.events()
    await asyncio.gather(a.start(), b.start())
    try:
        await until(ea, PeerUp)
        await until(eb, PeerUp)
        await asyncio.sleep(0.5)  # let the losing connection finish closing
        pa_, pb_ = a.peer("127.0.0.2"), b.peer("127.0.0.1")
        assert pa_.state.value == "Established" and pb_.state.value == "Established"
        # exactly one connection survives, the same one seen from both ends (which one depends
        # on timing: RFC 4271 6.8 picks by BGP id only when both reached OpenConfirm)
        live_a = [c for c in pa_._conns if c.session.state.value == "Established"]
        live_b = [c for c in pb_._conns if c.session.state.value == "Established"]
        assert len(live_a) == 1 and len(live_b) == 1
        assert live_a[0].outbound != live_b[0].outbound
        ta, tb = live_a[0].transport, live_b[0].transport
        assert ta is not None and tb is not None
        assert ta.get_extra_info("sockname") == tb.get_extra_info("peername")
        b.announce(Route.make("198.51.100.0/24"))
        await until(ea, RouteReceived)
    finally:
        await a.stop()
        await b.stop()


async def test_graceful_restart_keeps_routes_until_end_of_rib() -> None:
    port = free_port()
    a = Speaker(65001, "192.0.2.1", listen=[("127.0.0.1", port)])
    a.add_neighbor(Neighbor("127.0.0.2", remote_as=65002, passive=True))
    nb = Neighbor("127.0.0.1", remote_as=65001, port=port, local_address="127.0.0.2",
                  connect_retry_time=1)  # fmt: skip
    b = Speaker(65002, "192.0.2.2", listen=())
    b.add_neighbor(nb)
    b.announce([Route.make("198.51.100.0/24"), Route.make("203.0.113.0/24")])
    ea = a.events()
    await a.start()
    await b.start()
    try:
        await until(ea, PeerUp)
        await until(ea, EndOfRib, family=IPV4_UNICAST)
        assert len(a.peer("127.0.0.2").rib_in) == 2
        # b stops for a restart (Cease/administrative reset): a keeps b's routes as stale
        await b.stop("upgrade", restart=True)
        down = await until(ea, PeerDown)
        assert isinstance(down, PeerDown) and down.graceful
        assert len(a.peer("127.0.0.2").rib_in) == 2  # kept, as stale
        # b comes back restarting, announcing only one of the two routes
        b2 = Speaker(65002, "192.0.2.2", listen=(), restarting=True)
        b2.add_neighbor(nb)
        b2.announce(Route.make("198.51.100.0/24"))
        await b2.start()
        try:
            up = await until(ea, PeerUp)
            assert isinstance(up, PeerUp) and up.negotiated.peer_restart is not None
            assert up.negotiated.peer_restart.restarting
            gone = await until(ea, RouteWithdrawn)
            assert isinstance(gone, RouteWithdrawn)
            assert gone.prefix == Prefix.parse("203.0.113.0/24")
            await until(ea, EndOfRib, family=IPV4_UNICAST)
            assert list(a.peer("127.0.0.2").rib_in.routes[IPV4_UNICAST]) == [
                Prefix.parse("198.51.100.0/24")
            ]
        finally:
            await b2.stop()
    finally:
        await a.stop()
        await b.stop()


@pytest.mark.parametrize("passwords", [("s3cret", "s3cret"), ("s3cret", "wrong"), ("s3cret", None)])
async def test_tcp_md5_signatures(passwords: tuple[str, str | None]) -> None:
    """RFC 2385 through Linux TCP_MD5SIG: matching keys establish; a wrong or missing key never
    gets a single segment through (the kernel drops them), so the session stays down."""
    port = free_port()
    a = Speaker(65001, "192.0.2.1", listen=[("127.0.0.1", port)])
    b = Speaker(65002, "192.0.2.2", listen=())
    a.add_neighbor(Neighbor("127.0.0.2", remote_as=65002, passive=True, md5_password=passwords[0]))
    b.add_neighbor(
        Neighbor("127.0.0.1", remote_as=65001, port=port, local_address="127.0.0.2",
                 md5_password=passwords[1], connect_retry_time=1)
    )  # fmt: skip
    ea = a.events()
    await a.start()
    await b.start()
    try:
        if passwords[0] == passwords[1]:
            await until(ea, PeerUp, timeout=10)
        else:
            with pytest.raises(TimeoutError):
                await until(ea, PeerUp, timeout=3)
            assert a.peer("127.0.0.2").state.value != "Established"
    finally:
        await a.stop()
        await b.stop()


@pytest.mark.parametrize(("a_hops", "b_hops", "up"), [(1, 1, True), (1, None, False)])
async def test_ttl_security(a_hops: int, b_hops: int | None, up: bool) -> None:
    """GTSM (RFC 5082): a side that sends with the default TTL (64) is never heard by a side that
    requires 255 - hops + 1."""
    port = free_port()
    a = Speaker(65001, "192.0.2.1", listen=[("127.0.0.1", port)])
    b = Speaker(65002, "192.0.2.2", listen=())
    a.add_neighbor(Neighbor("127.0.0.2", remote_as=65002, passive=True, ttl_security=a_hops))
    b.add_neighbor(
        Neighbor("127.0.0.1", remote_as=65001, port=port, local_address="127.0.0.2",
                 ttl_security=b_hops, connect_retry_time=1)
    )  # fmt: skip
    ea = a.events()
    await a.start()
    await b.start()
    try:
        if up:
            await until(ea, PeerUp, timeout=10)
        else:
            with pytest.raises(TimeoutError):
                await until(ea, PeerUp, timeout=3)
    finally:
        await a.stop()
        await b.stop()


async def test_routes_with_our_as_in_the_path_are_not_accepted() -> None:
    a, b, ea, _ = await pair()
    try:
        b.announce([Route.make("198.51.100.0/24", as_path=[65001]), Route.make("203.0.113.0/24")])
        ev = await until(ea, RouteReceived)
        assert isinstance(ev, RouteReceived) and ev.prefix == Prefix.parse("203.0.113.0/24")
        await asyncio.sleep(0.2)
        assert list(a.peer("127.0.0.2").rib_in.routes[IPV4_UNICAST]) == [
            Prefix.parse("203.0.113.0/24")
        ]
    finally:
        await a.stop()
        await b.stop()
