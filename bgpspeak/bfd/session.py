"""One BFD session in Asynchronous mode (RFC 5880), without I/O.

``BfdSession.handle(event, now)`` takes one input and the time in integer microseconds and
returns the outputs (packets to send, state changes); ``next_deadline()`` says when to call
again with a :class:`Tick`. Nothing here reads a clock or touches a socket, so every rule is
tested with a fake clock, and the jitter comes from a ``random.Random`` the caller may seed.

Variable names follow section 6.8.1 (bfd.SessionState is ``state``, bfd.RemoteDiscr is
``remote_discr``, ...). Two values are kept beside the advertised intervals because section
6.8.3 says a change must not take effect before the Poll Sequence that announces it ends:
``tx_in_effect`` (the transmit interval we actually hold to: an increase waits for the Final)
and ``rx_in_effect`` (the receive interval our detection time uses: a decrease waits).

Deliberate choices where the RFC leaves room, each what FRR or BIRD also do:

* a packet goes out at once on every state change and when a Poll Sequence starts (section
  6.8.7 allows it: only the periodic rate is bounded), so Down -> Up takes one round trip
  instead of one slow (1 s) interval per step;
* the Final answering a Poll is sent at once, outside the periodic schedule (section 6.5);
* bfd.LocalDiag is cleared when the session comes Up;
* a poll that a new change overtakes is followed by another one, so the peer's Final always
  confirms the values in force.
"""

from __future__ import annotations

import random

from .codes import SLOW_TX_INTERVAL, Diag, State
from .config import SessionParams
from .counters import SessionCounters
from .events import (
    AdminDown,
    AdminUp,
    Input,
    Output,
    Received,
    Reconfigure,
    StateChanged,
    Tick,
    Transmit,
)
from .packet import ControlPacket

LATE_MARK_US = 10_000  # a periodic packet this late is counted in tx_late_over_10ms


