"""bgpspeak against a real FRR (8.4): sessions, routes and their attributes as FRR sees them.

Each test builds its own FRR and speaker namespaces (about 0.5 s) so no test depends on
another's leftovers. Assertions read FRR's own JSON (vtysh) or log; the speaker's side is only
used to synchronise or to check what it received.
"""

from __future__ import annotations

from typing import Any

import pytest
from lab import Lab, best_path, next_hops
from test_speaker_support import (
    FRR_AS,
    SPEAKER_AS,
    FrrPair,
    attributes,
    blocking,
    frr_log,
    frr_pair,
    neighbor_to_frr,
    polled,
    running,
    until,
)

from bgpspeak import EndOfRib, PeerUp, Prefix, Route, RouteReceived, Speaker
from bgpspeak.wire import IPV4_UNICAST, IPV6_UNICAST

pytestmark = pytest.mark.timeout(90)


def _best(view: dict[str, Any]) -> dict[str, Any]:
    path = best_path(view)
    assert path is not None, view
    return path


async def test_ipv4_session_carries_both_families_with_their_next_hops(lab: Lab) -> None:
    pair = frr_pair(lab)
    link, frr = pair.link, pair.frr
    speaker = Speaker(SPEAKER_AS, link.b.ipv4, listen=())
    speaker.add_neighbor(neighbor_to_frr(pair))
    speaker.announce(
        [
            Route.make("198.51.100.0/24"),  # next hop self: the session's address
            Route.make("203.0.113.0/24", next_hop="10.1.0.3"),  # third party, on the link
            Route.make("2001:db8:100::/48"),  # self: next_hop_self_v6 + the link-local
            Route.make("2001:db8:101::/48", next_hop=link.b.ipv6),  # explicit: global only
        ]
    )
    async with running(pair.spk, speaker) as events:
        up = await until(events, PeerUp)
        assert up.negotiated.families == {IPV4_UNICAST, IPV6_UNICAST}
        v4 = await blocking(frr.wait_route, "198.51.100.0/24")
        assert next_hops(_best(v4)) == {"global": link.b.ipv4}
        assert _best(v4)["aspath"]["string"] == str(SPEAKER_AS)
        third = await blocking(frr.wait_route, "203.0.113.0/24")
        assert next_hops(_best(third)) == {"global": "10.1.0.3"}
        v6 = await blocking(frr.wait_route, "2001:db8:100::/48")
        assert next_hops(_best(v6)) == {"global": link.b.ipv6, "link-local": link.b.link_local()}
        v6_global = await blocking(frr.wait_route, "2001:db8:101::/48")
        assert next_hops(_best(v6_global)) == {"global": link.b.ipv6}

        # End-of-RIB both ways: FRR records ours, and we see FRR's for both families
        got = {(await until(events, EndOfRib)).family for _ in range(2)}
        assert got == {IPV4_UNICAST, IPV6_UNICAST}
        record = await polled(
            lambda: (
                (nb := pair.frr_neighbor(link.b.ipv4))["gracefulRestartInfo"]["endOfRibRecv"]
                == {"ipv4Unicast": True, "ipv6Unicast": True}
                and nb
            ),
            what="FRR: End-of-RIB received from the speaker for both families",
        )
        gr = record["gracefulRestartInfo"]
        assert gr["endOfRibSend"] == {"ipv4Unicast": True, "ipv6Unicast": True}
        afi = record["addressFamilyInfo"]
        assert afi["ipv4Unicast"]["acceptedPrefixCounter"] == 2
        assert afi["ipv6Unicast"]["acceptedPrefixCounter"] == 2


