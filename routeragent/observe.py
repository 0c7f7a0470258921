"""One observation pass: the only place that reads the outside world for a decision.

FRR costs two vtysh processes per pass (about 60 ms together on the test machine): one to bgpd
(neighbors with their counters and route-maps, our route-maps and prefix-lists, what is
advertised to each upstream) and, if route checks are configured, one to zebra.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from routeragent.bgp_policy import OWNED_PREFIX
from routeragent.clock import Clock
from routeragent.config_model import Config, RouteProbe
from routeragent.files import read_text
from routeragent.frr_json import (
    FrrOutputError,
    parse_advertised,
    parse_neighbors,
    parse_prefix_lists,
    parse_route_maps,
    parse_route_selected,
)
from routeragent.keepalived_control import (
    interface_addresses,
    running_pid,
    track_read,
    vip_presence,
)
from routeragent.keepalived_render import track_file_path
from routeragent.observations import (
    FrrState,
    Intent,
    KeepalivedState,
    Observation,
    VrrpState,
)
from routeragent.probes import SYS_NET, run_probes
from routeragent.vtysh import Vtysh, VtyshError

_BGPD_FIXED = (
    "show bgp neighbors json",
    "show route-map json",
    "show ip prefix-list json",
    "show ipv6 prefix-list json",
)


def bgpd_commands(config: Config) -> list[str]:
    return [
        *_BGPD_FIXED,
        *(
            f"show bgp {u.family} unicast neighbors {u.neighbor} advertised-routes json"
            for u in config.upstreams
        ),
    ]


def zebra_commands(config: Config) -> list[tuple[str, str]]:
    out = []
    for c in config.checks:
        if isinstance(c.probe, RouteProbe):
            kw = "ip" if c.probe.prefix.version == 4 else "ipv6"
            out.append((str(c.probe.prefix), f"show {kw} route {c.probe.prefix} json"))
    return out


def frr_state_from_documents(
    config: Config, bgpd_docs: list[object], zebra_docs: list[object]
) -> FrrState:
    """Assemble an :class:`FrrState` from the decoded answers (pure; the recorded real
    outputs in the tests go through here)."""
    asn, neighbors = parse_neighbors(bgpd_docs[0])
    route_maps = parse_route_maps(bgpd_docs[1])
    prefix_lists = parse_prefix_lists(bgpd_docs[2], "ipv4")
    prefix_lists.update(parse_prefix_lists(bgpd_docs[3], "ipv6"))
    advertised = {
        str(u.neighbor): parse_advertised(doc, str(u.neighbor))
        for u, doc in zip(config.upstreams, bgpd_docs[len(_BGPD_FIXED) :], strict=True)
    }
    routes = {
        prefix: parse_route_selected(doc, prefix)
        for (prefix, _), doc in zip(zebra_commands(config), zebra_docs, strict=True)
    }
    return FrrState(
        asn=asn,
        neighbors=neighbors,
        route_maps=route_maps,
        prefix_lists=prefix_lists,
        routes=routes,
        advertised=advertised,
    )


def unreferenced_owned_maps(state: FrrState) -> set[str]:
    used = {n for nb in state.neighbors.values() for n in (nb.route_map_in, nb.route_map_out)}
    return {n for n in state.route_maps if n.startswith(OWNED_PREFIX) and n not in used}


def without_deleted_route_maps(state: FrrState, running_config: str) -> FrrState:
    """bgpd keeps a deleted route-map in ``show route-map json`` until its route-map update
    timer runs (``bgp route-map delay-timer``, 5 s by default), while ``show running-config``
    no longer has it. Only unreferenced maps can be in that state, so the (text) running
    config is fetched only when one is seen, i.e. for a few seconds after a switch."""
    present = {
        line.split()[1]
        for line in running_config.splitlines()
        if line.startswith("route-map ") and len(line.split()) >= 2
    }
    gone = unreferenced_owned_maps(state) - present
    if not gone:
        return state
    kept = {n: e for n, e in state.route_maps.items() if n not in gone}
    return replace(state, route_maps=kept)


@dataclass
class Observer:
    config: Config
    vtysh: Vtysh
    clock: Clock = field(default_factory=Clock)

    def frr(self) -> FrrState:
        """Raises :class:`VtyshError` when FRR cannot be read, also when it answers with
        something we do not understand (garbage JSON, an unforeseen shape): a half-understood
        FRR must count as unobservable, never crash the pass (gateway decisions go on)."""
        bgpd_docs = self.vtysh.show_json(bgpd_commands(self.config), daemon="bgpd")
        zc = zebra_commands(self.config)
        zebra_docs = self.vtysh.show_json([c for _, c in zc], daemon="zebra") if zc else []
        try:
            state = frr_state_from_documents(self.config, bgpd_docs, zebra_docs)
        except FrrOutputError as e:
            raise VtyshError(str(e)) from None
        except (TypeError, ValueError, KeyError, AttributeError, IndexError) as e:
            raise VtyshError(f"FRR answer not understood: {type(e).__name__}: {e}") from None
        if unreferenced_owned_maps(state):
            running = self.vtysh.run(["show running-config"], daemon="bgpd")
            state = without_deleted_route_maps(state, running)
        return state

    def vrrp(self, fifo_hints: dict[str, tuple[str, int]]) -> dict[str, VrrpState]:
        out = {}
        cache: dict[str, set[str] | None] = {}
        for inst in self.config.vrrp:
            if inst.interface not in cache:
                cache[inst.interface] = interface_addresses(inst.interface)
            holds, partial = vip_presence(inst, cache[inst.interface])
            hint = fifo_hints.get(inst.name)
            out[inst.name] = VrrpState(
                instance=inst.name,
                holds=holds,
                partial=partial,
                track_value=track_read(track_file_path(self.config, inst)),
                fifo_state=hint[0] if hint else None,
                fifo_priority=hint[1] if hint else None,
            )
        return out

    def keepalived(self) -> KeepalivedState:
        pid = running_pid(self.config.keepalived.pid_file)
        return KeepalivedState(
            running=pid is not None,
            pid=pid,
            config_on_disk=read_text(self.config.keepalived.config_file),
        )

    def rx_packets(self) -> dict[str, int]:
        out = {}
        for name in self.config.drain.quiet_interfaces:
            try:
                out[name] = int((SYS_NET / name / "statistics" / "rx_packets").read_text())
            except (OSError, ValueError):
                continue
        return out

    def observe(self, intent: Intent, fifo_hints: dict[str, tuple[str, int]]) -> Observation:
        now, wall = self.clock.mono(), self.clock.wall()
        frr: FrrState | None
        try:
            frr, frr_error = self.frr(), None
        except VtyshError as e:
            frr, frr_error = None, str(e)
        return Observation(
            now=now,
            wall=wall,
            frr=frr,
            frr_error=frr_error,
            vrrp=self.vrrp(fifo_hints),
            keepalived=self.keepalived(),
            probes=run_probes(self.config.checks),
            rx_packets=self.rx_packets(),
            intent=intent,
        )
