"""bgpspeak against FRR 8.4 when things go wrong: TCP MD5 keys, a peer that stops sending (both
ways), NOTIFICATIONs with shutdown messages (both ways), and connection collisions."""

from __future__ import annotations

import ipaddress
import time
from functools import partial

import pytest
from lab import Lab, wait_until
from test_speaker_support import (
    FRR_AS,
    SPEAKER_AS,
    FrrPair,
    blocking,
    frr_log,
    frr_pair,
    neighbor_to_frr,
    netstat_counters,
    paused,
    polled,
    running,
    until,
)

from bgpspeak import PeerDown, PeerUp, Route, RouteWithdrawn, Speaker

pytestmark = pytest.mark.timeout(90)


# --- TCP MD5 (RFC 2385) ------------------------------------------------------------------


@pytest.mark.parametrize("who_dials", ["speaker", "frr"])
async def test_tcp_md5_matching_keys_establish(lab: Lab, who_dials: str) -> None:
    """Keys on both ends: the dialled connection (key on our socket) and the accepted one (key
    installed on our listener for FRR's address) both come up."""
    frr_lines = ("password s3cret",) + (("passive",) if who_dials == "speaker" else ())
    pair = frr_pair(lab, lines=frr_lines)
    link, frr = pair.link, pair.frr
    listen = () if who_dials == "speaker" else (("0.0.0.0", 179),)
    speaker = Speaker(SPEAKER_AS, link.b.ipv4, listen=listen)
    speaker.add_neighbor(neighbor_to_frr(pair, md5_password="s3cret", passive=who_dials == "frr"))
    speaker.announce(Route.make("198.51.100.0/24"))
    before = await blocking(netstat_counters, pair.r1)
    async with running(pair.spk, speaker) as events:
        await until(events, PeerUp)
        await blocking(frr.wait_route, "198.51.100.0/24")
        record = pair.frr_neighbor(link.b.ipv4)
        assert record["portForeign" if who_dials == "speaker" else "portLocal"] != 179
    after = await blocking(netstat_counters, pair.r1)
    for counter in ("TcpExtTCPMD5Failure", "TcpExtTCPMD5NotFound", "TcpExtTCPMD5Unexpected"):
        assert after.get(counter, 0) == before.get(counter, 0), counter


@pytest.mark.parametrize(
    ("our_key", "kernel_counter"),
    [("wrong", "TcpExtTCPMD5Failure"), (None, "TcpExtTCPMD5NotFound")],
)
async def test_tcp_md5_mismatch_never_establishes(
    lab: Lab, our_key: str | None, kernel_counter: str
) -> None:
    """A wrong or missing key: FRR's kernel drops every segment we send (and counts them), so
    the session never gets as far as an OPEN."""
    pair = frr_pair(lab, lines=("passive", "password s3cret"))
    link = pair.link
    speaker = Speaker(SPEAKER_AS, link.b.ipv4, listen=())
    speaker.add_neighbor(neighbor_to_frr(pair, md5_password=our_key))
    before = (await blocking(netstat_counters, pair.r1)).get(kernel_counter, 0)
    async with running(pair.spk, speaker):
        # several SYNs (connect retry 1 s) rejected by FRR's kernel
        await polled(
            lambda: netstat_counters(pair.r1).get(kernel_counter, 0) >= before + 3,
            what=f"FRR's kernel: {kernel_counter} counts our SYNs",
            timeout=15,
        )
        record = pair.frr_neighbor(link.b.ipv4)
        assert record["bgpState"] in ("Active", "Connect", "Idle")
        assert record["messageStats"]["opensRecv"] == 0
        assert speaker.peer(link.a.ipv4).state.value in ("Connect", "Active", "Idle")
        status = speaker.status()[0]
        assert status.messages_in.get("open", 0) == 0


# --- hold timer --------------------------------------------------------------------------


async def test_hold_timer_expires_when_frr_stops_sending(lab: Lab) -> None:
    pair = frr_pair(lab, lines=("passive", "timers 1 3"))
    link, frr = pair.link, pair.frr
    speaker = Speaker(SPEAKER_AS, link.b.ipv4, listen=())
    speaker.add_neighbor(neighbor_to_frr(pair))
    speaker.announce(Route.make("198.51.100.0/24"))
    async with running(pair.spk, speaker) as events:
        up = await until(events, PeerUp)
        assert up.negotiated.hold_time == 3
        await blocking(frr.wait_route, "198.51.100.0/24")
        with paused(frr.daemons["bgpd"].pid):
            start = time.monotonic()
            down = await until(events, PeerDown, timeout=10)
            took = time.monotonic() - start
        assert "hold timer expired" in down.reason
        assert 2.0 <= took <= 4.5, took
        print(f"hold timer (3 s) expired after {took:.2f} s of silence")
        # FRR comes back, the speaker reconnects, and FRR counts the dropped connection
        await until(events, PeerUp, timeout=20)
        record = await polled(
            lambda: (nb := pair.frr_neighbor(link.b.ipv4))["bgpState"] == "Established" and nb,
            what="FRR: Established again",
        )
        assert record["connectionsDropped"] >= 1
        assert record["connectionsEstablished"] >= 2