async def test_ipv6_session_carries_both_families(lab: Lab) -> None:
    pair = frr_pair(lab, transport=6)
    link, frr = pair.link, pair.frr
    speaker = Speaker(SPEAKER_AS, "192.0.2.2", listen=())
    speaker.add_neighbor(neighbor_to_frr(pair, transport=6))
    speaker.announce([Route.make("198.51.100.0/24"), Route.make("2001:db8:100::/48")])
    async with running(pair.spk, speaker) as events:
        up = await until(events, PeerUp)
        assert up.negotiated.families == {IPV4_UNICAST, IPV6_UNICAST}
        session = await polled(
            lambda: (
                pair.frr_neighbor(link.b.ipv6).get("bgpState") == "Established"
                and pair.frr_neighbor(link.b.ipv6)
            ),
            what="FRR: IPv6 neighbor Established",
        )
        assert session["hostForeign"] == link.b.ipv6
        assert session["remoteRouterId"] == "192.0.2.2"
        v6 = await blocking(frr.wait_route, "2001:db8:100::/48")
        assert next_hops(_best(v6)) == {"global": link.b.ipv6, "link-local": link.b.link_local()}
        v4 = await blocking(frr.wait_route, "198.51.100.0/24")
        assert next_hops(_best(v4)) == {"global": link.b.ipv4}


async def test_every_community_kind_and_attribute_arrives_intact(lab: Lab) -> None:
    pair = frr_pair(lab)
    link, frr = pair.link, pair.frr
    speaker = Speaker(SPEAKER_AS, link.b.ipv4, listen=())
    speaker.add_neighbor(neighbor_to_frr(pair))
    speaker.announce(
        Route.make(
            "198.51.100.0/24",
            as_path=[64512, 4200000001],
            origin="incomplete",
            med=42,
            communities=["65002:100", "no-export", "no-advertise", "blackhole", "65535:0"],
            extended_communities=["target:65002:7", "origin:192.0.2.9:3", "target:4200000001:9"],
            large_communities=["65002:1:2", "4200000001:4294967295:0"],
        )
    )
    speaker.announce(
        Route.make(
            "2001:db8:100::/48",
            communities=["no-export-subconfed", "65002:6"],
            large_communities=["65002:6:6"],
            extended_communities=["target:65002:6"],
        )
    )
    async with running(pair.spk, speaker) as events:
        await until(events, PeerUp)
        path = _best(await blocking(frr.wait_route, "198.51.100.0/24"))
        assert path["aspath"]["segments"] == [
            {"type": "as-sequence", "list": [SPEAKER_AS, 64512, 4200000001]}
        ]
        assert path["origin"] == "incomplete"
        assert path["metric"] == 42
        # FRR keeps communities sorted by value
        assert path["community"]["list"] == [
            "65002:100",
            "gracefulShutdown",
            "blackhole",
            "noExport",
            "noAdvertise",
        ]
        assert path["extendedCommunity"]["string"] == "RT:65002:7 SoO:192.0.2.9:3 RT:4200000001:9"
        assert path["largeCommunity"]["list"] == ["65002:1:2", "4200000001:4294967295:0"]
        path6 = _best(await blocking(frr.wait_route, "2001:db8:100::/48"))
        assert path6["community"]["list"] == ["65002:6", "localAs"]  # FRR's no-export-subconfed
        assert path6["largeCommunity"]["list"] == ["65002:6:6"]
        assert path6["extendedCommunity"]["string"] == "RT:65002:6"


def _updates_received(pair: FrrPair, address: str) -> int:
    return int(pair.frr_neighbor(address)["messageStats"]["updatesRecv"])


def _updates_sent(speaker: Speaker, neighbor: str) -> int:
    session = speaker.peer(neighbor).session
    assert session is not None
    return session.counters.messages_out.get("update", 0)


