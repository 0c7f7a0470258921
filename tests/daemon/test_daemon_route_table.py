"""The layered route table, checked against a real (not started) Speaker: after any sequence of
changes, what each neighbor would be sent (``Peer.desired``) must equal the table's view."""

from __future__ import annotations

import ipaddress

from hypothesis import given, settings
from hypothesis import strategies as st

from bgpspeak import Neighbor, Route, Speaker
from bgpspeak.daemon.route_table import Announce, Key, RouteTable, Withdraw, route_key
from bgpspeak.wire import Prefix

A = ipaddress.IPv4Address("10.0.0.1")
B = ipaddress.IPv4Address("10.0.0.2")
C = ipaddress.IPv4Address("10.0.0.3")
P1, P2, P3 = (Prefix.parse(p) for p in ("198.51.100.0/24", "203.0.113.0/24", "2001:db8::/48"))


def speaker(*peers: ipaddress.IPv4Address) -> Speaker:
    s = Speaker(65000, "192.0.2.1", listen=())
    for p in peers:
        s.add_neighbor(Neighbor(str(p), remote_as=65001))
    return s


def apply(s: Speaker, ops: list[Announce | Withdraw]) -> None:
    for op in ops:
        peers = None if op.neighbors is None else list(op.neighbors)
        if isinstance(op, Announce):
            s.announce(op.routes, neighbors=peers)
        else:
            s.withdraw(op.prefixes, neighbors=peers)


def desired(s: Speaker, peer: ipaddress.IPv4Address) -> dict[Key, Route]:
    return dict(s.peer(peer).desired)


def test_higher_ranked_source_wins_and_falls_back() -> None:
    t = RouteTable()
    static = Route.make("198.51.100.0/24", med=10)
    api = Route.make("198.51.100.0/24", med=50)
    assert t.update("static", [static]) == [Announce((static,), None)]
    assert t.update("api", [api]) == [Announce((api,), None)]
    # a lower-ranked source changing its route changes nothing on the wire
    assert t.update("static", [Route.make("198.51.100.0/24", med=11)]) == []
    assert t.best()[route_key(api)] == ("api", api)
    # withdrawing the operator's override brings the configured route back
    assert t.update("api", withdraw=[P1]) == [
        Announce((Route.make("198.51.100.0/24", med=11),), None)
    ]
    assert t.update("static", withdraw=[P1]) == [Withdraw((P1,), None)]
    assert t.best() == {}


def test_same_route_twice_sends_nothing() -> None:
    t = RouteTable()
    r = Route.make("198.51.100.0/24")
    assert t.update("api", [r]) != []
    assert t.update("api", [r]) == []
    assert t.update("service:x", [r]) == []  # lower rank, same route: nothing to send


def test_scoped_route_overrides_global_for_one_neighbor() -> None:
    s = speaker(A, B)
    t = RouteTable()
    g = Route.make("198.51.100.0/24", med=1)
    mine = Route.make("198.51.100.0/24", med=99)
    apply(s, t.update("static", [g]))
    apply(s, t.update("api", [mine], scope=A))
    assert desired(s, A)[route_key(g)] == mine and desired(s, B)[route_key(g)] == g
    # a global change keeps A's own route
    g2 = Route.make("198.51.100.0/24", med=2)
    ops = t.update("static", [g2])
    assert ops == [Announce((g2,), None), Announce((mine,), (A,))]
    apply(s, ops)
    assert desired(s, A)[route_key(g)] == mine and desired(s, B)[route_key(g)] == g2
    # withdrawing A's own route gives A the global one again
    apply(s, t.update("api", withdraw=[P1], scope=A))
    assert desired(s, A)[route_key(g)] == g2


def test_new_neighbor_gets_global_and_its_own_routes() -> None:
    s = speaker(A)
    t = RouteTable()
    apply(s, t.update("static", [Route.make("198.51.100.0/24")]))
    t.update("api", [Route.make("203.0.113.0/24")], scope=C)  # C is not a neighbor yet
    s.add_neighbor(Neighbor(str(C), remote_as=65001))
    apply(s, t.scoped_ops(C))
    assert desired(s, C) == t.view(C)
    assert set(desired(s, C)) == {
        route_key(Route.make(p)) for p in ("198.51.100.0/24", "203.0.113.0/24")
    }


def test_drop_and_replace_a_source() -> None:
    t = RouteTable()
    routes = [Route.make(p) for p in ("198.51.100.0/24", "203.0.113.0/24")]
    t.update("service:web", routes)
    assert t.replace("service:web", routes[:1]) == [Withdraw((P2,), None)]
    assert t.drop_source("service:web") == [Withdraw((P1,), None)]
    assert t.source_routes("service:web") == {}


def test_bulk_changes_become_few_operations() -> None:
    t = RouteTable()
    routes = [Route.make(f"10.{i >> 8}.{i & 255}.0/24") for i in range(1000)]
    ops = t.update("api", routes)
    assert ops == [Announce(tuple(routes), None)]


_routes = st.builds(
    lambda p, med: Route.make(p, med=med),
    st.sampled_from(["198.51.100.0/24", "203.0.113.0/24", "2001:db8::/48"]),
    st.sampled_from([None, 1, 2]),
)
_step = st.tuples(
    st.sampled_from(["announce", "withdraw", "replace", "drop"]),
    st.sampled_from(["api", "process:p", "service:s", "static"]),
    st.sampled_from([None, A, B]),
    st.lists(_routes, max_size=3),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_step, max_size=25))
def test_speaker_always_matches_the_table(
    steps: list[tuple[str, str, object, list[Route]]],
) -> None:
    s = speaker(A, B)
    t = RouteTable()
    for action, source, scope, routes in steps:
        sc = scope if isinstance(scope, ipaddress.IPv4Address) else None
        if action == "announce":
            ops = t.update(source, routes, scope=sc)
        elif action == "withdraw":
            ops = t.update(source, withdraw=[r.prefix for r in routes], scope=sc)
        elif action == "replace":
            ops = t.replace(source, routes, scope=sc)
        else:
            ops = t.drop_source(source)
        apply(s, ops)
        for peer in (A, B):
            assert desired(s, peer) == t.view(peer)
    # a neighbor added now gets the same view through the speaker's global set + scoped_ops
    s.add_neighbor(Neighbor(str(C), remote_as=65001))
    apply(s, t.scoped_ops(C))
    assert desired(s, C) == t.view(C)
