"""The session table: demultiplexing (RFC 5880 section 6.8.6), TTL rules (RFC 5881 section 5,
RFC 5883), discriminators, and two tables talking over a fake wire with a fake clock."""

from __future__ import annotations

import ipaddress
import random
from collections.abc import Callable

import pytest

from bgpspeak.bfd.codes import Diag, State
from bgpspeak.bfd.config import SessionKey, SessionParams
from bgpspeak.bfd.events import AdminDown, Reconfigure, StateChanged, Transmit
from bgpspeak.bfd.packet import ControlPacket
from bgpspeak.bfd.table import BfdTable, Datagram, SessionOutput

MS = 1000
A = ipaddress.ip_address("192.0.2.1")
B = ipaddress.ip_address("192.0.2.2")
C = ipaddress.ip_address("192.0.2.3")
FAST = SessionParams(100 * MS, 100 * MS, 3)


def packet(**kw: object) -> bytes:
    base: dict[str, object] = dict(state=State.DOWN, my_discriminator=99)
    base.update(kw)
    return ControlPacket(**base).encode()  # type: ignore[arg-type]


def states(outs: list[SessionOutput]) -> list[State]:
    return [o.output.new for o in outs if isinstance(o.output, StateChanged)]


def test_discriminators_are_random_non_zero_and_unique() -> None:
    table = BfdTable(random.Random(5))
    keys = [SessionKey(ipaddress.ip_address(f"10.0.{i // 250}.{i % 250 + 1}")) for i in range(500)]
    discrs = {table.add(key, FAST).local_discr for key in keys}
    assert len(discrs) == 500 and 0 not in discrs
    assert max(discrs) > 1 << 31  # spread over the whole 32-bit space


def test_duplicate_session_is_refused() -> None:
    table = BfdTable()
    table.add(SessionKey(B), FAST)
    with pytest.raises(ValueError, match="already exists"):
        table.add(SessionKey(B), FAST)


def test_zero_your_discriminator_selects_by_source_address() -> None:
    table = BfdTable(random.Random(1))
    table.add(SessionKey(B), FAST)
    table.add(SessionKey(C), FAST)
    outs = table.receive(Datagram(packet(), source=C, ttl=255), 0)
    assert {o.key for o in outs} == {SessionKey(C)}
    assert table.sessions[SessionKey(C)].state is State.INIT
    assert table.sessions[SessionKey(B)].state is State.DOWN


def test_your_discriminator_selects_the_session() -> None:
    table = BfdTable(random.Random(1))
    s = table.add(SessionKey(B), FAST)
    outs = table.receive(
        Datagram(packet(state=State.INIT, your_discriminator=s.local_discr), source=B, ttl=255), 0
    )
    assert states(outs) == [State.UP]


def test_unknown_or_misaddressed_discriminator_is_dropped() -> None:
    table = BfdTable(random.Random(1))
    s = table.add(SessionKey(B), FAST)
    table.receive(Datagram(packet(state=State.UP, your_discriminator=12345), source=B, ttl=255), 0)
    table.receive(
        Datagram(packet(state=State.UP, your_discriminator=s.local_discr), source=C, ttl=255), 0
    )
    assert table.counters.rx_discarded == {
        "unknown-discriminator": 1,
        "discriminator-address-mismatch": 1,
    }
    assert s.counters.rx_packets == 0


def test_malformed_datagrams_are_counted_by_rule() -> None:
    table = BfdTable()
    table.add(SessionKey(B), FAST)
    for data in (b"", b"\x00" * 24, packet(detect_mult=0), packet(my_discriminator=0)):
        assert table.receive(Datagram(data, source=B, ttl=255), 0) == []
    assert table.counters.rx_datagrams == 4
    assert table.counters.rx_discarded == {
        "truncated": 1,
        "bad-version": 1,
        "zero-detect-mult": 1,
        "zero-my-discriminator": 1,
    }


def test_no_session_for_the_source() -> None:
    table = BfdTable()
    table.add(SessionKey(B), FAST)
    table.receive(Datagram(packet(), source=C, ttl=255), 0)
    assert table.counters.rx_discarded == {"no-session": 1}