async def test_withdraw_and_replace_send_only_the_difference(lab: Lab) -> None:
    pair = frr_pair(lab)
    link, frr = pair.link, pair.frr
    peer = link.b.ipv4
    speaker = Speaker(SPEAKER_AS, link.b.ipv4, listen=())
    speaker.add_neighbor(neighbor_to_frr(pair))
    # 20 routes that stay, each with its own MED so each would need an UPDATE of its own
    keep = [Route.make(f"10.200.{i}.0/24", med=i) for i in range(20)]
    speaker.announce([*keep, Route.make("198.51.100.0/24"), Route.make("203.0.113.0/24", med=1)])
    speaker.announce(Route.make("2001:db8:100::/48"))
    async with running(pair.spk, speaker) as events:
        await until(events, PeerUp)
        await polled(
            lambda: (
                pair.frr_neighbor(peer)["addressFamilyInfo"]["ipv4Unicast"]["acceptedPrefixCounter"]
                == 22
            ),
            what="FRR: 22 IPv4 prefixes from the speaker",
        )
        await blocking(frr.wait_route, "2001:db8:100::/48")

        # withdraw: one IPv4 and one IPv6 prefix, gone from FRR
        sent_before = _updates_sent(speaker, link.a.ipv4)
        recv_before = _updates_received(pair, peer)
        speaker.withdraw(["198.51.100.0/24", "2001:db8:100::/48"])
        await blocking(frr.wait_route, "198.51.100.0/24", present=False)
        await blocking(frr.wait_route, "2001:db8:100::/48", present=False)
        assert await polled(
            lambda: _updates_received(pair, peer) == recv_before + 2,
            what="FRR: two UPDATEs (one withdrawal per family)",
        )

        # replace: keep the 20, change 203.0.113.0/24's MED, add one prefix, drop nothing else
        speaker.replace([*keep, Route.make("203.0.113.0/24", med=7), Route.make("192.0.2.0/24")])
        changed = await blocking(
            frr.wait_route, "203.0.113.0/24", check=lambda v: _best(v).get("metric") == 7
        )
        assert _best(changed)["metric"] == 7
        await blocking(frr.wait_route, "192.0.2.0/24")
        sent = _updates_sent(speaker, link.a.ipv4) - sent_before
        # 2 withdrawals + 2 announcements (different attributes): re-sending the 20 would add 20
        assert sent == 4
        assert await polled(
            lambda: _updates_received(pair, peer) == recv_before + sent,
            what="FRR: received exactly the UPDATEs the speaker sent",
        )
        record = pair.frr_neighbor(peer)["addressFamilyInfo"]
        assert record["ipv4Unicast"]["acceptedPrefixCounter"] == 22
        assert record["ipv6Unicast"]["acceptedPrefixCounter"] == 0

        # replace with an empty set: everything is withdrawn
        speaker.replace([])
        await polled(
            lambda: (
                pair.frr_neighbor(peer)["addressFamilyInfo"]["ipv4Unicast"]["acceptedPrefixCounter"]
                == 0
            ),
            what="FRR: no prefixes left from the speaker",
        )


