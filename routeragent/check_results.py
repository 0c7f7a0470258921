"""This pass's raw result of every check (pure): BGP and route checks are read from the FRR
observation; the others were probed by :mod:`routeragent.probes` during observation."""

from __future__ import annotations

from routeragent.config_model import BgpProbe, Check, RouteProbe
from routeragent.observations import Observation, ProbeResult


def _bgp(probe: BgpProbe, obs: Observation) -> ProbeResult:
    if obs.frr is None:
        return ProbeResult(False, f"FRR not observable: {obs.frr_error}")
    good, bad = [], []
    for addr in probe.neighbors:
        nb = obs.frr.neighbors.get(str(addr))
        if nb is None:
            bad.append(f"{addr} unknown to bgpd")
        elif not nb.established:
            bad.append(f"{addr} {nb.state}")
        elif nb.prefixes_received < probe.min_prefixes:
            bad.append(f"{addr} {nb.prefixes_received} prefixes")
        else:
            good.append(str(addr))
    ok = len(good) >= probe.min_established
    detail = (
        f"{len(good)}/{len(probe.neighbors)} upstream sessions Established with >= "
        f"{probe.min_prefixes} prefixes (need {probe.min_established})"
    )
    if bad:
        detail += "; " + ", ".join(bad)
    return ProbeResult(ok, detail)


def _route(probe: RouteProbe, obs: Observation) -> ProbeResult:
    if obs.frr is None:
        return ProbeResult(False, f"FRR not observable: {obs.frr_error}")
    present = obs.frr.routes.get(str(probe.prefix), False)
    return ProbeResult(present, f"{probe.prefix} {'selected' if present else 'absent'} in zebra")


def evaluate(check: Check, obs: Observation) -> ProbeResult:
    if isinstance(check.probe, BgpProbe):
        return _bgp(check.probe, obs)
    if isinstance(check.probe, RouteProbe):
        return _route(check.probe, obs)
    result = obs.probes.get(check.name)
    if result is None:
        return ProbeResult(False, "not probed in this pass")
    return result