@pytest.mark.parametrize(
    ("ttl", "accepted"), [(255, True), (254, False), (1, False), (None, False)]
)
def test_single_hop_accepts_only_ttl_255(ttl: int | None, accepted: bool) -> None:
    table = BfdTable()
    s = table.add(SessionKey(B), FAST)
    table.receive(Datagram(packet(), source=B, ttl=ttl), 0)
    assert (s.state is State.INIT) is accepted
    assert s.counters.rx_discarded == ({} if accepted else {"ttl": 1})


@pytest.mark.parametrize(
    ("ttl", "accepted"), [(255, True), (254, True), (253, False), (None, False)]
)
def test_multi_hop_accepts_down_to_min_ttl(ttl: int | None, accepted: bool) -> None:
    table = BfdTable()
    params = SessionParams(100 * MS, 100 * MS, 3, min_ttl=254)
    s = table.add(SessionKey(B, local=A, multihop=True), params)
    table.receive(Datagram(packet(), source=B, destination=A, ttl=ttl, multihop=True), 0)
    assert (s.state is State.INIT) is accepted


def test_single_hop_packet_does_not_reach_a_multi_hop_session() -> None:
    table = BfdTable()
    s = table.add(SessionKey(B, multihop=True), FAST)
    table.receive(Datagram(packet(), source=B, ttl=255, multihop=False), 0)
    assert s.state is State.DOWN
    assert table.counters.rx_discarded == {"no-session": 1}


def test_local_address_and_interface_tell_sessions_to_one_peer_apart() -> None:
    table = BfdTable(random.Random(2))
    v6 = ipaddress.ip_address("fe80::2")
    on_eth0 = table.add(SessionKey(v6, interface="eth0"), FAST)
    on_eth1 = table.add(SessionKey(v6, interface="eth1"), FAST)
    table.receive(Datagram(packet(), source=v6, interface="eth1", ttl=255), 0)
    assert on_eth1.state is State.INIT and on_eth0.state is State.DOWN
    mh_a = table.add(SessionKey(C, local=A, multihop=True), FAST)
    mh_b = table.add(SessionKey(C, local=B, multihop=True), FAST)
    table.receive(Datagram(packet(), source=C, destination=B, ttl=255, multihop=True), 0)
    assert mh_b.state is State.INIT and mh_a.state is State.DOWN


def test_remove_says_admin_down_and_forgets() -> None:
    table = BfdTable(random.Random(1))
    s = table.add(SessionKey(B), FAST)
    table.receive(Datagram(packet(), source=B, ttl=255), 0)
    outs = table.remove(SessionKey(B), 1 * MS)
    sent = [o.output.packet for o in outs if isinstance(o.output, Transmit)]
    assert sent and sent[-1].state is State.ADMIN_DOWN and sent[-1].your_discriminator == 99
    assert SessionKey(B) not in table and len(table) == 0
    table.receive(Datagram(packet(your_discriminator=s.local_discr), source=B, ttl=255), 0)
    assert table.counters.rx_discarded == {"unknown-discriminator": 1}
    with pytest.raises(KeyError):
        table.remove(SessionKey(B), 2 * MS)


def test_remove_of_an_admin_down_session_still_sends_one_packet() -> None:
    table = BfdTable()
    table.add(SessionKey(B), FAST, admin_down=True)
    outs = table.remove(SessionKey(B), 0)
    assert [type(o.output) for o in outs] == [Transmit]


# --- two systems on a fake wire ---------------------------------------------------------------


