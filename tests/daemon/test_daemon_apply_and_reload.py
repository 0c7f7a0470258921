"""ExaBGP commands applied to the route table (selectors, watchdogs, requests), and the reload
plan (what a SIGHUP touches)."""

from __future__ import annotations

import ipaddress
from dataclasses import replace

import pytest

from bgpspeak import Neighbor, Route
from bgpspeak.daemon.config_model import (
    CommandCheck,
    ControlConfig,
    DaemonConfig,
    ProcessConfig,
    ServiceConfig,
)
from bgpspeak.daemon.exabgp_apply import ExaSource, Request
from bgpspeak.daemon.exabgp_text import ExaParseError, parse_line
from bgpspeak.daemon.reload_plan import ReloadPlan, plan_reload
from bgpspeak.daemon.route_table import Announce, RouteTable, Withdraw
from bgpspeak.wire import Prefix
from bgpspeak.wire.family import IPV6_UNICAST

A = ipaddress.ip_address("10.0.0.1")
B = ipaddress.ip_address("10.0.0.2")


def source() -> tuple[ExaSource, RouteTable]:
    t = RouteTable()
    return ExaSource("process:p", t, lambda: [A, B]), t


def run(src: ExaSource, line: str) -> tuple[list[Announce | Withdraw], list[Request]]:
    return src.apply(parse_line(line))


def test_announce_and_withdraw_with_selectors() -> None:
    src, t = source()
    ops, reqs = run(src, "announce route 10.0.0.0/24 next-hop self med 5")
    assert reqs == [] and ops == [Announce((Route.make("10.0.0.0/24", med=5),), None)]
    ops, _ = run(src, "neighbor 10.0.0.2 announce route 10.0.0.0/24 next-hop self med 9")
    assert ops == [Announce((Route.make("10.0.0.0/24", med=9),), (B,))]
    assert t.view(A)[(Route.make("10.0.0.0/24").family, Prefix.parse("10.0.0.0/24"))].med == 5
    ops, _ = run(src, "neighbor 10.0.0.2 withdraw route 10.0.0.0/24")
    assert ops == [Announce((Route.make("10.0.0.0/24", med=5),), (B,))]  # back to the global one
    ops, _ = run(src, "withdraw route 10.0.0.0/24 next-hop 1.2.3.4")
    assert ops == [Withdraw((Prefix.parse("10.0.0.0/24"),), None)]
    assert run(src, "withdraw route 10.0.0.0/24") == ([], [])  # already gone: nothing to send
    with pytest.raises(ExaParseError, match=r"no neighbor 10\.0\.0\.9 is configured"):
        run(src, "neighbor 10.0.0.9 announce route 10.0.0.0/24")


def test_watchdogs_switch_their_routes() -> None:
    src, t = source()
    run(src, "announce route 10.1.0.0/24 next-hop self watchdog dns withdraw")
    run(src, "announce route 10.2.0.0/24 next-hop self watchdog dns")
    run(src, "announce route 10.3.0.0/24 next-hop self")
    assert {str(k[1]) for k in t.view(A)} == {"10.3.0.0/24"}  # dns starts withdrawn
    ops, _ = run(src, "announce watchdog dns")
    assert {str(r.prefix) for op in ops if isinstance(op, Announce) for r in op.routes} == {
        "10.1.0.0/24",
        "10.2.0.0/24",
    }
    ops, _ = run(src, "withdraw watchdog dns")
    assert {str(p) for op in ops if isinstance(op, Withdraw) for p in op.prefixes} == {
        "10.1.0.0/24",
        "10.2.0.0/24",
    }
    assert {str(k[1]) for k in t.view(A)} == {"10.3.0.0/24"}
    with pytest.raises(ExaParseError, match="needs a 'watchdog NAME'"):
        run(src, "announce route 10.4.0.0/24 next-hop self withdraw")
    # the process went away: everything it announced goes with it
    assert src.clear() == [Withdraw((Prefix.parse("10.3.0.0/24"),), None)]
    assert t.view(A) == {}


def test_requests_for_the_daemon() -> None:
    src, _ = source()
    assert run(src, "announce route-refresh ipv6 unicast") == (
        [],
        [Request("refresh", None, IPV6_UNICAST)],
    )
    assert run(src, "neighbor 10.0.0.1 teardown 3") == ([], [Request("teardown", (A,), code=3)])
    assert run(src, "version") == ([], [Request("version")])
    assert run(src, "announce eor ipv4 unicast") == ([], [])


# --- reload plans --------------------------------------------------------------------------------


def base() -> DaemonConfig:
    svc = ServiceConfig("dns", (Route.make("192.0.2.53/32"),), CommandCheck(("true",)))
    return DaemonConfig(
        local_as=65000,
        router_id="192.0.2.1",
        peers=(Neighbor("10.0.0.1", remote_as=65001), Neighbor("10.0.0.2", remote_as=65002)),
        routes=(Route.make("198.51.100.0/24"),),
        services=(svc,),
        processes=(ProcessConfig("p", ("true",)),),
    )


def test_an_identical_file_changes_nothing() -> None:
    plan = plan_reload(base(), base())
    assert plan.empty and plan.summary() == []


def test_adding_a_peer_touches_nothing_else() -> None:
    old = base()
    new = replace(old, peers=(*old.peers, Neighbor("10.0.0.3", remote_as=65003)))
    plan = plan_reload(old, new)
    assert plan == ReloadPlan(add_peers=(new.peers[2],))
    assert plan.summary() == ["add peer 10.0.0.3"]


def test_changed_removed_peers_routes_services_processes() -> None:
    old = base()
    changed = Neighbor("10.0.0.1", remote_as=65001, hold_time=9)
    svc = replace(old.services[0], rise=5)
    new = replace(
        old,
        peers=(changed,),
        routes=(Route.make("198.51.100.0/24", med=1),),
        services=(svc, ServiceConfig("web", (), CommandCheck(("true",)))),
        processes=(),
    )
    plan = plan_reload(old, new)
    assert plan.change_peers == ((old.peers[0], changed),)
    assert plan.remove_peers == (old.peers[1],) and plan.add_peers == ()
    assert plan.routes == new.routes
    assert plan.stop_services == ("dns",) and [s.name for s in plan.start_services] == [
        "dns",
        "web",
    ]
    assert plan.stop_processes == ("p",) and plan.start_processes == ()
    assert plan.summary() == [
        "remove peer 10.0.0.2",
        "reset peer 10.0.0.1 (settings changed)",
        "static routes: 1",
        "restart service dns",
        "start service web",
        "stop process p",
    ]


def test_process_wide_settings_need_a_restart() -> None:
    old = base()
    new = replace(old, router_id="192.0.2.2", listen=(), control=ControlConfig("/tmp/x"))
    plan = plan_reload(old, new)
    assert plan.needs_restart == ("router_id", "listen", "control")
    assert plan.summary()[-1] == "control changed: restart bgpspeak to apply it"
