"""The BFD session state machine with a fake clock (µs): every state against every input,
timers, jitter, Poll/Final, and the transmission rules of RFC 5880 section 6.8.7."""

from __future__ import annotations

import itertools
import random

import pytest

from bgpspeak.bfd.codes import SLOW_TX_INTERVAL, Diag, State
from bgpspeak.bfd.config import SessionParams
from bgpspeak.bfd.events import (
    AdminDown,
    AdminUp,
    Output,
    Received,
    Reconfigure,
    StateChanged,
    Tick,
    Transmit,
)
from bgpspeak.bfd.packet import ControlPacket
from bgpspeak.bfd.session import BfdSession

MS = 1000
LOCAL = 0x1111
REMOTE = 0x2222
FAST = SessionParams(desired_min_tx=100 * MS, required_min_rx=100 * MS, detect_mult=3)


def remote(state: State, **kw: object) -> ControlPacket:
    base: dict[str, object] = dict(
        state=state,
        my_discriminator=REMOTE,
        your_discriminator=LOCAL if state not in (State.DOWN, State.ADMIN_DOWN) else 0,
        detect_mult=3,
        desired_min_tx=100 * MS,
        required_min_rx=100 * MS,
    )
    base.update(kw)
    return ControlPacket(**base)  # type: ignore[arg-type]


def sent(outs: list[Output]) -> list[ControlPacket]:
    return [o.packet for o in outs if isinstance(o, Transmit)]


def changes(outs: list[Output]) -> list[StateChanged]:
    return [o for o in outs if isinstance(o, StateChanged)]


def session_in(state: State, params: SessionParams = FAST, seed: int = 1) -> BfdSession:
    """A session brought into ``state`` the way the protocol gets there, at t = 0."""
    s = BfdSession(LOCAL, params, rng=random.Random(seed), admin_down=state is State.ADMIN_DOWN)
    s.handle(Tick(), 0)
    if state is State.INIT:
        s.handle(Received(remote(State.DOWN)), 0)
    elif state is State.UP:
        s.handle(Received(remote(State.INIT)), 0)
    assert s.state is state
    return s


# --- every state x every received state (section 6.8.6) ------------------------------------

R = State
TRANSITIONS: dict[State, dict[State, tuple[State, Diag, bool] | None]] = {
    # local state: {received state: (new state, diag, remote_admin)}
    R.ADMIN_DOWN: {r: None for r in State},
    R.DOWN: {
        R.ADMIN_DOWN: None,
        R.DOWN: (R.INIT, Diag.NONE, False),
        R.INIT: (R.UP, Diag.NONE, False),
        R.UP: None,
    },
    R.INIT: {
        R.ADMIN_DOWN: (R.DOWN, Diag.NEIGHBOR_SIGNALED_SESSION_DOWN, True),
        R.DOWN: None,
        R.INIT: (R.UP, Diag.NONE, False),
        R.UP: (R.UP, Diag.NONE, False),
    },
    R.UP: {
        R.ADMIN_DOWN: (R.DOWN, Diag.NEIGHBOR_SIGNALED_SESSION_DOWN, True),
        R.DOWN: (R.DOWN, Diag.NEIGHBOR_SIGNALED_SESSION_DOWN, False),
        R.INIT: None,
        R.UP: None,
    },
}


@pytest.mark.parametrize("local", list(State))
@pytest.mark.parametrize("received", list(State))
def test_state_table(local: State, received: State) -> None:
    s = session_in(local)
    outs = s.handle(Received(remote(received)), 10 * MS)
    expected = TRANSITIONS[local][received]
    if expected is None:
        assert changes(outs) == []
        assert s.state is local
        return
    new, diag, remote_admin = expected
    assert changes(outs) == [StateChanged(local, new, diag, remote_admin)]
    assert s.state is new and s.local_diag is diag
    # every state change is announced at once with the new state
    assert sent(outs)[0].state is new


def test_admin_down_session_ignores_packets_but_learns_the_peer() -> None:
    s = session_in(State.ADMIN_DOWN)
    s.handle(Received(remote(State.DOWN, poll=True)), 5 * MS)
    assert s.remote_discr == REMOTE  # recorded before the AdminDown discard (section 6.8.6)
    assert s.counters.rx_discarded == {"admin-down": 1}
    assert s.counters.rx_packets == 0
    assert s.counters.finals_sent == 0  # no Final from AdminDown: the packet is discarded
    assert s.detect_deadline is None


