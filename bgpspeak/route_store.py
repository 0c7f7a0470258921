"""Compact storage for the routes a speaker announces.

A full table is a million routes that share a few hundred thousand attribute sets. Storing a
:class:`Route` object (and its :class:`Prefix` tuple) per prefix costs several hundred bytes
each; here a route is one entry ``prefix key -> template id`` in a per-family
:class:`KeyTable`, where the prefix key is a plain ``int`` (see :func:`prefix_key`) and the
template is the route without its prefix, interned once in :class:`Templates`. A KeyTable keeps
keys that arrive in order (a table dump, a generated table) in two arrays, 12 bytes a prefix;
only keys that arrive out of order cost a dict slot and an int (about 110 bytes at 1M).

A :class:`RouteStore` is what one or several neighbors should be sent. The speaker keeps one
for the routes given to every neighbor; a neighbor that gets routes of its own gets a copy
(copy-on-write), so a million routes toward many peers are stored once.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections.abc import Iterable, Iterator, Mapping
from itertools import chain, compress
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
        # the template is kept as its tuple of fields only (about 150 bytes, and a dict slot);
        # the Route object is made again when a session exports it. By id: a list, ids are
        # dense (None where collected)
        self._ids: dict[tuple[Any, ...], int] = {}
        self._keys: list[tuple[Any, ...] | None] = []
        self._young = 0  # ids from here on were made since the last collection
        self.created_since_collect = 0

    def __len__(self) -> int:
        return len(self._ids)

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
            tid = len(self._keys)
            self._ids[t] = tid
            self._keys.append(t)
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

    def fields(self, tid: int) -> tuple[Any, ...]:
        """A template as :meth:`intern` keeps it: (afi, next_hop, as_path, origin, med,
        local_pref, communities, large_communities, extended_communities, link_local, extra,
        path id). For exporting a full table without a Route object per attribute set."""
        t = self._keys[tid]
        if t is None:
            raise KeyError(tid)
        return t

    def route(self, tid: int, prefix: Prefix | None) -> Route:
        """The full route: the template with ``prefix`` put back."""
        t = self._keys[tid]
        if t is None:
            raise KeyError(tid)
        afi, nh, path, origin, med, lp, comm, large, ext, ll, extra, pid = t
        p = _EMPTY[afi] if prefix is None else prefix
        path_id = (prefix.path_id if prefix is not None else None) if pid is None else pid[0]
        return Route(p, nh, path, origin, med, lp, comm, large, ext, ll, path_id, extra)

    def collect(self, live: set[int]) -> None:
        """Forget the templates not in ``live``, except those made since the last collection:
        a caller of :meth:`Speaker.announce_keyed` interns its templates before the store
        holds them."""
        keys = self._keys
        for tid in range(self._young):
            t = keys[tid]
            if t is not None and tid not in live:
                del self._ids[t]
                keys[tid] = None
        self._young = len(keys)
        self.created_since_collect = 0


_DEAD = 0xFFFFFFFF  # a removed key's template id in KeyTable's arrays
_BIG = 1 << 64


class KeyTable:
    """``prefix key -> template id`` of one family, like a ``dict[int, int]`` but compact.

    Keys are kept in a sorted ``array('Q')`` with the template ids beside them in an
    ``array('I')``: 12 bytes a route instead of a dict slot and an int object (about 115 bytes
    at 1M). A key above every stored one (tables are mostly built in prefix order: dumps, range
    generators) is appended; replacing or removing a stored key changes its id in place
    (removed: a tombstone, dropped when they are half the arrays). Keys that arrive out of order,
    or do not fit 64 bits (IPv6, ADD-PATH), go to a dict beside the arrays. Iteration gives the
    array keys in order, then the dict's in insertion order.
    """

    __slots__ = ("_dead", "_hint", "_keys", "_over", "_tids")

    def __init__(self) -> None:
        self._keys = array("Q")
        self._tids = array("I")
        self._over: dict[int, int] = {}
        self._dead = 0
        self._hint = 0  # where the last lookup found its key: lookups in order are cheap

    def __len__(self) -> int:
        return len(self._keys) - self._dead + len(self._over)

    def _find(self, k: int) -> int:
        """Index of ``k`` in the arrays (dead or alive), or -1."""
        keys = self._keys
        i = self._hint + 1
        if i < len(keys) and keys[i] == k:
            self._hint = i
            return i
        if k >= _BIG:
            return -1
        i = bisect_left(keys, k)
        if i < len(keys) and keys[i] == k:
            self._hint = i
            return i
        return -1

    def get(self, k: int, default: int | None = None) -> int | None:
        over = self._over
        if over:
            v = over.get(k)
            if v is not None:
                return v
        keys = self._keys
        i = self._hint + 1  # (a pass over the table asks for the keys in order)
        if i < len(keys) and keys[i] == k:
            self._hint = i
        else:
            i = self._find(k)
            if i < 0:
                return default
        t = self._tids[i]
        return default if t == _DEAD else t

    def __getitem__(self, k: int) -> int:
        v = self.get(k)
        if v is None:
            raise KeyError(k)
        return v

    def __contains__(self, k: object) -> bool:
        return isinstance(k, int) and self.get(k) is not None

    def put(self, k: int, tid: int) -> bool:
        """Store; True when that changed the table."""
        over = self._over
        if over:
            v = over.get(k)
            if v is not None:
                if v == tid:
                    return False
                over[k] = tid
                return True
        keys = self._keys
        if (not keys or k > keys[-1]) and k < _BIG and tid < _DEAD:
            keys.append(k)
            self._tids.append(tid)
            return True
        i = self._find(k)
        if i < 0:
            over[k] = tid
            return True
        old = self._tids[i]
        if old == tid:
            return False
        if tid >= _DEAD:  # an id the array cannot hold (2**32 templates made): to the dict
            self._remove_at(i)
            over[k] = tid
            return True
        if old == _DEAD:
            self._dead -= 1
        self._tids[i] = tid
        return True

    def __setitem__(self, k: int, tid: int) -> None:
        self.put(k, tid)

    def pop(self, k: int, default: int | None = None) -> int | None:
        v = self._over.pop(k, None)
        if v is not None:
            return v
        i = self._find(k)
        if i < 0:
            return default
        old = self._tids[i]
        if old == _DEAD:
            return default
        self._remove_at(i)
        return old

    def _remove_at(self, i: int) -> None:
        self._tids[i] = _DEAD
        self._dead += 1
        if self._dead * 2 > len(self._keys):
            self._drop_dead()

    def _drop_dead(self) -> None:
        """Rebuild the arrays without tombstones (C loops: a few ms per 100,000 keys)."""
        alive = list(map(_DEAD.__ne__, self._tids))
        self._keys = array("Q", compress(self._keys, alive))
        self._tids = array("I", compress(self._tids, alive))
        self._dead = 0
        self._hint = 0

    def __iter__(self) -> Iterator[int]:
        base: Iterable[int] = self._keys
        if self._dead:
            base = compress(self._keys, map(_DEAD.__ne__, self._tids))
        return chain(base, list(self._over))

    def keys(self) -> Iterator[int]:
        return iter(self)

    def values(self) -> Iterator[int]:
        return chain(filter(_DEAD.__ne__, self._tids), list(self._over.values()))

    def items(self) -> Iterator[tuple[int, int]]:
        base = zip(self._keys, self._tids, strict=True)
        if self._dead:
            base = compress(base, map(_DEAD.__ne__, self._tids))  # type: ignore[assignment]
        return chain(base, list(self._over.items()))

    def snapshot(self) -> Iterator[int]:
        """The keys as they are now, without making them all at once (an array copy, 8 bytes
        a key, where ``list(table)`` costs about 40)."""
        base: Iterable[int] = array("Q", self._keys)
        if self._dead:
            base = compress(base, list(map(_DEAD.__ne__, self._tids)))
        return chain(base, list(self._over))

    def copy(self) -> KeyTable:
        new = KeyTable()
        new._keys = array("Q", self._keys)
        new._tids = array("I", self._tids)
        new._over = self._over.copy()
        new._dead = self._dead
        return new

    def bulk_size(self) -> tuple[int, int]:
        """(keys in the arrays, keys in the dict), for memory reports."""
        return len(self._keys) - self._dead, len(self._over)


class RouteStore:
    """Per family ``prefix key -> template id``, plus an index of the ADD-PATH paths of each
    prefix (for neighbors that take one path per prefix)."""

    def __init__(self, templates: Templates) -> None:
        self.templates = templates
        self.tables: dict[Family, KeyTable] = {}
        self.paths: dict[tuple[Family, int], set[int]] = {}

    def __len__(self) -> int:
        return sum(len(t) for t in self.tables.values())

    def copy(self) -> RouteStore:
        new = RouteStore(self.templates)
        new.tables = {f: t.copy() for f, t in self.tables.items()}
        new.paths = {k: set(v) for k, v in self.paths.items()}
        return new

    def table(self, family: Family) -> KeyTable:
        t = self.tables.get(family)
        if t is None:
            t = self.tables[family] = KeyTable()
        return t

    def get(self, family: Family, key: int) -> int | None:
        t = self.tables.get(family)
        return None if t is None else t.get(key)

    def put(self, family: Family, key: int, tid: int) -> bool:
        """Store a route; True when that changed the store."""
        if not self.table(family).put(key, tid):
            return False
        if key >> _PID_SHIFT:
            self.paths.setdefault((family, base_key(key)), set()).add(key)
        return True

    def put_many(self, keyed: list[tuple[Family, int, int]]) -> dict[Family, list[int]]:
        """:meth:`put` for many routes; returns the keys that changed, per family."""
        changed: dict[Family, list[int]] = {}
        put = None
        fam = None
        ch: list[int] = []
        for family, k, tid in keyed:
            if family is not fam:
                fam, put = family, self.table(family).put
                ch = changed.setdefault(family, [])
            if put(k, tid):  # type: ignore[misc]
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

    def snapshot(self, family: Family) -> Iterator[int]:
        """The keys of ``family`` as they are now (later changes do not show), made one at a
        time: a pass over a million routes holds 8 bytes a key, not a list of int objects."""
        t = self.tables.get(family)
        return iter(()) if t is None else t.snapshot()

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
