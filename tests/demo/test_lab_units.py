"""The lab's pure parts: topology, generated configs, expected state, the status screen."""

from __future__ import annotations

import ipaddress
import shutil
import tempfile
import tomllib
from pathlib import Path

import pytest

from bgpspeak.daemon.config_load import parse_config as parse_speaker_config
from routeragent.config_load import parse_config as parse_agent_config
from routeragent.lab import configs, topology
from routeragent.lab.render import render
from routeragent.lab.topology import CORES, HOST_PREFIXES, HOSTS, ROUTERS, VIP4, VIP6
from routeragent.lab.view import CoreView, HostView, LabView, RouterView, problems

RUN = Path("/run/routeragent-lab")
ALL = ("router1", "router2", "router3")


# --------------------------------------------------------------------------- topology


def test_addresses_are_unique_and_inside_the_documentation_ranges() -> None:
    addrs = [VIP4, VIP6]
    for u in topology.UPLINKS:
        addrs += [u.core4, u.core6, u.router4, u.router6]
    for r in ROUTERS:
        addrs += [topology.router_lan4(r), topology.router_lan6(r)]
    for h in HOSTS:
        addrs += [topology.host_lan4(h), topology.host_lan6(h)]
        addrs += [topology.ovn_router4(h), topology.ovn_router6(h)]
    assert len(set(addrs)) == len(addrs)
    allowed = [ipaddress.ip_network(n) for n in ("10.0.0.0/8", "2001:db8::/32")]
    for a in addrs:
        ip = ipaddress.ip_address(a)
        assert any(ip in n for n in allowed if n.version == ip.version), a


def test_host_prefixes_do_not_overlap_and_map_back_to_their_origin() -> None:
    nets = [ipaddress.ip_network(p) for p in HOST_PREFIXES]
    for i, a in enumerate(nets):
        for b in nets[i + 1 :]:
            assert a.version != b.version or not a.overlaps(b), (a, b)
    assert [topology.origin_of(p) for p in HOST_PREFIXES] == [
        "host1", "host1", "host2", "host2", "host3", "host3", "anycast", "anycast",
    ]  # fmt: skip
    assert topology.host_of_next_hop(topology.ovn_router6("host2")) == "host2"
    assert topology.router_of_address("10.2.3.2") == "router3"
    assert topology.host_of_address("10.50.0.21") == "host1"


def test_namespace_names_carry_the_prefix() -> None:
    names = topology.Names("t123-")
    assert names.ns("router1") == "t123-router1"
    assert len(names.namespaces) == len(set(names.namespaces)) == 10
    assert all(n.startswith("t123-") for n in names.namespaces)


def test_index_rejects_unnumbered_names() -> None:
    assert topology.index("router3") == 3
    with pytest.raises(ValueError, match="numbered"):
        topology.index("lan")


# --------------------------------------------------------------------------- configs


@pytest.mark.parametrize("router", ROUTERS)
def test_agent_config_is_valid_for_routeragent(router: str) -> None:
    text = configs.agent_toml(router, RUN / router, configs.Timers())
    config = parse_agent_config(tomllib.loads(text), f"{router}.toml")
    assert config.agent.router == router
    assert [str(p) for p in config.prefixes] == list(HOST_PREFIXES)
    assert {str(u.neighbor) for u in config.upstreams} == {
        a for u in topology.uplinks_of(router) for a in (u.core4, u.core6)
    }
    assert config.policy.egress_role == topology.ROLES[router]
    assert config.vrrp[0].interface == "lan0"


@pytest.mark.parametrize("host", HOSTS)
def test_speaker_config_is_valid_for_bgpspeak(host: str) -> None:
    text = configs.speaker_toml(host, RUN / host, configs.Timers(check_interval=0.5))
    config = parse_speaker_config(text, f"{host}.toml")
    assert config.local_as == topology.HOSTS_AS
    assert sorted(str(p.address) for p in config.peers) == sorted(
        topology.router_lan4(r) for r in ROUTERS
    )
    data = tomllib.loads(text)
    # the subnets go out with the OVN router's uplink address as next hop
    assert {r["prefix"]: r["next_hop"] for r in data["routes"]} == {
        topology.host_subnets(host)[0]: topology.ovn_router4(host),
        topology.host_subnets(host)[1]: topology.ovn_router6(host),
    }
    (svc,) = data["services"]
    assert svc["prefixes"] == [topology.ANYCAST4, topology.ANYCAST6]
    assert svc["damping"] is False  # the demo may stop and restore it many times


