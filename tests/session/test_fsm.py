"""The session state machine, driven synchronously with a fake clock in microseconds."""

from __future__ import annotations

import ipaddress
import random
from collections.abc import Callable

import pytest

from bgpspeak.session import (
    US,
    Connect,
    Connected,
    ConnectionFailed,
    DataReceived,
    Disconnect,
    GracefulRestartConfig,
    Input,
    Output,
    PeerConfig,
    ProtocolError,
    RefreshMarker,
    RefreshRequested,
    Send,
    SendMessage,
    Session,
    SessionDown,
    Start,
    State,
    Stop,
    Tick,
    UpdateReceived,
    WriteBlocked,
    WriteResumed,
)
from bgpspeak.wire import (
    IPV4_UNICAST,
    AsPath,
    CeaseSubcode,
    Context,
    Keepalive,
    NextHop,
    Notification,
    Open,
    Origin,
    Prefix,
    RouteRefresh,
    Update,
    build_update,
    decode_message,
)

A_ID = ipaddress.IPv4Address("192.0.2.1")
B_ID = ipaddress.IPv4Address("192.0.2.2")


def cfg(**kw: object) -> PeerConfig:
    base: dict[str, object] = dict(
        peer_address=ipaddress.ip_address("192.0.2.2"),
        local_as=65001,
        peer_as=65002,
        router_id=A_ID,
        hold_time=90,
    )
    base.update(kw)
    return PeerConfig(**base)  # type: ignore[arg-type]


def peer_cfg(**kw: object) -> PeerConfig:
    base: dict[str, object] = dict(
        peer_address=ipaddress.ip_address("192.0.2.1"),
        local_as=65002,
        peer_as=65001,
        router_id=B_ID,
        passive=True,
    )
    base.update(kw)
    return cfg(**base)


def sent_messages(outs: list[Output], ctx: Context | None = None) -> list[object]:
    return [decode_message(o.data, ctx or Context()) for o in outs if isinstance(o, Send)]


class Clock:
    def __init__(self) -> None:
        self.now = 1_000 * US


def open_bytes(config: PeerConfig) -> bytes:
    from bgpspeak.session import build_open

    return build_open(config).encode(Context())


KEEPALIVE = Keepalive().encode(Context())
UPDATE = build_update(
    nlri=[Prefix.parse("198.51.100.0/24")],
    attributes=[Origin(0), AsPath.sequence(65002), NextHop(ipaddress.IPv4Address("192.0.2.2"))],
).encode(Context())
NOTIFICATION = Notification.cease(CeaseSubcode.ADMINISTRATIVE_SHUTDOWN, "bye").encode(Context())
REFRESH = RouteRefresh(1, 1).encode(Context())
GARBAGE = b"\x00" * 19


def drive(session: Session, clock: Clock, *events: Input) -> list[Output]:
    out: list[Output] = []
    for e in events:
        out += session.handle(e, clock.now)
    return out


def reach(state: State, **kw: object) -> tuple[Session, Clock]:
    passive = state is State.ACTIVE
    s = Session(cfg(passive=passive, **kw), rng=random.Random(1))
    c = Clock()
    if state is State.IDLE:
        return s, c
    drive(s, c, Start())
    if state in (State.CONNECT, State.ACTIVE):
        return s, c
    drive(s, c, Connected())
    if state is State.OPEN_SENT:
        return s, c
    drive(s, c, DataReceived(open_bytes(peer_cfg())))
    if state is State.OPEN_CONFIRM:
        return s, c
    drive(s, c, DataReceived(KEEPALIVE))
    assert s.state is State.ESTABLISHED
    return s, c


FAR = 10_000 * US

INPUTS: dict[str, Callable[[], Input]] = {
    "start": Start,
    "stop": Stop,
    "connected": Connected,
    "failed": ConnectionFailed,
    "open": lambda: DataReceived(open_bytes(peer_cfg())),
    "keepalive": lambda: DataReceived(KEEPALIVE),
    "update": lambda: DataReceived(UPDATE),
    "notification": lambda: DataReceived(NOTIFICATION),
    "refresh": lambda: DataReceived(REFRESH),
    "garbage": lambda: DataReceived(GARBAGE),
    "tick": Tick,
    "send": lambda: SendMessage(Update.end_of_rib_marker(IPV4_UNICAST)),
    "write_blocked": WriteBlocked,
    "write_resumed": WriteResumed,
}

