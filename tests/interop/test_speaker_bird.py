"""bgpspeak against BIRD 2 (2.0.12): sessions over IPv4 and IPv6, routes both ways with every
community kind, withdrawals, shutdown messages both ways, and a 2-octet-AS session
(``enable as4 off``) with AS4_PATH checked in both directions. Assertions read BIRD's own
view (``birdc show protocols all`` / ``show route all``, parsed by tests/lab)."""

from __future__ import annotations

import textwrap

import pytest
from lab import BirdInstance, Lab, Link, Namespace
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

BIRD_AS, SPEAKER_AS = 65001, 65002


def _bird(
    lab: Lab, r1: Namespace, link: Link, protocols: str, export_filter: str = ""
) -> BirdInstance:
    """BIRD on ``link.a`` with two static routes; ``protocols`` are the BGP blocks."""
    tag = export_filter or textwrap.dedent(
        """\
        filter tagged {
          if source != RTS_STATIC then reject;
          bgp_community.add((65001, 7));
          bgp_community.add((65535, 666));
          bgp_large_community.add((65001, 1, 1));
          bgp_ext_community.add((rt, 65001, 9));
          bgp_med = 77;
          accept;
        }
        """
    )
    config = textwrap.dedent(
        f"""\
        router id {link.a.ipv4};
        protocol device {{ }}
        protocol static s4 {{ ipv4; route 10.101.0.0/24 blackhole; }}
        protocol static s6 {{ ipv6; route 2001:db8:101::/48 blackhole; }}
        """
    )
    return lab.bird(r1, config + tag + textwrap.dedent(protocols))


def _sessions(link: Link) -> str:
    return f"""\
        protocol bgp spk4 {{
          local {link.a.ipv4} as {BIRD_AS}; neighbor {link.b.ipv4} as {SPEAKER_AS};
          passive on;
          ipv4 {{ import all; export filter tagged; next hop self; }};
        }}
        protocol bgp spk6 {{
          local {link.a.ipv6} as {BIRD_AS}; neighbor {link.b.ipv6} as {SPEAKER_AS};
          passive on;
          ipv6 {{ import all; export filter tagged; next hop self; }};
        }}
        """


async def test_bird_sessions_routes_communities_withdraw_and_shutdown(lab: Lab) -> None:
    r1, spk = lab.namespace("r1"), lab.namespace("spk")
    link = lab.link(r1, spk)
    bird = _bird(lab, r1, link, _sessions(link))
    speaker = Speaker(SPEAKER_AS, link.b.ipv4, listen=())
    speaker.add_neighbor(
        Neighbor(link.a.ipv4, remote_as=BIRD_AS, connect_retry_time=1, families=("ipv4/unicast",))
    )
    speaker.add_neighbor(
        Neighbor(
            link.a.ipv6,
            remote_as=BIRD_AS,
            connect_retry_time=1,
            families=("ipv6/unicast",),
            link_local=link.b.link_local(),
        )
    )
    for prefix, med in (("198.51.100.0/24", 5), ("2001:db8:100::/48", None)):
        speaker.announce(
            Route.make(
                prefix,
                med=med,
                communities=["65002:100", "no-export"],
                large_communities=["65002:1:2"],
                extended_communities=["target:65002:7"],
            )
        )
    # routes of the first session can arrive while we wait for the second PeerUp: keep them
    received = speaker.events()
    async with running(spk, speaker, "maintenance window") as events:
        ups = {(await until(events, PeerUp)).peer for _ in range(2)}
        assert {str(a) for a in ups} == {link.a.ipv4, link.a.ipv6}
        await blocking(bird.wait_established, "spk4", "spk6")
        assert bird.protocol("spk6")["Neighbor address"] == link.b.ipv6

        # our routes in BIRD's table, attributes intact
        [r4] = await blocking(bird.wait_route, "198.51.100.0/24")
        assert (r4["protocol"], r4["BGP.as_path"], r4["via"]) == ("spk4", "65002", link.b.ipv4)
        assert r4["BGP.med"] == "5"
        assert r4["BGP.community"] == "(65002,100) (65535,65281)"
        assert r4["BGP.large_community"] == "(65002, 1, 2)"
        assert r4["BGP.ext_community"] == "(rt, 65002, 7)"
        [r6] = await blocking(bird.wait_route, "2001:db8:100::/48")
        assert r6["protocol"] == "spk6"
        assert r6["BGP.next_hop"].split() == [link.b.ipv6, link.b.link_local()]
        assert r6["BGP.large_community"] == "(65002, 1, 2)"

        # BIRD's routes at our end, decoded
        got: dict[Prefix, RouteReceived] = {}
        while len(got) < 2:
            ev = await until(received, RouteReceived)
            got[ev.prefix] = ev
        v4 = got[Prefix.parse("10.101.0.0/24")]
        assert v4.family == IPV4_UNICAST and [str(n) for n in v4.next_hops] == [link.a.ipv4]
        a4 = attributes(v4)
        assert a4["AS_PATH"] == [{"type": "as-sequence", "asns": [BIRD_AS]}]
        assert a4["COMMUNITIES"] == ["65001:7", "65535:666"]
        assert a4["LARGE_COMMUNITY"] == ["65001:1:1"]
        assert a4["EXTENDED_COMMUNITIES"] == ["target:65001:9"]
        assert a4["MULTI_EXIT_DISC"] == 77
        v6 = got[Prefix.parse("2001:db8:101::/48")]
        assert v6.family == IPV6_UNICAST
        assert [str(n) for n in v6.next_hops] == [link.a.ipv6, link.a.link_local()]

        # withdraw both ways
        speaker.withdraw("198.51.100.0/24")
        await blocking(bird.wait_route, "198.51.100.0/24", present=False)
        await blocking(bird.birdc, "disable", "s6")
        gone = await until(events, RouteWithdrawn)
        assert gone.prefix == Prefix.parse("2001:db8:101::/48")

        # BIRD shuts its IPv4 session down with a message; we get it
        await blocking(bird.birdc, "disable", "spk4", '"BIRD maintenance"')
        down = await until(events, PeerDown)
        assert str(down.peer) == link.a.ipv4 and "BIRD maintenance" in down.reason
    # our graceful shutdown (stop with a message) of the IPv6 session, in BIRD's view

    def spk6_down() -> dict[str, str] | None:
        info = bird.protocol("spk6")
        return info if info.get("BGP state") != "Established" else None

    info = await polled(spk6_down, what="BIRD: spk6 down after our Cease")
    assert info["Last error"] == "Received: Administrative shutdown"
    assert info["Message"] == "maintenance window"


