"""bgpspeak against GoBGP (gobgpd 3.10): sessions over IPv4 and IPv6, routes both ways with
every community kind, withdrawals, and shutdown messages both ways. Assertions read GoBGP's
own view (``gobgp -j`` JSON, and gobgpd's log for the NOTIFICATION it received)."""

from __future__ import annotations

from typing import Any

import pytest
from lab import GobgpInstance, GobgpNeighbor, Lab, gobgp_config
from test_speaker_support import attributes, blocking, polled, running, until

from bgpspeak import (
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

pytestmark = pytest.mark.timeout(90)

GOBGP_AS, SPEAKER_AS = 65001, 65002
ESTABLISHED, IDLE = 6, 1  # gobgp's protobuf session states


def _attrs(paths: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    """The best path's attributes by type code."""
    [best] = [p for p in paths if p.get("best")]
    return {a["type"]: a for a in best["attrs"]}


def _gobgp_log(gobgp: GobgpInstance) -> str:
    return (gobgp.dir / "gobgpd.log").read_text(errors="replace")


async def test_gobgp_sessions_routes_communities_withdraw_and_shutdown(lab: Lab) -> None:
    r1, spk = lab.namespace("r1"), lab.namespace("spk")
    link = lab.link(r1, spk)
    gobgp = lab.gobgp(
        r1,
        gobgp_config(
            GOBGP_AS,
            link.a.ipv4,
            [GobgpNeighbor(link.b.ipv4, SPEAKER_AS), GobgpNeighbor(link.b.ipv6, SPEAKER_AS)],
        ),
    )
    gobgp.add_route(
        "10.101.0.0/24", "nexthop", link.a.ipv4, "community", "65001:7,no-export",
        "large-community", "65001:1:1", "rt", "65001:9", "med", "77",
    )  # fmt: skip
    gobgp.add_route("2001:db8:101::/48", "nexthop", link.a.ipv6, "community", "65001:6")
    speaker = Speaker(SPEAKER_AS, link.b.ipv4, listen=())
    speaker.add_neighbor(
        Neighbor(link.a.ipv4, remote_as=GOBGP_AS, connect_retry_time=1, families=("ipv4/unicast",))
    )
    speaker.add_neighbor(
        Neighbor(link.a.ipv6, remote_as=GOBGP_AS, connect_retry_time=1, families=("ipv6/unicast",))
    )
    speaker.announce(
        Route.make(
            "198.51.100.0/24",
            med=5,
            communities=["65002:100", "no-export"],
            large_communities=["65002:1:2"],
            extended_communities=["target:65002:7"],
        )
    )
    speaker.announce(Route.make("2001:db8:100::/48", communities=["65002:100"]))
    # routes of the first session can arrive while we wait for the second PeerUp: keep them
    received = speaker.events()
    async with running(spk, speaker, "bye gobgp") as events:
        ups = {str((await until(events, PeerUp)).peer) for _ in range(2)}
        assert ups == {link.a.ipv4, link.a.ipv6}
        await blocking(gobgp.wait_established, link.b.ipv4, link.b.ipv6)

        # our routes in GoBGP's RIB, attributes intact
        a4 = _attrs(await blocking(gobgp.wait_route, "198.51.100.0/24"))
        assert a4[2]["as_paths"][0]["asns"] == [SPEAKER_AS]
        assert a4[3]["nexthop"] == link.b.ipv4
        assert a4[4]["metric"] == 5
        assert a4[8]["communities"] == [65002 << 16 | 100, 0xFFFFFF01]
        assert a4[16]["value"] == [{"type": 0, "subtype": 2, "value": "65002:7"}]
        assert a4[32]["value"] == [{"ASN": 65002, "LocalData1": 1, "LocalData2": 2}]
        a6 = _attrs(await blocking(gobgp.wait_route, "2001:db8:100::/48"))
        assert a6[14]["nexthop"] == link.b.ipv6
        assert a6[8]["communities"] == [65002 << 16 | 100]

        # GoBGP's routes at our end, decoded
        got: dict[Prefix, RouteReceived] = {}
        while len(got) < 2:
            ev = await until(received, RouteReceived)
            got[ev.prefix] = ev
        v4 = got[Prefix.parse("10.101.0.0/24")]
        assert v4.family == IPV4_UNICAST and [str(n) for n in v4.next_hops] == [link.a.ipv4]
        b4 = attributes(v4)
        assert b4["AS_PATH"] == [{"type": "as-sequence", "asns": [GOBGP_AS]}]
        assert b4["COMMUNITIES"] == ["65001:7", "65535:65281"]
        assert b4["LARGE_COMMUNITY"] == ["65001:1:1"]
        assert b4["EXTENDED_COMMUNITIES"] == ["target:65001:9"]
        assert b4["MULTI_EXIT_DISC"] == 77
        v6 = got[Prefix.parse("2001:db8:101::/48")]
        assert v6.family == IPV6_UNICAST and [str(n) for n in v6.next_hops] == [link.a.ipv6]
        assert attributes(v6)["COMMUNITIES"] == ["65001:6"]

        # withdraw both ways
        speaker.withdraw("198.51.100.0/24")
        await blocking(gobgp.wait_route, "198.51.100.0/24", present=False)
        await blocking(gobgp.command, "global", "rib", "-a", "ipv6", "del", "2001:db8:101::/48")
        gone = await until(events, RouteWithdrawn)
        assert gone.prefix == Prefix.parse("2001:db8:101::/48")

        # GoBGP shuts the IPv4 session down with a message; we get it
        await blocking(
            gobgp.command, "neighbor", link.b.ipv4, "shutdown", "--reason", "GoBGP maintenance"
        )
        down = await until(events, PeerDown)
        assert str(down.peer) == link.a.ipv4 and "GoBGP maintenance" in down.reason
    # our graceful shutdown (stop with a message) of the IPv6 session, in GoBGP's view
    await polled(lambda: gobgp.session_state(link.b.ipv6) == IDLE, what="GoBGP: IPv6 session down")
    state = gobgp.neighbors()[link.b.ipv6]["state"]
    assert state["messages"]["received"]["notification"] == 1
    assert 'Communicated-Reason="bye gobgp"' in _gobgp_log(gobgp)
    assert not gobgp.rib("ipv6").get("2001:db8:100::/48")
