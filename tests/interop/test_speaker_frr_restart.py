"""Graceful restart (RFC 4724) and Hard Reset (RFC 8538) of the speaker, seen from FRR 8.4.

FRR is a graceful-restart helper by default: when a speaker that offered graceful restart goes
away without a Hard Reset, FRR keeps its routes marked stale until the speaker is back and
sends End-of-RIB (then drops what was not announced again) or until the speaker's restart time
passes. The speaker restarts in two ways: cleanly in process (``stop(restart=True)``, a Cease
that is not a Hard Reset), and as a forked child killed with SIGKILL, i.e. a process that dies
without any NOTIFICATION.
"""

from __future__ import annotations

import asyncio
import time
from functools import partial
from typing import Any

import pytest
from lab import FrrInstance, Lab, best_path
from test_speaker_support import (
    SPEAKER_AS,
    FrrPair,
    blocking,
    frr_pair,
    neighbor_to_frr,
    polled,
    running,
    until,
)

from bgpspeak import EndOfRib, Neighbor, PeerDown, PeerUp, Route, Speaker
from bgpspeak.wire import IPV4_UNICAST

pytestmark = pytest.mark.timeout(90)

KEPT, DROPPED, V6 = "198.51.100.0/24", "203.0.113.0/24", "2001:db8:100::/48"


def _paths(frr: FrrInstance, prefix: str) -> list[dict[str, Any]]:
    return list(frr.route(prefix).get("paths", []))


def _stale(frr: FrrInstance, prefix: str) -> bool | None:
    """True/False: FRR has the prefix, marked stale or not; None: FRR does not have it."""
    paths = _paths(frr, prefix)
    if not paths:
        return None
    return bool(paths[0].get("stale"))


def _best_stale(view: dict[str, Any]) -> bool:
    path = best_path(view)
    return bool(path and path.get("stale"))


def _best_fresh(view: dict[str, Any]) -> bool:
    path = best_path(view)
    return bool(path and not path.get("stale"))


def _gr_info(pair: FrrPair) -> dict[str, Any]:
    return dict(pair.frr_neighbor(pair.link.b.ipv4).get("gracefulRestartInfo", {}))


async def test_clean_restart_keeps_routes_stale_until_end_of_rib(lab: Lab) -> None:
    pair = frr_pair(lab)
    link, frr = pair.link, pair.frr
    neighbor = neighbor_to_frr(pair)
    first = Speaker(SPEAKER_AS, link.b.ipv4, listen=())
    first.add_neighbor(neighbor)
    first.announce([Route.make(KEPT), Route.make(DROPPED), Route.make(V6)])
    with pair.spk.entered():
        events = first.events()
        await first.start()
        try:
            up = await until(events, PeerUp)
            assert up.negotiated.peer_restart is not None  # FRR is a helper
            for prefix in (KEPT, DROPPED, V6):
                await blocking(frr.wait_route, prefix)
        finally:
            await first.stop("upgrade", restart=True)
        stopped_at = time.monotonic()
        # FRR keeps all three, marked stale, and says why the session went down
        for prefix in (KEPT, DROPPED, V6):
            assert await polled(partial(_stale, frr, prefix), what=f"FRR: {prefix} stale")
        record = pair.frr_neighbor(link.b.ipv4)
        assert record["bgpState"] != "Established"
        assert record["lastNotificationReason"] == "Cease/Administrative Reset"
        assert record["lastShutdownDescription"] == "upgrade"
        assert not record.get("lastNotificationHardReset")

        second = Speaker(SPEAKER_AS, link.b.ipv4, listen=(), restarting=True)
        second.add_neighbor(neighbor)
        second.announce([Route.make(KEPT, med=5), Route.make(V6)])
        events = second.events()
        await second.start()
        try:
            await until(events, PeerUp)
            assert await polled(lambda: _gr_info(pair).get("rBit"), what="FRR: the speaker's R bit")
            await blocking(frr.wait_route, DROPPED, present=False)
            window = time.monotonic() - stopped_at
            kept = await blocking(
                frr.wait_route,
                KEPT,
                check=_best_fresh,
            )
            assert kept["paths"][0]["metric"] == 5
            assert _stale(frr, V6) is False
            assert _gr_info(pair)["endOfRibRecv"] == {"ipv4Unicast": True, "ipv6Unicast": True}
            print(f"stale window (stop to End-of-RIB sweep): {window:.2f} s")
        finally:
            await second.stop("test over")


async def test_plain_stop_is_a_hard_reset_and_frr_drops_routes_at_once(lab: Lab) -> None:
    pair = frr_pair(lab)
    link, frr = pair.link, pair.frr
    speaker = Speaker(SPEAKER_AS, link.b.ipv4, listen=())
    speaker.add_neighbor(neighbor_to_frr(pair))
    speaker.announce([Route.make(KEPT), Route.make(V6)])
    with pair.spk.entered():
        events = speaker.events()
        await speaker.start()
        try:
            up = await until(events, PeerUp)
            assert up.negotiated.peer_restart is not None
            assert up.negotiated.peer_restart.notification  # both sides set the N bit
            await until(events, EndOfRib, where=lambda e: e.family == IPV4_UNICAST)
            await blocking(frr.wait_route, KEPT)
            await blocking(frr.wait_route, V6)
        finally:
            await speaker.stop("decommissioned")
    record = await polled(
        lambda: (nb := pair.frr_neighbor(link.b.ipv4)).get("lastNotificationReason") and nb,
        what="FRR: the speaker's NOTIFICATION",
    )
    assert record["lastNotificationReason"] == "Cease/Administrative Shutdown"
    assert record["lastNotificationHardReset"] is True
    assert record["lastShutdownDescription"] == "decommissioned"
    # no stale phase: the routes are gone at once
    await blocking(frr.wait_route, KEPT, present=False, timeout=3)
    await blocking(frr.wait_route, V6, present=False, timeout=3)


