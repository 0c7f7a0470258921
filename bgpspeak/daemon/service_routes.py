"""The routes a service announces in its healthy and its failed form.

Pure; :mod:`.services` decides which form applies.
"""

from __future__ import annotations

from dataclasses import replace

from ..routes import Route
from .config_model import ServiceConfig


def service_routes(service: ServiceConfig, healthy: bool, local_as: int) -> tuple[Route, ...]:
    """Healthy: the configured routes. Failed: nothing (``withdraw``), or the routes made less
    attractive (``degrade``): ``degraded_med`` replaces the MED and ``degraded_prepend`` puts
    that many extra copies of our AS in front of the path (we add one more ourselves toward
    external neighbors, as for every route)."""
    if healthy:
        return service.routes
    if service.on_failure == "withdraw":
        return ()
    out = []
    for r in service.routes:
        med = service.degraded_med if service.degraded_med is not None else r.med
        path = (local_as,) * service.degraded_prepend + r.as_path
        out.append(replace(r, med=med, as_path=path))
    return tuple(out)