@pytest.mark.parametrize("local", [State.DOWN, State.INIT, State.UP])
def test_admin_down_from_every_state(local: State) -> None:
    s = session_in(local)
    outs = s.handle(AdminDown(), 20 * MS)
    assert changes(outs) == [StateChanged(local, State.ADMIN_DOWN, Diag.ADMINISTRATIVELY_DOWN)]
    (p,) = sent(outs)
    assert p.state is State.ADMIN_DOWN and p.diag == Diag.ADMINISTRATIVELY_DOWN
    assert p.desired_min_tx == SLOW_TX_INTERVAL
    assert s.detect_deadline is None
    assert s.polling is False


def test_admin_up_goes_down_then_up_again() -> None:
    s = session_in(State.ADMIN_DOWN)
    outs = s.handle(AdminUp(), 1 * MS)
    assert changes(outs) == [StateChanged(State.ADMIN_DOWN, State.DOWN, Diag.ADMINISTRATIVELY_DOWN)]
    s.handle(Received(remote(State.INIT)), 2 * MS)
    assert s.state is State.UP and s.local_diag is Diag.NONE


@pytest.mark.parametrize("local", [State.DOWN, State.INIT, State.UP])
def test_admin_up_outside_admin_down_does_nothing(local: State) -> None:
    s = session_in(local)
    assert changes(s.handle(AdminUp(), 1 * MS)) == []
    assert s.state is local


def test_second_admin_down_changes_nothing() -> None:
    s = session_in(State.ADMIN_DOWN)
    assert changes(s.handle(AdminDown(), 1 * MS)) == []


# --- detection time (section 6.8.4) ---------------------------------------------------------


@pytest.mark.parametrize("local", [State.INIT, State.UP])
def test_detection_time_expiry_takes_the_session_down(local: State) -> None:
    s = session_in(local)
    # detection time = remote mult 3 x max(our rx 100 ms, remote tx 100 ms)
    assert s.detection_time == 300 * MS
    assert s.detect_deadline == 300 * MS
    assert changes(s.handle(Tick(), 299 * MS)) == []
    outs = s.handle(Tick(), 300 * MS)
    assert changes(outs) == [StateChanged(local, State.DOWN, Diag.CONTROL_DETECTION_TIME_EXPIRED)]
    assert s.remote_discr == 0 and s.remote_state is State.DOWN
    (p,) = sent(outs)
    assert p.state is State.DOWN and p.your_discriminator == 0 and p.diag == 1
    assert s.counters.detect_expired == 1
    if local is State.UP:
        assert s.counters.down_transitions == 1 and s.counters.last_down_diag == 1


def test_detection_time_uses_the_slower_of_our_rx_and_their_tx() -> None:
    s = session_in(State.DOWN)
    s.handle(Received(remote(State.DOWN, desired_min_tx=250 * MS, detect_mult=4)), 0)
    assert s.detection_time == 4 * 250 * MS


def test_each_packet_restarts_the_detection_timer() -> None:
    s = session_in(State.UP)
    for t in range(100, 2000, 250):  # gaps of 250 ms, under the 300 ms detection time
        s.handle(Received(remote(State.UP)), t * MS)
        assert changes(s.handle(Tick(), t * MS + 249 * MS)) == []
    assert s.state is State.UP
    assert s.detect_deadline == 1850 * MS + 300 * MS


def test_expiry_while_down_forgets_the_peer_without_a_state_change() -> None:
    s = session_in(State.DOWN)
    s.handle(Received(remote(State.ADMIN_DOWN)), 0)
    assert s.remote_discr == REMOTE
    outs = s.handle(Tick(), 300 * MS)
    assert changes(outs) == []
    assert s.remote_discr == 0


# --- transmission (section 6.8.7) -----------------------------------------------------------


