"""The desired state: a pure function of (config, observation, memory).

No I/O, no clock (``obs.now`` is the time), no randomness: the same inputs give the same
answer, which is what lets tests walk every failure, recovery and drain path without a daemon,
and lets ``routeragent plan`` show exactly what ``run`` would do.

Gateway (egress): every VRRP instance gets

- the drained priority while a drain holds the gateway away (see :mod:`drain_phases`);
- the demoted priority while a gateway check is down (after its ``fall``), and after recovery
  until all gateway checks have been up (after their ``rise``) for ``takeback_delay`` seconds.
  The delay doubles with every further demotion inside ``flap_window`` (capped at
  ``max_takeback_delay``): a router whose upstream flaps stops grabbing the gateway back;
- the healthy priority of its egress role otherwise.

Ingress: our prefixes go upstream with the attributes of the configured ingress mode; while an
ingress check is down, depreferred or withdrawn (``ingress_on_failure``); during a drain the
drain attributes (GRACEFUL_SHUTDOWN, MED, prepends), then nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from routeragent.bgp_policy import Announcement
from routeragent.check_results import evaluate
from routeragent.config_model import Check, Config
from routeragent.drain_phases import GATEWAY_RELEASED, DrainPhase, step_phase
from routeragent.hysteresis import CheckMemory, step
from routeragent.observations import Observation


@dataclass(frozen=True)
class Memory:
    """What a decision needs to remember from earlier passes (persisted across agent restarts,
    so a restarted agent continues where it stopped instead of re-proving health)."""

    checks: Mapping[str, CheckMemory] = field(default_factory=dict)
    gateway_ok: bool = False
    ready_since: float | None = None
    demotions: tuple[float, ...] = ()
    drain_phase: DrainPhase = "none"
    phase_since: float = 0.0
    quiet_since: float | None = None
    last_rx: tuple[float, Mapping[str, int]] | None = None


@dataclass(frozen=True)
class CheckStatus:
    name: str
    up: bool
    ok_now: bool
    detail: str
    affects: str
    streak: int


@dataclass(frozen=True)
class Desired:
    priorities: Mapping[str, int]
    announcement: Announcement
    #: short labels for status, metrics and logs
    gateway: str
    ingress: str
    drain_phase: DrainPhase
    checks: tuple[CheckStatus, ...]
    #: subject ("gateway", "ingress", "drain", "priority lan") -> why
    reasons: Mapping[str, str]


def _takeback_delay(config: Config, demotions: tuple[float, ...]) -> float:
    p = config.policy
    n = len(demotions)
    factor = float(2 ** max(0, n - 1))
    return min(p.max_takeback_delay, p.takeback_delay * factor)


def _down_text(statuses: list[CheckStatus]) -> str:
    return "; ".join(f"{s.name} down ({s.detail})" for s in statuses)


def _checks(
    config: Config, obs: Observation, mem: Memory
) -> tuple[dict[str, CheckMemory], list[CheckStatus]]:
    new: dict[str, CheckMemory] = {}
    statuses: list[CheckStatus] = []
    for check in config.checks:
        result = evaluate(check, obs)
        prev = mem.checks.get(check.name)
        if prev is None and mem.checks:
            # a check added by a config reload starts where its first result says: adding a
            # passing check must not demote a healthy router for `rise` passes
            prev = CheckMemory(up=result.ok, streak=0, since=obs.now)
        m = step(prev or CheckMemory(), result.ok, check.rise, check.fall, obs.now)
        new[check.name] = m
        statuses.append(
            CheckStatus(check.name, m.up, result.ok, result.detail, check.affects, m.streak)
        )
    return new, statuses


def _by_name(config: Config) -> dict[str, Check]:
    return {c.name: c for c in config.checks}


def decide(config: Config, obs: Observation, mem: Memory) -> tuple[Desired, Memory]:
    reasons: dict[str, str] = {}
    check_mem, statuses = _checks(config, obs, mem)
    checks = _by_name(config)

    # ---- gateway health, with take-back delay and flap damping
    gate_down = [s for s in statuses if checks[s.name].gates_gateway and not s.up]
    recent = tuple(t for t in mem.demotions if obs.now - t <= config.policy.flap_window)
    gateway_ok, ready_since, demotions = mem.gateway_ok, mem.ready_since, recent
    if gate_down:
        if gateway_ok:
            demotions = (*recent, obs.now)
        gateway_ok, ready_since = False, None
        gateway = "demoted"
        reasons["gateway"] = _down_text(gate_down)
    elif gateway_ok:
        gateway = "eligible"
        reasons["gateway"] = "all gateway checks up"
    else:
        ready_since = ready_since if ready_since is not None else obs.now
        delay = _takeback_delay(config, recent)
        waited = obs.now - ready_since
        if waited >= delay:
            gateway_ok = True
            gateway = "eligible"
            reasons["gateway"] = (
                f"all gateway checks up for {waited:.1f} s (take-back delay {delay:g} s)"
            )
        else:
            gateway = "holding"
            reasons["gateway"] = (
                f"all gateway checks up; taking the gateway back in {delay - waited:.1f} s "
                f"(take-back delay {delay:g} s after {len(recent)} recent demotion(s))"
            )

    # ---- ingress when not draining
    ingress_down = [s for s in statuses if checks[s.name].gates_ingress and not s.up]
    mode = config.policy.ingress_mode
    if ingress_down and config.policy.ingress_on_failure == "withdraw":
        normal = Announcement(False, config.policy.ingress.for_mode(mode))
        normal_label, normal_reason = "withdrawn", "withdrawn: " + _down_text(ingress_down)
    elif ingress_down:
        normal = Announcement(True, config.policy.ingress.depref)
        normal_label, normal_reason = "depref", "depreferred: " + _down_text(ingress_down)
    else:
        normal = Announcement(True, config.policy.ingress.for_mode(mode))
        normal_label, normal_reason = mode, f"configured ingress mode {mode}"
    drained_ann = Announcement(True, config.policy.ingress.drain)

    # ---- priorities
    healthy = {
        i.name: (config.healthy_priority(i) if gateway_ok else config.demoted_priority(i))
        for i in config.vrrp
    }
    released = {i.name: config.policy.drained_priority for i in config.vrrp}

    # ---- drain phases
    ps = step_phase(
        config,
        obs,
        mem.drain_phase,
        mem.quiet_since,
        mem.last_rx,
        drained_ann,
        normal,
        released,
        healthy,
    )
    phase = ps.phase
    reasons["drain"] = ps.reason
    if phase in GATEWAY_RELEASED:
        priorities = released
        gateway = "drained"
        reasons["gateway"] = f"drain phase {phase}: gateway released"
    else:
        priorities = healthy
    for inst in config.vrrp:
        reasons[f"priority {inst.name}"] = reasons["gateway"]

    if phase == "ingress-shifting" or (phase == "drained" and not config.drain.withdraw):
        announcement, ingress = drained_ann, "drain"
        reasons["ingress"] = f"drain phase {phase}: graceful shutdown attributes"
    elif phase in ("withdrawing", "drained"):
        announcement = Announcement(False, config.policy.ingress.drain)
        ingress = "withdrawn"
        reasons["ingress"] = f"drain phase {phase}: prefixes withdrawn"
    else:
        announcement, ingress = normal, normal_label
        reasons["ingress"] = normal_reason

    rx_names = config.drain.quiet_interfaces
    last_rx = (obs.now, {n: obs.rx_packets[n] for n in rx_names if n in obs.rx_packets})
    new_mem = Memory(
        checks=check_mem,
        gateway_ok=gateway_ok,
        ready_since=ready_since,
        demotions=demotions,
        drain_phase=phase,
        phase_since=mem.phase_since if phase == mem.drain_phase else obs.now,
        quiet_since=ps.quiet_since,
        last_rx=last_rx if rx_names else None,
    )
    desired = Desired(
        priorities=priorities,
        announcement=announcement,
        gateway=gateway,
        ingress=ingress,
        drain_phase=phase,
        checks=tuple(statuses),
        reasons=reasons,
    )
    return desired, new_mem
