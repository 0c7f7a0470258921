"""The reconcile loop: observe -> decide -> plan -> apply -> (next pass verifies).

Each pass is self-contained and starts from what it observes, so the loop converges from any
state: after a crash, a failed apply, a hand edit, or a daemon restart. When the agent stops
(or dies) nothing is undone: keepalived keeps the last priority in its track file, FRR keeps
the last route-maps.

Faults outside (docs/reliability-agent.md has the table): FRR that hangs or answers garbage is
"not observable" for the pass; a transaction that fails is rolled back and retried with a
backoff (:mod:`routeragent.retry`); a state directory that cannot be written (disk full) keeps
the previous files and is retried every pass; keepalived stopping or starting is logged. Each
is reported once when it starts and once when it ends (log event), counted (metrics) and shown
in the status file. Timers use CLOCK_MONOTONIC (:mod:`routeragent.clock`).
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import signal
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

from routeragent import keepalived_control as kc
from routeragent.apply import ApplyReport, apply_plan
from routeragent.bgp_policy import BgpPolicy, build_policy
from routeragent.clock import Clock
from routeragent.config_load import ConfigError, load_config
from routeragent.config_model import Config
from routeragent.decide import Desired, Memory, decide
from routeragent.effects import RealEffects
from routeragent.keepalived_render import render_keepalived
from routeragent.logs import emit
from routeragent.metrics import Metrics
from routeragent.observations import Observation
from routeragent.observe import Observer
from routeragent.plan import Plan, make_plan
from routeragent.retry import RetryGate
from routeragent.state_store import StateDir, memory_to_json
from routeragent.vtysh import Vtysh

RECENT_DECISIONS = 20
#: a transaction failing the same way again is logged at most this often (seconds)
REPEAT_LOG_INTERVAL = 10.0


@dataclass
class PassResult:
    obs: Observation
    desired: Desired
    policy: BgpPolicy
    plan: Plan
    report: ApplyReport | None
    memory: Memory


def _desired_values(config: Config, d: Desired) -> dict[str, Any]:
    out: dict[str, Any] = {f"priority {i.name}": d.priorities[i.name] for i in config.vrrp}
    a = d.announcement
    out["ingress"] = d.ingress if a.announce else "withdrawn"
    out["gateway"] = d.gateway
    out["drain"] = d.drain_phase
    return out


@dataclass
class Agent:
    config_path: Path
    config: Config
    logger: logging.Logger
    metrics: Metrics | None = None
    apply_changes: bool = True
    memory: Memory = field(default_factory=Memory)
    decisions: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=RECENT_DECISIONS))
    last_desired: Desired | None = None
    last_apply: dict[str, Any] | None = None
    _fifo: kc.NotifyFifo | None = None
    _fifo_hints: dict[str, tuple[str, int]] = field(default_factory=dict)
    _wake_r: int = -1
    _wake_w: int = -1
    _stop: bool = False
    _reload: bool = False
    _saved_memory: dict[str, Any] | None = None
    _frr_error: str | None = None
    clock: Clock = field(default_factory=Clock)
    gate: RetryGate = field(default_factory=RetryGate)
    _keepalived_running: bool | None = None
    _state_error: str | None = None
    _blocked: tuple[str, ...] = ()
    #: transaction -> (error, monotonic time) of the last apply-failed logged
    _failure_logged: dict[str, tuple[str, float]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._build()

    def _build(self) -> None:
        """Everything derived from the config (again after a reload)."""
        self.state = StateDir(self.config.agent.state_dir)
        self.vtysh = Vtysh(self.config.frr)
        self.observer = Observer(self.config, self.vtysh, self.clock)
        self.effects = RealEffects(self.config, self.vtysh, self.observer)
        self.rendered = render_keepalived(self.config, str(self.config_path))

    # ---- memory

    def restore_memory(self) -> None:
        mem = self.state.load_memory()
        if mem is not None:
            self.memory = mem
            self._saved_memory = memory_to_json(mem)
            emit(
                self.logger,
                "memory-restored",
                drain_phase=mem.drain_phase,
                gateway_ok=mem.gateway_ok,
            )
        else:
            emit(self.logger, "memory-fresh", reason="no saved state: checks start down")

    def _save_memory(self) -> None:
        data = memory_to_json(self.memory, self.state.boot)
        comparable = {k: v for k, v in data.items() if k != "last_rx"}
        saved = {k: v for k, v in (self._saved_memory or {}).items() if k != "last_rx"}
        if comparable != saved:
            self.state.save_memory(self.memory)
            self._saved_memory = data

    # ---- one pass

    def _drain_fifo(self) -> None:
        if self._fifo is None:
            return
        for ev in self._fifo.read_events():
            self._fifo_hints[ev.name] = (ev.state, ev.priority)
            emit(
                self.logger,
                "keepalived-notify",
                instance=ev.name,
                state=ev.state,
                priority=ev.priority,
            )

    def run_pass(self) -> PassResult:
        t0 = self.clock.mono()
        self._drain_fifo()
        obs = self.observer.observe(self.state.intent(), dict(self._fifo_hints))
        desired, memory = decide(self.config, obs, self.memory)
        policy = build_policy(self.config, desired.announcement)
        plan = make_plan(self.config, obs, desired, policy, self.rendered)
        if self.apply_changes:
            plan = self.gate.filter(plan, obs.now)
        self._log_pass(obs, desired, memory, plan)
        report = None
        if self.apply_changes and not plan.empty:
            report = apply_plan(self.effects, plan, policy)
            self.gate.record(plan, report, self.clock.mono())
            self._log_apply(report)
            if self.metrics:
                self.metrics.count_apply(report)
        self.memory = memory
        self.last_desired = desired
        if self.apply_changes:
            self._persist(obs, desired, plan)
        if self.metrics:
            self.metrics.observe_pass(obs, desired, self.clock.mono() - t0)
            self.metrics.observe_faults(
                obs.keepalived.running, set(self.gate.failed), self._state_error is not None
            )
        return PassResult(obs, desired, policy, plan, report, memory)

    def _persist(self, obs: Observation, desired: Desired, plan: Plan) -> None:
        """Save memory and status. A state directory that cannot be written (disk full,
        read-only) must not stop the loop: the previous files stay intact (atomic writes),
        the failure is logged once and counted, and every pass tries again."""
        previous = self._state_error
        try:
            self._save_memory()
            self._state_error = None  # what the status about to be written says
            self.state.save_status(self.status(obs, desired, plan))
        except OSError as e:
            error = f"{type(e).__name__}: {e}"
            if error != previous:
                emit(
                    self.logger,
                    "state-write-failed",
                    logging.ERROR,
                    path=str(self.state.path),
                    error=error,
                    action="the previous memory and status files stay; retrying every pass",
                )
            self._state_error = error
            if self.metrics:
                self.metrics.state_write_errors.inc()
            return
        if previous is not None:
            emit(self.logger, "state-write-ok", path=str(self.state.path))

    def _log_pass(self, obs: Observation, desired: Desired, memory: Memory, plan: Plan) -> None:
        running = obs.keepalived.running
        if running != self._keepalived_running:
            if not running:
                emit(
                    self.logger,
                    "keepalived-not-running",
                    logging.WARNING,
                    pid_file=str(self.config.keepalived.pid_file),
                    note="track files and config are still written; keepalived reads them "
                    "when it starts",
                )
            elif self._keepalived_running is not None:
                emit(self.logger, "keepalived-running", pid=obs.keepalived.pid)
            self._keepalived_running = running
        if obs.frr_error != self._frr_error:
            if obs.frr_error:
                emit(self.logger, "frr-unobservable", logging.WARNING, error=obs.frr_error)
            else:
                emit(self.logger, "frr-observable-again")
            self._frr_error = obs.frr_error
        for name, m in memory.checks.items():
            old = self.memory.checks.get(name)
            if old is None or old.up != m.up:
                st = next(c for c in desired.checks if c.name == name)
                emit(self.logger, "check", check=name, up=m.up, detail=st.detail)
        new = _desired_values(self.config, desired)
        old_vals = _desired_values(self.config, self.last_desired) if self.last_desired else {}
        for subject, value in new.items():
            if old_vals.get(subject) != value:
                key = "drain" if subject == "drain" else subject
                reason = desired.reasons.get(key, "")
                rec = {
                    "subject": subject,
                    "from": old_vals.get(subject),
                    "to": value,
                    "reason": reason,
                }
                rec["ts"] = round(obs.wall if obs.wall is not None else time.time(), 3)
                self.decisions.append(rec)
                emit(self.logger, "decision", **{k: v for k, v in rec.items() if k != "ts"})
                if self.metrics:
                    self.metrics.decisions.labels(subject).inc()
        drain_reason = desired.reasons.get("drain")
        previous = self.last_desired.reasons.get("drain") if self.last_desired else None
        if desired.drain_phase != "none" and drain_reason != previous:
            emit(self.logger, "drain", phase=desired.drain_phase, reason=drain_reason)
        for line in plan.describe():
            if not line.startswith("blocked: "):
                emit(self.logger, "plan", action=line)
        # blocked lines repeat every pass while the cause lasts: log them when they change
        if plan.blocked != self._blocked:
            for line in dict.fromkeys(plan.blocked):
                if line not in self._blocked:
                    emit(self.logger, "blocked", logging.WARNING, action=f"blocked: {line}")
            if not plan.blocked:
                emit(self.logger, "unblocked")
            self._blocked = plan.blocked

    def _log_apply(self, report: ApplyReport) -> None:
        self.last_apply = {"ts": round(self.clock.wall(), 3), "ok": report.ok, "transactions": []}
        for tx in report.transactions:
            if not tx.applied and tx.ok:
                continue
            entry: dict[str, Any] = {
                "transaction": tx.name,
                "ok": tx.ok,
                "applied": tx.applied,
                "error": tx.error,
                "rolled_back": tx.rolled_back,
                "rollback_error": tx.rollback_error,
            }
            self.last_apply["transactions"].append(entry)
            if tx.ok:
                if self._failure_logged.pop(tx.name, None) is not None:
                    emit(self.logger, "apply-recovered", transaction=tx.name)
                emit(self.logger, "applied", **entry)
                continue
            now = self.clock.mono()
            seen = self._failure_logged.get(tx.name)
            if seen is not None and seen[0] == tx.error and now - seen[1] < REPEAT_LOG_INTERVAL:
                continue  # the same failure again: counted in the metrics, not re-logged
            self._failure_logged[tx.name] = (tx.error or "", now)
            emit(self.logger, "apply-failed", logging.ERROR, **entry)

    # ---- status

    def status(self, obs: Observation, desired: Desired, plan: Plan) -> dict[str, Any]:
        cfg = self.config
        sessions = []
        for up in cfg.upstreams:
            nb = obs.frr.neighbors.get(str(up.neighbor)) if obs.frr else None
            sessions.append(
                {
                    "name": up.name,
                    "neighbor": str(up.neighbor),
                    "state": nb.state
                    if nb
                    else ("unknown" if obs.frr is None else "not configured"),
                    "prefixes_received": nb.prefixes_received if nb else None,
                    "prefixes_sent": nb.prefixes_sent if nb else None,
                    "route_map_in": nb.route_map_in if nb else None,
                    "route_map_out": nb.route_map_out if nb else None,
                }
            )
        vrrp = []
        for inst in cfg.vrrp:
            v = obs.vrrp[inst.name]
            vrrp.append(
                {
                    "instance": inst.name,
                    "interface": inst.interface,
                    "vrid": inst.vrid,
                    "holds": v.holds,
                    "partial": v.partial,
                    "priority": desired.priorities[inst.name],
                    "healthy_priority": cfg.healthy_priority(inst),
                    "track_value": v.track_value,
                    "notify": v.fifo_state,
                }
            )
        return {
            "router": cfg.agent.router,
            "pid": os.getpid(),
            "config": str(self.config_path),
            "updated": round(obs.wall if obs.wall is not None else self.clock.wall(), 3),
            "updated_monotonic": round(obs.now, 3),
            # staleness counts from the write: a slow pass is not a stale agent
            "written_monotonic": round(self.clock.mono(), 3),
            "boot_id": self.state.boot,
            "interval": cfg.agent.interval,
            "frr_error": obs.frr_error,
            "keepalived_running": obs.keepalived.running,
            "state_error": self._state_error,
            "backoff": {
                tx: {"failures": f.failures, "error": f.error} for tx, f in self.gate.failed.items()
            },
            "intent": obs.intent,
            "gateway": desired.gateway,
            "ingress": desired.ingress,
            "egress_role": cfg.policy.egress_role,
            "drain_phase": desired.drain_phase,
            "reasons": dict(desired.reasons),
            "checks": [
                {
                    "name": c.name,
                    "up": c.up,
                    "ok_now": c.ok_now,
                    "affects": c.affects,
                    "detail": c.detail,
                }
                for c in desired.checks
            ],
            "sessions": sessions,
            "vrrp": vrrp,
            "pending": plan.describe(),
            "last_apply": self.last_apply,
            "decisions": list(self.decisions),
        }

    # ---- the loop

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        if signum == signal.SIGHUP:
            self._reload = True
        else:
            self._stop = True
        if self._wake_w >= 0:
            with contextlib.suppress(OSError):
                os.write(self._wake_w, b"x")

    def reload_config(self) -> None:
        try:
            new = load_config(self.config_path)
        except ConfigError as e:
            emit(
                self.logger,
                "config-rejected",
                logging.ERROR,
                problems=[str(i) for i in e.issues],
                action="keeping the running config",
            )
            if self.metrics:
                self.metrics.config_reloads.labels("rejected").inc()
            return
        if new.agent.state_dir != self.config.agent.state_dir:
            emit(
                self.logger,
                "config-rejected",
                logging.ERROR,
                problems=["agent.state_dir cannot change at runtime"],
            )
            return
        fifo_changed = new.keepalived.notify_fifo != self.config.keepalived.notify_fifo
        self.config = new
        self._build()
        if fifo_changed:
            if self._fifo is not None:
                self._fifo.close()
                self._fifo = None
            self._fifo_hints.clear()
            self._open_fifo()
        emit(self.logger, "config-reloaded", config=str(self.config_path))
        if self.metrics:
            self.metrics.config_reloads.labels("ok").inc()

    def _open_fifo(self) -> None:
        path = self.config.keepalived.notify_fifo
        if path is None:
            return
        fifo = kc.NotifyFifo(path)
        try:
            fifo.open()
        except (OSError, kc.KeepalivedError) as e:
            emit(self.logger, "fifo-unavailable", logging.WARNING, path=str(path), error=str(e))
            return
        self._fifo = fifo

    def prepare(self) -> None:
        self.state.ensure()
        self.restore_memory()
        self._open_fifo()

    def run(self, once: bool = False, install_signals: bool = True) -> int:
        self.prepare()
        if once:
            result = self.run_pass()
            return 0 if result.report is None or result.report.ok else 1
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_w, False)
        if install_signals and threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
                signal.signal(sig, self._on_signal)
        emit(self.logger, "started", pid=os.getpid(), interval=self.config.agent.interval)
        try:
            while not self._stop:
                if self._reload:
                    self._reload = False
                    self.reload_config()
                started = time.monotonic()
                try:
                    self.run_pass()
                except Exception:
                    self.logger.exception("pass-failed")
                    if self.metrics:
                        self.metrics.pass_errors.inc()
                self._sleep(self.config.agent.interval - (time.monotonic() - started))
        finally:
            emit(self.logger, "stopped", note="keepalived and FRR keep the last applied state")
            os.close(self._wake_r)
            os.close(self._wake_w)
            if self._fifo:
                self._fifo.close()
        return 0

    def _sleep(self, seconds: float) -> None:
        """Sleep until the next pass, waking early on a signal or a keepalived notification."""
        fds = [self._wake_r] + ([self._fifo.fileno()] if self._fifo else [])
        deadline = time.monotonic() + max(0.0, seconds)
        while not self._stop and not self._reload:
            left = deadline - time.monotonic()
            if left <= 0:
                return
            ready, _, _ = select.select(fds, [], [], left)
            if self._wake_r in ready:
                os.read(self._wake_r, 64)
            if self._fifo is not None and self._fifo.fileno() in ready:
                return