@pytest.mark.parametrize("command", ["clear bgp * soft in", "clear bgp {peer} soft in"])
async def test_frr_soft_clear_in_gets_our_routes_again(lab: Lab, command: str) -> None:
    """FRR asks with ROUTE-REFRESH; we answer BoRR, the routes, EoRR (RFC 7313). FRR marks our
    routes stale at BoRR and deletes those still stale at EoRR, so routes that survive with a
    higher UPDATE count prove the re-send arrived between the markers."""
    pair = frr_pair(lab)
    link, frr = pair.link, pair.frr
    peer = link.b.ipv4
    speaker = Speaker(SPEAKER_AS, link.b.ipv4, listen=())
    speaker.add_neighbor(neighbor_to_frr(pair))
    speaker.announce([Route.make("198.51.100.0/24"), Route.make("203.0.113.0/24", med=5)])
    speaker.announce(Route.make("2001:db8:100::/48"))
    async with running(pair.spk, speaker) as events:
        up = await until(events, PeerUp)
        assert up.negotiated.enhanced_route_refresh
        await blocking(frr.wait_route, "2001:db8:100::/48")
        await blocking(frr.wait_route, "203.0.113.0/24")
        session = speaker.peer(link.a.ipv4).session
        assert session is not None
        before = dict(session.counters.messages_out)
        stats_before = pair.frr_neighbor(peer)["messageStats"]
        await blocking(frr.vtysh, command.format(peer=peer))
        # one refresh per family: IPv4 resends 2 routes (2 UPDATEs), IPv6 1, each framed by
        # BoRR and EoRR

        def refreshed() -> dict[str, int] | None:
            s = pair.frr_neighbor(peer)["messageStats"]
            done = (
                s["updatesRecv"] >= stats_before["updatesRecv"] + 3
                and s["routeRefreshRecv"] >= stats_before["routeRefreshRecv"] + 4
            )
            return dict(s) if done else None

        stats = await polled(refreshed, what="FRR: our routes sent again, framed")
        assert stats["updatesRecv"] == stats_before["updatesRecv"] + 3
        assert stats["routeRefreshSent"] == stats_before["routeRefreshSent"] + 2
        assert stats["routeRefreshRecv"] == stats_before["routeRefreshRecv"] + 4  # BoRR + EoRR
        after = session.counters.messages_out
        assert after["route-refresh"] - before.get("route-refresh", 0) == 4
        assert session.counters.messages_in["route-refresh"] == 2

        def refresh_markers() -> str | None:
            text = frr_log(frr)
            return text if text.count("EoRR") >= 2 else None

        log = await polled(refresh_markers, what="FRR log: EoRR for both families")
        assert "BoRR" in log
        for prefix in ("198.51.100.0/24", "203.0.113.0/24", "2001:db8:100::/48"):
            path = _best(await blocking(frr.wait_route, prefix))
            assert not path.get("stale"), path
        assert speaker.peer(link.a.ipv4).state.value == "Established"


async def test_routes_from_frr_are_decoded_and_our_own_echoes_dropped(lab: Lab) -> None:
    rmap = "\n".join(
        [
            "route-map TAG permit 10",
            " set community 65001:7 blackhole",
            " set large-community 65001:1:1",
            " set extcommunity rt 65001:9",
            " set metric 77",
            " set origin egp",
            "exit",
        ]
    )
    pair = frr_pair(
        lab,
        before=rmap,
        networks=("10.101.0.0/24", "2001:db8:101::/48"),
        af_lines=("route-map TAG out",),
    )
    link, frr = pair.link, pair.frr
    speaker = Speaker(SPEAKER_AS, link.b.ipv4, listen=())
    speaker.add_neighbor(neighbor_to_frr(pair))
    speaker.announce([Route.make("198.51.100.0/24"), Route.make("2001:db8:100::/48")])
    async with running(pair.spk, speaker) as events:
        await until(events, PeerUp)
        received: dict[Prefix, RouteReceived] = {}
        while len(received) < 2:
            ev = await until(events, RouteReceived)
            received[ev.prefix] = ev
        v4 = received[Prefix.parse("10.101.0.0/24")]
        assert [str(n) for n in v4.next_hops] == [link.a.ipv4]
        attrs = attributes(v4)
        assert attrs["AS_PATH"] == [{"type": "as-sequence", "asns": [FRR_AS]}]
        assert attrs["ORIGIN"] == "egp"
        assert attrs["MULTI_EXIT_DISC"] == 77
        assert attrs["COMMUNITIES"] == ["65001:7", "65535:666"]
        assert attrs["LARGE_COMMUNITY"] == ["65001:1:1"]
        assert attrs["EXTENDED_COMMUNITIES"] == ["target:65001:9"]
        v6 = received[Prefix.parse("2001:db8:101::/48")]
        assert [str(n) for n in v6.next_hops] == [link.a.ipv6, link.a.link_local()]

        # FRR sends our own routes back (AS path 65001 65002): wait until everything FRR
        # sent has arrived, then check none of the echoes made it into our Adj-RIB-In
        def frr_sent_all() -> dict[str, Any] | None:
            nb = pair.frr_neighbor(link.b.ipv4)
            session = speaker.peer(link.a.ipv4).session
            got = session.counters.messages_in.get("update", 0) if session else 0
            return nb if nb["messageStats"]["updatesSent"] == got else None

        adv = await blocking(
            frr.show_json, f"show bgp ipv4 unicast neighbors {link.b.ipv4} advertised-routes"
        )
        assert "198.51.100.0/24" in adv["advertisedRoutes"]
        assert adv["advertisedRoutes"]["198.51.100.0/24"]["path"] == str(SPEAKER_AS)
        await polled(frr_sent_all, what="every UPDATE FRR sent received by the speaker")
        rib = speaker.peer(link.a.ipv4).rib_in.routes
        assert set(rib[IPV4_UNICAST]) == {Prefix.parse("10.101.0.0/24")}
        assert set(rib[IPV6_UNICAST]) == {Prefix.parse("2001:db8:101::/48")}