Id, Co, Ac, OS, OC, Es = (
    State.IDLE,
    State.CONNECT,
    State.ACTIVE,
    State.OPEN_SENT,
    State.OPEN_CONFIRM,
    State.ESTABLISHED,
)
# next state for every (state, input); "tick" is a tick far in the future (all timers due)
EXPECTED: dict[State, dict[str, State]] = {
    Id: dict(start=Co, stop=Id, connected=Id, failed=Id, open=Id, keepalive=Id, update=Id,
            notification=Id, refresh=Id, garbage=Id, tick=Id, send=Id, write_blocked=Id,
            write_resumed=Id),
    Co: dict(start=Co, stop=Id, connected=OS, failed=Ac, open=Co, keepalive=Co, update=Co,
            notification=Co, refresh=Co, garbage=Co, tick=Co, send=Co, write_blocked=Co,
            write_resumed=Co),
    Ac: dict(start=Ac, stop=Id, connected=OS, failed=Ac, open=Ac, keepalive=Ac, update=Ac,
            notification=Ac, refresh=Ac, garbage=Ac, tick=Ac, send=Ac, write_blocked=Ac,
            write_resumed=Ac),
    OS: dict(start=OS, stop=Id, connected=OS, failed=Ac, open=OC, keepalive=Id, update=Id,
            notification=Id, refresh=Id, garbage=Id, tick=Id, send=OS, write_blocked=OS,
            write_resumed=OS),
    OC: dict(start=OC, stop=Id, connected=OC, failed=Id, open=Id, keepalive=Es, update=Id,
            notification=Id, refresh=Id, garbage=Id, tick=Id, send=OC, write_blocked=OC,
            write_resumed=OC),
    Es: dict(start=Es, stop=Id, connected=Es, failed=Id, open=Id, keepalive=Es, update=Es,
            notification=Id, refresh=Es, garbage=Id, tick=Id, send=Es, write_blocked=Es,
            write_resumed=Es),
}  # fmt: skip


@pytest.mark.parametrize("state", list(State), ids=lambda s: s.value)
@pytest.mark.parametrize("name", list(INPUTS))
def test_every_state_and_input(state: State, name: str) -> None:
    s, c = reach(state)
    if name == "tick":
        c.now += FAR
    outs = s.handle(INPUTS[name](), c.now)
    assert s.state is EXPECTED[state][name], outs
    # invariants that hold after any transition
    if s.state is State.IDLE:
        assert not s.connected
    if any(isinstance(o, SessionDown) for o in outs):
        assert state is State.ESTABLISHED
    if s.state is not State.IDLE and state is not State.IDLE:
        assert s.next_deadline() is not None or s.state is State.ESTABLISHED


def test_fatal_errors_send_the_right_notification() -> None:
    cases = [
        (State.OPEN_SENT, KEEPALIVE, (5, 1)),
        (State.OPEN_CONFIRM, UPDATE, (5, 2)),
        (State.ESTABLISHED, open_bytes(peer_cfg()), (5, 3)),
        (State.ESTABLISHED, GARBAGE, (1, 1)),
        (State.ESTABLISHED, b"\xff" * 16 + b"\x00\x05\x04", (1, 2)),
        (State.ESTABLISHED, b"\xff" * 16 + b"\x00\x13\x09", (1, 3)),
    ]
    for state, data, (code, sub) in cases:
        s, c = reach(state)
        outs = s.handle(DataReceived(data), c.now)
        notes = [m for m in sent_messages(outs) if isinstance(m, Notification)]
        assert [(n.code, n.subcode) for n in notes] == [(code, sub)], (state, data)
        assert isinstance(outs[-1], type(outs[-1]))
        assert any(isinstance(o, Disconnect) for o in outs)
        assert s.state is State.IDLE


def two_sessions(
    a_kw: dict[str, object] | None = None, b_kw: dict[str, object] | None = None
) -> tuple[Session, Session, Clock, Callable[[Session, list[Output]], list[Output]]]:
    a = Session(cfg(**(a_kw or {})), rng=random.Random(1))
    b = Session(peer_cfg(**(b_kw or {})), rng=random.Random(2))
    clock = Clock()

    wires: dict[int, list[bytes]] = {id(a): [], id(b): []}  # bytes in flight, per sender

    def pump(src: Session, outs: list[Output], deliver: bool = True) -> list[Output]:
        """Queue src's Sends, then deliver everything in flight in TCP order until quiet."""
        seen = list(outs)
        wires[id(src)] += [o.data for o in outs if isinstance(o, Send)]
        while deliver and (wires[id(a)] or wires[id(b)]):
            for sender, receiver in ((a, b), (b, a)):
                while wires[id(sender)]:
                    data = wires[id(sender)].pop(0)
                    got = receiver.handle(DataReceived(data), clock.now)
                    seen += got
                    wires[id(receiver)] += [o.data for o in got if isinstance(o, Send)]
        return seen

    return a, b, clock, pump


