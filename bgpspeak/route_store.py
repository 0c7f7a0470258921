"""Compact storage for the routes a speaker announces.

A full table is a million routes that share a few thousand attribute sets. Storing a
:class:`Route` object (and its :class:`Prefix` tuple) per prefix costs several hundred bytes
each; here a route is one entry ``prefix key -> template id`` in a per-family ``dict``, where the
prefix key is a plain ``int`` (see :func:`prefix_key`) and the template is the route without its
prefix, interned once in :class:`Templates`. That is about 75 bytes per prefix (the key int and
the dict slot); the template is shared.

A :class:`RouteStore` is what one or several neighbors should be sent. The speaker keeps one
for the routes given to every neighbor; a neighbor that gets routes of its own gets a copy
(copy-on-write), so a million routes toward many peers are stored once.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from .routes import Route
from .wire.family import IPV4_UNICAST, IPV6_UNICAST, Family
from .wire.prefix import Prefix

# key layout: (path_id + 1) << 136 | address << 8 | length; path id 0 in the key means none
_PID_SHIFT = 136
_ADDR_MASK = (1 << 128) - 1
_EMPTY = {1: Prefix(1, 0, 0), 2: Prefix(2, 0, 0)}


def prefix_key(p: Prefix) -> int:
    """The int a prefix is stored under (its family is the table's)."""
    k = (p.addr << 8) | p.length
    if p.path_id is not None:
        k |= (p.path_id + 1) << _PID_SHIFT
    return k


def key_prefix(afi: int, k: int) -> Prefix:
    """The :class:`Prefix` back from :func:`prefix_key`."""
    pid = k >> _PID_SHIFT
    return Prefix(afi, (k >> 8) & _ADDR_MASK, k & 0xFF, pid - 1 if pid else None)


def base_key(k: int) -> int:
    """The key without its path id."""
    return k & ((1 << _PID_SHIFT) - 1)


def has_path_id(k: int) -> bool:
    return k >> _PID_SHIFT != 0


def family_of(p: Prefix) -> Family:
    return IPV4_UNICAST if p.afi == 1 else IPV6_UNICAST


class Templates:
    """Routes without their prefix, interned: every distinct set of route fields gets one small
    int id, shared by all its prefixes (:meth:`template` gives it back as a Route with prefix
    ``0/0``).

    Ids are never reused; :meth:`collect` drops templates no store refers to any more, so a
    program that keeps changing attributes does not grow without bound."""

    def __init__(self) -> None:
        # the template is kept as its tuple of fields only (about 250 bytes with the two dict
        # slots); the Route object is made again when a session exports it
        self._ids: dict[tuple[Any, ...], int] = {}
        self._keys: dict[int, tuple[Any, ...]] = {}
        self._next = 0
        self.created_since_collect = 0

    def __len__(self) -> int:
        return len(self._keys)

    def intern(self, r: Route) -> int:
        t = (
            r.prefix.afi,
            r.next_hop,
            r.as_path,
            r.origin,
            r.med,
            r.local_pref,
            r.communities,
            r.large_communities,
            r.extended_communities,
            r.link_local,
            r.extra,
            None if r.path_id == r.prefix.path_id else (r.path_id,),
        )
        tid = self._ids.get(t)
        if tid is None:
            tid = self._next
            self._next += 1
            self._ids[t] = tid
            self._keys[tid] = t
            self.created_since_collect += 1
        return tid

    def keyed(self, routes: Iterable[Route]) -> list[tuple[Family, int, int]]:
        """``(family, prefix key, template id)`` of each route (the hot loop of announcing)."""
        intern = self.intern
        out: list[tuple[Family, int, int]] = []
        append = out.append
        for r in routes:
            afi, addr, length, pid = r.prefix
            k = (addr << 8) | length
            if pid is not None:
                k |= (pid + 1) << _PID_SHIFT
            append((IPV4_UNICAST if afi == 1 else IPV6_UNICAST, k, intern(r)))
        return out

    def template(self, tid: int) -> Route:
        """The route of a template, with prefix ``0/0`` of its family."""
        return self.route(tid, None)

    def route(self, tid: int, prefix: Prefix | None) -> Route:
        """The full route: the template with ``prefix`` put back."""
        afi, nh, path, origin, med, lp, comm, large, ext, ll, extra, pid = self._keys[tid]
        p = _EMPTY[afi] if prefix is None else prefix
        path_id = (prefix.path_id if prefix is not None else None) if pid is None else pid[0]
        return Route(p, nh, path, origin, med, lp, comm, large, ext, ll, path_id, extra)

    def collect(self, live: set[int]) -> None:
        """Forget the templates not in ``live``."""
        for tid in [t for t in self._keys if t not in live]:
            del self._ids[self._keys.pop(tid)]
        self.created_since_collect = 0


class RouteStore:
    """Per family ``prefix key -> template id``, plus an index of the ADD-PATH paths of each
    prefix (for neighbors that take one path per prefix)."""

    def __init__(self, templates: Templates) -> None:
        self.templates = templates
        self.tables: dict[Family, dict[int, int]] = {}
        self.paths: dict[tuple[Family, int], set[int]] = {}

    def __len__(self) -> int:
        return sum(len(t) for t in self.tables.values())

    def copy(self) -> RouteStore:
        new = RouteStore(self.templates)
        new.tables = {f: t.copy() for f, t in self.tables.items()}
        new.paths = {k: set(v) for k, v in self.paths.items()}
        return new

    def table(self, family: Family) -> dict[int, int]:
        t = self.tables.get(family)
        if t is None:
            t = self.tables[family] = {}
        return t

    def get(self, family: Family, key: int) -> int | None:
        t = self.tables.get(family)
        return None if t is None else t.get(key)

    def put(self, family: Family, key: int, tid: int) -> bool:
        """Store a route; True when that changed the store."""
        t = self.table(family)
        if t.get(key) == tid:
            return False
        t[key] = tid
        if key >> _PID_SHIFT:
            self.paths.setdefault((family, base_key(key)), set()).add(key)
        return True

    def put_many(self, keyed: list[tuple[Family, int, int]]) -> dict[Family, list[int]]:
        """:meth:`put` for many routes; returns the keys that changed, per family."""
        changed: dict[Family, list[int]] = {}
        table: dict[int, int] = {}
        fam = None
        ch: list[int] = []
        for family, k, tid in keyed:
            if family is not fam:
                fam, table = family, self.table(family)
                ch = changed.setdefault(family, [])
            if table.get(k) != tid:
                table[k] = tid
                ch.append(k)
                if k >> _PID_SHIFT:
                    self.paths.setdefault((family, base_key(k)), set()).add(k)
        return changed

    def remove(self, family: Family, key: int) -> bool:
        t = self.tables.get(family)
        if t is None or t.pop(key, None) is None:
            return False
        if key >> _PID_SHIFT:
            b = (family, base_key(key))
            paths = self.paths.get(b)
            if paths is not None:
                paths.discard(key)
                if not paths:
                    del self.paths[b]
        return True

    def single_path(self, family: Family, base: int) -> int | None:
        """Toward a neighbor without ADD-PATH send, the one route of a prefix: the one given
        without a path id, else the lowest path id. Returns its template id."""
        t = self.tables.get(family)
        if t is None:
            return None
        tid = t.get(base)
        if tid is not None:
            return tid
        paths = self.paths.get((family, base))
        if not paths:
            return None
        return t[min(paths)]

    def template_ids(self) -> set[int]:
        out: set[int] = set()
        for t in self.tables.values():
            out.update(t.values())
        return out


class DesiredView(Mapping[tuple[Family, Prefix], Route]):
    """``(family, prefix) -> Route`` over a store, as programs and tests like to see it. Each
    access builds the Route again: meant for inspection, not for full tables in a loop."""

    def __init__(self, store: RouteStore) -> None:
        self._store = store

    def __len__(self) -> int:
        return len(self._store)

    def __iter__(self) -> Iterator[tuple[Family, Prefix]]:
        for family, t in list(self._store.tables.items()):
            for k in list(t):
                yield family, key_prefix(family.afi, k)

    def __getitem__(self, item: tuple[Family, Prefix]) -> Route:
        family, prefix = item
        tid = self._store.get(family, prefix_key(prefix))
        if tid is None:
            raise KeyError(item)
        return self._store.templates.route(tid, prefix)
