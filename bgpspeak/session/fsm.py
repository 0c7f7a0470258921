"""The RFC 4271 section 8 state machine for one BGP connection, without I/O.

``Session.handle(event, now)`` takes one input and the current time (integer microseconds) and
returns the outputs; ``next_deadline()`` says when to call again with a :class:`Tick`. Nothing in
here reads a clock, opens a socket or sleeps, so every transition is tested with a fake clock.

Which message is acceptable in which state is a table (``_ALLOWED``); a message outside it is an
FSM error (RFC 6608 subcodes). Timers are jittered as RFC 4271 section 10 asks, from a
``random.Random`` the caller may seed.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

from ..wire.codec import StreamDecoder, decode_body
from ..wire.errors import (
    Action,
    CeaseSubcode,
    DecodeError,
    ErrorCode,
    FsmSubcode,
)
from ..wire.family import Context, Family
from ..wire.message import KEEPALIVE, NOTIFICATION, OPEN, ROUTE_REFRESH, UPDATE, Message
from ..wire.open import Open
from ..wire.simple_messages import (
    REFRESH_BORR,
    REFRESH_EORR,
    Keepalive,
    Notification,
    RouteRefresh,
)
from ..wire.update import decode_update
from .config import PeerConfig
from .events import (
    Connect,
    Connected,
    ConnectionFailed,
    DataReceived,
    Disconnect,
    Input,
    Output,
    ProtocolError,
    RefreshMarker,
    RefreshRequested,
    Send,
    SendEncoded,
    SendMessage,
    SessionDown,
    SessionUp,
    Start,
    State,
    StateChanged,
    Stop,
    Tick,
    UpdateReceived,
    WriteBlocked,
    WriteResumed,
)
from .negotiate import Negotiated, build_open, negotiate

US = 1_000_000
OPEN_HOLD_TIME = 240  # seconds to wait for the peer's OPEN (RFC 4271 section 8.2.2: 4 minutes)
STABLE_TIME = 60  # an Established session this old resets the restart backoff

CONNECT_RETRY = "connect_retry"
HOLD = "hold"
KEEPALIVE_TIMER = "keepalive"
DELAY_OPEN = "delay_open"
SEND_HOLD = "send_hold"
IDLE_HOLD = "idle_hold"

# message types acceptable in each state; anything else is an FSM error (RFC 6608)
_ALLOWED: dict[State, frozenset[int]] = {
    State.IDLE: frozenset(),
    State.CONNECT: frozenset({OPEN, NOTIFICATION}),  # with DelayOpen running
    State.ACTIVE: frozenset({OPEN, NOTIFICATION}),
    State.OPEN_SENT: frozenset({OPEN, NOTIFICATION}),
    State.OPEN_CONFIRM: frozenset({KEEPALIVE, NOTIFICATION}),
    State.ESTABLISHED: frozenset({UPDATE, KEEPALIVE, NOTIFICATION, ROUTE_REFRESH}),
}
_FSM_SUBCODE = {
    State.OPEN_SENT: FsmSubcode.UNEXPECTED_MESSAGE_IN_OPENSENT,
    State.OPEN_CONFIRM: FsmSubcode.UNEXPECTED_MESSAGE_IN_OPENCONFIRM,
    State.ESTABLISHED: FsmSubcode.UNEXPECTED_MESSAGE_IN_ESTABLISHED,
}


@dataclass
class Counters:
    """Per-session counters, the numbers ``show peers`` and the metrics export."""

    messages_in: dict[str, int] = field(default_factory=dict)
    messages_out: dict[str, int] = field(default_factory=dict)
    notifications_in: int = 0
    notifications_out: int = 0
    established: int = 0  # times the session reached Established
    errors: int = 0  # malformed input handled (any action)
    last_error: str = ""

    def count_in(self, kind: str) -> None:
        self.messages_in[kind] = self.messages_in.get(kind, 0) + 1

    def count_out(self, kind: str) -> None:
        self.messages_out[kind] = self.messages_out.get(kind, 0) + 1


_KIND = {
    OPEN: "open",
    UPDATE: "update",
    NOTIFICATION: "notification",
    KEEPALIVE: "keepalive",
    ROUTE_REFRESH: "route-refresh",
}


class Session:
    """One connection's BGP state machine. See the module docstring for the contract."""

    def __init__(
        self,
        config: PeerConfig,
        *,
        rng: random.Random | None = None,
        restarting: bool = False,
        auto_restart: bool = True,
    ) -> None:
        self.config = config
        self.state = State.IDLE
        self.negotiated: Negotiated | None = None
        self.peer_open: Open | None = None
        self.local_open = build_open(config, restarting)
        self.counters = Counters()
        self.established_at: int | None = None
        self.last_down_reason = ""
        self.auto_restart = auto_restart
        self._rng = rng if rng is not None else random.Random()
        self._decoder = StreamDecoder(Context(extended_message=False))
        self._timers: dict[str, int] = {}
        self._connected = False
        self._stopped = True  # no automatic restart until the first Start
        self._idle_hold = float(config.idle_hold_time)
        self._out: list[Output] = []
        self._now = 0
        # asked with each UPDATE body before it is decoded; True drops it (the Peer's cheap
        # check for our own routes echoed back to us, RFC 4271 section 9.1.2)
        self.skip_update: Callable[[bytes], bool] | None = None

    # --- public ---------------------------------------------------------------------------------

    def handle(self, event: Input, now: int) -> list[Output]:
        """Process one input at time ``now`` (integer microseconds) and return the outputs to
        perform, in order."""
        self._out = []
        self._now = now
        if isinstance(event, Tick):
            self._expire(now)
        elif isinstance(event, DataReceived):
            self._data(event.data)
        elif isinstance(event, SendEncoded):
            self._send_encoded(event.data, event.count)
        elif isinstance(event, SendMessage):
            self._send_message(event.message)
        elif isinstance(event, Start):
            self._start()
        elif isinstance(event, Stop):
            self._stop(event.notification)
        elif isinstance(event, Connected):
            self._tcp_up(event.outbound)
        elif isinstance(event, ConnectionFailed):
            self._tcp_down(event.reason)
        elif isinstance(event, WriteBlocked):
            if self._connected and SEND_HOLD not in self._timers:
                self._timers[SEND_HOLD] = now + int(self._send_hold_time() * US)
        elif isinstance(event, WriteResumed):
            self._timers.pop(SEND_HOLD, None)
        out, self._out = self._out, []
        return out

    def next_deadline(self) -> int | None:
        """When (microseconds) to call :meth:`handle` with a ``Tick``; None: no timer runs."""
        return min(self._timers.values(), default=None)

    @property
    def connected(self) -> bool:
        return self._connected

    def timer(self, name: str) -> int | None:
        """Deadline of a named timer (for tests and ``show``), None when not running."""
        return self._timers.get(name)

    # --- helpers --------------------------------------------------------------------------------

    def _goto(self, new: State) -> None:
        if new is not self.state:
            old, self.state = self.state, new
            self._out.append(StateChanged(old, new))

    def _jitter(self, seconds: float) -> int:
        # RFC 4271 section 10: multiply by a random factor between 0.75 and 1.0
        return int(seconds * self._rng.uniform(0.75, 1.0) * US)

    def _send_hold_time(self) -> float:
        if self.config.send_hold_time is not None:
            return self.config.send_hold_time
        hold = self.negotiated.hold_time if self.negotiated else self.config.hold_time
        return max(480.0, 2.0 * hold)

    def _emit_message(self, msg: Message, ctx: Context | None = None) -> None:
        data = msg.encode(ctx or self._tx_ctx())
        self.counters.count_out(_KIND[msg.TYPE])
        if msg.TYPE == NOTIFICATION:
            self.counters.notifications_out += 1
        self._out.append(Send(data))

    def _tx_ctx(self) -> Context:
        return self.negotiated.tx_context if self.negotiated else Context()

    def _restart_keepalive(self) -> None:
        n = self.negotiated
        if n is not None and n.keepalive_time > 0:
            self._timers[KEEPALIVE_TIMER] = self._now + self._jitter(n.keepalive_time)

    def _restart_hold(self) -> None:
        n = self.negotiated
        if self.state in (State.OPEN_CONFIRM, State.ESTABLISHED):
            if n is not None and n.hold_time > 0:
                self._timers[HOLD] = self._now + n.hold_time * US
            else:
                self._timers.pop(HOLD, None)

    def _send_open(self) -> None:
        self._emit_message(self.local_open, Context())
        self._timers[HOLD] = self._now + OPEN_HOLD_TIME * US

    # --- start, stop, connection ---------------------------------------------------------------

    def _start(self) -> None:
        self._stopped = False
        if self.state is not State.IDLE:
            return
        self._timers.pop(IDLE_HOLD, None)
        self._timers[CONNECT_RETRY] = self._now + self._jitter(self.config.connect_retry_time)
        if self.config.passive:
            self._goto(State.ACTIVE)
        else:
            self._goto(State.CONNECT)
            self._out.append(Connect())

    def _stop(self, notification: Notification | None) -> None:
        self._stopped = True
        if self.state is State.IDLE:
            self._timers.clear()
            return
        if notification is None:
            notification = Notification.cease(CeaseSubcode.ADMINISTRATIVE_SHUTDOWN)
        self._close(
            f"stopped: {notification}",
            notification,
            sent=self.state in (State.OPEN_SENT, State.OPEN_CONFIRM, State.ESTABLISHED),
        )

    def _tcp_up(self, outbound: bool) -> None:
        if self.state not in (State.CONNECT, State.ACTIVE) or self._connected:
            # a connection the session cannot use: refuse it, keep what we have
            self._out.append(ProtocolError(None, f"connection refused in state {self.state.value}"))
            if not self._connected:
                self._out.append(Disconnect())
            return
        self._connected = True
        self._timers.pop(CONNECT_RETRY, None)
        self._decoder = StreamDecoder(Context(extended_message=False))
        if self.config.delay_open_time > 0:
            self._timers[DELAY_OPEN] = self._now + int(self.config.delay_open_time * US)
            return
        self._send_open()
        self._goto(State.OPEN_SENT)

    def _tcp_down(self, reason: str) -> None:
        if self.state is State.IDLE:
            self._connected = False
            return
        was_connected = self._connected
        self._connected = False
        self._timers.pop(SEND_HOLD, None)
        if self.state in (State.CONNECT, State.ACTIVE, State.OPEN_SENT):
            # RFC 4271 8.2.2: back to Active, try again when ConnectRetry expires
            self._timers.pop(DELAY_OPEN, None)
            self._timers.pop(HOLD, None)
            self._timers[CONNECT_RETRY] = self._now + self._jitter(self.config.connect_retry_time)
            if was_connected or self.state is State.CONNECT:
                self.last_down_reason = reason or "connection failed"
            self._goto(State.ACTIVE)
            return
        self._close(reason or "connection closed by peer", None, sent=False, disconnect=False)

    def _close(
        self,
        reason: str,
        notification: Notification | None,
        *,
        sent: bool,
        disconnect: bool = True,
    ) -> None:
        """Leave whatever state for Idle: send ``notification`` when ``sent``, close, report."""
        if sent and notification is not None and self._connected:
            notification = self._as_sent(notification)
            self._emit_message(notification)
        if disconnect and self._connected:
            self._out.append(Disconnect())
        self._connected = False
        if self.state is State.ESTABLISHED:
            graceful = self._graceful(notification)
            self._out.append(SessionDown(reason, notification, sent, graceful, self.negotiated))
            if (
                self.established_at is not None
                and self._now - self.established_at >= STABLE_TIME * US
            ):
                self._idle_hold = float(self.config.idle_hold_time)
        self.last_down_reason = reason
        self.established_at = None
        self._timers.clear()
        self._goto(State.IDLE)
        self.negotiated = None
        if not self._stopped and self.auto_restart:
            # automatic restart after an idle hold time that doubles on each failure
            self._timers[IDLE_HOLD] = self._now + self._jitter(self._idle_hold)
            self._idle_hold = min(self._idle_hold * 2, float(self.config.idle_hold_max))

    def _as_sent(self, notification: Notification) -> Notification:
        """RFC 8538 section 5: with the N bit on both sides, a Cease that means "these routes are
        gone" (maximum prefixes, administrative shutdown, peer deconfigured) goes out as a Hard
        Reset so the peer flushes instead of keeping them as stale."""
        n = self.negotiated
        if (
            n is not None
            and n.peer_restart is not None
            and n.peer_restart.notification
            and self.config.graceful_restart.enabled
            and self.config.graceful_restart.notification
            and notification.code == ErrorCode.CEASE
            and notification.subcode
            in (
                CeaseSubcode.MAXIMUM_PREFIXES_REACHED,
                CeaseSubcode.ADMINISTRATIVE_SHUTDOWN,
                CeaseSubcode.PEER_DECONFIGURED,
            )
        ):
            return notification.hard_reset()
        return notification

    def _graceful(self, notification: Notification | None) -> bool:
        """Whether the peer's routes survive this session loss (RFC 4724, RFC 8538)."""
        n = self.negotiated
        if n is None or n.peer_restart is None or not n.local_restart:
            return False
        if notification is None:
            return True
        if notification.code == ErrorCode.CEASE and notification.subcode == CeaseSubcode.HARD_RESET:
            return False
        local_n = bool(self.config.graceful_restart.notification)
        return local_n and n.peer_restart.notification

    def _fail(self, error: DecodeError) -> None:
        """A fatal protocol error: NOTIFICATION, close, Idle."""
        self.counters.errors += 1
        self.counters.last_error = str(error)
        self._out.append(ProtocolError(error, str(error)))
        self._close(
            str(error),
            Notification.from_error(error),
            sent=self.state in (State.OPEN_SENT, State.OPEN_CONFIRM, State.ESTABLISHED)
            or DELAY_OPEN in self._timers,
        )

    # --- timers ---------------------------------------------------------------------------------

    def _expire(self, now: int) -> None:
        for name, deadline in sorted(self._timers.items(), key=lambda kv: kv[1]):
            if deadline > now or self._timers.get(name) != deadline:
                continue
            del self._timers[name]
            if name == HOLD:
                self._fail(DecodeError(ErrorCode.HOLD_TIMER_EXPIRED, 0, "hold timer expired"))
            elif name == SEND_HOLD:
                self._fail(
                    DecodeError(
                        ErrorCode.SEND_HOLD_TIMER_EXPIRED,
                        0,
                        f"peer did not read for {self._send_hold_time():g} s (RFC 9687)",
                    )
                )
            elif name == KEEPALIVE_TIMER:
                if self.state in (State.OPEN_CONFIRM, State.ESTABLISHED):
                    self._emit_message(Keepalive())
                    self._restart_keepalive()
            elif name == DELAY_OPEN:
                if self._connected and self.state in (State.CONNECT, State.ACTIVE):
                    self._send_open()
                    self._goto(State.OPEN_SENT)
            elif name == CONNECT_RETRY:
                self._connect_retry()
            elif name == IDLE_HOLD and self.state is State.IDLE and not self._stopped:
                self._start()

    def _connect_retry(self) -> None:
        self._timers[CONNECT_RETRY] = self._now + self._jitter(self.config.connect_retry_time)
        if self.state is State.CONNECT:
            if self._connected:
                return  # DelayOpen is running on a live connection
            # the attempt is taking too long: abandon it and dial again
            self._out.append(Disconnect())
            self._out.append(Connect())
        elif self.state is State.ACTIVE and not self.config.passive and not self._connected:
            self._goto(State.CONNECT)
            self._out.append(Connect())
        elif self.state not in (State.CONNECT, State.ACTIVE):
            del self._timers[CONNECT_RETRY]

    # --- receiving ------------------------------------------------------------------------------

    def _data(self, data: bytes) -> None:
        if not self._connected:
            return
        self._decoder.feed(data)
        while self._connected:
            try:
                frame = self._decoder.next_frame()
            except DecodeError as e:
                self._fail(e)
                return
            if frame is None:
                return
            mtype, body = frame
            self.counters.count_in(_KIND[mtype])
            if mtype not in _ALLOWED[self.state]:
                self._unexpected(mtype)
                return
            if mtype == UPDATE:
                self._update(body)
                continue
            try:
                msg = decode_body(mtype, body, self._decoder.ctx)
            except DecodeError as e:
                self._fail(e)
                return
            if isinstance(msg, Open):
                self._open(msg)
            elif isinstance(msg, Keepalive):
                self._keepalive()
            elif isinstance(msg, Notification):
                self._notification(msg)
            elif isinstance(msg, RouteRefresh):
                self._route_refresh(msg)

    def _unexpected(self, mtype: int) -> None:
        subcode = _FSM_SUBCODE.get(self.state, FsmSubcode.UNSPECIFIED)
        self._fail(
            DecodeError(
                ErrorCode.FSM,
                subcode,
                f"{_KIND[mtype].upper()} is not expected in state {self.state.value}",
                field="message.type",
            )
        )

    def _open(self, peer: Open) -> None:
        delay_open = self._timers.pop(DELAY_OPEN, None) is not None
        if self.state in (State.CONNECT, State.ACTIVE) and not delay_open:
            self._unexpected(OPEN)
            return
        try:
            negotiated = negotiate(self.config, self.local_open, peer)
        except DecodeError as e:
            if delay_open:
                self._send_open()
                self._goto(State.OPEN_SENT)
            self._fail(e)
            return
        if delay_open:
            self._send_open()
        self.peer_open = peer
        self.negotiated = negotiated
        self._decoder.ctx = negotiated.rx_context
        self._emit_message(Keepalive())
        self._goto(State.OPEN_CONFIRM)
        self._restart_hold()
        self._restart_keepalive()

    def _keepalive(self) -> None:
        if self.state is State.OPEN_CONFIRM:
            assert self.negotiated is not None
            self._goto(State.ESTABLISHED)
            self.established_at = self._now
            self.counters.established += 1
            self._out.append(SessionUp(self.negotiated))
        self._restart_hold()

    def _notification(self, notification: Notification) -> None:
        self.counters.notifications_in += 1
        self.counters.last_error = f"notification received: {notification}"
        if self.state is not State.ESTABLISHED:
            # an established session reports it in SessionDown; earlier it would go unseen
            self._out.append(ProtocolError(None, self.counters.last_error))
        self._close(f"notification received: {notification}", notification, sent=False)

    def _update(self, body: bytes) -> None:
        self._restart_hold()
        skip = self.skip_update
        if skip is not None and skip(body):
            return
        try:
            # eager: a session reads every attribute of every UPDATE it keeps, so a lazy
            # decode would validate the section and then decode it again
            update = decode_update(body, self._decoder.ctx, self._decoder.cache, lazy=False)
        except DecodeError as e:
            if e.action >= Action.AFI_SAFI_DISABLE or e.update is None:
                self._fail(e)
                return
            self.counters.errors += 1
            self.counters.last_error = str(e)
            self._out.append(ProtocolError(e, str(e)))
            self._out.append(UpdateReceived(e.update, e))
            return
        self._out.append(UpdateReceived(update))

    def _route_refresh(self, msg: RouteRefresh) -> None:
        n = self.negotiated
        assert n is not None
        family = Family(msg.afi, msg.safi)
        if not n.route_refresh or family not in n.families:
            # RFC 2918 section 4: ignore a refresh we did not agree to or for a foreign family
            self._out.append(ProtocolError(None, f"ignored ROUTE-REFRESH for {family}"))
            return
        if msg.subtype in (REFRESH_BORR, REFRESH_EORR):
            if n.enhanced_route_refresh:
                self._out.append(RefreshMarker(family, msg.subtype == REFRESH_BORR))
            return
        if msg.subtype != 0:
            return  # RFC 7313 section 5: unknown subtypes are ignored
        self._out.append(RefreshRequested(family))

    # --- sending --------------------------------------------------------------------------------

    def _send_message(self, msg: Message) -> None:
        if self.state is not State.ESTABLISHED:
            self._out.append(ProtocolError(None, f"cannot send in state {self.state.value}"))
            return
        try:
            self._emit_message(msg)
        except ValueError as e:
            self._out.append(ProtocolError(None, f"not sent: {e}"))
            return
        self._restart_keepalive()

    def _send_encoded(self, data: bytes, count: int) -> None:
        if self.state is not State.ESTABLISHED:
            self._out.append(ProtocolError(None, f"cannot send in state {self.state.value}"))
            return
        self.counters.messages_out["update"] = self.counters.messages_out.get("update", 0) + count
        self._out.append(Send(data))
        self._restart_keepalive()
