"""The Adj-RIB-Out's grouped passes and the direct encoding of exported attributes."""

from __future__ import annotations

import functools
import ipaddress
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bgpspeak.rib import AdjRibOut, UpdatePacker, export_fields, fast_export
from bgpspeak.route_store import RouteStore, Templates, prefix_key
from bgpspeak.routes import ExportContext, Route, export_attributes
from bgpspeak.wire import (
    IPV4_UNICAST,
    IPV6_UNICAST,
    Context,
    Prefix,
    StreamDecoder,
    Update,
)

V4 = ipaddress.IPv4Address("192.0.2.1")
V6 = ipaddress.IPv6Address("2001:db8::1")


def ectx(ibgp: bool = False, asn4: bool = True) -> ExportContext:
    return ExportContext(65001, ibgp, V4, V6, ipaddress.IPv6Address("fe80::1"), asn4)


asns = st.integers(1, 0xFFFFFFFF)
small_asns = st.integers(1, 0xFFFF)


@st.composite
def routes(draw: st.DrawFn) -> Route:
    v6 = draw(st.booleans())
    prefix = Prefix.parse("2001:db8:1::/48" if v6 else "10.1.0.0/16")
    hops: list[str | ipaddress.IPv4Address | ipaddress.IPv6Address] = [
        "self",
        ipaddress.IPv4Address("192.0.2.9"),
        V6,
    ]
    nh = draw(st.sampled_from(hops))
    if v6 and isinstance(nh, ipaddress.IPv4Address):
        nh = "self"
    return Route(
        prefix,
        nh,
        as_path=tuple(draw(st.lists(st.one_of(asns, small_asns), max_size=300))),
        origin=draw(st.sampled_from(["igp", "egp", "incomplete"])),
        med=draw(st.none() | st.integers(0, 0xFFFFFFFF)),
        local_pref=draw(st.none() | st.integers(0, 0xFFFFFFFF)),
        communities=tuple(draw(st.lists(st.integers(0, 0xFFFFFFFF), max_size=80))),
        large_communities=tuple(
            draw(st.lists(st.tuples(asns, asns, asns), max_size=30))  # > 255 octets at 22+
        ),
        extended_communities=tuple(draw(st.lists(st.integers(0, 2**64 - 1), max_size=40))),
    )


@settings(max_examples=300, deadline=None)
@given(routes(), st.booleans(), st.booleans())
def test_direct_encoding_is_the_attribute_objects_encoding(
    route: Route, ibgp: bool, asn4: bool
) -> None:
    ctx = ectx(ibgp, asn4)
    got = fast_export(route, ctx, {})
    attrs, next_hops = export_attributes(route, ctx)
    if got is None:
        # only what it leaves to the general path: 2-octet peers with 4-octet ASes in the path
        assert not asn4 and any(a > 0xFFFF for a in (65001, *route.as_path))
        return
    wire = Context(asn4=asn4, ibgp=ibgp)
    assert got == (
        b"".join(a.encode(wire) for a in attrs),
        b"".join(a.packed for a in next_hops),
    )


def test_extra_attributes_take_the_general_path() -> None:
    from bgpspeak.wire.attributes import AtomicAggregate

    r = Route(Prefix.parse("10.0.0.0/8"), extra=(AtomicAggregate(),))
    assert fast_export(r, ectx()) is None


def _table(n: int, sets: int, seed: int = 3) -> tuple[RouteStore, dict[int, int]]:
    """n /32s in prefix order, attribute sets (by MED) spread at random, as in a real table."""
    rng = random.Random(seed)
    templates = Templates()
    store = RouteStore(templates)
    want = {}
    for i in range(n):
        p = Prefix(1, (10 << 24) + i, 32)
        med = rng.randrange(sets)
        store.put(IPV4_UNICAST, prefix_key(p), templates.intern(Route(p, med=med)))
        want[prefix_key(p)] = med
    return store, want


def _decode(chunks: list[object], ctx: Context) -> list[Update]:
    dec = StreamDecoder(ctx)
    for c in chunks:
        dec.feed(c[0] if isinstance(c, tuple) else c.encode(ctx))  # type: ignore[attr-defined]
    return [m for m in dec if isinstance(m, Update)]


def test_initial_transfer_streams_full_messages_from_the_start() -> None:
    """Attribute sets spread over the table: the first UPDATEs leave after the keys are sorted,
    long before the table is packed, and every set goes in the fewest messages."""
    store, want = _table(40_000, 400)
    out = AdjRibOut(lambda: store, Context(), [IPV4_UNICAST], [], ectx(), print)
    out.start_initial()
    chunks: list[object] = []
    first_at = None
    calls = 0
    while True:
        got = out.produce(8192, 1e18, lambda: 0.0)
        calls += 1
        if not got and not out.pending:
            break
        if first_at is None and any(isinstance(c, tuple) and c[1] for c in got):
            first_at = sum(len(c[0]) for c in chunks + got if isinstance(c, tuple))
        chunks += got
    total = sum(len(c[0]) for c in chunks if isinstance(c, tuple))
    assert first_at is not None and first_at < total // 10
    updates = _decode(chunks, Context())
    seen: dict[int, int] = {}
    per_set: dict[int, int] = {}
    for u in updates:
        if u.end_of_rib() is not None:
            continue
        med = u.get(4).value  # type: ignore[union-attr]
        per_set[med] = per_set.get(med, 0) + 1
        for p in u.nlri:
            assert prefix_key(p) not in seen
            seen[prefix_key(p)] = med
    assert seen == want
    # 100 prefixes of 5 octets per set: one message each (4096 octets hold about 800)
    assert set(per_set.values()) == {1}
    assert updates[-1].end_of_rib() == IPV4_UNICAST


@pytest.mark.parametrize("add_path", [False, True])
def test_a_long_run_is_split_at_prefix_boundaries(add_path: bool) -> None:
    fam = IPV6_UNICAST
    ctx = Context(add_path=frozenset({fam}) if add_path else frozenset())
    packer = UpdatePacker(fam, ctx)
    attrs, hops = export_attributes(Route(Prefix.parse("2001:db8::/32"), med=1), ectx())
    g = packer.run_group(b"".join(a.encode(ctx) for a in attrs), b"".join(a.packed for a in hops))
    prefixes = [
        Prefix(2, (0x20010DB8 << 96) | (i << 64), 64, i if add_path else None) for i in range(900)
    ]
    packer.announce_run(g, b"".join(packer.encode(prefix_key(p)) for p in prefixes))
    data, count = packer.take()
    updates = _decode([(data, count)], ctx)
    assert len(updates) == count > 1
    got = [p for u in updates for _, p in u.announced()]
    assert got == prefixes
    assert all(len(u.encode(ctx)) <= 4096 for u in updates)


def test_a_template_exports_from_its_fields_as_from_its_route() -> None:
    templates = Templates()
    routes = [
        Route(Prefix.parse("10.0.0.0/8"), as_path=(7, 8), med=3, communities=(1, 1, 2)),
        Route(Prefix.parse("2001:db8::/32"), link_local=ipaddress.IPv6Address("fe80::9")),
        Route(Prefix.parse("10.0.0.0/8"), ipaddress.IPv4Address("192.0.2.77"), local_pref=5),
    ]
    for ibgp in (False, True):
        for r in routes:
            tid = templates.intern(r)
            got = export_fields(
                templates.fields(tid), ectx(ibgp), {}, functools.partial(templates.template, tid)
            )
            assert got == fast_export(templates.template(tid), ectx(ibgp))
            assert got is not None
