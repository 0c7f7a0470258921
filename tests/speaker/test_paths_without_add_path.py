"""Several paths of one prefix toward a neighbor that did not negotiate ADD-PATH send: one
route per prefix goes out, and withdrawing one path leaves the other announced."""

from __future__ import annotations

import asyncio

import pytest
from test_loopback import free_port, until

from bgpspeak import Neighbor, PeerUp, Prefix, Route, RouteReceived, Speaker
from bgpspeak.wire import IPV4_UNICAST

pytestmark = pytest.mark.timeout(60)


async def test_paths_collapse_to_one_route_per_prefix() -> None:
    port = free_port()
    a = Speaker(65001, "192.0.2.1", listen=[("127.0.0.1", port)])
    b = Speaker(65002, "192.0.2.2", listen=())
    a.add_neighbor(Neighbor("127.0.0.2", remote_as=65002, passive=True))
    b.add_neighbor(
        Neighbor("127.0.0.1", remote_as=65001, port=port, local_address="127.0.0.2",
                 add_path=(("ipv4/unicast", "send"),))
    )  # fmt: skip
    # announced before the session: the initial transfer must collapse too
    b.announce([Route.make("198.51.100.99/32", next_hop="10.0.0.1", path_id=1),
                Route.make("198.51.100.99/32", next_hop="10.0.0.2", path_id=2)])  # fmt: skip
    ea = a.events()
    await a.start()
    await b.start()
    try:
        await until(ea, PeerUp)
        ev = await until(ea, RouteReceived)
        assert isinstance(ev, RouteReceived) and [str(n) for n in ev.next_hops] == ["10.0.0.1"]
        # withdrawing path 1 moves the prefix to path 2 instead of withdrawing it
        b.withdraw([Prefix.parse("198.51.100.99/32", path_id=1)])
        ev = await until(ea, RouteReceived)
        assert isinstance(ev, RouteReceived) and [str(n) for n in ev.next_hops] == ["10.0.0.2"]
        await asyncio.sleep(0.2)
        table = a.peer("127.0.0.2").rib_in.routes[IPV4_UNICAST]
        assert list(table) == [Prefix.parse("198.51.100.99/32")]
        b.withdraw([Prefix.parse("198.51.100.99/32", path_id=2)])
        await asyncio.sleep(0.3)
        assert len(a.peer("127.0.0.2").rib_in) == 0
    finally:
        await a.stop()
        await b.stop()