def test_config_generators_refuse_unknown_nodes() -> None:
    with pytest.raises(ValueError, match="router9"):
        configs.agent_toml("router9", RUN, configs.Timers())
    with pytest.raises(ValueError, match="core1"):
        configs.speaker_toml("core1", RUN, configs.Timers())


def test_frr_configs_name_every_peer() -> None:
    core = configs.core_bgpd("core1", RUN / "core1/frr")
    for u in topology.uplinks_of("core1"):
        assert f"neighbor {u.router4} remote-as {topology.OUR_AS}" in core
        assert f"neighbor {u.router6} remote-as {topology.OUR_AS}" in core
    assert "maximum-paths 8" in core
    router = configs.router_bgpd("router2", RUN / "router2/frr")
    for h in HOSTS:
        assert f"neighbor {topology.host_lan4(h)} peer-group HOSTS" in router
    # your own speaker in the guest namespace: any AS, routes kept inside, everything sent
    assert "bgp listen range 10.50.0.0/24 peer-group GUESTS" in router
    assert "neighbor GUESTS remote-as external" in router
    # ebgp-requires-policy stays on: the agent attaches the upstream maps
    assert "no bgp ebgp-requires-policy" not in router
    assert "route-map" not in "".join(
        line for line in router.splitlines() if topology.uplinks_of("router2")[0].core4 in line
    )


# --------------------------------------------------------------------------- view and screen


def router(
    name: str,
    *,
    up: bool = True,
    holds: bool = False,
    phase: str = "none",
    intent: str = "normal",
    anycast: tuple[str, ...] = HOSTS,
) -> RouterView:
    healthy = {"router1": 200, "router2": 150, "router3": 100}[name]
    return RouterView(
        name=name,
        frr=up,
        keepalived=up,
        agent=up,
        holds=frozenset({VIP4, VIP6}) if holds else frozenset(),
        priority=(1 if phase != "none" else healthy) if up else None,
        healthy_priority=healthy if up else None,
        drain_phase=phase if up else None,
        intent=intent if up else None,
        agent_updated=1000.0 if up else None,
        core_sessions=4 if up else None,
        host_sessions=3 if up else None,
        anycast_hosts=frozenset(anycast) if up else frozenset(),
    )


def view(
    routers: tuple[RouterView, ...],
    paths: tuple[str, ...] = ALL,
    hosts: tuple[HostView, ...] | None = None,
    answer: str = "host2",
) -> LabView:
    hosts = hosts or tuple(HostView(h, True, True, "healthy", 3) for h in HOSTS)
    return LabView(
        taken=1000.0,
        created=900.0,
        prefix="lab-",
        run_dir=str(RUN),
        routers=routers,
        cores=tuple(
            CoreView(c, True, 6, {p: paths for p in HOST_PREFIXES}, anycast_answer=answer)
            for c in CORES
        ),
        hosts=hosts,
    )


STEADY = (router("router1", holds=True), router("router2"), router("router3"))


def test_steady_lab_has_no_problems_and_says_so() -> None:
    v = view(STEADY)
    assert problems(v) == []
    screen = render(v, now=1000.0)
    assert "held by router1" in screen
    assert "steady: every path where it should be" in screen
    assert "203.0.113.0/27            host1    r1 r2 r3  r1 r2 r3" in screen
    assert "up 00:01:40" in screen
    assert "answered by host2 (from core1), host2 (from core2)" in screen
    assert max(len(line) for line in screen.splitlines()) <= 80 + len(str(RUN))


def test_after_a_power_cut_the_gateway_belongs_on_router2() -> None:
    rs = (router("router1", up=False), router("router2", holds=True), router("router3"))
    assert problems(view(rs, paths=("router2", "router3"))) == []
    # still on a dead router's interface does not count; nobody holding it does
    rs_bad = (router("router1", up=False), router("router2"), router("router3"))
    assert "gateway 10.50.0.1 on nobody (want router2)" in problems(view(rs_bad, ("router2",)))
    screen = render(view(rs, paths=("router2", "router3")), now=1000.0)
    assert "router1  DOWN" in screen and "r2 r3  r2 r3" in screen


def test_a_drained_router_is_expected_out_of_the_provider_paths() -> None:
    rs = (router("router1", holds=True), router("router2", phase="drained", intent="drain"),
          router("router3"))  # fmt: skip
    assert problems(view(rs, paths=("router1", "router3"))) == []
    got = problems(view(rs))
    assert "core1: 203.0.113.0/27 via router1 router2 router3 (want router1 router3)" in got
    assert "drained" in render(view(rs, paths=("router1", "router3")), now=1000.0)


