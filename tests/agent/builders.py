"""Configs and observations for the agent's unit tests, built in code (no daemon)."""

from __future__ import annotations

import copy
import json
import tomllib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from agent.interop.topology import agent_toml
from routeragent.bgp_policy import Announcement, build_policy
from routeragent.config_load import parse_config
from routeragent.config_model import Config
from routeragent.decide import Desired, Memory, decide
from routeragent.frr_json import split_documents
from routeragent.keepalived_render import track_offset
from routeragent.observations import (
    AdvertisedRoute,
    FrrState,
    Intent,
    KeepalivedState,
    NeighborState,
    Observation,
    PrefixListState,
    ProbeResult,
    VrrpState,
)
from routeragent.observe import frr_state_from_documents

DATA = Path(__file__).parent / "data" / "frr-8.4"

UPSTREAMS = ("10.1.1.1", "2001:db8:1:1::1", "10.2.1.1", "2001:db8:2:1::1")
PREFIXES = ("203.0.113.0/24", "2001:db8:100::/48")


def base_dict(tmp: Path | None = None) -> dict[str, Any]:
    state = str(tmp / "state") if tmp else "/run/routeragent-test"
    return {
        "agent": {"router": "r1", "state_dir": state, "interval": 0.5},
        "frr": {"asn": 65010},
        "keepalived": {
            "config_file": str(tmp / "keepalived.conf") if tmp else "/etc/keepalived/ka.conf",
            "pid_file": str(tmp / "keepalived.pid") if tmp else "/run/keepalived.pid",
        },
        "vrrp": [
            {
                "name": "lan",
                "interface": "lan0",
                "vrid": 51,
                "addresses": ["10.50.0.1/24", "2001:db8:50::1/64"],
                "advert_interval": 0.1,
            }
        ],
        "upstream": [
            {"name": f"u{i}", "neighbor": n} for i, n in enumerate(UPSTREAMS)
        ],
        "announce": {"prefixes": list(PREFIXES)},
        "policy": {"egress_role": "primary", "takeback_delay": 2.0, "flap_window": 60.0},
        "drain": {"withdraw": True},
        "check": [
            {"name": "bgp", "type": "bgp", "rise": 2, "fall": 2},
            {"name": "lan", "type": "interface", "interface": "lan0", "rise": 1, "fall": 1,
             "affects": "both"},
        ],
    }  # fmt: skip


def make_config(overrides: dict[str, Any] | None = None, tmp: Path | None = None) -> Config:
    d = base_dict(tmp)
    for key, value in (overrides or {}).items():
        if isinstance(value, dict) and isinstance(d.get(key), dict):
            d[key] = {**d[key], **value}
        else:
            d[key] = value
    return parse_config(copy.deepcopy(d))


def neighbors(
    config: Config,
    down: Iterable[str] = (),
    prefixes: int = 2,
    route_map_out: str | None = None,
    route_map_in: str | None = None,
) -> dict[str, NeighborState]:
    down = set(down)
    out = {}
    for u in config.upstreams:
        addr = str(u.neighbor)
        up = addr not in down
        out[addr] = NeighborState(
            address=addr,
            family=u.family,
            state="Established" if up else "Active",
            prefixes_received=prefixes if up else 0,
            prefixes_sent=1 if up else 0,
            route_map_in=route_map_in,
            route_map_out=route_map_out,
        )
    return out


def advertised_for(config: Config, ann: Announcement) -> dict[str, tuple[AdvertisedRoute, ...]]:
    """What FRR would report as advertised once ``ann`` is in effect."""
    out: dict[str, tuple[AdvertisedRoute, ...]] = {}
    for u in config.upstreams:
        if not ann.announce:
            out[str(u.neighbor)] = ()
            continue
        path = " ".join([str(config.frr.asn)] * ann.attributes.prepend)
        out[str(u.neighbor)] = tuple(
            AdvertisedRoute(str(p), ann.attributes.med, path)
            for p in config.prefixes
            if p.version == u.neighbor.version
        )
    return out