def intervals(
    s: BfdSession, start: int, count: int, peer: ControlPacket | None = None
) -> list[int]:
    """Drive the timers while the peer sends every 50 ms (when we are Up), so the detection
    timer never fires; return the gaps between our packets."""
    times: list[int] = []
    now = start
    peer_at = start + 50 * MS
    while len(times) < count + 1:
        deadline = s.next_deadline()
        assert deadline is not None
        if s.state is State.UP and peer_at < deadline:
            now = peer_at
            s.handle(Received(peer or remote(State.UP)), now)
            peer_at += 50 * MS
            continue
        now = max(now, deadline)
        if sent(s.handle(Tick(), now)):
            times.append(now)
    return [b - a for a, b in itertools.pairwise(times)]


def test_not_up_sends_at_most_once_per_second_jittered() -> None:
    s = BfdSession(LOCAL, FAST, rng=random.Random(3))
    (first,) = sent(s.handle(Tick(), 0))
    assert first.state is State.DOWN and first.desired_min_tx == SLOW_TX_INTERVAL
    assert first.required_min_rx == 100 * MS and first.your_discriminator == 0
    gaps = intervals(s, 0, 200)
    assert min(gaps) >= 750 * MS and max(gaps) <= SLOW_TX_INTERVAL
    assert max(gaps) - min(gaps) > 150 * MS  # it really is jittered


def test_up_sends_at_the_negotiated_rate_with_jitter_of_up_to_25_percent() -> None:
    s = session_in(State.UP)
    s.handle(Received(remote(State.UP, final=True)), 1 * MS)  # ends the poll from going Up
    gaps = intervals(s, 1 * MS, 400)
    assert min(gaps) >= 75 * MS and max(gaps) <= 100 * MS
    assert min(gaps) < 78 * MS and max(gaps) > 97 * MS


def test_multiplier_one_jitters_between_75_and_90_percent() -> None:
    s = session_in(State.UP, SessionParams(100 * MS, 100 * MS, detect_mult=1))
    s.handle(Received(remote(State.UP, final=True)), 1 * MS)
    gaps = intervals(s, 1 * MS, 400)
    assert min(gaps) >= 75 * MS and max(gaps) <= 90 * MS


def test_the_peer_required_rx_slows_us_down() -> None:
    s = session_in(State.UP)
    s.handle(Received(remote(State.UP, final=True, required_min_rx=500 * MS)), 1 * MS)
    assert s.tx_interval == 500 * MS
    gaps = intervals(s, 1 * MS, 50, remote(State.UP, required_min_rx=500 * MS))
    assert min(gaps) >= 375 * MS and max(gaps) <= 500 * MS


def test_zero_required_rx_from_the_peer_stops_periodic_packets() -> None:
    s = session_in(State.UP)
    s.handle(Received(remote(State.UP, final=True, required_min_rx=0)), 1 * MS)
    for t in range(2, 1000, 7):
        assert sent(s.handle(Tick(), t * MS)) == [] or s.state is not State.UP
        s.handle(Received(remote(State.UP, required_min_rx=0)), t * MS)
    # a Poll is still answered
    (final,) = sent(s.handle(Received(remote(State.UP, required_min_rx=0, poll=True)), 1 * 10**6))
    assert final.final and not final.poll


def test_passive_session_waits_for_the_peer() -> None:
    params = SessionParams(100 * MS, 100 * MS, 3, passive=True)
    s = BfdSession(LOCAL, params, rng=random.Random(1))
    for t in range(0, 5000, 100):
        assert sent(s.handle(Tick(), t * MS)) == []
    outs = s.handle(Received(remote(State.DOWN)), 5000 * MS)
    assert s.state is State.INIT and sent(outs)[0].your_discriminator == REMOTE


def test_demand_mode_of_the_peer_stops_our_periodic_packets_once_both_are_up() -> None:
    s = session_in(State.UP)
    s.handle(Received(remote(State.UP, final=True, demand=True)), 1 * MS)
    assert s.remote_demand
    quiet = [sent(s.handle(Tick(), t * MS)) for t in range(2, 250, 5)]
    assert all(q == [] for q in quiet)
    # a parameter change polls even so, and the poll packets go out periodically
    outs = s.handle(Reconfigure(SessionParams(200 * MS, 100 * MS, 3)), 250 * MS)
    assert [p.poll for p in sent(outs)] == [True]


def test_packet_fields_follow_the_session() -> None:
    s = session_in(State.INIT)
    p = s.packet()
    assert p.state is State.INIT
    assert p.my_discriminator == LOCAL and p.your_discriminator == REMOTE
    assert p.detect_mult == 3 and p.required_min_echo_rx == 0
    assert not (p.poll or p.final or p.demand or p.authenticated or p.control_plane_independent)