def establish(
    a_kw: dict[str, object] | None = None, b_kw: dict[str, object] | None = None
) -> tuple[Session, Session, Clock, Callable[[Session, list[Output]], list[Output]]]:
    a, b, clock, pump = two_sessions(a_kw, b_kw)
    b.handle(Start(), clock.now)
    outs = a.handle(Start(), clock.now)
    assert any(isinstance(o, Connect) for o in outs)
    # the TCP connection is up on both ends before either OPEN travels
    b_out = b.handle(Connected(outbound=False), clock.now)
    a_out = a.handle(Connected(), clock.now)
    pump(b, b_out, deliver=False)
    pump(a, a_out)
    assert a.state is State.ESTABLISHED and b.state is State.ESTABLISHED
    return a, b, clock, pump


def test_two_sessions_establish_and_negotiate() -> None:
    a, b, _, _ = establish(b_kw={"hold_time": 30})
    assert a.negotiated is not None and b.negotiated is not None
    assert a.negotiated.hold_time == 30 == b.negotiated.hold_time
    assert a.negotiated.peer_as == 65002 and b.negotiated.peer_as == 65001
    assert a.negotiated.asn4 and a.negotiated.extended_message
    assert a.counters.established == 1


def test_updates_flow_and_keepalives_keep_the_session() -> None:
    a, b, clock, pump = establish()
    upd = build_update(
        nlri=[Prefix.parse("203.0.113.0/24")],
        attributes=[Origin(0), AsPath.sequence(65001), NextHop(A_ID)],
    )
    outs = pump(a, a.handle(SendMessage(upd), clock.now))
    got = [o for o in outs if isinstance(o, UpdateReceived)]
    assert [g.update for g in got] == [upd]
    # an hour of keepalives: neither side's hold timer expires
    for _ in range(360):
        clock.now += 10 * US
        pump(a, a.handle(Tick(), clock.now))
        pump(b, b.handle(Tick(), clock.now))
    assert a.state is State.ESTABLISHED and b.state is State.ESTABLISHED


def test_keepalive_interval_is_jittered_third_of_hold() -> None:
    a, _, clock, _ = establish()
    deadline = a.timer("keepalive")
    assert deadline is not None
    assert 0.75 * 30 * US <= deadline - clock.now <= 30 * US


def test_hold_timer_expiry_sends_4_0_and_restarts_with_backoff() -> None:
    a, _, clock, _ = establish()
    clock.now += 91 * US
    outs = a.handle(Tick(), clock.now)
    assert [(n.code, n.subcode) for n in sent_messages(outs)  # type: ignore[attr-defined]
            if isinstance(n, Notification)] == [(4, 0)]  # fmt: skip
    down = [o for o in outs if isinstance(o, SessionDown)]
    assert len(down) == 1 and down[0].sent
    assert a.state is State.IDLE
    first = a.timer("idle_hold")
    assert first is not None
    # automatic restart: dial again once the idle hold time passes, doubling each failure
    clock.now = first
    outs = a.handle(Tick(), clock.now)
    assert a.state is State.CONNECT and any(isinstance(o, Connect) for o in outs)
    a.handle(Connected(), clock.now)
    a.handle(DataReceived(GARBAGE), clock.now)
    second = a.timer("idle_hold")
    assert second is not None and second - clock.now > (first - clock.now) * 0.75


def test_stop_sends_shutdown_communication_and_stays_idle() -> None:
    a, b, clock, pump = establish()
    note = Notification.cease(CeaseSubcode.ADMINISTRATIVE_SHUTDOWN, "maintenance")
    outs = pump(a, a.handle(Stop(note), clock.now))
    down_b = [o for o in outs if isinstance(o, SessionDown)]
    assert {d.notification.shutdown_message for d in down_b if d.notification} == {"maintenance"}
    assert a.state is State.IDLE and a.next_deadline() is None  # no automatic restart
    assert b.state is State.IDLE and b.timer("idle_hold") is not None