async def test_frr_hold_timer_expires_when_we_stop_sending(lab: Lab) -> None:
    """The speaker's event loop is blocked (polling FRR synchronously): no keepalives leave, but
    the kernel still ACKs what FRR sends. FRR's hold timer runs out, it sends Hold Timer
    Expired; when the loop runs again we read that NOTIFICATION before our own (also overdue)
    hold timer fires, and reconnect. (Dropping our packets instead does not work without
    netfilter: a blackhole route also drops our ACKs, FRR's TCP stalls, and both hold timers
    race.)"""
    pair = frr_pair(lab, lines=("passive", "timers 1 3"))
    link, frr = pair.link, pair.frr
    speaker = Speaker(SPEAKER_AS, link.b.ipv4, listen=())
    speaker.add_neighbor(neighbor_to_frr(pair))
    speaker.announce(Route.make("198.51.100.0/24"))
    async with running(pair.spk, speaker) as events:
        await until(events, PeerUp)
        await blocking(frr.wait_route, "198.51.100.0/24")
        start = time.monotonic()
        # deliberately blocking the loop: this is the fault under test
        record = wait_until(
            lambda: (nb := pair.frr_neighbor(link.b.ipv4)).get("lastNotificationReason") and nb,
            timeout=15,
            what="FRR: hold timer expired, NOTIFICATION sent",
        )
        took = time.monotonic() - start
        assert record["lastResetDueTo"] == "BGP Notification send"
        assert record["lastNotificationReason"].startswith("Hold Timer Expired")
        assert record["bgpState"] != "Established"
        down = await until(events, PeerDown, timeout=5)
        assert "notification received: HOLD_TIMER_EXPIRED" in down.reason
        print(f"FRR's hold timer (3 s) expired after {took:.2f} s of our silence")
        await until(events, PeerUp, timeout=20)
        await blocking(frr.wait_established, link.b.ipv4)


# --- NOTIFICATION both ways ---------------------------------------------------------------


async def test_frr_shutdown_message_reaches_us_as_a_hard_reset(lab: Lab) -> None:
    pair = frr_pair(lab, networks=("10.101.0.0/24",))
    link, frr = pair.link, pair.frr
    speaker = Speaker(SPEAKER_AS, link.b.ipv4, listen=())
    speaker.add_neighbor(neighbor_to_frr(pair))
    async with running(pair.spk, speaker) as events:
        await until(events, PeerUp)
        await polled(
            lambda: len(speaker.peer(link.a.ipv4).rib_in) == 1, what="FRR's route received"
        )
        await blocking(
            frr.configure,
            f"router bgp {FRR_AS}",
            f"neighbor {link.b.ipv4} shutdown message maintenance window 42",
        )
        down = await until(events, PeerDown)
        assert "maintenance window 42" in down.reason
        assert "HARD_RESET" in down.reason
        assert not down.graceful  # RFC 8538: a Hard Reset flushes, no stale phase
        gone = await until(events, RouteWithdrawn)
        assert str(gone.prefix) == "10.101.0.0/24"
        assert len(speaker.peer(link.a.ipv4).rib_in) == 0
        assert pair.frr_neighbor(link.b.ipv4)["lastResetDueTo"] == "Admin. shutdown"
        status = speaker.status()[0]
        assert "maintenance window 42" in status.last_error or status.state != "Established"
        await blocking(frr.configure, f"router bgp {FRR_AS}", f"no neighbor {link.b.ipv4} shutdown")
        await until(events, PeerUp, timeout=20)


async def test_our_cease_messages_reach_frr(lab: Lab) -> None:
    """``remove_neighbor`` sends Cease/Peer De-configured as a Hard Reset (RFC 8538): FRR
    records both and drops our routes without a stale phase. (A shutdown message only goes
    with administrative shutdown and reset, RFC 9003; ``stop(message)`` is checked in
    test_speaker_frr_restart.py.)"""
    pair = frr_pair(lab)
    link, frr = pair.link, pair.frr
    speaker = Speaker(SPEAKER_AS, link.b.ipv4, listen=())
    speaker.add_neighbor(neighbor_to_frr(pair))
    speaker.announce(Route.make("198.51.100.0/24"))
    async with running(pair.spk, speaker) as events:
        await until(events, PeerUp)
        await blocking(frr.wait_route, "198.51.100.0/24")
        await speaker.remove_neighbor(link.a.ipv4, "moved to another rack")
        record = await polled(
            lambda: (nb := pair.frr_neighbor(link.b.ipv4)).get("lastNotificationReason") and nb,
            what="FRR: our NOTIFICATION",
        )
        assert record["lastNotificationReason"] == "Cease/Peer De-configured"
        assert record["lastNotificationHardReset"] is True
        await blocking(frr.wait_route, "198.51.100.0/24", present=False, timeout=3)