def test_authenticated_packets_are_discarded() -> None:
    s = session_in(State.DOWN)
    s.handle(Received(remote(State.DOWN, auth=b"\x01\x05\x01ab")), 1 * MS)
    assert s.state is State.DOWN
    assert s.remote_discr == 0
    assert s.counters.rx_discarded == {"authentication-not-configured": 1}


# --- Poll / Final (sections 6.5, 6.8.3) -----------------------------------------------------


def test_going_up_polls_until_the_final_then_runs_at_the_configured_rate() -> None:
    s = session_in(State.DOWN)
    outs = s.handle(Received(remote(State.INIT)), 0)
    (p,) = sent(outs)
    assert p.state is State.UP and p.poll and p.desired_min_tx == 100 * MS
    assert s.polling and s.counters.polls_started == 1
    # periodic packets keep the P bit until the Final comes
    t = s.next_deadline()
    assert t is not None and t <= 100 * MS
    assert [q.poll for q in sent(s.handle(Tick(), t))] == [True]
    s.handle(Received(remote(State.UP, final=True)), t + 1)
    assert not s.polling and s.counters.polls_completed == 1
    t2 = s.next_deadline()
    assert t2 is not None
    assert [q.poll for q in sent(s.handle(Tick(), t2))] == [False]


def test_a_poll_is_answered_at_once_with_a_final_and_no_poll_bit() -> None:
    s = session_in(State.UP)
    assert s.polling
    deadline = s.next_deadline()
    outs = s.handle(Received(remote(State.UP, poll=True)), 5 * MS)
    (final,) = sent(outs)
    assert final.final and not final.poll
    assert s.counters.finals_sent == 1
    assert s.next_deadline() == deadline  # the periodic schedule is not disturbed


def test_slower_transmit_waits_for_the_final() -> None:
    s = session_in(State.UP)
    s.handle(Received(remote(State.UP, final=True)), 1 * MS)
    outs = s.handle(Reconfigure(SessionParams(400 * MS, 100 * MS, 3)), 10 * MS)
    (p,) = sent(outs)
    assert p.poll and p.desired_min_tx == 400 * MS  # announced at once
    assert s.tx_interval == 100 * MS  # but not used yet
    s.handle(Received(remote(State.UP, final=True)), 20 * MS)
    assert s.tx_interval == 400 * MS


def test_faster_transmit_applies_at_once() -> None:
    s = session_in(State.UP, SessionParams(300 * MS, 300 * MS, 3))
    s.handle(Received(remote(State.UP, final=True)), 1 * MS)
    s.handle(Reconfigure(SessionParams(100 * MS, 300 * MS, 3)), 10 * MS)
    assert s.polling and s.tx_interval == 100 * MS


def test_shorter_receive_interval_keeps_the_old_detection_time_until_the_final() -> None:
    s = session_in(State.UP, SessionParams(100 * MS, 300 * MS, 3))
    s.handle(Received(remote(State.UP, final=True, desired_min_tx=50 * MS)), 1 * MS)
    assert s.detection_time == 900 * MS
    s.handle(Reconfigure(SessionParams(100 * MS, 100 * MS, 3)), 10 * MS)
    s.handle(Received(remote(State.UP, desired_min_tx=50 * MS)), 20 * MS)
    assert s.detection_time == 900 * MS
    s.handle(Received(remote(State.UP, final=True, desired_min_tx=50 * MS)), 30 * MS)
    assert s.detection_time == 300 * MS


def test_longer_receive_interval_applies_at_once() -> None:
    s = session_in(State.UP)
    s.handle(Received(remote(State.UP, final=True)), 1 * MS)
    s.handle(Reconfigure(SessionParams(100 * MS, 500 * MS, 3)), 10 * MS)
    s.handle(Received(remote(State.UP)), 20 * MS)
    assert s.detection_time == 1500 * MS


