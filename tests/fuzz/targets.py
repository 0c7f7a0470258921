"""Fuzz targets: functions of one ``bytes`` input that raise only when bgpspeak misbehaves.

A malformed input is expected and fine: the codec answers with :class:`DecodeError`, the MRT
reader with :class:`MrtError` / :class:`CorruptRecord`, the state machine with a NOTIFICATION.
Anything else escaping (``IndexError``, ``struct.error``, ``ValueError`` from an encoder, a
``KeyError``...) is a bug, and so is a broken invariant, raised as :class:`Finding`.

The first octets of every input choose the context (4-octet AS, ADD-PATH per family, extended
messages, iBGP), so one corpus explores every negotiated combination. The targets are plain
functions, driven by atheris (``run.py``), by hypothesis in CI (``test_targets.py``) and by the
corpus replay (``test_corpus_replay.py``).
"""

from __future__ import annotations

import asyncio
import functools
import io
import ipaddress
import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field

from bgpspeak.mrt import (
    Bgp4mpEntry,
    Bgp4mpMessage,
    CorruptRecord,
    LegacyBgpMessage,
    MrtError,
    RibRecord,
    TableDumpRecord,
    read_mrt,
)
from bgpspeak.session import (
    US,
    Connected,
    ConnectionFailed,
    DataReceived,
    Disconnect,
    GracefulRestartConfig,
    Input,
    Output,
    PeerConfig,
    ProtocolError,
    Send,
    SendEncoded,
    SendMessage,
    Session,
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
from bgpspeak.session.negotiate import build_open
from bgpspeak.wire import (
    AsPath,
    AttributeCache,
    Communities,
    Context,
    DecodeError,
    Family,
    Keepalive,
    Message,
    NextHop,
    Notification,
    Origin,
    Prefix,
    RouteRefresh,
    StreamDecoder,
    Update,
    build_update,
    decode_message,
)
from bgpspeak.wire.errors import Action, ErrorCode
from bgpspeak.wire.message import HEADER_LENGTH, MARKER
from bgpspeak.wire.update import decode_update


class Finding(AssertionError):
    """An invariant bgpspeak must keep was broken by this input."""


def check(cond: object, what: str) -> None:
    if not cond:
        raise Finding(what)


# --- contexts -----------------------------------------------------------------------------------

#: the families whose ADD-PATH the selector octet can switch on, one bit each
ADD_PATH_FAMILIES = (
    Family(1, 1),  # ipv4/unicast
    Family(2, 1),  # ipv6/unicast
    Family(1, 4),  # ipv4/labeled-unicast
    Family(1, 128),  # ipv4/vpn
    Family(25, 70),  # l2vpn/evpn
)


def context_from(selector: int) -> Context:
    """Bit 0: 2-octet AS; bit 1: extended messages; bit 2: iBGP; bits 3-7: ADD-PATH families."""
    add_path = frozenset(f for i, f in enumerate(ADD_PATH_FAMILIES) if selector & (8 << i))
    return Context(
        asn4=not selector & 1,
        add_path=add_path,
        extended_message=bool(selector & 2),
        ibgp=bool(selector & 4),
    )


def selector_of(ctx: Context) -> int:
    """The inverse of :func:`context_from` (for building seeds)."""
    sel = (0 if ctx.asn4 else 1) | (2 if ctx.extended_message else 0) | (4 if ctx.ibgp else 0)
    for i, f in enumerate(ADD_PATH_FAMILIES):
        if f in ctx.add_path:
            sel |= 8 << i
    return sel


# --- shared checks ------------------------------------------------------------------------------


def check_error(e: DecodeError, ctx: Context) -> None:
    """A decode error must be usable as is: a NOTIFICATION the session can send, a known
    RFC 7606 action, and (for the actions that keep the session) the message as far as read."""
    check(1 <= e.code <= 8, f"error code {e.code} out of range: {e}")
    check(0 <= e.subcode <= 255, f"subcode {e.subcode} out of range: {e}")
    check(isinstance(e.action, Action), f"action {e.action!r} is not an Action")
    check(e.reason, f"error without a reason: {e!r}")
    json.dumps(e.to_json())
    # the session sends this NOTIFICATION with the negotiated context: it must always fit
    Notification.from_error(e).encode(ctx)
    Notification.from_error(e).encode(Context(extended_message=False))
    Notification.from_error(e).hard_reset().encode(Context(extended_message=False))
    if e.update is not None:
        check(
            e.action in (Action.TREAT_AS_WITHDRAW, Action.ATTRIBUTE_DISCARD),
            f"partial update given with action {e.action.name}",
        )
        list(e.update.withdrawals())
        list(e.update.announced())
        e.update.path_attributes()
        json.dumps(e.update.to_json())


def check_message(msg: Message, ctx: Context) -> None:
    """A decoded message prints as JSON, re-encodes, and the re-encoding decodes to itself."""
    json.dumps(msg.to_json())
    if isinstance(msg, Update):
        list(msg.withdrawals())
        list(msg.announced())
    data = msg.encode(ctx)
    again = decode_message(data, ctx)
    check(again == msg, f"re-encoding changed the message: {msg!r} -> {again!r}")


def _decode_one(data: bytes, ctx: Context, cache: AttributeCache | None = None) -> None:
    try:
        msg = decode_message(data, ctx, cache)
    except DecodeError as e:
        check_error(e, ctx)
        return
    check_message(msg, ctx)


# --- codec --------------------------------------------------------------------------------------


def target_decode(data: bytes) -> None:
    """Octet 0: context (:func:`context_from`); octet 1: mode; the rest: the input.

    Modes: 0 a whole message as given; 1 a header built for the body (type from the next octet,
    length right), so the fuzzer spends its time in message bodies; 2 a TCP stream fed in
    chunks to :class:`StreamDecoder`; 3 an UPDATE body decoded twice through one attribute
    cache (the cached decode must equal the first).
    """
    if len(data) < 3:
        return
    ctx = context_from(data[0])
    mode = data[1] & 3
    rest = data[2:]
    if mode == 0:
        _decode_one(rest, ctx)
    elif mode == 1:
        mtype = rest[0] % 6 if rest[0] < 0xF0 else rest[0]
        body = rest[1:][: ctx.max_message_length - HEADER_LENGTH]
        header = MARKER + (HEADER_LENGTH + len(body)).to_bytes(2, "big") + bytes((mtype,))
        _decode_one(header + body, ctx)
    elif mode == 2:
        _stream(rest[1:], ctx, (rest[0] & 31) + 1)
    else:
        cache = AttributeCache()
        results = []
        for _ in range(2):
            try:
                results.append(decode_update(rest, ctx, cache))
            except DecodeError as e:
                check_error(e, ctx)
                results.append(e.to_json())  # type: ignore[arg-type]
        check(results[0] == results[1], "decoding through the attribute cache changed the result")
        if isinstance(results[0], Update):
            check_message(results[0], ctx)


def _stream(data: bytes, ctx: Context, chunk: int) -> None:
    dec = StreamDecoder(ctx)
    got = 0
    for i in range(0, len(data), chunk):
        dec.feed(data[i : i + chunk])
        for _ in range(len(data)):  # bounded: each message consumes at least 19 octets
            try:
                msg = dec.next_message()
            except DecodeError as e:
                check_error(e, ctx)
                if e.code == ErrorCode.MESSAGE_HEADER:
                    # framing lost: the stream stays broken
                    try:
                        dec.next_message()
                    except DecodeError:
                        return
                    raise Finding("a framing error did not stick") from None
                got += 1
                continue
            if msg is None:
                break
            got += 1
            check_message(msg, ctx)
    check(got * HEADER_LENGTH <= len(data), f"{got} messages out of {len(data)} octets")
    check(dec.buffered < len(data) + 1, "stream buffered more than it was fed")


# --- MRT ----------------------------------------------------------------------------------------

MAX_RECORDS = 2000


def target_mrt(data: bytes) -> None:
    """An MRT file (plain or compressed), read in ``report`` mode then ``raise`` mode; every
    embedded BGP message decoded with the context its record gives."""
    cache = AttributeCache()
    records = read_mrt(io.BytesIO(data), errors="report", attribute_cache=cache)
    for n, rec in enumerate(records, 1):
        check(n <= MAX_RECORDS or n <= len(data), "more records than the input can hold")
        if isinstance(rec, CorruptRecord):
            check(isinstance(rec.error, MrtError), "corrupt record without an MrtError")
            check(
                not rec.error.reason.startswith("malformed record:"),
                f"a decoder missed a check (caught by the reader's safety net): {rec.error}",
            )
            str(rec.error)
        elif isinstance(rec, Bgp4mpMessage | LegacyBgpMessage):
            ctx = rec.context()
            try:
                msg = rec.decode(cache)
            except DecodeError as e:
                check_error(e, ctx)
            else:
                check_message(msg, ctx)
        elif isinstance(rec, RibRecord | TableDumpRecord | Bgp4mpEntry):
            for entry in rec.entries:
                repr(entry)
        if n >= MAX_RECORDS:
            break
    try:
        for _ in zip(range(MAX_RECORDS), read_mrt(io.BytesIO(data)), strict=False):
            pass
    except MrtError:
        pass


# --- session state machine ----------------------------------------------------------------------

LOCAL_ID = ipaddress.IPv4Address("192.0.2.1")
PEER_ID = ipaddress.IPv4Address("192.0.2.2")


def session_configs(selector: int) -> tuple[PeerConfig, PeerConfig]:
    """Our config and the peer's (from which its OPEN is built), from one octet.

    Bit 0 passive; 1 DelayOpen; 2-3 hold time (0, 3, 9, 90); 4 ADD-PATH both ways for IPv4;
    5 iBGP; 6 the peer has no graceful restart; 7 the peer has a different AS than expected.
    """
    hold = (0, 3, 9, 90)[(selector >> 2) & 3]
    ibgp = bool(selector & 32)
    local_as = 65001
    peer_as = local_as if ibgp else 65002
    add_path = ((Family(1, 1), "both"),) if selector & 16 else ()
    ours = PeerConfig(
        peer_address=ipaddress.ip_address("192.0.2.2"),
        local_as=local_as,
        peer_as=peer_as,
        router_id=LOCAL_ID,
        hold_time=hold,
        passive=bool(selector & 1),
        delay_open_time=1.0 if selector & 2 else 0.0,
        add_path=add_path,
        connect_retry_time=3,
        send_hold_time=5.0,
    )
    theirs = PeerConfig(
        peer_address=ipaddress.ip_address("192.0.2.1"),
        local_as=peer_as + (1 if selector & 128 else 0),
        peer_as=local_as,
        router_id=PEER_ID,
        hold_time=hold,
        add_path=add_path,
        graceful_restart=GracefulRestartConfig(enabled=not selector & 64),
    )
    return ours, theirs


@functools.cache
def _sample_update(n: int) -> Update:
    prefix = Prefix(1, (198 << 24 | 51 << 16 | 100 << 8) + n % 256, 32)
    return build_update(
        nlri=[prefix],
        attributes=[
            Origin(0),
            AsPath.sequence(65002, 64512 + n % 1000),
            NextHop(ipaddress.IPv4Address("192.0.2.2")),
            Communities((65002 << 16 | n % 65536,)),
        ],
    )


@dataclass
class _Reader:
    """Consumes the fuzz input octet by octet; past the end every read is 0."""

    data: bytes
    pos: int = 0

    def byte(self) -> int:
        if self.pos >= len(self.data):
            self.pos += 1
            return 0
        b = self.data[self.pos]
        self.pos += 1
        return b

    def take(self, n: int) -> bytes:
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    @property
    def done(self) -> bool:
        return self.pos >= len(self.data)


@dataclass
class SessionMonitor:
    """Checks every output of one :class:`Session` against what the inputs allow."""

    session: Session
    state: State = State.IDLE
    connected: bool = False
    sent_open: bool = False
    sent_keepalive: bool = False
    got_open: bool = False
    ups: int = 0
    refusing: bool = False
    log: list[str] = field(default_factory=list)

    def feed(self, event: Input, now: int) -> list[Output]:
        s = self.session
        before = s.state
        self.log.append(f"{now} {event!r}"[:200])
        out = s.handle(event, now)
        check(isinstance(out, list), "handle did not return a list")
        # a connection the session refuses gets its own Disconnect
        self.refusing = isinstance(event, Connected) and (self.connected or not s.connected)
        if isinstance(event, Connected) and s.connected and not self.connected:
            self.connected = True
            self.sent_open = self.sent_keepalive = self.got_open = False
        if isinstance(event, DataReceived) and s.peer_open is not None:
            self.got_open = True
        seen_up = False
        for o in out:
            self._output(o, before)
            seen_up = seen_up or isinstance(o, SessionUp)
        check(self.state is s.state, f"StateChanged chain ends in {self.state}, not {s.state}")
        if s.state is State.ESTABLISHED and before is not State.ESTABLISHED:
            check(seen_up, "Established without SessionUp")
        if s.state is State.OPEN_SENT:
            check(s.timer("hold") is not None, "OpenSent without a hold timer")
        if not s.connected:
            check(s.state in (State.IDLE, State.CONNECT, State.ACTIVE), f"{s.state} unconnected")
        check(s.counters.established == self.ups, "established counter out of step")
        deadline = s.next_deadline()
        check(deadline is None or isinstance(deadline, int), "deadline is not an int")
        return out

    def _output(self, o: Output, before: State) -> None:
        s = self.session
        if isinstance(o, StateChanged):
            check(o.old is self.state, f"StateChanged from {o.old}, machine was in {self.state}")
            check(o.new is not o.old, "StateChanged to the same state")
            if o.new is State.ESTABLISHED:
                check(o.old is State.OPEN_CONFIRM, f"Established from {o.old}")
                check(
                    self.sent_open and self.sent_keepalive and self.got_open,
                    "Established without OPEN and KEEPALIVE exchanged",
                )
                check(s.negotiated is not None, "Established without a negotiated session")
            if o.new is State.OPEN_CONFIRM:
                check(self.sent_open and self.got_open, "OpenConfirm without both OPENs")
            self.state = o.new
        elif isinstance(o, Send):
            check(self.connected, "Send on no connection")
            self._check_sent(o.data)
        elif isinstance(o, Disconnect):
            # also sent to abandon a connect attempt (ConnectRetry in Connect), or to refuse
            # a second connection: then the session's own connection, if any, stays
            if self.refusing:
                self.refusing = False
            else:
                self.connected = False
        elif isinstance(o, SessionUp):
            check(self.state is State.ESTABLISHED, "SessionUp outside Established")
            self.ups += 1
        elif isinstance(o, SessionDown):
            check(before is State.ESTABLISHED, "SessionDown of a session that was not up")
        elif isinstance(o, UpdateReceived):
            check(self.state is State.ESTABLISHED, f"UPDATE delivered in {self.state}")
            if o.error is not None:
                check(o.error.action < Action.AFI_SAFI_DISABLE, "fatal error delivered as UPDATE")
        elif isinstance(o, ProtocolError):
            check(o.error is None or isinstance(o.error, DecodeError), "untyped protocol error")
            check(o.reason, "protocol error without a reason")
        if isinstance(o, ConnectionFailed):
            raise Finding("an input type came out as an output")

    def _check_sent(self, data: bytes) -> None:
        s = self.session
        ctx = s.negotiated.tx_context if s.negotiated else Context()
        dec = StreamDecoder(Context(ctx.asn4, ctx.add_path, True, ctx.ibgp))
        dec.feed(data)
        n = 0
        while True:
            try:
                msg = dec.next_message()
            except DecodeError as e:
                raise Finding(f"sent a malformed message: {e} ({data.hex()[:200]})") from None
            if msg is None:
                break
            n += 1
            if isinstance(msg, Keepalive):
                self.sent_keepalive = True
            elif msg.TYPE == 1:
                self.sent_open = True
        check(n > 0 and dec.buffered == 0, "sent octets that are not whole messages")


def target_fsm(data: bytes) -> None:
    """Octet 0: configs (:func:`session_configs`); then one operation per octet (low nibble),
    each reading its arguments from the next octets. Well-formed peer messages are operations
    of their own so the fuzzer reaches Established and spends its time there."""
    if not data:
        return
    ours, theirs = session_configs(data[0])
    session = Session(ours, rng=random.Random(data[0]))
    mon = SessionMonitor(session)
    peer_open = build_open(theirs).encode(Context())
    r = _Reader(data[1:])
    now = 1_000_000
    rx = Context(True, frozenset(f for f, _ in ours.add_path), True, ours.is_ibgp)
    for _ in range(512):
        if r.done:
            break
        op = r.byte()
        kind = op & 15
        event: Input
        if kind == 0:
            event = Start()
        elif kind == 1:
            event = Stop(Notification.cease(2, "fuzz") if op & 16 else None)
        elif kind == 2:
            event = Connected(outbound=bool(op & 16))
        elif kind == 3:
            event = ConnectionFailed("fuzz")
        elif kind == 4:
            now += (r.byte() + 1) * 50_000 * (1 + (op >> 4))
            event = Tick()
        elif kind == 5:
            deadline = session.next_deadline()
            now = max(now, deadline if deadline is not None else now + US)
            event = Tick()
        elif kind == 6:
            event = DataReceived(_split(peer_open, op >> 4))
        elif kind == 7:
            event = DataReceived(Keepalive().encode())
        elif kind == 8:
            event = DataReceived(_sample_update(r.byte()).encode(rx))
        elif kind == 9:
            event = DataReceived(r.take(r.byte() % 96 + 1))
        elif kind == 10:
            event = DataReceived(_mutate(_template(op >> 4, peer_open, rx), r))
        elif kind == 11:
            event = SendMessage(_outgoing(op >> 4, r.byte()))
        elif kind == 12:
            n = (op >> 4) + 1
            tx = session.negotiated.tx_context if session.negotiated else Context()
            event = SendEncoded(b"".join(_sample_update(i).encode(tx) for i in range(n)), n)
        elif kind == 13:
            event = WriteBlocked()
        elif kind == 14:
            event = WriteResumed()
        else:
            event = DataReceived(_template(op >> 4, peer_open, rx))
        if isinstance(event, DataReceived) and not event.data:
            continue
        mon.feed(event, now)


def _split(message: bytes, half: int) -> bytes:
    """The whole message, or only its first part (the rest then arrives with a later op)."""
    return message if half >= 8 else message[: max(1, len(message) * half // 8)]


def _template(which: int, peer_open: bytes, ctx: Context) -> bytes:
    """A well-formed peer message to mutate."""
    choices: list[Callable[[], bytes]] = [
        lambda: peer_open,
        lambda: Keepalive().encode(),
        lambda: _sample_update(which).encode(ctx),
        lambda: Notification(6, 2, b"\x03bye").encode(),
        lambda: RouteRefresh(1, 1).encode(),
        lambda: RouteRefresh(1, 1, 1).encode(),
        lambda: Update.end_of_rib_marker(Family(2, 1)).encode(ctx),
        lambda: build_update(withdrawn=[Prefix.parse("203.0.113.0/24")]).encode(ctx),
    ]
    return choices[which % len(choices)]()


def _mutate(message: bytes, r: _Reader) -> bytes:
    """Overwrite one to three octets at fuzz-chosen places (past the marker, mostly)."""
    buf = bytearray(message)
    for _ in range(r.byte() % 3 + 1):
        pos = r.byte() % len(buf)
        if pos < 16 and r.byte() & 1:
            pos += 16
        buf[pos % len(buf)] = r.byte()
    return bytes(buf)


def _outgoing(which: int, n: int) -> Message:
    if which % 4 == 0:
        return Keepalive()
    if which % 4 == 1:
        return RouteRefresh(1, 1)
    if which % 4 == 2:
        return _too_big()
    return _sample_update(n)


@functools.cache
def _too_big() -> Update:
    """An UPDATE too big for a 4096-octet session: must come back as "not sent"."""
    return build_update(withdrawn=[Prefix(1, 10 << 24 | i << 8, 24) for i in range(1200)])


def session_up(selector: int = 0, *, stop_in: State = State.ESTABLISHED) -> SessionMonitor:
    """A monitored session driven to ``stop_in`` (OpenSent, OpenConfirm or Established) with
    the peer of :func:`session_configs`, for replaying a peer's byte stream into it."""
    ours, theirs = session_configs(selector & ~(1 | 2 | 128))  # active, no DelayOpen, right AS
    mon = SessionMonitor(Session(ours, rng=random.Random(0)))
    mon.feed(Start(), US)
    mon.feed(Connected(), US)
    if stop_in is not State.OPEN_SENT:
        mon.feed(DataReceived(build_open(theirs).encode(Context())), US)
    if stop_in is State.ESTABLISHED:
        mon.feed(DataReceived(Keepalive().encode()), US)
    check(mon.session.state is stop_in, f"session did not reach {stop_in}")
    return mon


def feed_stream(mon: SessionMonitor, data: bytes, read: int) -> list[Output]:
    """Deliver ``data`` to a monitored session in reads of ``read`` octets (until it closes)."""
    out: list[Output] = []
    now = 2 * US
    for pos in range(0, len(data), read):
        if not mon.session.connected:
            break
        out += mon.feed(DataReceived(data[pos : pos + read]), now)
    return out


# --- the peer's receiving path (bgpspeak/peer.py) -------------------------------------------------


class _FakeTransport(asyncio.Transport):
    """Just enough of a transport for :meth:`Peer.accept`: records what is written."""

    def __init__(self) -> None:
        super().__init__()
        self.written: list[bytes] = []
        self.closed = False
        self.protocol: asyncio.BaseProtocol | None = None

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.written.append(bytes(data))

    def close(self) -> None:
        self.closed = True

    def abort(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def can_write_eof(self) -> bool:
        return False

    def get_write_buffer_size(self) -> int:
        return 0

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        return None

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        self.protocol = protocol

    def get_protocol(self) -> asyncio.BaseProtocol:
        assert self.protocol is not None
        return self.protocol

    def get_extra_info(self, name: str, default: object = None) -> object:
        return {"sockname": ("192.0.2.1", 179), "peername": ("192.0.2.2", 40000)}.get(name, default)


def target_peer(data: bytes) -> None:
    """Octet 0: the neighbor (bit 0 2-octet AS peer, bit 1 ADD-PATH IPv4/IPv6, bit 2 iBGP);
    then UPDATE bodies, each prefixed by a 2-octet length, delivered on an Established session
    of a real :class:`Peer` (fake transport, a loop that never runs). Invariants: nothing
    escapes ``data_received``; the Adj-RIB-In holds exactly the routes the events announced and
    did not withdraw."""
    if not data:
        return
    sel = data[0]
    asn4 = not sel & 1
    add_path = (("ipv4/unicast", "both"), ("ipv6/unicast", "both")) if sel & 2 else ()
    ibgp = bool(sel & 4)
    loop = asyncio.new_event_loop()
    try:
        _peer_run(data[1:], loop, asn4, add_path, ibgp)
    finally:
        loop.close()


def _peer_run(
    data: bytes,
    loop: asyncio.AbstractEventLoop,
    asn4: bool,
    add_path: tuple[tuple[str, str], ...],
    ibgp: bool,
) -> None:
    from bgpspeak import Neighbor, RouteReceived, RouteWithdrawn, Speaker
    from bgpspeak.wire import AddPath, AddPathEntry, FourOctetAs, Multiprotocol, Open

    local_as, peer_as = 65001, (65001 if ibgp else 65002)
    speaker = Speaker(local_as, "192.0.2.1", listen=())
    peer = speaker.add_neighbor(
        Neighbor("192.0.2.2", remote_as=peer_as, passive=True, add_path=add_path)
    )
    stream = speaker.events()
    peer.start(loop)
    transport = _FakeTransport()
    peer.accept(transport, None)
    conn = transport.protocol
    check(isinstance(conn, asyncio.Protocol), "accept did not install the connection")
    assert isinstance(conn, asyncio.Protocol)
    caps: list[object] = [Multiprotocol(1, 1), Multiprotocol(2, 1)]
    if asn4:
        caps.append(FourOctetAs(peer_as))
    if add_path:
        caps.append(AddPath((AddPathEntry(1, 1, 3), AddPathEntry(2, 1, 3))))
    their_open = Open.build(peer_as, 90, PEER_ID, caps)  # type: ignore[arg-type]
    conn.data_received(their_open.encode(Context()) + Keepalive().encode())
    check(peer.state is State.ESTABLISHED, f"peer not Established: {peer.state}")
    model: set[tuple[Family, Prefix]] = set()
    pos = 0
    for _ in range(64):
        if pos + 2 > len(data) or peer.state is not State.ESTABLISHED:
            break
        n = int.from_bytes(data[pos : pos + 2], "big") % 4000
        body = data[pos + 2 : pos + 2 + n]
        pos += 2 + n
        conn.data_received(MARKER + (HEADER_LENGTH + len(body)).to_bytes(2, "big") + b"\x02" + body)
        while not stream._queue.empty():
            ev = stream._queue.get_nowait()
            if isinstance(ev, RouteReceived):
                model.add((ev.family, ev.prefix))
            elif isinstance(ev, RouteWithdrawn):
                model.discard((ev.family, ev.prefix))
        if peer.state is State.ESTABLISHED:
            held = {(f, p) for f, table in peer.rib_in.routes.items() for p in table}
            check(held == model, f"Adj-RIB-In {sorted(held)[:4]} != events {sorted(model)[:4]}")
    for w in transport.written:
        check(len(w) >= HEADER_LENGTH and w[:16] == MARKER, "wrote something that is not a message")


TARGETS: dict[str, Callable[[bytes], None]] = {
    "decode": target_decode,
    "mrt": target_mrt,
    "fsm": target_fsm,
    "peer": target_peer,
}
