"""Carrying out parsed ExaBGP commands on the route table, one source per process.

Routes land in the :class:`RouteTable` under the process's source name. Watchdogs (ExaBGP's
way to switch a group of routes with one command) are kept here: a route announced with
``watchdog NAME`` is visible only while that watchdog is announced; ``withdraw`` on such an
announce starts the group withdrawn. Commands that are not about routes (refresh, teardown,
version...) come back as requests for the daemon.

Pure.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Collection
from dataclasses import dataclass

from ..routes import Route
from ..wire.family import Family
from .exabgp_text import (
    EorCommand,
    ExaCommand,
    ExaParseError,
    RefreshCommand,
    RouteCommand,
    SimpleCommand,
    TeardownCommand,
    WatchdogCommand,
)
from .route_table import IPAddress, Key, Op, RouteTable, Scope, route_key


@dataclass(frozen=True)
class Request:
    """Something only the daemon can do: ``refresh``, ``teardown``, or a ``SimpleCommand``
    name (``version``, ``shutdown``, ``show neighbor summary``...)."""

    kind: str
    neighbors: tuple[IPAddress, ...] | None = None
    family: Family | None = None
    code: int = 0


class ExaSource:
    def __init__(
        self, source: str, table: RouteTable, neighbors: Callable[[], Collection[IPAddress]]
    ) -> None:
        self.source = source
        self.table = table
        self._neighbors = neighbors
        self._routes: dict[tuple[Scope, Key], tuple[Route, str | None]] = {}
        self._watchdogs: dict[str, bool] = {}

    def _scopes(self, names: tuple[str, ...] | None) -> list[Scope]:
        if names is None:
            return [None]
        known = set(self._neighbors())
        out: list[Scope] = []
        for n in names:
            addr = ipaddress.ip_address(n)
            if addr not in known:
                raise ExaParseError(f"no neighbor {addr} is configured")
            out.append(addr)
        return out

    def _targets(self, names: tuple[str, ...] | None) -> tuple[IPAddress, ...] | None:
        scopes = self._scopes(names)
        return None if scopes == [None] else tuple(s for s in scopes if s is not None)

    def apply(self, cmd: ExaCommand) -> tuple[list[Op], list[Request]]:
        """Raises :class:`ExaParseError` for a command that cannot be carried out."""
        if isinstance(cmd, RouteCommand):
            return self._route(cmd), []
        if isinstance(cmd, WatchdogCommand):
            self._scopes(cmd.neighbors)  # checks the names
            return self._watchdog(cmd.name, cmd.action == "announce"), []
        if isinstance(cmd, RefreshCommand):
            return [], [Request("refresh", self._targets(cmd.neighbors), cmd.family)]
        if isinstance(cmd, TeardownCommand):
            return [], [Request("teardown", self._targets(cmd.neighbors), code=cmd.code)]
        if isinstance(cmd, EorCommand):
            self._scopes(cmd.neighbors)
            return [], []
        assert isinstance(cmd, SimpleCommand)
        return [], [Request(cmd.name)]

    def _route(self, cmd: RouteCommand) -> list[Op]:
        if cmd.start_withdrawn and cmd.watchdog is None:
            raise ExaParseError("'withdraw' on an announce needs a 'watchdog NAME'")
        ops: list[Op] = []
        for scope in self._scopes(cmd.neighbors):
            if cmd.action == "withdraw":
                gone = []
                for r in cmd.routes:
                    if self._routes.pop((scope, route_key(r)), None) is not None:
                        gone.append(r.prefix)
                ops += self.table.update(self.source, withdraw=gone, scope=scope)
                continue
            visible = []
            hidden = []
            if cmd.watchdog is not None and cmd.watchdog not in self._watchdogs:
                self._watchdogs[cmd.watchdog] = not cmd.start_withdrawn
            for r in cmd.routes:
                self._routes[(scope, route_key(r))] = (r, cmd.watchdog)
                if cmd.watchdog is None or self._watchdogs[cmd.watchdog]:
                    visible.append(r)
                else:
                    hidden.append(r.prefix)
            ops += self.table.update(self.source, announce=visible, withdraw=hidden, scope=scope)
        return ops

    def _watchdog(self, name: str, up: bool) -> list[Op]:
        self._watchdogs[name] = up
        by_scope: dict[Scope, list[Route]] = {}
        for (scope, _), (route, wd) in self._routes.items():
            if wd == name:
                by_scope.setdefault(scope, []).append(route)
        ops: list[Op] = []
        for scope, routes in by_scope.items():
            if up:
                ops += self.table.update(self.source, announce=routes, scope=scope)
            else:
                ops += self.table.update(
                    self.source, withdraw=[r.prefix for r in routes], scope=scope
                )
        return ops

    def clear(self) -> list[Op]:
        """The process is gone: its routes go with it."""
        self._routes.clear()
        self._watchdogs.clear()
        return self.table.drop_source(self.source)

    def forget_neighbor(self, neighbor: IPAddress) -> None:
        for key in [k for k in self._routes if k[0] == neighbor]:
            del self._routes[key]

    @property
    def route_count(self) -> int:
        return len(self._routes)
