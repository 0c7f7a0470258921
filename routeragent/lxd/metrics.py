"""Prometheus metrics of the announcer, on a registry of its own (several announcers, or an
announcer and the agent, may share a process in tests)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

from routeragent.lxd.config_model import KINDS
from routeragent.lxd.model import Desired


class AnnouncerMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        r = self.registry
        self.announced = Gauge(
            "routeragent_lxd_announcements", "Announcements by kind", ["kind"], registry=r
        )
        self.rejected = Gauge(
            "routeragent_lxd_rejected", "Announcements refused (bad next hop)", registry=r
        )
        self.problems = Gauge(
            "routeragent_lxd_problems", "Problems seen in LXD's data in the last read", registry=r
        )
        self.lxd_up = Gauge(
            "routeragent_lxd_connected", "1 while LXD's event stream is connected", registry=r
        )
        self.read_ok = Gauge(
            "routeragent_lxd_read_ok",
            "1 when the last full read of LXD worked (0: LXD down or answering errors; "
            "the last good set stays announced)",
            registry=r,
        )
        self.syncs = Counter(
            "routeragent_lxd_reads", "Full reads of LXD by result", ["result"], registry=r
        )
        self.read_seconds = Histogram(
            "routeragent_lxd_read_seconds",
            "Duration of one full read of LXD",
            registry=r,
            buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
        )
        self.events = Counter(
            "routeragent_lxd_events", "LXD lifecycle events by action", ["action"], registry=r
        )
        self.changes = Counter(
            "routeragent_lxd_route_changes",
            "Paths announced or withdrawn (before per-neighbor selection)",
            ["change"],
            registry=r,
        )
        self.established = Gauge(
            "routeragent_lxd_bgp_established",
            "1 while the BGP session is Established",
            ["neighbor"],
            registry=r,
        )

    def serve(self, host: str, port: int) -> None:
        start_http_server(port, addr=host, registry=self.registry)

    def observe_desired(self, desired: Desired) -> None:
        for kind in KINDS:
            self.announced.labels(kind).set(sum(a.kind == kind for a in desired.announcements))
        self.rejected.set(len(desired.rejected))
        self.problems.set(len(desired.problems))
