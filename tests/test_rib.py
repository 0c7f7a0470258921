"""Packing routes into UPDATEs: every route arrives, nothing exceeds the maximum size, and
MP_REACH_NLRI leads the attribute list (RFC 7606 section 5.1)."""

from __future__ import annotations

import ipaddress

import pytest

from bgpspeak.rib import AdjRibIn, AdjRibOut, _encoder, pack_updates
from bgpspeak.route_store import DesiredView, RouteStore, Templates, key_prefix, prefix_key
from bgpspeak.routes import ExportContext, Route, export_attributes
from bgpspeak.wire import (
    IPV4_UNICAST,
    IPV6_UNICAST,
    Context,
    Family,
    MpReachNlri,
    MpUnreachNlri,
    Prefix,
    StreamDecoder,
    Update,
    encode_prefixes,
)
from bgpspeak.wire.attributes import MultiExitDisc

ECTX = ExportContext(
    local_as=65001,
    ibgp=False,
    local_v4=ipaddress.IPv4Address("192.0.2.1"),
    local_v6=ipaddress.IPv6Address("2001:db8::1"),
    local_v6_link_local=ipaddress.IPv6Address("fe80::1"),
)


def v4(n: int) -> list[Prefix]:
    return [Prefix(1, (10 << 24) | (i << 8), 24) for i in range(n)]


def v6(n: int) -> list[Prefix]:
    base = int(ipaddress.IPv6Address("2001:db8::"))
    return [Prefix(2, base | (i << 80), 48) for i in range(n)]


def decode_all(chunks: list[tuple[bytes, int]], ctx: Context) -> list[Update]:
    dec = StreamDecoder(ctx)
    for data, _ in chunks:
        dec.feed(data)
    out = [m for m in dec if isinstance(m, Update)]
    assert len(out) == sum(n for _, n in chunks)
    return out