def test_a_stopped_anycast_instance_is_expected_to_be_withdrawn() -> None:
    hosts = (
        HostView("host1", True, False, "failed", 3),
        HostView("host2", True, True, "healthy", 3),
        HostView("host3", True, True, "healthy", 3),
    )
    rs = tuple(router(r, holds=r == "router1", anycast=("host2", "host3")) for r in ROUTERS)
    assert problems(view(rs, hosts=hosts)) == []
    # the speaker still says healthy: its check has not noticed yet
    late = (HostView("host1", True, False, "healthy", 3), *hosts[1:])
    assert "host1: anycast check healthy (service down)" in problems(view(rs, hosts=late))
    assert "host1  STOPPED  failed" in render(view(rs, hosts=hosts), now=1000.0)


def test_rising_priorities_and_two_gateway_holders_are_problems() -> None:
    rising = RouterView(**{**STEADY[0].__dict__, "priority": 50})
    got = problems(view((rising, STEADY[1], STEADY[2])))
    assert got == ["router1: priority 50, 200 once healthy"]
    both = (router("router1", holds=True), router("router2", holds=True), router("router3"))
    screen = render(view(both), now=1000.0)
    assert "more than one holder" in screen and "converging" in screen


def test_a_core_that_cannot_reach_the_anycast_service_is_a_problem() -> None:
    got = problems(view(STEADY, answer="no answer (timed out)"))
    assert got == [
        "core1: anycast service no answer (timed out)",
        "core2: anycast service no answer (timed out)",
    ]


def test_prefixes_are_checked_before_anything_is_built() -> None:
    from routeragent.cli import parser

    args = parser().parse_args(["lab", "up", "--prefix", "t1-", "--run-dir", "/tmp/x"])
    assert args.prefix == "t1-" and args.run_dir == Path("/tmp/x")
    for bad in ("a b", "x/y", "a" * 21, ".hidden"):
        with pytest.raises(SystemExit):
            parser().parse_args(["lab", "up", "--prefix", bad])


def test_a_run_dir_frr_cannot_reach_is_refused() -> None:
    from routeragent.lab.build import check_reachable_by_frr
    from routeragent.lab.system import LabError

    base = Path(tempfile.mkdtemp(prefix="ra-lab-unit-", dir="/tmp"))
    try:
        private = base / "private"
        private.mkdir(mode=0o700)
        with pytest.raises(LabError, match="mode 700: FRR"):
            check_reachable_by_frr(private / "lab")
        private.chmod(0o755)
        base.chmod(0o755)
        check_reachable_by_frr(private / "lab")
    finally:
        shutil.rmtree(base)


def test_measure_times_each_probe_on_its_own_and_reports_what_never_happened() -> None:
    import time

    from routeragent.lab.scenarios import Report, measure

    t0 = time.monotonic()
    calls = {"n": 0}

    def third_call() -> bool:
        calls["n"] += 1
        return calls["n"] >= 3

    def broken() -> bool:
        raise ValueError("vtysh said nonsense")  # counts as "not yet", never crashes

    said: list[str] = []
    got = measure({"soon": third_call, "never": broken}, t0, 0.5, said.append, step=0.01)
    assert [w for w, _ in got] == ["soon", "never"]
    soon, never = (s for _, s in got)
    assert soon is not None and soon < 0.5
    assert never is None
    assert any("never" in line and "NOT SEEN" in line for line in said)
    rep = Report("x", got)
    assert not rep.ok and rep.as_json()["timings"]["never"] is None


def test_traffic_summary_finds_the_recovery_after_the_last_loss_per_core() -> None:
    from routeragent.lab.traffic import Sample, summarize

    samples = [
        Sample(0.0, "core1", "host1"),
        Sample(0.1, "core1", None),
        Sample(0.2, "core1", None),
        Sample(0.35, "core1", "host2"),
        Sample(0.0, "core2", "host3"),
        Sample(0.1, "core2", None),
        Sample(0.2, "core2", "host3"),
        Sample(0.3, "core2", None),
        Sample(0.5, "core2", "host3"),
    ]
    s = summarize(samples)
    assert (s.sent, s.failed, s.recovered_at) == (9, 4, 0.5)
    assert s.answered_by == ("host1", "host2", "host3")
    assert summarize([Sample(0.1, "core1", "host1")]).recovered_at == 0.0
    assert summarize([Sample(0.1, "core1", None)]).recovered_at is None  # never answered again
    assert (
        "2 requests from the cores, 1 failed"
        in summarize([Sample(0.0, "core1", None), Sample(0.1, "core1", "host1")]).describe()
    )
