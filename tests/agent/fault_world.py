"""A router around an in-process Agent for fault tests: FRR, keepalived and the files are the
fakes of :mod:`agent.fakes`, the clocks are hand-driven, and faults are switched on and off
between passes. The agent's own code (decide, plan, retry, apply, logs, metrics, status,
state directory) is the real one."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent.builders import make_config, neighbors
from agent.fakes import FakeEffects, FakeFrr
from routeragent.agent import Agent
from routeragent.bgp_policy import Announcement, build_policy
from routeragent.clock import Clock
from routeragent.config_model import Config
from routeragent.keepalived_render import track_file_path
from routeragent.metrics import Metrics
from routeragent.observations import (
    FrrState,
    Intent,
    KeepalivedState,
    Observation,
    ProbeResult,
    VrrpState,
)
from routeragent.vtysh import VtyshError

FRR_FAULTS = {
    "hang": "vtysh did not answer within 5 s",
    "error": "vtysh exit 1: % Connection refused (is bgpd running?)",
    "garbage": "vtysh -c 'show bgp neighbors json'...: not JSON at document 1: '{\"10.1.1",
}


@dataclass
class FakeClock:
    """Monotonic time only goes forward by ``advance``; the wall clock can be set anywhere."""

    mono_now: float = 5000.0
    wall_now: float = 1_800_000_000.0

    def advance(self, seconds: float) -> None:
        self.mono_now += seconds
        self.wall_now += seconds

    def clock(self) -> Clock:
        return Clock(mono=lambda: self.mono_now, wall=lambda: self.wall_now)


class ListHandler(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.events: list[dict[str, Any]] = []

    def emit(self, record: logging.LogRecord) -> None:
        fields = getattr(record, "fields", {})
        self.events.append({"event": record.getMessage(), "level": record.levelname, **fields})


@dataclass
class FaultWorld:
    config: Config
    clock: FakeClock
    frr: FakeFrr
    fx: FakeEffects
    frr_fault: str | None = None  # a key of FRR_FAULTS: FRR not observable
    keepalived_up: bool = True
    lan_ok: bool = True
    intent: Intent = "normal"
    #: the virtual address is here while our priority is the highest (one other router at 100)
    other_priority: int = 100
    passes: int = 0
    agent: Agent = field(init=False)
    logs: ListHandler = field(init=False)
    metrics: Metrics = field(init=False)

    # ---- what the agent's Observer would report

    def frr_state(self) -> FrrState:
        if self.frr_fault is not None:
            raise VtyshError(FRR_FAULTS[self.frr_fault])
        return self.frr.state

    def observe(self, intent: Intent, fifo_hints: dict[str, tuple[str, int]]) -> Observation:
        frr: FrrState | None
        try:
            frr, err = self.frr_state(), None
        except VtyshError as e:
            frr, err = None, str(e)
        inst = self.config.vrrp[0]
        track = self.fx.track_read(track_file_path(self.config, inst))
        prio = None if track is None else self.config.healthy_priority(inst) + track
        holds = self.keepalived_up and prio is not None and prio > self.other_priority
        return Observation(
            now=self.clock.mono_now,
            wall=self.clock.wall_now,
            frr=frr,
            frr_error=err,
            vrrp={
                inst.name: VrrpState(
                    instance=inst.name, holds=holds, partial=False, track_value=track
                )
            },
            keepalived=KeepalivedState(
                running=self.keepalived_up,
                pid=4242 if self.keepalived_up else None,
                config_on_disk=self.fx.files.get(self.config.keepalived.config_file),
            ),
            probes={"lan": ProbeResult(self.lan_ok, "lan0 " + ("up" if self.lan_ok else "down"))},
            intent=self.intent,
        )

    # ---- driving

    def step(self, dt: float = 0.5) -> None:
        self.clock.advance(dt)
        self.agent.run_pass()
        self.passes += 1

    def run(self, seconds: float, dt: float = 0.5) -> None:
        for _ in range(max(1, round(seconds / dt))):
            self.step(dt)

    # ---- what to look at

    @property
    def priority(self) -> int | None:
        inst = self.config.vrrp[0]
        track = self.fx.track_read(track_file_path(self.config, inst))
        return None if track is None else self.config.healthy_priority(inst) + track

    def events(self, name: str) -> list[dict[str, Any]]:
        return [e for e in self.logs.events if e["event"] == name]

    def status(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.agent.state.status_file.read_text())
        return data

    def metric(self, name: str, **labels: str) -> float | None:
        return self.metrics.registry.get_sample_value(name, labels)

    def known_route_maps(self) -> dict[str, Any]:
        """Every route-map the agent may ever attach, by name, with its complete content."""
        out: dict[str, Any] = {}
        p = self.config.policy.ingress
        for attrs in (p.equal, p.prefer, p.depref, p.drain):
            for announce in (True, False):
                pol = build_policy(self.config, Announcement(announce, attrs))
                out.update({rm.name: rm.entries for rm in pol.route_maps})
        return out

    def half_configured(self) -> list[str]:
        """What in FRR is not a complete, known policy: a neighbor pointing at a missing or
        partial route-map, or a map matching a missing or partial prefix-list."""
        known = self.known_route_maps()
        st = self.frr.state
        problems = []
        for nb in st.neighbors.values():
            for name in (nb.route_map_in, nb.route_map_out):
                if name is None:
                    continue
                if st.route_maps.get(name) != known.get(name):
                    problems.append(f"{nb.address} uses {name}: missing or partial")
                    continue
                for entry in st.route_maps[name]:
                    for m in entry.matches:
                        if "prefix-list" in m:
                            pl = m.split()[-1]
                            if pl not in st.prefix_lists or not st.prefix_lists[pl].entries:
                                problems.append(f"{name} matches missing prefix-list {pl}")
        return problems


def fault_world(tmp: Path, overrides: dict[str, Any] | None = None) -> FaultWorld:
    config = make_config(overrides, tmp=tmp)
    clock = FakeClock()
    fresh = FrrState(
        asn=config.frr.asn,
        neighbors=neighbors(config),
        route_maps={},
        prefix_lists={},
    )
    frr = FakeFrr(fresh)
    world = FaultWorld(config, clock, frr, FakeEffects(frr))
    logger = logging.getLogger(f"routeragent.test.{id(world)}")
    logger.handlers.clear()
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    world.logs = ListHandler()
    logger.addHandler(world.logs)
    world.metrics = Metrics()
    agent = Agent(tmp / "agent.toml", config, logger, world.metrics, clock=clock.clock())
    agent.observer = world  # type: ignore[assignment]
    agent.effects = world.fx  # type: ignore[assignment]
    agent.prepare()
    world.agent = agent
    return world