def test_a_change_during_a_poll_gets_its_own_poll() -> None:
    s = session_in(State.UP)
    s.handle(Received(remote(State.UP, final=True)), 1 * MS)
    s.handle(Reconfigure(SessionParams(200 * MS, 100 * MS, 3)), 10 * MS)
    s.handle(Reconfigure(SessionParams(300 * MS, 100 * MS, 3)), 11 * MS)
    assert s.counters.polls_started == 2  # going Up, then the first change
    outs = s.handle(Received(remote(State.UP, final=True)), 20 * MS)
    assert s.polling and s.counters.polls_started == 3
    assert [p.poll for p in sent(outs)] == [True]
    s.handle(Received(remote(State.UP, final=True)), 30 * MS)
    assert not s.polling and s.tx_interval == 300 * MS


def test_reconfigure_while_down_needs_no_poll() -> None:
    s = session_in(State.DOWN)
    s.handle(Reconfigure(SessionParams(50 * MS, 70 * MS, 5)), 1 * MS)
    assert not s.polling
    p = s.packet()
    assert p.desired_min_tx == SLOW_TX_INTERVAL and p.required_min_rx == 70 * MS
    assert p.detect_mult == 5


def test_same_parameters_start_no_poll() -> None:
    s = session_in(State.UP)
    s.handle(Received(remote(State.UP, final=True)), 1 * MS)
    assert sent(s.handle(Reconfigure(FAST), 2 * MS)) == []
    assert not s.polling


def test_going_down_ends_a_poll() -> None:
    s = session_in(State.UP)
    assert s.polling
    s.handle(Received(remote(State.DOWN)), 1 * MS)
    assert not s.polling and s.tx_interval == SLOW_TX_INTERVAL


def test_a_final_without_a_poll_is_ignored() -> None:
    s = session_in(State.UP)
    s.handle(Received(remote(State.UP, final=True)), 1 * MS)
    s.handle(Received(remote(State.UP, final=True)), 2 * MS)
    assert s.counters.polls_completed == 1


# --- counters --------------------------------------------------------------------------------


def test_late_ticks_and_silences_are_measured() -> None:
    s = session_in(State.UP)
    s.handle(Received(remote(State.UP, final=True)), 1 * MS)
    deadline = s.next_deadline()
    assert deadline is not None
    s.handle(Tick(), deadline + 25 * MS)
    assert s.counters.tx_late_max_us == 25 * MS and s.counters.tx_late_over_10ms == 1
    s.handle(Received(remote(State.UP)), 200 * MS)
    assert s.counters.rx_gap_max_us == 199 * MS
    s.counters.reset_timing()
    assert s.counters.tx_late_max_us == 0 and s.counters.rx_gap_max_us == 0


def test_invalid_discriminator_is_refused() -> None:
    with pytest.raises(ValueError):
        BfdSession(0, FAST)


# --- what counts as a path failure for the client (BGP) --------------------------------------


@pytest.mark.parametrize(
    ("remote_diag", "path_down"),
    [
        (Diag.CONTROL_DETECTION_TIME_EXPIRED, True),  # the peer stopped hearing us
        (Diag.PATH_DOWN, True),
        (Diag.FORWARDING_PLANE_RESET, True),
        (Diag.NONE, False),  # a fresh session of the peer: says nothing about the path
        (Diag.NEIGHBOR_SIGNALED_SESSION_DOWN, False),  # claims we said Down: we did not
        (Diag.ADMINISTRATIVELY_DOWN, False),
    ],
)
def test_down_from_the_peer_is_a_path_failure_only_with_path_evidence(
    remote_diag: Diag, path_down: bool
) -> None:
    s = session_in(State.UP)
    (change,) = changes(s.handle(Received(remote(State.DOWN, diag=remote_diag)), 5 * MS))
    assert change.remote_diag == remote_diag
    assert change.path_down is path_down
    assert s.state is State.DOWN  # the session itself follows the RFC either way


def test_our_detection_expiry_is_a_path_failure_and_admin_down_is_not() -> None:
    s = session_in(State.UP)
    (expired,) = changes(s.handle(Tick(), 300 * MS))
    assert expired.path_down and expired.remote_diag == 0
    s = session_in(State.UP)
    (admin,) = changes(s.handle(Received(remote(State.ADMIN_DOWN)), 5 * MS))
    assert admin.remote_admin and not admin.path_down
    s = session_in(State.UP)
    (ours,) = changes(s.handle(AdminDown(), 5 * MS))
    assert not ours.path_down
