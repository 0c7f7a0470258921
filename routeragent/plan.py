"""From (observed, desired) to the list of changes, each with its reason (pure).

A plan has three independent transactions, applied in this order:

1. ``vrrp``: the track files that set each instance's priority (no reload). First, because a
   failover must not wait for anything else.
2. ``keepalived``: the rendered keepalived.conf, when the VRRP topology changed (reload).
3. ``frr``: prefix-lists and route-maps to create, neighbors to switch, old objects to delete.

Each is all-or-nothing (see :mod:`routeragent.apply`). They are independent on purpose: a
keepalived.conf that keepalived rejects must not freeze the gateway priority, and an FRR that
does not answer must not stop a failover. Where order across them matters (drain, undrain) the
drain phases sequence the work over several passes, each step confirmed by observation.

An empty plan means nothing is touched.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from routeragent.bgp_policy import (
    OWNED_PREFIX,
    BgpPolicy,
    Direction,
    PrefixListSpec,
    RouteMapSpec,
)
from routeragent.config_model import Config
from routeragent.decide import Desired
from routeragent.keepalived_render import track_file_path, track_offset
from routeragent.observations import (
    Family,
    FrrState,
    NeighborState,
    Observation,
    PrefixListState,
    RouteMapEntry,
)


@dataclass(frozen=True)
class WriteTrackFile:
    instance: str
    path: Path
    value: int
    previous: int | None
    reason: str

    def describe(self) -> str:
        return f"vrrp {self.instance}: track file {self.previous} -> {self.value} ({self.reason})"


@dataclass(frozen=True)
class WriteKeepalivedConfig:
    path: Path
    text: str
    previous: str | None
    reload: bool
    reason: str

    def describe(self) -> str:
        then = "then reload keepalived" if self.reload else "keepalived not running: no reload"
        return f"keepalived: write {self.path} ({self.reason}); {then}"


@dataclass(frozen=True)
class CreatePrefixList:
    spec: PrefixListSpec
    #: entries of a same-named list that differs (edited by hand): replaced
    previous: PrefixListState | None
    reason: str

    def describe(self) -> str:
        verb = "replace" if self.previous else "create"
        return f"frr: {verb} prefix-list {self.spec.name} ({self.reason})"


@dataclass(frozen=True)
class CreateRouteMap:
    spec: RouteMapSpec
    previous: tuple[RouteMapEntry, ...] | None
    #: (neighbor, family, direction) to refresh after an in-place replacement
    refresh: tuple[tuple[str, Family, Direction], ...]
    reason: str

    def describe(self) -> str:
        verb = "replace" if self.previous else "create"
        return f"frr: {verb} route-map {self.spec.name} ({self.reason})"


@dataclass(frozen=True)
class Attach:
    neighbor: str
    family: Family
    direction: Direction
    route_map: str
    previous: str | None
    reason: str

    def describe(self) -> str:
        return (
            f"frr: neighbor {self.neighbor} route-map {self.direction} "
            f"{self.previous or '(none)'} -> {self.route_map} ({self.reason})"
        )


@dataclass(frozen=True)
class DeleteRouteMap:
    name: str
    entries: tuple[RouteMapEntry, ...]
    reason: str

    def describe(self) -> str:
        return f"frr: delete route-map {self.name} ({self.reason})"


@dataclass(frozen=True)
class DeletePrefixList:
    name: str
    previous: PrefixListState
    reason: str

    def describe(self) -> str:
        return f"frr: delete prefix-list {self.name} ({self.reason})"


FrrAction = CreatePrefixList | CreateRouteMap | Attach | DeleteRouteMap | DeletePrefixList


@dataclass(frozen=True)
class Plan:
    vrrp: tuple[WriteTrackFile, ...]
    keepalived: tuple[WriteKeepalivedConfig, ...]
    frr: tuple[FrrAction, ...]
    #: things the plan could not do, and why (FRR unobservable, neighbor unknown to bgpd, ...)
    blocked: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return not (self.vrrp or self.keepalived or self.frr)

    def describe(self) -> list[str]:
        lines = [a.describe() for a in (*self.vrrp, *self.keepalived, *self.frr)]
        return lines + [f"blocked: {b}" for b in self.blocked]


def _uses(nb: NeighborState) -> tuple[tuple[Direction, str | None], ...]:
    return (("in", nb.route_map_in), ("out", nb.route_map_out))


def plan_vrrp(config: Config, obs: Observation, desired: Desired) -> tuple[WriteTrackFile, ...]:
    out = []
    for inst in config.vrrp:
        prio = desired.priorities[inst.name]
        value = track_offset(config, inst, prio)
        seen = obs.vrrp.get(inst.name)
        previous = seen.track_value if seen else None
        if previous != value:
            why = desired.reasons[f"priority {inst.name}"]
            before = "?" if previous is None else str(config.healthy_priority(inst) + previous)
            out.append(
                WriteTrackFile(
                    instance=inst.name,
                    path=track_file_path(config, inst),
                    value=value,
                    previous=previous,
                    reason=f"priority {before} -> {prio}: {why}",
                )
            )
    return tuple(out)


def plan_keepalived(
    config: Config, obs: Observation, rendered: str
) -> tuple[WriteKeepalivedConfig, ...]:
    on_disk = obs.keepalived.config_on_disk
    if on_disk == rendered:
        return ()
    reason = "no config on disk" if on_disk is None else "VRRP topology changed"
    return (
        WriteKeepalivedConfig(
            path=config.keepalived.config_file,
            text=rendered,
            previous=on_disk,
            reload=obs.keepalived.running,
            reason=reason,
        ),
    )


def plan_frr(
    config: Config, frr: FrrState, policy: BgpPolicy, desired: Desired
) -> tuple[tuple[FrrAction, ...], tuple[str, ...]]:
    """The FRR changes that take ``frr`` to ``policy``: creations, switches, deletions."""
    blocked: list[str] = []
    if frr.asn is not None and frr.asn != policy.asn:
        return (), (f"bgpd runs AS {frr.asn} but frr.asn is {policy.asn}: not touching FRR",)
    creates: list[FrrAction] = []
    for pl in policy.prefix_lists:
        have = frr.prefix_lists.get(pl.name)
        if have is None:
            creates.append(CreatePrefixList(pl, None, "our prefixes"))
        elif have.entries != pl.entries or have.family != pl.family:
            creates.append(
                CreatePrefixList(pl, have, "content differs from its name (edited by hand?)")
            )

    attachments = []
    for att in policy.attachments:
        nb = frr.neighbors.get(att.neighbor)
        if nb is None:
            blocked.append(f"upstream {att.neighbor} is not a neighbor in bgpd")
            continue
        current = nb.route_map_in if att.direction == "in" else nb.route_map_out
        if current != att.route_map:
            if att.direction == "out":
                why = f"ingress {desired.ingress}: {desired.reasons['ingress']}"
            else:
                why = "egress local-preference toward this upstream"
            attachments.append(
                Attach(att.neighbor, att.family, att.direction, att.route_map, current, why)
            )

    for rm in policy.route_maps:
        have_rm = frr.route_maps.get(rm.name)
        if have_rm is None:
            creates.append(CreateRouteMap(rm, None, (), "new policy"))
        elif have_rm != rm.entries:
            users = tuple(
                (nb.address, nb.family, d)
                for nb in frr.neighbors.values()
                for d, name in _uses(nb)
                if name == rm.name
            )
            why = "content differs from its name (edited by hand?)"
            creates.append(CreateRouteMap(rm, have_rm, users, why))

    # what stays referenced once the switches are done: desired attachments plus whatever
    # neighbors we do not manage point at
    managed = {(a.neighbor, a.direction) for a in policy.attachments}
    still_used = {a.route_map for a in policy.attachments}
    for nb in frr.neighbors.values():
        for d, name in _uses(nb):
            if name and (nb.address, d) not in managed:
                still_used.add(name)
    deletes: list[FrrAction] = []
    for name, entries in sorted(frr.route_maps.items()):
        if name.startswith(OWNED_PREFIX) and name not in policy.names and name not in still_used:
            deletes.append(DeleteRouteMap(name, entries, "no longer used"))
    kept_maps = [rm.entries for rm in policy.route_maps] + [
        e for n, e in frr.route_maps.items() if n in still_used and n not in policy.names
    ]
    lists_used = {
        m.split()[-1]
        for entries in kept_maps
        for e in entries
        for m in e.matches
        if "prefix-list" in m
    }
    for name, state in sorted(frr.prefix_lists.items()):
        if name.startswith(OWNED_PREFIX) and name not in policy.names and name not in lists_used:
            deletes.append(DeletePrefixList(name, state, "no longer used"))

    # prefix-lists before the route-maps that match on them, switches, then cleanup
    creates.sort(key=lambda a: 0 if isinstance(a, CreatePrefixList) else 1)
    return (*creates, *attachments, *deletes), tuple(blocked)


def make_plan(
    config: Config,
    obs: Observation,
    desired: Desired,
    policy: BgpPolicy,
    rendered_keepalived: str,
) -> Plan:
    blocked: list[str] = []
    frr_actions: tuple[FrrAction, ...] = ()
    if obs.frr is None:
        blocked.append(f"FRR not observable ({obs.frr_error}): BGP policy left as it is")
    else:
        frr_actions, frr_blocked = plan_frr(config, obs.frr, policy, desired)
        blocked += frr_blocked
    return Plan(
        vrrp=plan_vrrp(config, obs, desired),
        keepalived=plan_keepalived(config, obs, rendered_keepalived),
        frr=frr_actions,
        blocked=tuple(blocked),
    )
