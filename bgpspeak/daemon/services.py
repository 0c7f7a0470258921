"""One asyncio task per service: run the check every interval, feed :class:`Health`, and put
the service's healthy or failed routes in the route table when the verdict changes."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from .checks import run_check
from .config_model import ServiceConfig
from .health import Health, HealthView
from .route_table import Op, RouteTable
from .service_routes import service_routes

log = logging.getLogger("bgpspeak.daemon.services")


class ServiceRunner:
    def __init__(
        self,
        config: ServiceConfig,
        table: RouteTable,
        apply: Callable[[list[Op]], None],
        local_as: int,
    ) -> None:
        self.config = config
        self.source = f"service:{config.name}"
        self.health = Health(config.rise, config.fall, config.damping)
        self._table = table
        self._apply = apply
        self._local_as = local_as
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._stopping = False

    def start(self) -> None:
        self._publish()  # the failed form (nothing, or degraded routes) until rise passes
        self._task = asyncio.get_running_loop().create_task(self._loop(), name=self.source)

    async def stop(self) -> None:
        # the flag as well as cancel(): Python 3.11's wait_for can swallow a cancellation that
        # arrives as the awaited check finishes, and the loop must end all the same
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self._apply(self._table.drop_source(self.source))

    def force(self, state: str | None) -> None:
        if self.health.force(state):
            log.info("service %s forced %s", self.config.name, state or "auto")
            self._publish()
        self._wake.set()

    def view(self) -> HealthView:
        return self.health.view(asyncio.get_running_loop().time())

    def _publish(self) -> None:
        healthy = self.health.announce_healthy
        routes = service_routes(self.config, healthy, self._local_as)
        self._apply(self._table.replace(self.source, routes))

    async def _loop(self) -> None:
        loop = asyncio.get_running_loop()
        c = self.config
        while not self._stopping:
            ok, detail = await run_check(c.check, c.timeout)
            if self._stopping:
                return
            now = loop.time()
            before = self.health.view(now)
            if self.health.observe(ok, now, detail) or self.health.tick(now):
                after = self.health.view(now)
                log.warning(
                    "service %s: %s -> %s (%s%s)",
                    c.name,
                    "healthy" if before.announced_healthy else "failed",
                    "healthy" if after.announced_healthy else "failed",
                    detail,
                    ", suppressed by flap damping" if after.suppressed else "",
                )
                self._publish()
            wait = c.interval
            reuse = self.health.reuse_in(now)
            if reuse is not None:
                wait = min(wait, max(0.1, reuse))
            if self._stopping:
                return
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), wait)
