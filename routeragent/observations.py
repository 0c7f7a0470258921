"""What the agent saw in one pass: FRR, keepalived, the probes, the operator's intent.

Plain frozen data, built by :mod:`routeragent.observe` (the only module that talks to the
outside) and consumed by the pure :mod:`routeragent.decide` and :mod:`routeragent.plan`. Tests
build these by hand to exercise every decision without a daemon.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

Family = Literal["ipv4", "ipv6"]
Intent = Literal["normal", "drain"]


@dataclass(frozen=True)
class NeighborState:
    address: str
    family: Family
    state: str
    prefixes_received: int
    prefixes_sent: int
    route_map_in: str | None = None
    route_map_out: str | None = None

    @property
    def established(self) -> bool:
        return self.state == "Established"


@dataclass(frozen=True)
class RouteMapEntry:
    seq: int
    action: str
    matches: tuple[str, ...]
    sets: tuple[str, ...]


@dataclass(frozen=True)
class PrefixListEntry:
    seq: int
    action: str
    prefix: str


@dataclass(frozen=True)
class PrefixListState:
    family: Family
    entries: tuple[PrefixListEntry, ...]


@dataclass(frozen=True)
class AdvertisedRoute:
    """One route as FRR says it sends it to a neighbor (before our AS is prepended on the wire:
    ``as_path`` holds only the prepends and is empty for a plain announcement)."""

    prefix: str
    med: int | None
    as_path: str


@dataclass(frozen=True)
class FrrState:
    asn: int | None
    neighbors: Mapping[str, NeighborState]
    route_maps: Mapping[str, tuple[RouteMapEntry, ...]]
    prefix_lists: Mapping[str, PrefixListState]
    #: prefixes the route checks asked about -> selected in zebra's RIB
    routes: Mapping[str, bool] = field(default_factory=dict)
    #: neighbor -> what FRR advertises to it
    advertised: Mapping[str, tuple[AdvertisedRoute, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class VrrpState:
    instance: str
    #: the advertised (first-family) virtual addresses all present on the interface: the truth
    holds: bool
    #: some but not all of the instance's addresses present (a transition, or someone meddled)
    partial: bool
    #: the value in our track file (None: missing or unreadable)
    track_value: int | None
    #: last state keepalived announced on the notify FIFO (a hint only)
    fifo_state: str | None = None
    fifo_priority: int | None = None


@dataclass(frozen=True)
class ProbeResult:
    ok: bool
    detail: str


@dataclass(frozen=True)
class KeepalivedState:
    running: bool
    pid: int | None
    config_on_disk: str | None


@dataclass(frozen=True)
class Observation:
    #: the timer clock: CLOCK_MONOTONIC seconds (see :mod:`routeragent.clock`), never the date
    now: float
    frr: FrrState | None
    frr_error: str | None
    vrrp: Mapping[str, VrrpState]
    keepalived: KeepalivedState
    probes: Mapping[str, ProbeResult] = field(default_factory=dict)
    #: interface -> received packets (for "wait until the counters confirm" while draining)
    rx_packets: Mapping[str, int] = field(default_factory=dict)
    intent: Intent = "normal"
    #: the wall clock at the same moment, for logs and status only (None: not taken)
    wall: float | None = None
