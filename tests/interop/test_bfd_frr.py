"""bgpspeak's BFD against FRR 8.4's bfdd (zebra + bgpd + bfdd, ``neighbor X bfd`` with a
100 ms x 3 profile): sessions come Up both ways with the negotiated intervals; FRR removes our
routes within its detection time when our packets stop (dropped by tc, or the speaker
SIGKILLed); we take BGP down within ours when FRR's bfdd dies; parameter changes through
Poll/Final, AdminDown and a garbage flood leave the session alone.

Timings are measured where they are decided (FRR's microsecond logs, r1's kernel table) and
printed; docs/bfd.md collects them. Assertions allow for this loaded 2-core machine."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from typing import Any

import pytest
from lab import Lab, NsProcess, wait_until
from test_bfd_support import (
    DETECT_S,
    FRR_AS,
    FRR_PREFIX,
    INTERVAL_MS,
    MULT,
    PREFIX,
    SPEAKER_AS,
    BfdLab,
    bfd_lab,
    block_bfd_egress,
    log_times,
    polled,
    running,
    speaker_for,
    unblock,
    watch_kernel_route_gone,
)

from bgpspeak import (
    EventStream,
    Neighbor,
    PeerDown,
    PeerUp,
    Route,
    RouteWithdrawn,
    Speaker,
)
from bgpspeak.bfd import BfdConfig, BgpBfd, SessionEvent, State

pytestmark = pytest.mark.timeout(90)
MS = 1000
FAST = BfdConfig(min_tx_ms=INTERVAL_MS, min_rx_ms=INTERVAL_MS, multiplier=MULT)
FRR_DOWN = r"state-change: .* up -> down"


async def until(stream: EventStream, kind: type[Any], timeout: float = 15.0) -> Any:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        event = await stream.get(max(0.01, deadline - loop.time()))
        if isinstance(event, kind):
            return event


async def drain(stream: EventStream) -> list[Any]:
    """The events already queued (so that a later ``until`` sees only new ones)."""
    out = []
    while True:
        try:
            out.append(await stream.get(0.001))
        except TimeoutError:
            return out


async def frr_peer_up(bl: BfdLab, address: str) -> dict[str, Any]:
    def probe() -> dict[str, Any] | None:
        peer = bl.bfd_peer(address)
        return peer if peer.get("status") == "up" else None

    result: dict[str, Any] = await polled(probe, what=f"FRR: BFD peer {address} up")
    return result


async def settled(bfd: BgpBfd, address: str) -> None:
    """Up, and the Poll Sequences that follow Up are over on our side."""
    key = bfd.key(address)
    await bfd.service.wait_state(key, State.UP, 15)
    for _ in range(100):
        st = bfd.service.session_status(key)
        if not st.polling and st.tx_interval <= INTERVAL_MS * MS:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"still polling: {bfd.service.session_status(key)}")


async def reregistered(bl: BfdLab, bfd: BgpBfd) -> dict[str, Any]:
    """Past FRR 8.4's re-registration (docs/bfd.md, "FRR facts"): once BGP is Established its
    bgpd re-creates the BFD session (new discriminator; we see one Down from the old one),
    which would count as a flap in a test that starts before it. Returns FRR's view of the
    final session, Up on both sides with the Poll Sequences over."""
    addr, ours = bl.link.a.ipv4, bl.link.b.ipv4
    await polled(
        lambda: "bgp_peer_bfd_update_source" in bl.log("bgpd") or None,
        what="FRR's bgpd re-registering its BFD session",
    )

    def probe() -> dict[str, Any] | None:
        frr = bl.bfd_peer(ours)
        st = bfd.neighbor_status(addr).session
        final = st.state is State.UP and not st.polling and st.remote_discriminator == frr.get("id")
        return frr if final and frr.get("status") == "up" else None

    result: dict[str, Any] = await polled(probe, what="the re-created BFD session Up")
    return result


# --- bring-up ---------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["ipv4", "ipv6", "multihop"])
async def test_bfd_comes_up_both_ways_with_the_negotiated_intervals(lab: Lab, mode: str) -> None:
    transport = 6 if mode == "ipv6" else 4
    lines: tuple[str, ...] = ("passive", "bfd", "bfd profile fast")
    config = FAST
    if mode == "multihop":
        # RFC 5883: FRR uses multi-hop BFD for a multi-hop eBGP neighbor, and needs to know
        # the local address for the session key
        lines += ("ebgp-multihop 2", "update-source 10.1.0.1")
        config = BfdConfig(min_tx_ms=INTERVAL_MS, min_rx_ms=INTERVAL_MS, multihop=True)
    bl = bfd_lab(lab, transport=transport, neighbor_lines=lines)
    ours = bl.link.b.ipv6 if transport == 6 else bl.link.b.ipv4
    theirs = bl.link.a.ipv6 if transport == 6 else bl.link.a.ipv4
    extra = {"local_address": ours} if mode == "multihop" else {}
    speaker, bfd = speaker_for(bl, config, transport=transport, **extra)
    async with running(bl.spk, speaker, bfd) as events:
        await until(events, PeerUp)
        await settled(bfd, theirs)
        frr = await frr_peer_up(bl, ours)
        st = bfd.neighbor_status(theirs).session
        # FRR's view of us: our discriminator, intervals and multiplier
        assert frr["multihop"] is (mode == "multihop")
        assert frr["remote-id"] == st.local_discriminator
        assert frr["id"] == st.remote_discriminator
        assert frr["remote-transmit-interval"] == INTERVAL_MS
        assert frr["remote-receive-interval"] == INTERVAL_MS
        assert frr["remote-detect-multiplier"] == MULT
        assert frr["receive-interval"] == frr["transmit-interval"] == INTERVAL_MS
        # ours of FRR: negotiated 100 ms, detection 300 ms
        assert st.state is State.UP and st.key.multihop is (mode == "multihop")
        assert st.tx_interval == INTERVAL_MS * MS
        assert st.detection_time == MULT * INTERVAL_MS * MS
        assert st.remote_desired_min_tx == INTERVAL_MS * MS
        # FRR went Up at the slow rate and polled to the fast one: we answered with a Final;
        # we did the same the other way
        assert st.counters.finals_sent >= 1 and st.counters.polls_completed >= 1
        assert st.counters.rx_discarded == {}  # TTL 255 both ways, nothing refused
        # and FRR's bgpd sees BFD Up for the neighbor
        record = bl.frr.neighbors()[ours]
        assert record["peerBfdInfo"]["status"] == "Up", record.get("peerBfdInfo")
        print(f"\n{mode}: FRR sees {frr}")


async def test_strict_mode_waits_for_bfd_before_bgp(lab: Lab) -> None:
    """Strict: no BGP before BFD is Up. FRR 8.4 then resets that first session once by itself
    (its bgpd re-registers the BFD session when the TCP connection reveals the interface,
    and takes the fresh, Down session for a failure); from then on it is stable."""
    bl = bfd_lab(lab)
    addr = bl.link.a.ipv4
    strict = BfdConfig(min_tx_ms=INTERVAL_MS, min_rx_ms=INTERVAL_MS, strict=True)
    speaker, bfd = speaker_for(bl, strict)
    async with running(bl.spk, speaker, bfd) as events:
        assert bfd.neighbor_status(addr).held
        up = await until(events, PeerUp)
        assert isinstance(up, PeerUp)
        first_bfd_up = bfd.neighbor_status(addr).session
        assert first_bfd_up.counters.up_transitions >= 1  # BFD was Up before BGP started
        assert bfd.neighbor_status(addr).bgp_drops == 0  # we never dropped it
        await polled(
            lambda: bl.frr.neighbor_state(bl.link.b.ipv4) == "Established" or None,
            what="FRR: Established",
        )
        # stable afterwards: Established for 3 s with BFD Up
        await asyncio.sleep(3)
        assert bl.frr.neighbor_state(bl.link.b.ipv4) == "Established"
        assert speaker.peer(addr).state.value == "Established"
        assert bfd.neighbor_status(addr).session.state is State.UP


# --- FRR detects us -------------------------------------------------------------------------


async def test_frr_removes_our_routes_when_our_bfd_packets_are_dropped(lab: Lab) -> None:
    bl = bfd_lab(lab)
    speaker, bfd = speaker_for(bl, FAST)
    async with running(bl.spk, speaker, bfd) as events:
        await until(events, PeerUp)
        await settled(bfd, bl.link.a.ipv4)
        await frr_peer_up(bl, bl.link.b.ipv4)
        await polled(lambda: bl.kernel_has(PREFIX) or None, what="our route in r1's kernel")
        await asyncio.sleep(1.0)
        await drain(events)
        t0 = time.time()
        await asyncio.to_thread(block_bfd_egress, bl.spk, bl.link.b.ifname)
        t_applied = time.time()
        try:
            gone = await asyncio.to_thread(watch_kernel_route_gone, bl, PREFIX, 10.0)
            down = [t for t in log_times(bl.log("bfdd"), FRR_DOWN) if t >= t0 - 0.01]
            assert down, bl.log("bfdd")[-2000:]
            frr_detect, route_gone = down[0] - t_applied, gone - t_applied
            print(
                f"\ntc drop: FRR BFD down after {frr_detect:.3f} s, route out of r1's kernel "
                f"after {route_gone:.3f} s (detection time {DETECT_S} s, tc took "
                f"{t_applied - t0:.3f} s)"
            )
            assert frr_detect <= DETECT_S + 0.2
            assert route_gone <= DETECT_S + 1.0  # far below any BGP hold time
            # FRR told us (Down, diag 1) and we took our side of BGP down too
            drop = await until(events, PeerDown, 5)
            assert "BFD_DOWN" in drop.reason
        finally:
            await asyncio.to_thread(unblock, bl.spk, bl.link.b.ifname)


def _speaker_child(peer: str, local: str, graceful_restart: bool) -> None:
    """A whole speaker with BFD in a child process, to be SIGKILLed or SIGSTOPped."""

    async def main() -> None:
        speaker = Speaker(SPEAKER_AS, local, listen=())
        speaker.add_neighbor(
            Neighbor(
                peer,
                remote_as=FRR_AS,
                connect_retry_time=1,
                families=("ipv4/unicast",),
                graceful_restart=graceful_restart,
            )
        )
        speaker.announce(Route.make(PREFIX))
        bfd = BgpBfd(speaker)
        bfd.attach(peer, FAST)
        await speaker.start()
        await bfd.start()
        await asyncio.Event().wait()

    asyncio.run(main())


def _child_up(lab: Lab, bl: BfdLab, graceful_restart: bool) -> NsProcess:
    child = lab.spawn(bl.spk, _speaker_child, bl.link.a.ipv4, bl.link.b.ipv4, graceful_restart)
    wait_until(
        lambda: bl.bfd_peer(bl.link.b.ipv4).get("status") == "up" or None,
        timeout=20,
        what="FRR: BFD up",
    )
    wait_until(lambda: bl.kernel_has(PREFIX) or None, timeout=20, what="route in r1's kernel")
    time.sleep(1.5)  # past the Poll Sequences: both at 100 ms
    return child


def _frr_detection(bl: BfdLab, since: float) -> float:
    down = [t for t in log_times(bl.log("bfdd"), FRR_DOWN) if t >= since - 0.01]
    assert down, bl.log("bfdd")[-2000:]
    return down[0] - since


def test_frr_removes_our_routes_when_the_speaker_hangs(lab: Lab) -> None:
    """SIGSTOP: the process (or host) stops, nothing is sent, TCP stays open: only BFD can tell.
    With graceful restart negotiated, FRR still flushes at once: its bgpd stops the peer
    on BFD down without keeping stale routes."""
    bl = bfd_lab(lab)
    child = _child_up(lab, bl, graceful_restart=True)
    try:
        t0 = time.time()
        os.kill(child.pid, signal.SIGSTOP)
        gone = watch_kernel_route_gone(bl, PREFIX, 10.0)
        frr_detect, route_gone = _frr_detection(bl, t0), gone - t0
        print(
            f"\nSIGSTOP: FRR BFD down after {frr_detect:.3f} s, route out of r1's kernel after "
            f"{route_gone:.3f} s (detection time {DETECT_S} s)"
        )
        assert frr_detect <= DETECT_S + 0.2
        assert route_gone <= DETECT_S + 1.0
        assert "bfd state Up -> Down" in bl.log("bgpd")  # bgpd acted on BFD, not on TCP
    finally:
        child.kill()


@pytest.mark.parametrize("graceful_restart", [False, True], ids=["no-gr", "gr"])
def test_frr_when_the_speaker_is_killed(lab: Lab, graceful_restart: bool) -> None:
    """SIGKILL: the kernel closes our TCP connection at once, before any BFD detection time.
    Without graceful restart FRR withdraws at that FIN; with it, FRR keeps our routes as stale
    for the restart time (RFC 4724 helper: the process died, forwarding may live on) and
    FRR 8.4 does not flush them when BFD goes down a moment later."""
    bl = bfd_lab(lab)
    child = _child_up(lab, bl, graceful_restart)
    t0 = time.time()
    child.kill()
    if not graceful_restart:
        # the FIN wins: bgpd drops the peer (and re-registers BFD) before BFD could tell
        gone = watch_kernel_route_gone(bl, PREFIX, 10.0)
        print(f"\nSIGKILL, no GR: route out of r1's kernel after {gone - t0:.3f} s")
        assert gone - t0 <= DETECT_S + 0.2
        return
    downs: list[float] = wait_until(
        lambda: log_times(bl.log("bfdd"), FRR_DOWN) or None, timeout=5, what="FRR: BFD down"
    )
    frr_detect = downs[-1] - t0
    time.sleep(1.0)
    print(
        f"\nSIGKILL, GR: FRR's BFD down after {frr_detect:.3f} s; our route kept as stale: "
        f"{bl.kernel_has(PREFIX)}"
    )
    assert frr_detect <= DETECT_S + 0.2
    assert "NSF peer closed the session" in bl.log("bgpd")
    assert bl.kernel_has(PREFIX)  # FRR's graceful-restart helper keeps it


# --- we detect FRR --------------------------------------------------------------------------


def _frr_saw_our_cease(bl: BfdLab, since: float) -> str:
    """FRR's bgpd read our Cease/BFD Down and left Established because of it (not because a
    new connection of ours made it take the old one for a graceful restart: the bug of
    docs/bfd.md, "Dropping BGP")."""
    log = bl.log_since("bgpd", since)
    assert f"received from neighbor {bl.link.b.ipv4} 6/10 (Cease/BFD Down)" in log, log[-3000:]
    assert "Receive_NOTIFICATION_message (Established->Clearing)" in log, log[-3000:]
    assert "NSF peer closed the session" not in log, log[-3000:]
    return log


def _has_frr_route(speaker: Speaker, addr: str) -> bool:
    table = speaker.peer(addr).rib_in.routes.values()
    return any(str(p) == FRR_PREFIX for prefixes in table for p in prefixes)


async def _stable(bl: BfdLab, speaker: Speaker, bfd: BgpBfd, seconds: float) -> None:
    """Established on both sides with BFD Up on both, and still so ``seconds`` later without
    a flap in between (FRR's uptime keeps growing)."""
    addr, ours = bl.link.a.ipv4, bl.link.b.ipv4

    def probe() -> dict[str, Any] | None:
        record = bl.frr.neighbors().get(ours, {})
        up = (
            record.get("bgpState") == "Established"
            and record.get("peerBfdInfo", {}).get("status") == "Up"
            and speaker.peer(addr).state.value == "Established"
            and bfd.neighbor_status(addr).session.state is State.UP
        )
        return record if up else None

    before = await polled(probe, what="Established and BFD Up on both sides", timeout=30)
    await asyncio.sleep(seconds)
    after = await polled(probe, what="still Established and BFD Up", timeout=1)
    assert after["bgpTimerUpMsec"] >= before["bgpTimerUpMsec"] + seconds * 1000 - 500


@pytest.mark.parametrize("strict", [False, True], ids=["plain", "strict"])
async def test_speaker_takes_bgp_down_when_frr_bfdd_is_killed(lab: Lab, strict: bool) -> None:
    """bfdd SIGKILLed: we declare the path down within our detection time and end BGP with
    Cease/BFD Down; FRR must read it (its session leaves Established, our route leaves its
    kernel table) although we reconnect. FRR's bgpd keeps the last BFD state it heard (Up)
    while bfdd is dead, so without strict it takes our reconnection at once; with strict we
    hold BGP until BFD is Up again, i.e. until bfdd is back. Either way everything is
    Established and stable once bfdd returns."""
    bl = bfd_lab(lab)
    addr = bl.link.a.ipv4
    config = BfdConfig(min_tx_ms=INTERVAL_MS, min_rx_ms=INTERVAL_MS, strict=strict)
    speaker, bfd = speaker_for(bl, config)
    async with running(bl.spk, speaker, bfd) as events:
        await until(events, PeerUp, 20)
        await settled(bfd, addr)
        # FRR 8.4 may reset its first session once after BFD comes up (docs/bfd.md): start
        # from a session that is stable on both sides
        await _stable(bl, speaker, bfd, 1.0)
        await polled(lambda: bl.kernel_has(PREFIX) or None, what="our route in r1's kernel")
        await polled(lambda: _has_frr_route(speaker, addr) or None, what="FRR's route here")
        await drain(events)
        loop = asyncio.get_running_loop()
        got: asyncio.Future[SessionEvent] = loop.create_future()

        def first_path_down(event: SessionEvent) -> None:
            if event.path_down and not got.done():
                got.set_result(event)

        unsubscribe = bfd.service.subscribe(first_path_down)
        try:
            wall, killed = time.time(), time.monotonic()
            await asyncio.to_thread(bl.frr.daemons["bfdd"].kill)
            route_gone = asyncio.ensure_future(
                asyncio.to_thread(watch_kernel_route_gone, bl, PREFIX, 10.0)
            )
            event = await asyncio.wait_for(got, 3)
        finally:
            unsubscribe()
        took = event.at - killed
        down = await until(events, PeerDown, 3)
        gone = await until(events, RouteWithdrawn, 3)
        bgp_took = time.monotonic() - killed
        frr_took = await route_gone - wall
        print(
            f"\nbfdd SIGKILL ({'strict' if strict else 'plain'}): our BFD down after "
            f"{took:.3f} s, BGP down and FRR's route withdrawn here by {bgp_took:.3f} s, "
            f"our route out of r1's kernel after {frr_took:.3f} s (detection time {DETECT_S} s)"
        )
        assert event.diag.name == "CONTROL_DETECTION_TIME_EXPIRED"
        assert took <= DETECT_S + 0.05
        assert "BFD_DOWN" in down.reason and str(gone.prefix) == FRR_PREFIX
        assert frr_took <= DETECT_S + 1.0
        _frr_saw_our_cease(bl, wall)
        if strict:
            # held while BFD is down: no BGP, FRR's side stays down too
            assert bfd.neighbor_status(addr).held
            await asyncio.sleep(2.0)
            assert speaker.peer(addr).state.value != "Established"
            assert bl.frr.neighbor_state(bl.link.b.ipv4) != "Established"
            assert not bl.kernel_has(PREFIX)
        else:
            # not strict: BGP comes back over the working TCP path, BFD still down
            await until(events, PeerUp, 15)
            await asyncio.to_thread(bl.frr.wait_established, bl.link.b.ipv4)
            assert bfd.neighbor_status(addr).session.state is not State.UP
        # bfdd returns: FRR's bgpd replays its BFD session, which starts Down, and resets
        # an Established BGP session once (Hard Reset 6/10 sent); then BFD comes Up
        back = time.time()
        await asyncio.to_thread(bl.restart_bfdd)
        await _stable(bl, speaker, bfd, 2.0)
        await polled(lambda: bl.kernel_has(PREFIX) or None, what="our route back in r1's kernel")
        resets = bl.log_since("bgpd", back).count("sent to neighbor 10.1.0.2 6/10")
        print(f"after bfdd's return: FRR reset BGP {resets} time(s), then stable")
        assert bfd.neighbor_status(addr).bgp_drops == 1  # we dropped it once, at the kill


# --- things that must not take the session down ------------------------------------------


_FLOOD = r"""
import os, random, socket, sys, time
target, seconds = sys.argv[1], float(sys.argv[2])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, 255)
rng = random.Random(7)
shapes = [b"", b"\x00" * 24, os.urandom(48)]
# well-formed Control packets with made-up discriminators, from made-up sessions
for _ in range(32):
    shapes.append(bytes([0x20, 0xC0, 3, 24]) + rng.randbytes(4) + rng.randbytes(4) + bytes(12))
sent, end = 0, time.monotonic() + seconds
while time.monotonic() < end:
    for data in shapes:
        try:
            s.sendto(data, (target, 3784))
            sent += 1
        except OSError:
            pass
print(sent)
"""


async def test_garbage_flood_does_not_disturb_an_up_session(lab: Lab) -> None:
    bl = bfd_lab(lab)
    addr = bl.link.a.ipv4
    speaker, bfd = speaker_for(bl, FAST)
    async with running(bl.spk, speaker, bfd) as events:
        await until(events, PeerUp)
        await settled(bfd, addr)
        before = await reregistered(bl, bfd)
        downs = bfd.neighbor_status(addr).session.counters.down_transitions
        done = await asyncio.to_thread(
            bl.r1.exec, [sys.executable, "-c", _FLOOD, bl.link.b.ipv4, "3"], timeout=30
        )
        sent = int(done.stdout.strip())
        status = bfd.service.status()
        refused = sum(status.counters.rx_discarded.values())
        st = bfd.neighbor_status(addr).session
        after = await frr_peer_up(bl, bl.link.b.ipv4)
        print(
            f"\nflood: {sent} datagrams in 3 s, {refused} refused by the table; session "
            f"{st.state.label}, worst silence {st.counters.rx_gap_max_us / 1000:.1f} ms, "
            f"worst late send {st.counters.tx_late_max_us / 1000:.1f} ms"
        )
        assert sent > 10_000
        assert refused > 1000, status.counters
        assert st.state is State.UP and st.counters.down_transitions == downs
        assert after["uptime"] >= before["uptime"] + 2  # FRR's side never flapped either
        assert bfd.neighbor_status(addr).bgp_drops == 0


async def test_parameter_changes_through_poll_and_final_without_flapping(lab: Lab) -> None:
    bl = bfd_lab(lab)
    addr, ours = bl.link.a.ipv4, bl.link.b.ipv4
    speaker, bfd = speaker_for(bl, FAST)
    async with running(bl.spk, speaker, bfd) as events:
        await until(events, PeerUp)
        await settled(bfd, addr)
        await reregistered(bl, bfd)
        counters = bfd.neighbor_status(addr).session.counters
        finals, downs = counters.finals_sent, counters.down_transitions
        # FRR changes its profile: it polls, we answer with a Final
        await asyncio.to_thread(
            bl.frr.configure, "bfd", "profile fast", "transmit-interval 150", daemon="bfdd"
        )
        await polled(
            lambda: bfd.neighbor_status(addr).session.remote_desired_min_tx == 150 * MS or None,
            what="FRR's new transmit interval",
        )
        # we change ours: we poll, FRR answers
        bfd.reconfigure(addr, BfdConfig(min_tx_ms=200, min_rx_ms=300, multiplier=4))
        frr = await polled(
            lambda: (
                (p := bl.bfd_peer(ours)).get("remote-detect-multiplier") == 4
                and p.get("remote-receive-interval") == 300
                and p
            ),
            what="FRR sees our new intervals",
        )
        await asyncio.sleep(1.0)
        st = bfd.neighbor_status(addr).session
        assert frr["remote-transmit-interval"] == 200 and frr["status"] == "up"
        assert st.state is State.UP and not st.polling
        assert st.counters.finals_sent > finals and st.counters.down_transitions == downs
        assert st.tx_interval == 200 * MS  # max(our 200, FRR's receive 100)
        assert st.detection_time == MULT * 300 * MS  # FRR's mult x max(our rx 300, its tx 150)
        assert bl.bfd_peer(ours)["status"] == "up"
        assert bfd.neighbor_status(addr).bgp_drops == 0


async def test_admin_down_of_frr_leaves_bgp_alone_ours_makes_frr_reset_once(lab: Lab) -> None:
    """FRR's AdminDown is not a failure for us (RFC 5882 section 3.2): BGP stays. Ours is one
    for FRR 8.4: its bfdd reports a remote AdminDown to bgpd as plain Down, and bgpd resets
    BGP once (Hard Reset 6/10), which the RFC says it should not; BGP comes back while BFD
    stays AdminDown, and we count no BFD drop of ours."""
    bl = bfd_lab(lab)
    addr, ours = bl.link.a.ipv4, bl.link.b.ipv4
    speaker, bfd = speaker_for(bl, FAST)
    async with running(bl.spk, speaker, bfd) as events:
        await until(events, PeerUp)
        await settled(bfd, addr)
        await reregistered(bl, bfd)
        # FRR shuts its profile down: we see AdminDown and leave BGP alone
        await asyncio.to_thread(bl.frr.configure, "bfd", "profile fast", "shutdown", daemon="bfdd")
        await bfd.service.wait_state(bfd.key(addr), State.DOWN, 3)
        assert bfd.neighbor_status(addr).session.remote_state is State.ADMIN_DOWN
        await asyncio.sleep(1.0)
        assert speaker.peer(addr).state.value == "Established"
        assert bfd.neighbor_status(addr).bgp_drops == 0
        await asyncio.to_thread(
            bl.frr.configure, "bfd", "profile fast", "no shutdown", daemon="bfdd"
        )
        await settled(bfd, addr)
        assert bl.frr.neighbor_state(ours) == "Established"  # its own AdminDown: no reset
        await drain(events)
        # we shut ours down: FRR sees AdminDown, and FRR 8.4's bgpd resets BGP once
        since = time.time()
        bfd.reconfigure(
            addr, BfdConfig(min_tx_ms=INTERVAL_MS, min_rx_ms=INTERVAL_MS, shutdown=True)
        )
        frr = await polled(
            lambda: (p := bl.bfd_peer(ours)).get("status") == "down" and p, what="FRR: down"
        )
        await polled(
            lambda: "sent to neighbor 10.1.0.2 6/10" in bl.log_since("bgpd", since) or None,
            what="FRR's bgpd resetting BGP on our AdminDown",
        )
        down = await until(events, PeerDown, 5)
        assert "BFD_DOWN" in down.reason  # FRR's Cease, not a drop of ours
        await until(events, PeerUp, 15)
        await asyncio.to_thread(bl.frr.wait_established, ours)
        await asyncio.sleep(2.0)  # and it stays up with BFD AdminDown
        record = bl.frr.neighbors()[ours]
        print(
            f"\nour AdminDown: FRR's BFD {frr['status']} ({frr['diagnostic']}), "
            f"remote diagnostic {frr['remote-diagnostic']}; FRR's bgpd reset BGP once, "
            f"back up: {record['bgpState']}, FRR's BFD for bgpd {record['peerBfdInfo']}"
        )
        assert frr["remote-diagnostic"] == "administratively down"
        assert record["bgpState"] == "Established" and record["bgpTimerUpMsec"] >= 1500
        assert speaker.peer(addr).state.value == "Established"
        st = bfd.neighbor_status(addr)
        assert st.session.state is State.ADMIN_DOWN and st.bgp_drops == 0
        assert bl.log_since("bgpd", since).count("sent to neighbor 10.1.0.2 6/10") == 1