# --- the speaker process dies (SIGKILL): no NOTIFICATION at all ---------------------------


def _speaker_process(
    router_id: str, neighbor: Neighbor, routes: list[Route], restarting: bool
) -> None:
    """A forked child inside the speaker's namespace: announce ``routes`` until killed."""

    async def main() -> None:
        speaker = Speaker(SPEAKER_AS, router_id, listen=(), restarting=restarting)
        speaker.add_neighbor(neighbor)
        speaker.announce(routes)
        await speaker.start()
        await asyncio.Event().wait()

    asyncio.run(main())


def test_killed_speaker_routes_stay_until_the_restarted_one_sends_end_of_rib(lab: Lab) -> None:
    pair = frr_pair(lab)
    link, frr = pair.link, pair.frr
    neighbor = neighbor_to_frr(pair, restart_time=30)
    first = lab.spawn(
        pair.spk,
        _speaker_process,
        link.b.ipv4,
        neighbor,
        [Route.make(KEPT), Route.make(DROPPED), Route.make(V6)],
        False,
    )
    for prefix in (KEPT, DROPPED, V6):
        frr.wait_route(prefix)
    first.kill()  # SIGKILL: the kernel closes the socket, no NOTIFICATION
    killed_at = time.monotonic()
    for prefix in (KEPT, DROPPED, V6):
        frr.wait_route(prefix, check=_best_stale)
    record = pair.frr_neighbor(link.b.ipv4)
    assert record["bgpState"] != "Established"
    assert record["messageStats"]["notificationsRecv"] == 0
    # still there a while later: FRR waits for the restart time (30 s), not a moment
    time.sleep(1.0)
    assert _stale(frr, KEPT) and _stale(frr, DROPPED)

    lab.spawn(pair.spk, _speaker_process, link.b.ipv4, neighbor, [Route.make(KEPT)], True)
    frr.wait_route(DROPPED, present=False, timeout=15)
    frr.wait_route(V6, present=False, timeout=5)
    frr.wait_route(KEPT, check=_best_fresh)
    window = time.monotonic() - killed_at
    assert window < 30  # swept by End-of-RIB, not by the restart timer
    gr = _gr_info(pair)
    assert gr["rBit"] is True
    assert gr["endOfRibRecv"] == {"ipv4Unicast": True, "ipv6Unicast": True}
    print(f"stale window (SIGKILL to End-of-RIB sweep): {window:.2f} s")


def test_killed_speaker_routes_go_when_its_restart_time_passes(lab: Lab) -> None:
    pair = frr_pair(lab)
    link, frr = pair.link, pair.frr
    neighbor = neighbor_to_frr(pair, restart_time=3)
    child = lab.spawn(pair.spk, _speaker_process, link.b.ipv4, neighbor, [Route.make(KEPT)], False)
    frr.wait_route(KEPT)
    assert _gr_info(pair)["timers"]["receivedRestartTimer"] == 3
    child.kill()
    killed_at = time.monotonic()
    frr.wait_route(KEPT, check=_best_stale, timeout=5)
    stale_seen = time.monotonic() - killed_at
    frr.wait_route(KEPT, present=False, timeout=15)
    gone = time.monotonic() - killed_at
    print(f"stale seen after {stale_seen:.2f} s, removed after {gone:.2f} s (restart time 3 s)")
    assert gone >= 2.5, "removed before the restart time passed"


async def test_connection_reset_without_notification_keeps_routes_in_frr(lab: Lab) -> None:
    """The speaker process lives on but its TCP connection is reset (aborted, no
    NOTIFICATION): FRR keeps our routes (stale) while we reconnect, and our initial transfer
    and End-of-RIB refresh them. FRR's table is polled throughout: the routes never vanish."""
    pair = frr_pair(lab)
    link, frr = pair.link, pair.frr
    speaker = Speaker(SPEAKER_AS, link.b.ipv4, listen=())
    speaker.add_neighbor(neighbor_to_frr(pair))
    speaker.announce([Route.make(KEPT), Route.make(V6)])
    async with running(pair.spk, speaker) as events:
        await until(events, PeerUp)
        await blocking(frr.wait_route, KEPT)
        await blocking(frr.wait_route, V6)
        peer = speaker.peer(link.a.ipv4)
        for conn in peer._conns:
            if conn.transport is not None:
                conn.transport.abort()  # RST; the speaker's task goes on and redials
        down = await until(events, PeerDown)
        assert down.graceful  # FRR's routes kept on our side too (FRR offered GR)

        gaps: list[list[bool | None]] = []

        def states() -> list[bool | None]:
            """Stale flags of both routes; records any moment one was missing (wait_until
            would swallow an exception raised here)."""
            now = [_stale(frr, p) for p in (KEPT, V6)]
            if None in now:
                gaps.append(now)
            return now

        assert await polled(lambda: states()[0], what="FRR: our route stale")
        start = time.monotonic()
        await until(events, PeerUp, timeout=20)
        await polled(
            lambda: states() == [False, False], what="FRR: routes fresh again", interval=0.05
        )
        assert not gaps, f"FRR dropped a route during the reconnect: {gaps}"
        print(f"stale window after the reset: {time.monotonic() - start:.2f} s")
        record = pair.frr_neighbor(link.b.ipv4)
        assert record["connectionsEstablished"] == 2
        assert record["messageStats"]["notificationsRecv"] == 0