class BfdSession:
    """See the module docstring for the contract."""

    def __init__(
        self,
        local_discr: int,
        params: SessionParams,
        *,
        rng: random.Random | None = None,
        admin_down: bool = False,
    ) -> None:
        if not 1 <= local_discr <= 0xFFFFFFFF:
            raise ValueError(f"local discriminator {local_discr} is not 1..2^32-1")
        self.local_discr = local_discr
        self.params = params
        self.state = State.ADMIN_DOWN if admin_down else State.DOWN
        self.local_diag = Diag.ADMINISTRATIVELY_DOWN if admin_down else Diag.NONE
        # what we know of the peer (section 6.8.1 initial values)
        self.remote_discr = 0
        self.remote_state = State.DOWN
        self.remote_min_rx = 1
        self.remote_desired_tx = 0
        self.remote_detect_mult = 0
        self.remote_demand = False
        self.remote_diag = 0
        self.remote_cbit = False
        # Poll Sequence (section 6.5)
        self.polling = False
        self._poll_again = False
        self.tx_in_effect = self.advertised_tx
        self.rx_in_effect = params.required_min_rx
        # timers (µs); the first packet goes out at the first tick
        self._tx_at: int | None = 0
        self._detect_at: int | None = None
        self._last_tx: int | None = None
        self._last_rx: int | None = None
        self.counters = SessionCounters()
        self.state_since: int | None = None
        self._rng = rng if rng is not None else random.Random()
        self._out: list[Output] = []
        self._now = 0
        self._cause_remote_diag = 0  # the peer's diag in the packet being handled

    # --- public -----------------------------------------------------------------------------

    def handle(self, event: Input, now: int) -> list[Output]:
        self._out = []
        self._now = now
        self._cause_remote_diag = 0
        if self.state_since is None:
            self.state_since = now
        if isinstance(event, Tick):
            self._expire(now)
        elif isinstance(event, Received):
            self._receive(event.packet)
        elif isinstance(event, AdminDown):
            self._admin_down(event.diag)
        elif isinstance(event, AdminUp):
            self._admin_up()
        elif isinstance(event, Reconfigure):
            self._reconfigure(event.params)
        out, self._out = self._out, []
        return out

    def next_deadline(self) -> int | None:
        deadlines = [t for t in (self._tx_at, self._detect_at) if t is not None]
        return min(deadlines, default=None)

    @property
    def advertised_tx(self) -> int:
        """bfd.DesiredMinTxInterval: at least one second unless Up (section 6.8.3)."""
        if self.state is State.UP:
            return self.params.desired_min_tx
        return max(self.params.desired_min_tx, SLOW_TX_INTERVAL)

    @property
    def tx_interval(self) -> int:
        """The negotiated periodic transmit interval before jitter (section 6.8.7)."""
        return max(self.tx_in_effect, self.remote_min_rx)

    @property
    def detection_time(self) -> int | None:
        """How long without a packet before the session is declared down (section 6.8.4);
        None before the peer has told us its multiplier."""
        if self.remote_detect_mult == 0:
            return None
        return self.remote_detect_mult * max(self.rx_in_effect, self.remote_desired_tx)

    @property
    def remote_detection_time(self) -> int:
        """The peer's detection time for our packets, as far as we can compute it."""
        return self.params.detect_mult * max(self.remote_min_rx, self.advertised_tx)

    @property
    def detect_deadline(self) -> int | None:
        return self._detect_at

    # --- state changes ----------------------------------------------------------------------

    def _goto(self, new: State, diag: Diag | None = None, *, remote_admin: bool = False) -> None:
        if diag is not None:
            self.local_diag = diag
        if new is self.state:
            return
        old_tx = self.advertised_tx
        old, self.state = self.state, new
        self.state_since = self._now
        if new is State.UP:
            self.local_diag = Diag.NONE
            self.counters.up_transitions += 1
        if old is State.UP:
            self.counters.down_transitions += 1
            self.counters.last_down_diag = int(self.local_diag)
        if new is not State.UP:
            # leaving Up ends any poll, and the slow rate applies at once: nothing to protect
            self.polling = False
            self._poll_again = False
            self.tx_in_effect = self.advertised_tx
            self.rx_in_effect = self.params.required_min_rx
        self._out.append(
            StateChanged(old, new, self.local_diag, remote_admin, self._cause_remote_diag)
        )
        if new is State.UP and self.advertised_tx != old_tx:
            # from the slow rate to the configured one: announced by a poll (section 6.8.3),
            # whose first packet is the one sent for the state change
            self.tx_in_effect = self.advertised_tx
            self._start_poll(send=False)
        self._send_now()

    def _admin_down(self, diag: Diag) -> None:
        self._detect_at = None
        self._goto(State.ADMIN_DOWN, diag)

    def _admin_up(self) -> None:
        if self.state is State.ADMIN_DOWN:
            self.remote_discr = 0
            self.remote_state = State.DOWN
            self._goto(State.DOWN)

    def _reconfigure(self, params: SessionParams) -> None:
        old_tx, old_rx = self.advertised_tx, self.params.required_min_rx
        self.params = params
        self._timers_changed(old_tx, old_rx)

    def _timers_changed(self, old_tx: int, old_rx: int) -> None:
        """Section 6.8.3: while Up, a change of the advertised intervals starts a Poll
        Sequence; until its Final, a slower transmit rate and a faster receive rate (shorter
        detection time) are not used, since the peer has not acknowledged them yet."""
        new_tx, new_rx = self.advertised_tx, self.params.required_min_rx
        if (new_tx, new_rx) == (old_tx, old_rx):
            return
        if self.state is not State.UP:
            self.tx_in_effect = new_tx
            self.rx_in_effect = new_rx
            self._reschedule_tx()
            return
        self.tx_in_effect = min(self.tx_in_effect, new_tx)
        self.rx_in_effect = max(self.rx_in_effect, new_rx)
        if self.polling:
            self._poll_again = True
            self._reschedule_tx()
        else:
            self._start_poll()

    def _start_poll(self, *, send: bool = True) -> None:
        self.polling = True
        self._poll_again = False
        self.counters.polls_started += 1
        if send:
            self._send_now()

    def _poll_finished(self) -> None:
        self.polling = False
        self.counters.polls_completed += 1
        self.tx_in_effect = self.advertised_tx
        self.rx_in_effect = self.params.required_min_rx
        if self._poll_again:
            self._start_poll()
        self._reschedule_tx()

    # --- receiving (section 6.8.6, after the table's checks) --------------------------------

    def _receive(self, p: ControlPacket) -> None:
        c = self.counters
        if p.authenticated:
            # no authentication is configured on our sessions: the A bit means discard
            c.discard("authentication-not-configured")
            return
        old_interval = self.tx_interval
        self.remote_discr = p.my_discriminator
        self.remote_state = p.state
        self.remote_demand = p.demand
        self.remote_min_rx = p.required_min_rx
        self.remote_desired_tx = p.desired_min_tx
        self.remote_detect_mult = p.detect_mult
        self.remote_diag = p.diag
        self.remote_cbit = p.control_plane_independent
        self._cause_remote_diag = p.diag
        if p.final and self.polling:
            self._poll_finished()
        if self.state is State.ADMIN_DOWN:
            c.discard("admin-down")
            return
        c.rx_packets += 1
        now = self._now
        if self.state is State.UP and self._last_rx is not None:
            c.rx_gap_max_us = max(c.rx_gap_max_us, now - self._last_rx)
        self._last_rx = now
        if p.state is State.ADMIN_DOWN:
            if self.state is not State.DOWN:
                self._goto(State.DOWN, Diag.NEIGHBOR_SIGNALED_SESSION_DOWN, remote_admin=True)
        elif self.state is State.DOWN:
            if p.state is State.DOWN:
                self._goto(State.INIT)
            elif p.state is State.INIT:
                self._goto(State.UP)
        elif self.state is State.INIT:
            if p.state in (State.INIT, State.UP):
                self._goto(State.UP)
        elif p.state is State.DOWN:  # we are Up
            self._goto(State.DOWN, Diag.NEIGHBOR_SIGNALED_SESSION_DOWN)
        if p.poll:
            self._send_final()
        detect = self.detection_time
        self._detect_at = None if detect is None else now + detect
        if self.tx_interval != old_interval:
            self._reschedule_tx()

    # --- timers ----------------------------------------------------------------------------

    def _expire(self, now: int) -> None:
        self._cause_remote_diag = 0
        if self._detect_at is not None and self._detect_at <= now:
            self._detect_at = None
            self._detection_time_expired()
        if self._tx_at is not None and self._tx_at <= now:
            late = now - self._tx_at
            c = self.counters
            if self.state is State.UP and self._last_tx is not None:
                c.tx_late_max_us = max(c.tx_late_max_us, late)
                if late > LATE_MARK_US:
                    c.tx_late_over_10ms += 1
            self._tx_at = None
            self._periodic()

    def _detection_time_expired(self) -> None:
        # section 6.8.1: with no packet for a Detection Time, the peer is forgotten
        self.remote_discr = 0
        self.remote_state = State.DOWN
        if self.state in (State.INIT, State.UP):
            self.counters.detect_expired += 1
            self._goto(State.DOWN, Diag.CONTROL_DETECTION_TIME_EXPIRED)

    # --- transmitting (section 6.8.7) -------------------------------------------------------

    def _may_transmit_periodic(self) -> bool:
        if self.params.passive and self.remote_discr == 0:
            return False
        if self.remote_min_rx == 0:
            return False
        # section 6.6: the peer in Demand mode, both Up: periodic packets stop (polls go on)
        return not (
            self.remote_demand
            and self.state is State.UP
            and self.remote_state is State.UP
            and not self.polling
        )

    def _jittered(self, interval: int) -> int:
        # section 6.8.7: 75-100 % of the interval, 75-90 % with a multiplier of 1
        top = 0.9 if self.params.detect_mult == 1 else 1.0
        return int(interval * self._rng.uniform(0.75, top))

    def _periodic(self) -> None:
        if self._may_transmit_periodic():
            self._transmit(poll=self.polling, final=False)
        self._tx_at = self._now + self._jittered(self.tx_interval)

    def _send_now(self) -> None:
        """A packet outside the schedule (state change, start of a poll), then the periodic
        schedule restarts from it."""
        if self._may_transmit_periodic():
            self._transmit(poll=self.polling, final=False)
            self._tx_at = self._now + self._jittered(self.tx_interval)

    def _send_final(self) -> None:
        self.counters.finals_sent += 1
        self._transmit(poll=False, final=True)

    def _reschedule_tx(self) -> None:
        """The interval changed: the next periodic packet is due one (new) interval after the
        last one, never in the past."""
        if self._last_tx is None:
            return
        due = self._last_tx + self._jittered(self.tx_interval)
        self._tx_at = max(due, self._now)

    def _transmit(self, *, poll: bool, final: bool) -> None:
        self.counters.tx_packets += 1
        self._last_tx = self._now
        self._out.append(Transmit(self.packet(poll=poll, final=final)))

    def packet(self, *, poll: bool = False, final: bool = False) -> ControlPacket:
        """The Control packet this session sends now (section 6.8.7 fills every field)."""
        return ControlPacket(
            state=self.state,
            my_discriminator=self.local_discr,
            your_discriminator=self.remote_discr,
            diag=int(self.local_diag),
            detect_mult=self.params.detect_mult,
            desired_min_tx=self.advertised_tx,
            required_min_rx=self.params.required_min_rx,
            required_min_echo_rx=0,
            poll=poll and not final,
            final=final,
        )
