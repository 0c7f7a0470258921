"""Routes from several sources, layered, and the speaker calls that keep neighbors in step.

Static routes, health-checked services, helper processes and control-socket commands may all
announce the same prefix. Each source keeps its own set; for every prefix the route of the
highest-ranked source is the one announced (``api`` over ``process`` over ``service`` over
``static``), so withdrawing an operator's override brings the configured route back instead
of leaving a hole. A route may be global (every neighbor, including neighbors added later) or
scoped to one neighbor; a neighbor's own route beats the global one.

Pure: :meth:`RouteTable.update` returns :class:`Announce` / :class:`Withdraw` operations in
the terms of :meth:`Speaker.announce` / :meth:`Speaker.withdraw`; the daemon applies them.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass

from ..routes import Route
from ..wire.family import Family
from ..wire.prefix import Prefix

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Key = tuple[Family, Prefix]
Scope = IPAddress | None  # None: every neighbor

SOURCE_RANK = {"api": 0, "process": 1, "service": 2, "static": 3}


def route_key(route: Route) -> Key:
    return (route.family, route.prefix)


def prefix_key(prefix: Prefix) -> Key:
    return (Family(prefix.afi, 1), prefix)


def source_rank(source: str) -> tuple[int, str]:
    """Sources are ``kind`` or ``kind:name`` (``service:dns``); lower ranks win."""
    kind = source.split(":", 1)[0]
    return (SOURCE_RANK.get(kind, len(SOURCE_RANK)), source)


@dataclass(frozen=True)
class Announce:
    routes: tuple[Route, ...]
    neighbors: tuple[IPAddress, ...] | None  # None: global (Speaker.announce without neighbors)


@dataclass(frozen=True)
class Withdraw:
    prefixes: tuple[Prefix, ...]
    neighbors: tuple[IPAddress, ...] | None


Op = Announce | Withdraw
Target = tuple[IPAddress, ...] | None


class _Ops:
    """Collects operations, merging consecutive ones of the same kind and target so a bulk
    change becomes a few speaker calls."""

    def __init__(self) -> None:
        self._items: list[tuple[bool, tuple[IPAddress, ...] | None, list[object]]] = []

    def _add(self, is_announce: bool, neighbors: Target, item: object) -> None:
        if self._items:
            kind, target, items = self._items[-1]
            if kind == is_announce and target == neighbors:
                items.append(item)
                return
        self._items.append((is_announce, neighbors, [item]))

    def announce(self, route: Route, neighbors: tuple[IPAddress, ...] | None) -> None:
        self._add(True, neighbors, route)

    def withdraw(self, prefix: Prefix, neighbors: tuple[IPAddress, ...] | None) -> None:
        self._add(False, neighbors, prefix)

    @property
    def ops(self) -> list[Op]:
        out: list[Op] = []
        for is_announce, neighbors, items in self._items:
            if is_announce:
                out.append(Announce(tuple(i for i in items if isinstance(i, Route)), neighbors))
            else:
                out.append(Withdraw(tuple(i for i in items if isinstance(i, Prefix)), neighbors))
        return out


class RouteTable:
    def __init__(self) -> None:
        # (scope, key) -> source -> route
        self._entries: dict[tuple[Scope, Key], dict[str, Route]] = {}
        # scope -> key -> (source, route): the winner, what neighbors see
        self._best: dict[Scope, dict[Key, tuple[str, Route]]] = {None: {}}
        # key -> neighbors with a scoped route for it
        self._scoped: dict[Key, set[IPAddress]] = {}
        # source -> scope -> keys, to drop or replace a source's whole set
        self._by_source: dict[str, dict[Scope, set[Key]]] = {}

    # --- queries ------------------------------------------------------------------------------

    def best(self, scope: Scope = None) -> dict[Key, tuple[str, Route]]:
        """The winning (source, route) per key of one scope (a copy)."""
        return dict(self._best.get(scope, {}))

    def scopes(self) -> list[Scope]:
        return list(self._best)

    def view(self, neighbor: IPAddress) -> dict[Key, Route]:
        """What ``neighbor`` should be sent: global routes overlaid with its own."""
        out = {k: r for k, (_, r) in self._best[None].items()}
        out.update({k: r for k, (_, r) in self._best.get(neighbor, {}).items()})
        return out

    def source_routes(self, source: str) -> dict[Scope, list[Route]]:
        out: dict[Scope, list[Route]] = {}
        for scope, keys in self._by_source.get(source, {}).items():
            out[scope] = [self._entries[(scope, k)][source] for k in keys]
        return out

    def scoped_ops(self, neighbor: IPAddress) -> list[Op]:
        """Operations that give a newly added neighbor its own routes (the speaker gives it
        the global ones)."""
        ops = _Ops()
        for _, (_, route) in self._best.get(neighbor, {}).items():
            ops.announce(route, (neighbor,))
        return ops.ops

    # --- changes ------------------------------------------------------------------------------

    def update(
        self,
        source: str,
        announce: Iterable[Route] = (),
        withdraw: Iterable[Prefix] = (),
        scope: Scope = None,
    ) -> list[Op]:
        """Add or replace ``announce`` and remove ``withdraw`` in ``source``'s set."""
        ops = _Ops()
        for prefix in withdraw:
            self._set(source, scope, prefix_key(prefix), None, ops)
        for route in announce:
            self._set(source, scope, route_key(route), route, ops)
        return ops.ops

    def replace(self, source: str, routes: Iterable[Route], scope: Scope = None) -> list[Op]:
        """Make ``source``'s set in ``scope`` exactly ``routes``."""
        new = {route_key(r): r for r in routes}
        ops = _Ops()
        old = set(self._by_source.get(source, {}).get(scope, set()))
        for key in old - set(new):
            self._set(source, scope, key, None, ops)
        for key, route in new.items():
            self._set(source, scope, key, route, ops)
        return ops.ops

    def drop_source(self, source: str) -> list[Op]:
        ops = _Ops()
        for scope, keys in list(self._by_source.get(source, {}).items()):
            for key in list(keys):
                self._set(source, scope, key, None, ops)
        self._by_source.pop(source, None)
        return ops.ops

    def drop_scope(self, neighbor: IPAddress) -> None:
        """Forget a removed neighbor's own routes (nothing to send: it is gone)."""
        for key in list(self._best.get(neighbor, {})):
            self._entries.pop((neighbor, key), None)
            peers = self._scoped.get(key)
            if peers is not None:
                peers.discard(neighbor)
                if not peers:
                    del self._scoped[key]
        self._best.pop(neighbor, None)
        for scopes in self._by_source.values():
            scopes.pop(neighbor, None)

    def _set(self, source: str, scope: Scope, key: Key, route: Route | None, ops: _Ops) -> None:
        slot = self._entries.get((scope, key))
        if route is None:
            if slot is None or source not in slot:
                return
            del slot[source]
            self._by_source[source][scope].discard(key)
            if not slot:
                del self._entries[(scope, key)]
        else:
            if slot is None:
                slot = self._entries[(scope, key)] = {}
            if slot.get(source) == route:
                return
            slot[source] = route
            self._by_source.setdefault(source, {}).setdefault(scope, set()).add(key)
        self._elect(scope, key, ops)

    def _elect(self, scope: Scope, key: Key, ops: _Ops) -> None:
        slot = self._entries.get((scope, key))
        table = self._best.setdefault(scope, {})
        old = table.get(key)
        new: tuple[str, Route] | None = None
        if slot:
            winner = min(slot, key=source_rank)
            new = (winner, slot[winner])
        if new == old:
            return
        if new is None:
            del table[key]
        else:
            table[key] = new
        old_route = old[1] if old else None
        new_route = new[1] if new else None
        if scope is None:
            if old_route != new_route:
                self._global_changed(key, new_route, ops)
            return
        peers = self._scoped.setdefault(key, set())
        if new is None:
            peers.discard(scope)
            if not peers:
                del self._scoped[key]
            if not table:
                del self._best[scope]
        else:
            peers.add(scope)
        if old_route == new_route:
            return
        # what this neighbor should see now: its own route, else the global one
        fallback = new_route or (self._best[None].get(key, ("", None))[1])
        if fallback is None:
            ops.withdraw(key[1], (scope,))
        else:
            ops.announce(fallback, (scope,))

    def _global_changed(self, key: Key, route: Route | None, ops: _Ops) -> None:
        if route is None:
            ops.withdraw(key[1], None)
        else:
            ops.announce(route, None)
        # the speaker applied that to every neighbor: neighbors with their own route get it back
        for peer in sorted(self._scoped.get(key, ()), key=str):
            ops.announce(self._best[peer][key][1], (peer,))
