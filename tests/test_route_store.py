"""KeyTable, the compact ``prefix key -> template id`` table of a RouteStore: it must behave as
the ``dict[int, int]`` it replaces, whatever the order keys come in."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from bgpspeak.route_store import KeyTable, RouteStore, Templates, prefix_key
from bgpspeak.routes import Route
from bgpspeak.wire import Prefix
from bgpspeak.wire.family import IPV4_MULTICAST, IPV4_UNICAST, IPV6_UNICAST

BIG = 1 << 64  # keys from here on do not fit the arrays (IPv6, ADD-PATH)
DEAD = 0xFFFFFFFF

keys = st.one_of(st.integers(0, 40), st.integers(BIG - 3, BIG + 3))
tids = st.one_of(st.integers(0, 5), st.just(DEAD), st.just(DEAD + 7))
ops = st.lists(
    st.one_of(
        st.tuples(st.just("put"), keys, tids),
        st.tuples(st.just("pop"), keys, st.just(0)),
        st.tuples(st.just("copy"), st.just(0), st.just(0)),
    ),
    max_size=120,
)


def check(t: KeyTable, model: dict[int, int]) -> None:
    assert len(t) == len(model) and bool(t) == bool(model)
    assert sorted(t) == sorted(model) and len(list(t)) == len(model)
    assert dict(t.items()) == model and sorted(t.values()) == sorted(model.values())
    assert sorted(t.snapshot()) == sorted(model)
    for k in range(-1, 42):
        assert t.get(k) == model.get(k) and (k in t) == (k in model)
    for k in model:
        assert t[k] == model[k]


@settings(max_examples=400, deadline=None)
@given(ops)
def test_behaves_as_a_dict(steps: list[tuple[str, int, int]]) -> None:
    t, model = KeyTable(), {}
    copies: list[tuple[KeyTable, dict[int, int]]] = []
    for op, k, tid in steps:
        if op == "put":
            assert t.put(k, tid) == (model.get(k) != tid)
            model[k] = tid
        elif op == "pop":
            assert t.pop(k) == model.pop(k, None)
        else:
            copies.append((t.copy(), dict(model)))
        check(t, model)
    for c, m in copies:  # later changes did not leak into the copies
        check(c, m)


def test_keys_in_order_go_to_the_arrays_others_beside() -> None:
    t = KeyTable()
    for k in range(0, 3000, 3):
        t[k] = k % 7
    assert t.bulk_size() == (1000, 0)
    t[1] = 5  # out of order: beside the arrays
    t[BIG + 1] = 2  # too wide for them
    t[3] = 6  # replaced in place
    assert t.bulk_size() == (1000, 2) and t[3] == 6
    # iteration: the arrays in key order, then the others as they came
    assert list(t)[:3] == [0, 3, 6] and list(t)[-2:] == [1, BIG + 1]
    snap = t.snapshot()
    for k in range(0, 1800, 3):  # 600 of 1000 removed: the tombstones are dropped
        assert t.pop(k) is not None
    assert t.bulk_size() == (400, 2) and len(t) == 402
    assert len(list(snap)) == 1002  # the snapshot was taken before
    assert t.get(0) is None and t.get(1800) == 1800 % 7


def test_shuffled_and_sorted_loads_agree() -> None:
    rng = random.Random(5)
    items = [(rng.getrandbits(40), rng.randrange(100)) for _ in range(5000)]
    a, b = KeyTable(), KeyTable()
    for k, v in sorted(items):
        a[k] = v
    for k, v in items:
        b[k] = v
    assert dict(a.items()) == dict(b.items()) == dict(items)


def test_route_store_over_key_tables() -> None:
    templates = Templates()
    store = RouteStore(templates)
    routes = [Route(Prefix.parse(f"10.{i}.0.0/16"), med=i % 3) for i in range(50)]
    routes.append(Route(Prefix.parse("2001:db8::/32"), med=1))
    routes.append(Route(Prefix.parse("10.0.0.0/8", 4), med=2))
    for r in routes:
        fam = IPV4_UNICAST if r.prefix.afi == 1 else IPV6_UNICAST
        assert store.put(fam, prefix_key(r.prefix), templates.intern(r))
    assert len(store) == 52 and len(templates) == 5  # 3 meds; IPv6; a path id
    assert store.single_path(IPV4_UNICAST, prefix_key(Prefix.parse("10.0.0.0/8"))) is not None
    other = store.copy()
    assert store.remove(IPV4_UNICAST, prefix_key(routes[0].prefix))
    assert len(store) == 51 and len(other) == 52
    assert sorted(store.snapshot(IPV6_UNICAST)) == [prefix_key(routes[50].prefix)]
    assert list(store.snapshot(IPV4_MULTICAST)) == []
    assert store.template_ids() == {0, 1, 2, 3, 4}
    templates.collect({0, 1})  # the first collection spares what was made since the last one
    assert len(templates) == 5
    t5 = templates.intern(Route(Prefix.parse("10.8.0.0/16"), med=7))
    templates.collect({0, 1})  # now 2, 3 and 4 go; 5 is young
    assert (
        len(templates) == 3 and templates.template(1).med == 1 and templates.template(t5).med == 7
    )
    assert templates.intern(Route(Prefix.parse("10.9.0.0/16"), med=2)) == 6  # ids not reused