def frr_in_sync(config: Config, ann: Announcement, down: Iterable[str] = ()) -> FrrState:
    """FRR exactly as the agent would have left it for announcement ``ann``."""
    policy = build_policy(config, ann)
    nbs = neighbors(config, down=down)
    for a in policy.attachments:
        nb = nbs[a.neighbor]
        field = "route_map_in" if a.direction == "in" else "route_map_out"
        nbs[a.neighbor] = NeighborState(**{**nb.__dict__, field: a.route_map})
    adv = advertised_for(config, ann)
    for addr in set(down):
        adv[addr] = ()
    if not ann.announce:
        nbs = {k: NeighborState(**{**v.__dict__, "prefixes_sent": 0}) for k, v in nbs.items()}
    return FrrState(
        asn=config.frr.asn,
        neighbors=nbs,
        route_maps={rm.name: rm.entries for rm in policy.route_maps},
        prefix_lists={
            pl.name: PrefixListState(pl.family, pl.entries) for pl in policy.prefix_lists
        },
        routes={},
        advertised=adv,
    )


def observe(
    config: Config,
    now: float,
    frr: FrrState | None,
    *,
    priority: int | None = None,
    holds: bool = False,
    lan_ok: bool = True,
    intent: Intent = "normal",
    rx: dict[str, int] | None = None,
    keepalived_conf: str | None = None,
) -> Observation:
    inst = config.vrrp[0]
    prio = priority if priority is not None else config.demoted_priority(inst)
    return Observation(
        now=now,
        frr=frr,
        frr_error=None if frr is not None else "vtysh did not answer within 5 s",
        vrrp={
            inst.name: VrrpState(
                instance=inst.name,
                holds=holds,
                partial=False,
                track_value=track_offset(config, inst, prio),
            )
        },
        keepalived=KeepalivedState(running=True, pid=123, config_on_disk=keepalived_conf),
        probes={"lan": ProbeResult(lan_ok, "interface lan0 " + ("up" if lan_ok else "down"))},
        rx_packets=rx or {},
        intent=intent,
    )


class Sim:
    """A router whose FRR and keepalived do exactly what the agent asks, one pass at a time:
    walks decide() through time like the real loop (apply = the next observation shows it)."""

    def __init__(self, config: Config, now: float = 1000.0) -> None:
        self.config = config
        self.now = now
        self.mem = Memory()
        self.priority = config.demoted_priority(config.vrrp[0])
        self.ann = Announcement(True, config.policy.ingress.equal)
        self.down: set[str] = set()
        self.lan_ok = True
        self.frr_ok = True
        self.intent: Intent = "normal"
        self.holds = False
        self.rx: dict[str, int] = {}
        self.history: list[Desired] = []

    def step(self, dt: float = 0.5) -> Desired:
        self.now += dt
        frr = frr_in_sync(self.config, self.ann, self.down) if self.frr_ok else None
        obs = observe(
            self.config,
            self.now,
            frr,
            priority=self.priority,
            holds=self.holds,
            lan_ok=self.lan_ok,
            intent=self.intent,
            rx=dict(self.rx),
        )
        desired, self.mem = decide(self.config, obs, self.mem)
        # "apply": keepalived and FRR follow the desired state
        self.priority = desired.priorities[self.config.vrrp[0].name]
        if self.frr_ok:
            self.ann = desired.announcement
        self.history.append(desired)
        return desired

    def run(self, seconds: float, dt: float = 0.5) -> Desired:
        d = self.step(dt)
        for _ in range(int(seconds / dt) - 1):
            d = self.step(dt)
        return d


def recording(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((DATA / f"{name}.json").read_text())
    return data


def recorded_state(config: Config, name: str) -> FrrState:
    rec = recording(name)
    bgpd = [split_documents(text)[0] for _, text in rec["bgpd"]]
    zebra = [split_documents(text)[0] for _, text in rec["zebra"]]
    return frr_state_from_documents(config, bgpd, zebra)


def recorded_config(router: str) -> Config:
    """The agent config the recordings were made with (tests/agent/interop/topology.py)."""

    return parse_config(tomllib.loads(agent_toml(router)))