class Wire:
    """Two tables, A and B, joined by a link with a fixed delay that can be cut per direction.
    Time advances event by event; each table ticks at its own deadlines."""

    def __init__(self, params_a: SessionParams, params_b: SessionParams, delay: int = 1 * MS):
        self.a, self.b = BfdTable(random.Random(11)), BfdTable(random.Random(12))
        self.ka, self.kb = SessionKey(B), SessionKey(A)  # A's session is toward B, and back
        self.sa = self.a.add(self.ka, params_a)
        self.sb = self.b.add(self.kb, params_b)
        self.delay = delay
        self.now = 0
        self.cut_a_to_b = False
        self.cut_b_to_a = False
        self.in_flight: list[tuple[int, str, bytes]] = []
        self.log: list[tuple[int, str, StateChanged]] = []

    def _outputs(self, side: str, outs: list[SessionOutput]) -> None:
        for o in outs:
            if isinstance(o.output, Transmit):
                cut = self.cut_a_to_b if side == "a" else self.cut_b_to_a
                if not cut:
                    to = "b" if side == "a" else "a"
                    self.in_flight.append((self.now + self.delay, to, o.output.packet.encode()))
            else:
                self.log.append((self.now, side, o.output))

    def run_until(self, end: int, stop: Callable[[], bool] | None = None) -> None:
        while self.now < end:
            times = [t for t in (self.a.next_deadline(), self.b.next_deadline()) if t is not None]
            times += [t for t, _, _ in self.in_flight]
            self.now = min(min(times, default=end), end)
            for item in [f for f in self.in_flight if f[0] <= self.now]:
                self.in_flight.remove(item)
                _, to, data = item
                table = self.a if to == "a" else self.b
                src = B if to == "a" else A
                self._outputs(to, table.receive(Datagram(data, source=src, ttl=255), self.now))
            self._outputs("a", self.a.tick(self.now))
            self._outputs("b", self.b.tick(self.now))
            if stop is not None and stop():
                return


def test_two_systems_come_up_and_settle_on_the_negotiated_rate() -> None:
    w = Wire(FAST, SessionParams(300 * MS, 200 * MS, 5))
    w.run_until(5_000 * MS)
    assert w.sa.state is State.UP and w.sb.state is State.UP
    assert not w.sa.polling and not w.sb.polling
    # A sends no faster than B can receive (200 ms); B sends at its own 300 ms
    assert w.sa.tx_interval == 200 * MS and w.sb.tx_interval == 300 * MS
    # A's detection time: B's multiplier 5 x max(A's rx 100, B's tx 300)
    assert w.sa.detection_time == 5 * 300 * MS
    assert w.sb.detection_time == 3 * 200 * MS
    ups = [(side, c.new) for _, side, c in w.log if c.new is State.UP]
    assert sorted(ups) == [("a", State.UP), ("b", State.UP)]
    # bring-up is fast: a round trip or two after the first packets, not seconds
    first_up = max(t for t, _, c in w.log if c.new is State.UP)
    assert first_up < 20 * MS


def test_a_silent_peer_is_declared_down_within_the_detection_time() -> None:
    w = Wire(FAST, FAST)
    w.run_until(3_000 * MS)
    assert w.sa.state is State.UP
    last_from_b = w.now
    w.cut_b_to_a = True
    w.run_until(10_000 * MS, stop=lambda: w.sa.state is not State.UP)
    took = w.now - last_from_b
    after = w.sa.packet()  # (re-read: the run changed the session behind mypy's back)
    assert after.state is State.DOWN and after.diag == Diag.CONTROL_DETECTION_TIME_EXPIRED
    assert took <= 300 * MS + w.delay + 1
    # B hears A say Down and goes Down too (neighbor signaled)
    w.run_until(w.now + 50 * MS)
    assert w.sb.state is State.DOWN and w.sb.local_diag is Diag.NEIGHBOR_SIGNALED_SESSION_DOWN


def test_parameter_change_through_poll_and_final_without_flapping() -> None:
    w = Wire(FAST, FAST)
    w.run_until(2_000 * MS)
    ups = w.sa.counters.up_transitions
    w._outputs("a", w.a.handle(w.ka, Reconfigure(SessionParams(300 * MS, 300 * MS, 3)), w.now))
    w.run_until(6_000 * MS)
    assert w.sa.counters.polls_completed >= 2  # going Up, then the change
    assert w.sa.state is State.UP and w.sb.state is State.UP
    assert w.sa.counters.up_transitions == ups and w.sa.counters.down_transitions == 0
    assert w.sb.counters.down_transitions == 0
    assert w.sb.tx_interval == 300 * MS and w.sa.tx_interval == 300 * MS
    assert w.sb.detection_time == 900 * MS


def test_admin_down_is_not_a_failure_for_the_peer() -> None:
    w = Wire(FAST, FAST)
    w.run_until(2_000 * MS)
    w._outputs("a", w.a.handle(w.ka, AdminDown(), w.now))
    w.run_until(w.now + 100 * MS)
    (change,) = [c for _, side, c in w.log if side == "b" and c.old is State.UP]
    assert change.new is State.DOWN and change.remote_admin and not change.path_down
