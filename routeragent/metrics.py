"""Prometheus metrics (prometheus-client), on a registry of our own so that tests and several
agents in one process do not collide."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Enum, Gauge, Histogram, start_http_server

from routeragent.apply import ApplyReport
from routeragent.decide import Desired
from routeragent.drain_phases import DRAIN_PHASES
from routeragent.observations import Observation

GATEWAY_STATES = ["eligible", "holding", "demoted", "drained"]
INGRESS_STATES = ["equal", "prefer", "depref", "drained", "drain", "withdrawn"]


class Metrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        r = self.registry
        self.pass_seconds = Histogram(
            "routeragent_pass_seconds",
            "Duration of one observe-decide-plan-apply pass",
            registry=r,
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )
        self.priority = Gauge(
            "routeragent_vrrp_priority", "Desired VRRP priority", ["instance"], registry=r
        )
        self.master = Gauge(
            "routeragent_vrrp_master",
            "1 while the instance's virtual addresses are here",
            ["instance"],
            registry=r,
        )
        self.check_up = Gauge(
            "routeragent_check_up",
            "Health check state after rise/fall hysteresis",
            ["check"],
            registry=r,
        )
        self.check_ok = Gauge(
            "routeragent_check_ok", "Health check result of the last pass", ["check"], registry=r
        )
        self.session_up = Gauge(
            "routeragent_bgp_session_established",
            "1 while the session is Established",
            ["neighbor"],
            registry=r,
        )
        self.pfx_rcvd = Gauge(
            "routeragent_bgp_prefixes_received",
            "Prefixes accepted from the neighbor",
            ["neighbor"],
            registry=r,
        )
        self.pfx_sent = Gauge(
            "routeragent_bgp_prefixes_sent",
            "Prefixes advertised to the neighbor",
            ["neighbor"],
            registry=r,
        )
        self.gateway = Enum(
            "routeragent_gateway", "Gateway (egress) role", states=GATEWAY_STATES, registry=r
        )
        self.ingress = Enum(
            "routeragent_ingress", "Ingress mode in effect", states=INGRESS_STATES, registry=r
        )
        self.drain_phase = Enum(
            "routeragent_drain_phase", "Drain phase", states=list(DRAIN_PHASES), registry=r
        )
        self.frr_up = Gauge(
            "routeragent_frr_observable", "1 when vtysh answered in the last pass", registry=r
        )
        self.decisions = Counter(
            "routeragent_decisions", "Changes of a desired value", ["subject"], registry=r
        )
        self.applies = Counter(
            "routeragent_apply",
            "Applied transactions by result",
            ["transaction", "result"],
            registry=r,
        )
        self.config_reloads = Counter(
            "routeragent_config_reloads",
            "Config reloads (SIGHUP) by result",
            ["result"],
            registry=r,
        )

        self.keepalived_running = Gauge(
            "routeragent_keepalived_running",
            "1 while keepalived's pid file names a live keepalived",
            registry=r,
        )
        self.backoff = Gauge(
            "routeragent_apply_backoff",
            "1 while a failed transaction waits before it is tried again",
            ["transaction"],
            registry=r,
        )
        self.state_write_errors = Counter(
            "routeragent_state_write_errors",
            "Passes whose memory or status file could not be written (e.g. disk full)",
            registry=r,
        )
        self.state_writable = Gauge(
            "routeragent_state_writable",
            "0 while the state directory cannot be written",
            registry=r,
        )
        self.pass_errors = Counter(
            "routeragent_pass_errors",
            "Passes that ended in an unexpected exception (logged as pass-failed)",
            registry=r,
        )

    def observe_faults(
        self, keepalived_running: bool, backoff: set[str], state_error: bool
    ) -> None:
        self.keepalived_running.set(1 if keepalived_running else 0)
        for tx in ("keepalived", "frr"):
            self.backoff.labels(tx).set(1 if tx in backoff else 0)
        self.state_writable.set(0 if state_error else 1)

    def serve(self, host: str, port: int) -> None:
        start_http_server(port, addr=host, registry=self.registry)

    def observe_pass(self, obs: Observation, desired: Desired, seconds: float) -> None:
        self.pass_seconds.observe(seconds)
        for name, prio in desired.priorities.items():
            self.priority.labels(name).set(prio)
        for name, v in obs.vrrp.items():
            self.master.labels(name).set(1 if v.holds else 0)
        for c in desired.checks:
            self.check_up.labels(c.name).set(1 if c.up else 0)
            self.check_ok.labels(c.name).set(1 if c.ok_now else 0)
        self.frr_up.set(0 if obs.frr is None else 1)
        if obs.frr is not None:
            for addr, nb in obs.frr.neighbors.items():
                self.session_up.labels(addr).set(1 if nb.established else 0)
                self.pfx_rcvd.labels(addr).set(nb.prefixes_received)
                self.pfx_sent.labels(addr).set(nb.prefixes_sent)
        self.gateway.state(desired.gateway)
        self.ingress.state(desired.ingress)
        self.drain_phase.state(desired.drain_phase)

    def count_apply(self, report: ApplyReport) -> None:
        for tx in report.transactions:
            if not tx.applied and tx.ok:
                continue
            result = "ok" if tx.ok else ("rolled_back" if tx.rolled_back else "failed")
            self.applies.labels(tx.name, result).inc()