# --- connection collision (RFC 4271 section 6.8) ----------------------------------------------


def _tcp_sessions(pair: FrrPair) -> list[tuple[int, int, int]]:
    """Established BGP connections in the speaker's namespace: (local port, remote port,
    bytes received but not yet read by the speaker)."""
    out = pair.spk.exec(["ss", "-Htn", "state", "established"]).stdout
    conns = []
    for line in out.splitlines():
        recv_q, _send_q, local, remote = line.split()[:4]
        ports = int(local.rsplit(":", 1)[1]), int(remote.rsplit(":", 1)[1])
        if 179 in ports:
            conns.append((*ports, int(recv_q)))
    return conns


def _tcp_sessions_if(
    pair: FrrPair, *, count: int, unread: bool = False
) -> list[tuple[int, int, int]] | None:
    """The connections once there are ``count`` of them (each with unread data if
    ``unread``), else None."""
    conns = _tcp_sessions(pair)
    if len(conns) != count or (unread and not all(c[2] > 0 for c in conns)):
        return None
    return conns


@pytest.mark.parametrize("our_id", ["10.1.0.2", "10.0.0.9"], ids=["we-win", "frr-wins"])
async def test_collision_when_both_sides_connect_at_once(lab: Lab, our_id: str) -> None:
    """Both sides dial and each gets the other's OPEN on both connections: the connection
    opened by the speaker with the higher BGP identifier survives (FRR's is 10.1.0.1).

    Made deterministic by pausing. FRR is stopped while we dial (its kernel accepts; DelayOpen
    keeps our OPEN back). Our loop is blocked while FRR runs: it sends its OPEN on our
    connection and dials us, sending an OPEN there too. FRR is stopped again and our loop
    runs: we answer both OPENs, both connections reach OpenConfirm and we resolve the
    collision alone. Then FRR runs and resolves its side."""
    pair = frr_pair(lab, lines=(), networks=("10.101.0.0/24",))
    link, frr = pair.link, pair.frr
    bgpd = frr.daemons["bgpd"].pid
    speaker = Speaker(SPEAKER_AS, our_id, listen=(("0.0.0.0", 179),))
    speaker.add_neighbor(neighbor_to_frr(pair, delay_open_time=5))
    speaker.announce(Route.make("198.51.100.0/24"))
    we_win = our_id == "10.1.0.2"
    # FRR refuses connections until zebra has told bgpd about its interfaces ("nexthop_set
    # failed"); its first real dial to us (refused: nothing listens yet) shows it is ready
    await polled(
        lambda: "Connect failed 111" in frr_log(frr), what="FRR ready and dialling", timeout=10
    )
    async with running(pair.spk, speaker, start=False) as events:
        with paused(bgpd):
            await speaker.start()
            await polled(lambda: _tcp_sessions(pair), what="our connection accepted by the kernel")
        # deliberately blocking the loop until FRR's OPENs wait on both connections
        both = wait_until(
            partial(_tcp_sessions_if, pair, count=2, unread=True),
            timeout=10,
            what="FRR's OPEN on our connection and on its own",
        )
        assert sorted(c[0] == 179 for c in both) == [False, True]
        with paused(bgpd):
            peer = speaker.peer(link.a.ipv4)

            def resolved() -> bool:
                live = [c for c in peer._conns if c.transport is not None]
                return (
                    len(_tcp_sessions(pair)) == 1  # we closed the loser (FRR cannot)
                    and len(live) == 1
                    and live[0].session.state.value == "OpenConfirm"
                )

            await polled(resolved, what="our side down to one connection in OpenConfirm")
            (kept,) = [c for c in peer._conns if c.transport is not None]
            assert kept.outbound == we_win
            ((_local_port, remote_port, _),) = _tcp_sessions(pair)
            assert (remote_port == 179) == we_win
        up = await until(events, PeerUp)
        assert up.negotiated.peer_id == ipaddress.IPv4Address(link.a.ipv4)
        await blocking(frr.wait_route, "198.51.100.0/24")
        survivor = await polled(
            partial(_tcp_sessions_if, pair, count=1), what="one connection left"
        )
        record = pair.frr_neighbor(link.b.ipv4)
        assert record["bgpState"] == "Established"
        if we_win and record["connectionsEstablished"] == 2:
            # FRR 8.4 keeps our connection too, but when it has already read our Cease on
            # its own connection, moving the session onto its peer structure fails
            # ("bgp_getsockname() failed for accept") and it drops it once; we reconnect
            assert "bgp_getsockname() failed for accept" in frr_log(frr)
        else:
            assert record["connectionsEstablished"] == 1  # no flap on the way
            assert (survivor[0][1] == 179) == we_win  # the winner's connection
            assert (record["portLocal"] == 179) == we_win
        assert await polled(
            lambda: len(speaker.peer(link.a.ipv4).rib_in) == 1, what="FRR's route received"
        )