async def test_bird_two_octet_session_as4_path_both_ways(lab: Lab) -> None:
    """``enable as4 off``: BIRD speaks 2-octet AS to us. Our path's 4-octet AS goes out as
    AS_TRANS in AS_PATH with the real path in AS4_PATH; BIRD (a 4-octet speaker inside)
    merges them (RFC 6793 4.2.3), so its view shows the real path only if both were right.
    BIRD's own prepended 4-octet AS reaches us the same way and we merge it. (A 4-octet local
    AS toward such a peer is in test_speaker_frr.py: BIRD reads our 4-octet AS capability even
    with as4 off and then rejects both 23456 and the real AS as the neighbor's.)"""
    r1, spk = lab.namespace("r1"), lab.namespace("spk")
    link = lab.link(r1, spk)
    prepend = textwrap.dedent(
        """        filter tagged {
          if source != RTS_STATIC then reject;
          bgp_path.prepend(4200000005);
          accept;
        }
        """
    )
    bird = _bird(
        lab,
        r1,
        link,
        f"""        protocol bgp spk4 {{
          local {link.a.ipv4} as {BIRD_AS}; neighbor {link.b.ipv4} as {SPEAKER_AS};
          passive on; enable as4 off;
          ipv4 {{ import all; export filter tagged; next hop self; }};
        }}
        """,
        export_filter=prepend,
    )
    speaker = Speaker(SPEAKER_AS, link.b.ipv4, listen=())
    speaker.add_neighbor(
        Neighbor(link.a.ipv4, remote_as=BIRD_AS, connect_retry_time=1, families=("ipv4/unicast",))
    )
    speaker.announce(Route.make("198.51.100.0/24", as_path=[4200000009, 64512, 4200000010]))
    async with running(spk, speaker) as events:
        up = await until(events, PeerUp)
        assert not up.negotiated.asn4
        await blocking(bird.wait_established, "spk4")
        assert bird.protocol("spk4")["Session"] == "external"  # no "AS4"
        [route] = await blocking(bird.wait_route, "198.51.100.0/24")
        assert route["BGP.as_path"] == "65002 4200000009 64512 4200000010"
        got = await until(events, RouteReceived)
        assert got.prefix == Prefix.parse("10.101.0.0/24")
        a = attributes(got)
        assert a["AS_PATH"] == [{"type": "as-sequence", "asns": [BIRD_AS, 4200000005]}]
        assert "AS4_PATH" not in a