@pytest.mark.parametrize(
    ("peer_kw", "code"),
    [
        ({"local_as": 65009}, (2, 2)),  # not the configured peer AS
        ({"hold_time": 0, "min_hold_time": 0}, None),  # hold 0 is allowed
    ],
)
def test_open_checks(peer_kw: dict[str, object], code: tuple[int, int] | None) -> None:
    s, c = reach(State.OPEN_SENT)
    outs = s.handle(DataReceived(open_bytes(peer_cfg(**peer_kw))), c.now)
    notes = [(m.code, m.subcode) for m in sent_messages(outs) if isinstance(m, Notification)]
    if code is None:
        assert notes == [] and s.state is State.OPEN_CONFIRM
    else:
        assert notes == [code] and s.state is State.IDLE


def raw_open(version: int = 4, asn: int = 65002, hold: int = 90, bgp_id: str = "192.0.2.2",
             params: bytes = b"") -> bytes:  # fmt: skip
    body = (
        bytes((version,)) + asn.to_bytes(2, "big") + hold.to_bytes(2, "big")
        + ipaddress.IPv4Address(bgp_id).packed + bytes((len(params),)) + params
    )  # fmt: skip
    return b"\xff" * 16 + (19 + len(body)).to_bytes(2, "big") + b"\x01" + body


@pytest.mark.parametrize(
    ("data", "code", "err_data"),
    [
        (raw_open(version=3), (2, 1), b"\x00\x04"),
        (raw_open(hold=2), (2, 6), b""),
        (raw_open(bgp_id="0.0.0.0"), (2, 3), b"\x00\x00\x00\x00"),
        (raw_open(params=b"\x03\x02\xab\xcd"), (2, 4), b""),
        (raw_open(asn=23456), (2, 2), b"\x5b\xa0"),
        (raw_open(params=b"\x02\x06\x41\x04\x00\x00\xfd\xeb"), (2, 2), b"\xfd\xea"),
    ],
)
def test_open_errors_on_the_wire(data: bytes, code: tuple[int, int], err_data: bytes) -> None:
    s, c = reach(State.OPEN_SENT)
    outs = s.handle(DataReceived(data), c.now)
    notes = [m for m in sent_messages(outs) if isinstance(m, Notification)]
    assert [(n.code, n.subcode, n.data) for n in notes] == [(*code, err_data)]


def test_treat_as_withdraw_keeps_the_session_up() -> None:
    s, c = reach(State.ESTABLISHED)
    # ORIGIN value 9: RFC 7606 treat-as-withdraw
    attrs = bytes.fromhex("40010109" + "4002060201" + "0000fdea" + "400304c0000202")
    body = b"\x00\x00" + len(attrs).to_bytes(2, "big") + attrs + bytes.fromhex("18c63364")
    msg = b"\xff" * 16 + (19 + len(body)).to_bytes(2, "big") + b"\x02" + body
    outs = s.handle(DataReceived(msg), c.now)
    got = [o for o in outs if isinstance(o, UpdateReceived)]
    assert len(got) == 1 and got[0].treat_as_withdraw
    assert got[0].update.nlri == (Prefix.parse("198.51.100.0/24"),)
    assert s.state is State.ESTABLISHED
    assert sent_messages(outs) == []
    assert any(isinstance(o, ProtocolError) for o in outs)


def test_route_refresh_and_enhanced_markers() -> None:
    s, c = reach(State.ESTABLISHED)
    outs = s.handle(DataReceived(REFRESH), c.now)
    assert RefreshRequested((1, 1)) in outs  # type: ignore[arg-type]
    outs = s.handle(DataReceived(RouteRefresh(2, 1, 1).encode(Context())), c.now)
    assert [o for o in outs if isinstance(o, RefreshMarker)] == [RefreshMarker((2, 1), True)]  # type: ignore[arg-type]
    # a family that was not negotiated is ignored, not an error
    outs = s.handle(DataReceived(RouteRefresh(25, 70).encode(Context())), c.now)
    assert s.state is State.ESTABLISHED and not any(isinstance(o, RefreshRequested) for o in outs)


def test_send_hold_timer_closes_a_session_whose_peer_stopped_reading() -> None:
    s, c = reach(State.ESTABLISHED)
    s.handle(WriteBlocked(), c.now)
    deadline = s.timer("send_hold")
    assert deadline == c.now + 480 * US
    # keepalives from the peer keep arriving, but we cannot write: still closed at the deadline
    for _ in range(47):
        c.now += 10 * US
        s.handle(DataReceived(KEEPALIVE), c.now)
        s.handle(Tick(), c.now)
    assert s.state is State.ESTABLISHED
    c.now = deadline
    outs = s.handle(Tick(), c.now)
    assert s.state is State.IDLE
    assert [(m.code, m.subcode) for m in sent_messages(outs) if isinstance(m, Notification)] == [
        (8, 0)
    ]
    # writes resuming in time cancel it
    s2, c2 = reach(State.ESTABLISHED)
    s2.handle(WriteBlocked(), c2.now)
    s2.handle(WriteResumed(), c2.now)
    assert s2.timer("send_hold") is None