@pytest.mark.parametrize("extended", [False, True])
@pytest.mark.parametrize("family", [IPV4_UNICAST, IPV6_UNICAST])
def test_packing_fills_messages_and_loses_nothing(family: Family, extended: bool) -> None:
    ctx = Context(extended_message=extended)
    prefixes = v4(5000) if family == IPV4_UNICAST else v6(5000)
    groups = [
        export_attributes(Route(p, communities=(i % 3,)), ECTX) for i, p in enumerate(prefixes)
    ]
    chunks = pack_updates(family, list(zip(prefixes, groups, strict=True)), prefixes[:700], ctx)
    raw = [m for data, _ in chunks for m in _split(data)]
    assert max(len(m) for m in raw) <= ctx.max_message_length
    updates = decode_all(chunks, ctx)
    announced = [p for u in updates for f, p in u.announced() if f == family]
    withdrawn = [p for u in updates for f, p in u.withdrawals() if f == family]
    assert sorted(announced) == sorted(prefixes)
    assert sorted(withdrawn) == sorted(prefixes[:700])
    # withdrawals first, and few messages: three attribute sets, full packets
    first = updates[0]
    assert not any(True for _ in first.announced())
    # as few messages as the size allows: 3 attribute sets of ~1667 prefixes, 700 withdrawals
    size = 4 if family == IPV4_UNICAST else 7
    room = ctx.max_message_length - 19 - 4 - 90  # header, lengths, attributes incl. MP_REACH
    fewest = 3 * -(-1667 // (room // size)) + -(-700 * size // room)
    assert len(updates) <= fewest + 1
    for u in updates:
        if u.mp_reach is not None:
            assert isinstance(u.attributes[0], MpReachNlri)
            assert [str(a) for a in u.mp_reach.next_hops] == ["2001:db8::1", "fe80::1"]
        if u.mp_unreach is not None:
            assert isinstance(u.attributes[0], MpUnreachNlri)


def _split(data: bytes) -> list[bytes]:
    out = []
    i = 0
    while i < len(data):
        n = int.from_bytes(data[i + 16 : i + 18], "big")
        out.append(data[i : i + n])
        i += n
    return out


def test_route_store_reports_only_changes_and_shares_templates() -> None:
    templates = Templates()
    store = RouteStore(templates)
    a, b = Prefix.parse("10.0.0.0/24"), Prefix.parse("10.0.1.0/24")
    ta = templates.intern(Route(a, communities=(1,)))
    tb = templates.intern(Route(b, communities=(1,)))
    assert ta == tb  # one template for both routes
    assert store.put(IPV4_UNICAST, prefix_key(a), ta)
    assert not store.put(IPV4_UNICAST, prefix_key(a), ta)
    assert store.put(IPV4_UNICAST, prefix_key(b), tb)
    assert DesiredView(store)[(IPV4_UNICAST, b)] == Route(b, communities=(1,))
    assert store.remove(IPV4_UNICAST, prefix_key(a))
    assert not store.remove(IPV4_UNICAST, prefix_key(a))
    assert len(store) == 1


@pytest.mark.parametrize(
    "text", ["0.0.0.0/0", "10.1.2.3/32", "198.51.100.0/24", "::/0", "2001:db8::1/128"]
)
@pytest.mark.parametrize("path_id", [None, 0, 7, 0xFFFFFFFF])
def test_prefix_keys_round_trip(text: str, path_id: int | None) -> None:
    p = Prefix.parse(text, path_id)
    assert key_prefix(p.afi, prefix_key(p)) == p
    assert encode_prefixes([p], path_id is not None) == _encoder(p.afi, path_id is not None)(
        prefix_key(p)
    )


def test_adj_rib_in_stale_marking() -> None:
    rib = AdjRibIn()
    a, b = Prefix.parse("10.0.0.0/24"), Prefix.parse("10.0.1.0/24")
    rib.add(IPV4_UNICAST, a, ())
    rib.add(IPV4_UNICAST, b, ())
    assert rib.mark_stale([IPV4_UNICAST]) == 2
    rib.add(IPV4_UNICAST, a, ())  # refreshed by the restarted peer
    assert rib.sweep_stale(IPV4_UNICAST) == [b]
    assert list(rib.routes[IPV4_UNICAST]) == [a]


def _replay(chunks: list[object], ctx: Context) -> tuple[dict[Prefix, int | None], list[str]]:
    """Apply produced UPDATEs in order: prefix -> MED (None: no MED), and the markers seen."""
    dec = StreamDecoder(ctx)
    for item in chunks:
        dec.feed(item[0] if isinstance(item, tuple) else item.encode(ctx))  # type: ignore[attr-defined,index]
    table: dict[Prefix, int | None] = {}
    markers = []
    for m in dec:
        if not isinstance(m, Update):
            markers.append(type(m).__name__)
            continue
        if m.end_of_rib() is not None:
            markers.append("EoR")
            continue
        for _, p in m.withdrawals():
            assert isinstance(p, Prefix)
            table.pop(p, None)
        med = next((a.value for a in m.attributes if isinstance(a, MultiExitDisc)), None)
        for _, p in m.announced():
            assert isinstance(p, Prefix)
            table[p] = med
    return table, markers


def test_changes_during_a_transfer_end_in_the_latest_state() -> None:
    """Routes changed or withdrawn while the initial transfer runs: the UPDATEs, applied in
    order, leave the receiver with exactly the store's final state, End-of-RIB once."""
    templates = Templates()
    store = RouteStore(templates)
    prefixes = v4(6000)
    for i, p in enumerate(prefixes[:5000]):
        store.put(IPV4_UNICAST, prefix_key(p), templates.intern(Route(p, med=i % 4)))
    out = AdjRibOut(lambda: store, Context(), [IPV4_UNICAST], [], ECTX, print)
    out.start_initial()
    chunks: list[object] = []
    clock = iter(range(10**9)).__next__  # every call is "later": one step per produce
    step = 0
    while True:
        got = out.produce(4096, 0, lambda: float(clock()))
        chunks += got
        step += 1
        if step in (3, 7, 11):  # mid-transfer: re-MED some, withdraw some, add some
            changed = []
            for p in prefixes[step * 100 : step * 100 + 400]:
                store.put(IPV4_UNICAST, prefix_key(p), templates.intern(Route(p, med=99)))
                changed.append(prefix_key(p))
            for p in prefixes[step * 300 : step * 300 + 50]:
                store.remove(IPV4_UNICAST, prefix_key(p))
                changed.append(prefix_key(p))
            out.changed_many(IPV4_UNICAST, changed)
        if not got and not out.pending:
            break
        assert step < 10_000
    table, markers = _replay(chunks, Context())
    want = {
        key_prefix(1, k): templates.template(t).med for k, t in store.table(IPV4_UNICAST).items()
    }
    assert table == want
    assert markers == ["EoR"]
    assert len(out) == len(store)
    # route refresh: the whole family again, framed by BoRR/EoRR (enhanced)
    out.start_refresh(IPV4_UNICAST, enhanced=True)
    chunks = []
    while got := out.produce(1 << 20, 1e18, lambda: 0.0):
        chunks += got
    table, markers = _replay(chunks, Context())
    assert table == want
    assert markers == ["RouteRefresh", "RouteRefresh"]