async def test_four_octet_local_as(lab: Lab) -> None:
    pair = frr_pair(lab, speaker_as=4200000002, networks=("10.101.0.0/24",))
    link, frr = pair.link, pair.frr
    speaker = Speaker(4200000002, link.b.ipv4, listen=())
    speaker.add_neighbor(neighbor_to_frr(pair))
    speaker.announce(Route.make("198.51.100.0/24", as_path=[4200000009]))
    async with running(pair.spk, speaker) as events:
        up = await until(events, PeerUp)
        assert up.negotiated.asn4
        path = _best(await blocking(frr.wait_route, "198.51.100.0/24"))
        assert path["aspath"]["string"] == "4200000002 4200000009"
        record = pair.frr_neighbor(link.b.ipv4)
        assert record["remoteAs"] == 4200000002
        assert record["neighborCapabilities"]["4byteAs"] == "advertisedAndReceived"
        got = await until(events, RouteReceived)
        assert got.prefix == Prefix.parse("10.101.0.0/24")


async def test_peer_without_four_octet_as_support(lab: Lab) -> None:
    """FRR with ``dont-capability-negotiate`` sends an OPEN without capabilities: a 2-octet,
    IPv4-only peer. Our 4-octet AS goes out as AS_TRANS in the OPEN and in AS_PATH (FRR
    reads the 2-octet path; it ignores AS4_PATH from a peer that sent the 4-octet AS
    capability, which we did, so its view keeps AS_TRANS). The other way FRR's 4-octet ASes
    arrive as AS_TRANS plus AS4_PATH, which we fold back into the real path."""
    prepend = "route-map PREPEND permit 10\n set as-path prepend 4200000005\nexit"
    pair = frr_pair(
        lab,
        speaker_as=4200000002,
        lines=("passive", "dont-capability-negotiate"),
        af_lines=("route-map PREPEND out",),
        networks=("10.101.0.0/24",),
        before=prepend,
    )
    link, frr = pair.link, pair.frr
    speaker = Speaker(4200000002, link.b.ipv4, listen=())
    speaker.add_neighbor(neighbor_to_frr(pair))
    speaker.announce(Route.make("198.51.100.0/24", as_path=[64512, 4200000009]))
    async with running(pair.spk, speaker) as events:
        up = await until(events, PeerUp)
        assert not up.negotiated.asn4
        assert up.negotiated.families == {IPV4_UNICAST}
        path = _best(await blocking(frr.wait_route, "198.51.100.0/24"))
        assert path["aspath"]["string"] == "23456 64512 23456"
        got = await until(events, RouteReceived)
        attrs = attributes(got)
        assert attrs["AS_PATH"] == [{"type": "as-sequence", "asns": [FRR_AS, 4200000005]}]
        assert "AS4_PATH" not in attrs