def test_delay_open_waits_for_the_peer() -> None:
    s = Session(cfg(delay_open_time=5), rng=random.Random(3))
    c = Clock()
    s.handle(Start(), c.now)
    outs = s.handle(Connected(), c.now)
    assert sent_messages(outs) == [] and s.state is State.CONNECT
    # the peer's OPEN arrives first: we answer with OPEN and KEEPALIVE at once
    outs = s.handle(DataReceived(open_bytes(peer_cfg())), c.now)
    kinds = [type(m).__name__ for m in sent_messages(outs)]
    assert kinds == ["Open", "Keepalive"] and s.state is State.OPEN_CONFIRM
    # or the timer runs out and we send our OPEN
    s = Session(cfg(delay_open_time=5), rng=random.Random(3))
    s.handle(Start(), c.now)
    s.handle(Connected(), c.now)
    c.now += 5 * US
    outs = s.handle(Tick(), c.now)
    assert [type(m).__name__ for m in sent_messages(outs)] == ["Open"]
    assert s.state is State.OPEN_SENT


def test_connect_retry_redials_while_the_peer_is_down() -> None:
    s, c = reach(State.CONNECT)
    s.handle(ConnectionFailed("refused"), c.now)
    assert s.state is State.ACTIVE
    deadline = s.timer("connect_retry")
    assert deadline is not None and 0.75 * 5 * US <= deadline - c.now <= 5 * US
    c.now = deadline
    outs = s.handle(Tick(), c.now)
    assert s.state is State.CONNECT and Connect() in outs


@pytest.mark.parametrize(
    ("notification", "graceful"),
    [
        (None, True),  # TCP reset: the classic graceful-restart case
        (Notification.cease(CeaseSubcode.ADMINISTRATIVE_RESET), True),  # RFC 8538 N bit
        (Notification(6, CeaseSubcode.HARD_RESET), False),
    ],
)
def test_session_down_reports_graceful_restart(
    notification: Notification | None, graceful: bool
) -> None:
    s, c = reach(State.ESTABLISHED)
    if notification is None:
        outs = s.handle(ConnectionFailed("reset"), c.now)
    else:
        outs = s.handle(DataReceived(notification.encode(Context())), c.now)
    down = [o for o in outs if isinstance(o, SessionDown)]
    assert len(down) == 1 and down[0].graceful is graceful


def test_no_graceful_restart_without_the_capability() -> None:
    s, c = reach(State.ESTABLISHED, graceful_restart=GracefulRestartConfig(enabled=False))
    outs = s.handle(ConnectionFailed("reset"), c.now)
    assert [o.graceful for o in outs if isinstance(o, SessionDown)] == [False]


def test_our_open_carries_the_configuration() -> None:
    s = Session(cfg(local_as=4200000001, hostname="spk1"))
    o = s.local_open
    assert isinstance(o, Open) and o.asn == 23456 and o.effective_asn == 4200000001
    names = [type(c).__name__ for c in o.capabilities]
    assert names[:2] == ["Multiprotocol", "Multiprotocol"]
    assert {"GracefulRestart", "FourOctetAs", "Fqdn", "EnhancedRouteRefresh"} <= set(names)


def test_stop_with_n_bit_goes_out_as_hard_reset_carrying_the_cease() -> None:
    """RFC 8538 section 3: Hard Reset data is the encapsulated code, subcode and data (FRR logs
    ours as `%NOTIFICATION(Hard Reset) ... 6/2 (Cease/Administrative Shutdown) "bye"`)."""
    s, c = reach(State.ESTABLISHED)
    outs = s.handle(Stop(Notification.cease(CeaseSubcode.ADMINISTRATIVE_SHUTDOWN, "bye")), c.now)
    (note,) = [m for m in sent_messages(outs) if isinstance(m, Notification)]
    assert (note.code, note.subcode) == (6, 9)
    assert note.data == bytes((6, 2, 3)) + b"bye"
    assert note.shutdown_message == "bye"
    # an administrative reset stays a plain Cease: the peer may keep our routes (graceful)
    s, c = reach(State.ESTABLISHED)
    outs = s.handle(Stop(Notification.cease(CeaseSubcode.ADMINISTRATIVE_RESET, "brb")), c.now)
    (note,) = [m for m in sent_messages(outs) if isinstance(m, Notification)]
    assert (note.code, note.subcode) == (6, 4)
