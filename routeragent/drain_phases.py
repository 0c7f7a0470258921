"""Drain and undrain as make-before-break phases (pure).

Drain (operator intent ``drain``)::

    none -> gateway-moving    VRRP priority to the drained value; wait until the virtual
                              addresses are gone from our interfaces (another router took over)
         -> ingress-shifting  announce with the drain attributes (GRACEFUL_SHUTDOWN community,
                              MED, prepends); wait until FRR advertises them to every
                              Established upstream and the upstream interfaces' receive
                              counters stay below ``quiet_pps`` for ``quiet_seconds``
         -> withdrawing       (``drain.withdraw``) announce nothing; wait until FRR sends no
                              prefix to any upstream
         -> drained           ready for reboot

Undrain (intent back to ``normal``) from any of them::

         -> ingress-restoring announce normally again; wait until FRR advertises our prefixes
                              with the normal attributes
         -> gateway-restoring VRRP priority back to what health allows; wait until the track
                              files say so
         -> none

One phase per pass: a phase's effect is applied in the pass that enters it and confirmed from
the observation of a later pass, never assumed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from routeragent.bgp_policy import Announcement
from routeragent.config_model import Config
from routeragent.keepalived_render import track_offset
from routeragent.observations import Observation

DrainPhase = Literal[
    "none",
    "gateway-moving",
    "ingress-shifting",
    "withdrawing",
    "drained",
    "ingress-restoring",
    "gateway-restoring",
]
DRAIN_PHASES: tuple[DrainPhase, ...] = (
    "none",
    "gateway-moving",
    "ingress-shifting",
    "withdrawing",
    "drained",
    "ingress-restoring",
    "gateway-restoring",
)
#: phases in which the router must not be the gateway
GATEWAY_RELEASED: frozenset[DrainPhase] = frozenset(
    {"gateway-moving", "ingress-shifting", "withdrawing", "drained", "ingress-restoring"}
)
_DRAINING: frozenset[DrainPhase] = frozenset(
    {"gateway-moving", "ingress-shifting", "withdrawing", "drained"}
)


@dataclass(frozen=True)
class PhaseStep:
    phase: DrainPhase
    reason: str
    quiet_since: float | None


def own_prepends(as_path: str, asn: int) -> int:
    """Copies of our own AS in front of an advertised path. FRR's advertised-routes view shows
    the path after our outbound prepends but before eBGP puts our AS in front, so a route we
    originate shows ``""`` or ``"65010 65010"``, and one learned from a host (AS 65020) shows
    ``"65020"`` normally and ``"65010 65010 65010 65020"`` drained."""
    n = 0
    for token in as_path.split():
        if token != str(asn):
            break
        n += 1
    return n


def _upstream_advertises(config: Config, obs: Observation, ann: Announcement) -> str | None:
    """None when FRR advertises our prefixes with ``ann``'s attributes to every Established
    upstream (or nothing, if ``ann`` withdraws); else what is still missing."""
    if obs.frr is None:
        return f"FRR not observable: {obs.frr_error}"
    for up in config.upstreams:
        nb = obs.frr.neighbors.get(str(up.neighbor))
        if nb is None or not nb.established:
            continue
        sent = {a.prefix: a for a in obs.frr.advertised.get(str(up.neighbor), ())}
        if not ann.announce:
            if sent or nb.prefixes_sent:
                return (
                    f"still sending {max(len(sent), nb.prefixes_sent)} prefix(es) to {up.neighbor}"
                )
            continue
        want = [str(p) for p in config.prefixes if p.version == up.neighbor.version]
        for pfx in want:
            route = sent.get(pfx)
            if route is None:
                return f"{pfx} not yet advertised to {up.neighbor}"
            attrs = ann.attributes
            prepends = own_prepends(route.as_path, config.frr.asn)
            if route.med != attrs.med or prepends != attrs.prepend:
                return (
                    f"{pfx} to {up.neighbor} still MED {route.med} prepend {prepends} "
                    f"(want MED {attrs.med} prepend {attrs.prepend})"
                )
    return None


def _track_files_at(config: Config, obs: Observation, priorities: Mapping[str, int]) -> str | None:
    for inst in config.vrrp:
        want = track_offset(config, inst, priorities[inst.name])
        have = obs.vrrp[inst.name].track_value if inst.name in obs.vrrp else None
        if have != want:
            return f"track file of {inst.name} holds {have}, want {want}"
    return None


def _rx_rate(
    obs: Observation, last_rx: tuple[float, Mapping[str, int]] | None, ifaces: tuple[str, ...]
) -> dict[str, float] | None:
    if last_rx is None:
        return None
    t0, prev = last_rx
    dt = obs.now - t0
    if dt <= 0:
        return None
    rates = {}
    for name in ifaces:
        if name not in obs.rx_packets or name not in prev:
            return None
        rates[name] = max(0, obs.rx_packets[name] - prev[name]) / dt
    return rates


def step_phase(
    config: Config,
    obs: Observation,
    phase: DrainPhase,
    quiet_since: float | None,
    last_rx: tuple[float, Mapping[str, int]] | None,
    drained_ann: Announcement,
    normal_ann: Announcement,
    drained_priorities: Mapping[str, int],
    normal_priorities: Mapping[str, int],
) -> PhaseStep:
    if obs.intent == "drain":
        if phase not in _DRAINING:
            return PhaseStep("gateway-moving", "drain requested: moving the gateway away", None)
        if phase == "gateway-moving":
            waiting = _track_files_at(config, obs, drained_priorities)
            if waiting is None:
                held = [n for n, v in obs.vrrp.items() if v.holds or v.partial]
                if held:
                    waiting = "virtual addresses still here: " + ", ".join(sorted(held))
            if waiting is not None:
                return PhaseStep(phase, f"waiting: {waiting}", None)
            return PhaseStep("ingress-shifting", "gateway moved away; steering ingress away", None)
        if phase == "ingress-shifting":
            waiting = _upstream_advertises(config, obs, drained_ann)
            if waiting is not None:
                return PhaseStep(phase, f"waiting: {waiting}", None)
            ifaces = config.drain.quiet_interfaces
            if ifaces:
                rates = _rx_rate(obs, last_rx, ifaces)
                if rates is None:
                    return PhaseStep(phase, "waiting: measuring interface counters", None)
                loud = {n: r for n, r in rates.items() if r > config.drain.quiet_pps}
                if loud:
                    text = ", ".join(f"{n} {r:.0f} pps" for n, r in sorted(loud.items()))
                    return PhaseStep(phase, f"waiting: traffic still arriving ({text})", None)
                since = quiet_since if quiet_since is not None else obs.now
                if obs.now - since < config.drain.quiet_seconds:
                    return PhaseStep(
                        phase,
                        f"waiting: quiet for {obs.now - since:.1f} of "
                        f"{config.drain.quiet_seconds:g} s",
                        since,
                    )
            if config.drain.withdraw:
                return PhaseStep(
                    "withdrawing", "ingress moved away; withdrawing our prefixes", None
                )
            return PhaseStep("drained", "ingress moved away; drained, ready for reboot", None)
        if phase == "withdrawing":
            waiting = _upstream_advertises(config, obs, Announcement(False, drained_ann.attributes))
            if waiting is not None:
                return PhaseStep(phase, f"waiting: {waiting}", None)
            return PhaseStep("drained", "prefixes withdrawn; drained, ready for reboot", None)
        return PhaseStep("drained", "drained, ready for reboot", None)

    # intent normal
    if phase == "none":
        return PhaseStep("none", "not drained", None)
    if phase in _DRAINING:
        return PhaseStep("ingress-restoring", "undrain requested: announcing normally again", None)
    if phase == "ingress-restoring":
        waiting = _upstream_advertises(config, obs, normal_ann)
        if waiting is not None:
            return PhaseStep(phase, f"waiting: {waiting}", None)
        return PhaseStep("gateway-restoring", "ingress restored; restoring gateway priority", None)
    waiting = _track_files_at(config, obs, normal_priorities)
    if waiting is not None:
        return PhaseStep(phase, f"waiting: {waiting}", None)
    return PhaseStep("none", "undrained", None)
