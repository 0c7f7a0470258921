"""``bgpspeak mrt replay``: routes taken from real table dumps (shared corpora), and the command
itself sending a dump to a speaker over loopback."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import sys

import pytest
from corpora_path import corpora_dir

from bgpspeak import EndOfRib, Neighbor, RouteReceived, Speaker
from bgpspeak.daemon.mrt_replay import ReplayOptions, rib_routes
from bgpspeak.mrt import read_mrt
from bgpspeak.wire import Prefix
from bgpspeak.wire.family import IPV4_UNICAST

pytestmark = pytest.mark.timeout(120)


def bview() -> str:
    return str(corpora_dir() / "bgpdump" / "test_data" / "bview.20020722.2337.gz")


def test_one_route_per_prefix_from_a_table_dump_v1() -> None:
    routes = list(rib_routes(read_mrt(bview()), ReplayOptions()))
    # 115,521 entries for 112,988 prefixes (bgpdump's summary of this file)
    assert len(routes) == 112988
    assert len({r.prefix for r in routes}) == len(routes)
    first = routes[0]
    assert (str(first.prefix), first.next_hop, first.as_path) == (
        "3.0.0.0/8",
        "self",
        (1853, 1239, 80),
    )


def test_source_peer_next_hop_and_limit() -> None:
    peer = ipaddress.ip_address("193.203.0.65")
    opts = ReplayOptions(source_peer=peer, next_hop="keep", limit=100)
    routes = list(rib_routes(read_mrt(bview()), opts))
    assert len(routes) == 100
    assert all(isinstance(r.next_hop, ipaddress.IPv4Address) for r in routes)
    fixed = list(rib_routes(read_mrt(bview()), ReplayOptions(next_hop="192.0.2.1", limit=3)))
    assert {str(r.next_hop) for r in fixed} == {"192.0.2.1"}
    assert list(rib_routes(read_mrt(bview()), ReplayOptions(afis=frozenset({2})))) == []


def test_table_dump_v2_add_path_ipv6() -> None:
    path = corpora_dir() / "bgpdump" / "test_data" / "bview.ipv6_unicast_add_path.gz"
    routes = list(rib_routes(read_mrt(path), ReplayOptions()))
    assert routes and all(r.prefix.afi == 2 and r.prefix.path_id is None for r in routes)
    assert len(routes) == len({r.prefix for r in routes})


async def test_the_command_sends_a_dump_over_loopback() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    receiver = Speaker(65001, "192.0.2.1", listen=[("127.0.0.1", port)])
    receiver.add_neighbor(
        Neighbor("127.0.0.2", remote_as=65002, passive=True, families=("ipv4/unicast",))
    )
    events = receiver.events()
    await receiver.start()
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bgpspeak.cli",
        "mrt",
        "replay",
        bview(),
        "--peer",
        "127.0.0.1",
        "--port",
        str(port),
        "--peer-as",
        "65001",
        "--local-as",
        "65002",
        "--router-id",
        "192.0.2.2",
        "--local-address",
        "127.0.0.2",
        "--family",
        "ipv4",
        "--limit",
        "5000",
        "--exit",
        stderr=asyncio.subprocess.PIPE,
    )
    got: dict[Prefix, RouteReceived] = {}
    try:
        while True:
            ev = await events.get(60)
            if isinstance(ev, RouteReceived):
                got[ev.prefix] = ev
            elif isinstance(ev, EndOfRib) and ev.family == IPV4_UNICAST:
                break
        _, err = await asyncio.wait_for(proc.communicate(), 30)
    finally:
        await receiver.stop()
    assert proc.returncode == 0, err
    assert len(got) == 5000
    text = err.decode()
    assert "read 5000 routes" in text and "announced 5000 routes to 127.0.0.1" in text
    first = got[Prefix.parse("3.0.0.0/8")]
    path = next(a for a in first.attributes if a.type_code == 2)
    assert str(path) == "65002 1853 1239 80"
    assert first.next_hops == (ipaddress.ip_address("127.0.0.2"),)
