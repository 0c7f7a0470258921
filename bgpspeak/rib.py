"""Adj-RIB-Out and Adj-RIB-In of one peer, and the packing of routes into UPDATE messages.

Sending side: the routes themselves live in a :class:`~bgpspeak.route_store.RouteStore` (shared
between peers). :class:`AdjRibOut` is one session's view of it: which prefixes changed since
they were sent (a set of int keys per family), the exported attributes of each route template
encoded once for this session, and the :class:`UpdatePacker` that turns prefixes into UPDATEs.
UPDATEs are produced on demand in bounded chunks (:meth:`AdjRibOut.produce`), so the peer
driver generates only as much as the TCP connection takes.

Receiving side: :class:`AdjRibIn` stores ``prefix key -> attributes`` per family, with
identical attribute tuples interned, so a received route costs one dict slot and one int.
"""

from __future__ import annotations

import ipaddress
import itertools
import struct
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, TypeAlias

from .route_store import (
    KeyTable,
    RouteStore,
    base_key,
    has_path_id,
    key_prefix,
    prefix_key,
)
from .routes import ExportContext, ExportError, Route, export_attributes
from .routes import _next_hops as next_hops_of
from .wire.attribute import PathAttribute
from .wire.family import IPV4_UNICAST, Context, Family
from .wire.message import MARKER, Message
from .wire.prefix import Prefix
from .wire.simple_messages import REFRESH_BORR, REFRESH_EORR, RouteRefresh
from .wire.update import Update

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
RouteKey = tuple[tuple[PathAttribute, ...], tuple[IPAddress, ...]]

HEADER = 19
UPDATE_FIXED = 4  # withdrawn length + attribute length
_MP_HEAD = 4  # flags, type, extended (2-octet) length


# --- prefix encoding ----------------------------------------------------------------------------


def _encoder(afi: int, add_path: bool) -> Callable[[int], bytes]:
    """Key (see :func:`~bgpspeak.route_store.prefix_key`) -> NLRI bytes, one table lookup."""
    width = 32 if afi == 1 else 128
    steps = []
    for length in range(width + 1):
        nb = (length + 7) >> 3
        steps.append((8 + width - 8 * nb, (1 << (8 * nb)) - 1, length << (8 * nb), nb + 1))
    table = tuple(steps)

    if not add_path:

        def enc(k: int) -> bytes:
            sh, mask, top, n = table[k & 0xFF]
            return (((k >> sh) & mask) | top).to_bytes(n, "big")

        return enc

    def enc_ap(k: int) -> bytes:
        sh, mask, top, n = table[k & 0xFF]
        pid = k >> 136
        return ((pid - 1) if pid else 0).to_bytes(4, "big") + (((k >> sh) & mask) | top).to_bytes(
            n, "big"
        )

    return enc_ap


def _message(withdrawn: bytes, attributes: bytes, nlri: bytes) -> bytes:
    body_len = UPDATE_FIXED + len(withdrawn) + len(attributes) + len(nlri)
    return b"".join(
        (
            MARKER,
            (HEADER + body_len).to_bytes(2, "big"),
            b"\x02",
            len(withdrawn).to_bytes(2, "big"),
            withdrawn,
            len(attributes).to_bytes(2, "big"),
            attributes,
            nlri,
        )
    )


class Group:
    """One set of exported attributes: its encoded bytes and how many NLRI octets fit beside
    them in one UPDATE. Compared by identity (interned per session)."""

    __slots__ = ("attrs", "budget", "in_nlri_field", "nh_raw", "pieces", "used")

    def __init__(self, attrs: bytes, nh_raw: bytes, in_nlri_field: bool, budget: int) -> None:
        self.attrs = attrs
        self.nh_raw = nh_raw
        self.in_nlri_field = in_nlri_field
        self.budget = budget
        self.pieces: list[bytes] = []
        self.used = 0


#: a group as the grouped passes keep it: (attributes, next hops packed, next hop in the NEXT_HOP
#: attribute (not MP_REACH), NLRI octets per message). A tuple of bytes and ints: the garbage
#: collector stops tracking it, where a Group object per attribute set (177,000 at 1M) kept
#: every full collection of the transfer walking them
RunGroup = tuple[bytes, bytes, bool, int]


class UpdatePacker:
    """Packs prefixes of one family into UPDATEs, one open message per attribute set (and one
    for withdrawals); a message is closed when the next prefix would not fit the negotiated
    maximum size. MP_REACH_NLRI goes first in the attribute list (RFC 7606 section 5.1), so a
    receiver finds the NLRI even if a later attribute is malformed."""

    def __init__(self, family: Family, ctx: Context) -> None:
        self.family = family
        self.ctx = ctx
        self.max_len = ctx.max_message_length
        self.add_path = family in ctx.add_path
        self.encode = _encoder(family.afi, self.add_path)
        self._mp = family != IPV4_UNICAST
        self._fam = family.afi.to_bytes(2, "big") + bytes((family.safi,))
        budget = self.max_len - HEADER - UPDATE_FIXED - (_MP_HEAD + 3 if self._mp else 0)
        self._wd = Group(b"", b"", False, budget)
        self._open: dict[Group, None] = {}
        self._groups: dict[tuple[bytes, bytes], Group] = {}
        self.out: list[bytes] = []
        self.count = 0
        self.out_bytes = 0

    def group(self, attrs: tuple[PathAttribute, ...], next_hops: tuple[IPAddress, ...]) -> Group:
        """The (interned) group of an exported attribute set; ValueError if the attributes
        leave no room for NLRI."""
        encoded = b"".join(a.encode(self.ctx) for a in attrs)
        return self.group_encoded(encoded, b"".join(a.packed for a in next_hops))

    def group_encoded(self, encoded: bytes, nh_raw: bytes) -> Group:
        """:meth:`group` of attributes and next hops already encoded."""
        g = self._groups.get((encoded, nh_raw))
        if g is None:
            g = self._groups[(encoded, nh_raw)] = Group(*self.run_group(encoded, nh_raw))
        return g

    def run_group(self, encoded: bytes, nh_raw: bytes) -> RunGroup:
        """The :data:`RunGroup` of attributes and next hops encoded; ValueError if the
        attributes leave no room for NLRI."""
        in_nlri_field = self.family == IPV4_UNICAST and len(nh_raw) == 4
        budget = self.max_len - HEADER - UPDATE_FIXED - len(encoded)
        if not in_nlri_field:
            budget -= _MP_HEAD + 5 + len(nh_raw)  # AFI/SAFI, next hop length, reserved
        if budget < (21 if self.add_path else 17):
            raise ValueError(f"attributes of {len(encoded)} octets leave no room for NLRI")
        return encoded, nh_raw, in_nlri_field, budget

    def announce(self, g: Group, key: int) -> None:
        piece = self.encode(key)
        if g.used + len(piece) > g.budget:
            self._close(g)
        if not g.pieces:
            self._open[g] = None
        g.pieces.append(piece)
        g.used += len(piece)

    def announce_run(self, g: RunGroup, run: bytes | bytearray) -> None:
        """Encoded prefixes (``run``, whole NLRI entries back to back) under ``g``, in as few
        messages as fit, all closed: a complete group of prefixes (see :class:`AdjRibOut`)
        leaves nothing waiting."""
        attrs, nh_raw, in_field, budget = g
        n = len(run)
        if n > budget:
            hdr = 4 if self.add_path else 0  # path identifier before the length octet
            start = i = 0
            while i < n:
                step = hdr + 1 + ((run[i + hdr] + 7) >> 3)
                if i + step - start > budget:
                    self._emit(self._announcement(attrs, nh_raw, in_field, bytes(run[start:i])))
                    start = i
                i += step
            run = run[start:]
        self._emit(self._announcement(attrs, nh_raw, in_field, bytes(run)))

    def withdraw_run(self, run: bytes | bytearray) -> None:
        """Encoded prefixes (as for :meth:`announce_run`) to withdraw."""
        hdr = 4 if self.add_path else 0
        i, n, g = 0, len(run), self._wd
        while i < n:
            step = hdr + 1 + ((run[i + hdr] + 7) >> 3)
            piece = bytes(run[i : i + step])
            if g.used + step > g.budget:
                self._close(g)
            if not g.pieces:
                self._open[g] = None
            g.pieces.append(piece)
            g.used += step
            i += step

    def withdraw(self, key: int) -> None:
        self.announce(self._wd, key)

    def flush(self) -> None:
        """Close every open message (withdrawals first)."""
        if self._wd.pieces:
            self._close(self._wd)
        for g in list(self._open):
            self._close(g)

    def take(self) -> tuple[bytes, int]:
        data, n = b"".join(self.out), self.count
        self.out, self.count, self.out_bytes = [], 0, 0
        return data, n

    def _close(self, g: Group) -> None:
        nlri = b"".join(g.pieces)
        g.pieces = []
        g.used = 0
        self._open.pop(g, None)
        if not nlri:
            return
        if g is self._wd:
            if self._mp:
                attr = b"\x90\x0f" + (3 + len(nlri)).to_bytes(2, "big") + self._fam + nlri
                msg = _message(b"", attr, b"")
            else:
                msg = _message(nlri, b"", b"")
        else:
            msg = self._announcement(g.attrs, g.nh_raw, g.in_nlri_field, nlri)
        self._emit(msg)

    def _announcement(self, attrs: bytes, nh_raw: bytes, in_field: bool, nlri: bytes) -> bytes:
        if in_field:
            return _message(b"", attrs, nlri)
        value = self._fam + bytes((len(nh_raw),)) + nh_raw + b"\x00" + nlri
        mp = b"\x90\x0e" + len(value).to_bytes(2, "big") + value
        return _message(b"", mp + attrs, b"")

    def _emit(self, msg: bytes) -> None:
        self.out.append(msg)
        self.count += 1
        self.out_bytes += len(msg)


def pack_updates(
    family: Family,
    announce: Iterable[tuple[Prefix, RouteKey]],
    withdraw: Iterable[Prefix],
    ctx: Context,
) -> list[tuple[bytes, int]]:
    """Encode changes of one family into as few UPDATEs as the maximum message size allows:
    (encoded messages, number of UPDATEs) chunks, withdrawals first."""
    packer = UpdatePacker(family, ctx)
    for p in withdraw:
        packer.withdraw(prefix_key(p))
    packer.flush()
    groups: dict[RouteKey, Group] = {}
    for p, key in announce:
        g = groups.get(key)
        if g is None:
            g = groups[key] = packer.group(*key)
        packer.announce(g, prefix_key(p))
    packer.flush()
    return [packer.take()] if packer.count else []


# --- exported attributes, straight to bytes ----------------------------------------------------

_ORIGIN_VALUES = {"igp": 0, "egp": 1, "incomplete": 2}
_U32 = [struct.Struct(f"!{n}I") for n in range(256)]
_U16 = [struct.Struct(f"!{n}H") for n in range(256)]
_U64 = [struct.Struct(f"!{n}Q") for n in range(256)]
_chain = itertools.chain.from_iterable


def _attr(flags: int, code: int, value: bytes) -> bytes:
    n = len(value)
    if n > 255:
        return bytes((flags | 0x10, code)) + n.to_bytes(2, "big") + value
    return bytes((flags, code, n)) + value


def _sequence(asns: tuple[int, ...], wide: bool) -> bytes:
    """An AS_PATH value of AS_SEQUENCE segments (255 ASes at most each)."""
    structs = _U32 if wide else _U16
    n = len(asns)
    if n <= 255:
        return bytes((2, n)) + structs[n].pack(*asns) if n else b""
    out = []
    for i in range(0, len(asns), 255):
        chunk = asns[i : i + 255]
        out.append(bytes((2, len(chunk))))
        out.append(structs[len(chunk)].pack(*chunk))
    return b"".join(out)


NextHops = tuple[tuple[IPAddress, ...], bytes, bytes]  # next hops, packed, NEXT_HOP attribute


def fast_export(
    route: Route, export: ExportContext, hops: dict[tuple[Any, ...], NextHops] | None = None
) -> tuple[bytes, bytes] | None:
    """The encoded attributes of ``route`` toward one peer and its next hops (packed), as
    :func:`export_attributes` and ``encode`` would make them, without building the attribute
    objects: a full table exports one template per attribute set (177,000 at 1M prefixes), and
    the objects cost three times the CPU of the bytes. None for what it does not cover (extra
    attributes, AS4_PATH needed, values out of range): the caller takes the general path,
    which also reports errors. ``hops`` caches the next hops of each (family, next hop,
    link-local) for one peer."""
    fields = (
        route.prefix.afi,
        route.next_hop,
        route.as_path,
        route.origin,
        route.med,
        route.local_pref,
        route.communities,
        route.large_communities,
        route.extended_communities,
        route.link_local,
        route.extra,
        None,
    )
    return export_fields(fields, export, {} if hops is None else hops, lambda: route)


def export_fields(
    fields: tuple[Any, ...],
    export: ExportContext,
    hops: dict[tuple[Any, ...], NextHops],
    route: Callable[[], Route],
) -> tuple[bytes, bytes] | None:
    """:func:`fast_export` of a template's fields (:meth:`Templates.fields`): no Route object
    is made (at 1M prefixes they cost 13 % of the transfer's CPU), except ``route()`` for a
    next hop not in ``hops`` yet."""
    afi, nh, as_path, origin, med, local_pref, comm, large, ext, ll, extra, _ = fields
    if extra:
        return None
    path = as_path if export.ibgp else (export.local_as, *as_path)
    wide = export.asn4
    if not wide and path and max(path) > 0xFFFF:
        return None  # AS_TRANS and AS4_PATH: the general path
    hk = (afi, nh, ll)
    hit = hops.get(hk)
    if hit is None:
        next_hops = next_hops_of(route(), export)
        first = next_hops[0]
        in_field = afi == 1 and isinstance(first, ipaddress.IPv4Address)
        raw = b"".join(a.packed for a in next_hops)
        hit = hops[hk] = (next_hops, raw, b"\x40\x03\x04" + raw if in_field else b"")
    _, nh_raw, nh_attr = hit
    try:
        parts = [
            b"\x40\x01\x01" + bytes((_ORIGIN_VALUES[origin],)),
            _attr(0x40, 2, _sequence(path, wide)),
        ]
        if nh_attr:
            parts.append(nh_attr)
        if med is not None:
            parts.append(b"\x80\x04\x04" + med.to_bytes(4, "big"))
        if export.ibgp:
            lp = local_pref if local_pref is not None else 100
            parts.append(b"\x40\x05\x04" + lp.to_bytes(4, "big"))
        if comm:
            values = tuple(dict.fromkeys(comm))
            parts.append(_attr(0xC0, 8, _U32[len(values)].pack(*values)))
        if ext:
            ev = tuple(dict.fromkeys(ext))
            parts.append(_attr(0xC0, 16, _U64[len(ev)].pack(*ev)))
        if large:
            lv = tuple(dict.fromkeys(large))
            parts.append(_attr(0xC0, 32, _U32[3 * len(lv)].pack(*_chain(lv))))
    except (struct.error, OverflowError, IndexError, KeyError):
        return None
    return b"".join(parts), nh_raw


# --- Adj-RIB-Out --------------------------------------------------------------------------------

Produced = tuple[bytes, int] | Message
#: the keys of one template during a pass: a bytearray of native 64-bit ints where they fit
#: (IPv4 without path ids), which the garbage collector does not walk (a list, or even an
#: array, per attribute set kept every full collection of a 1M transfer walking 177,000 more
#: objects: 4-7 collections, about 0.5 s each), else a list
Keys: TypeAlias = bytearray | list[int]
_ORDER = sys.byteorder


class _Pass:
    """One sweep over a set of keys: the whole table of some families (initial transfer, route
    refresh; the keys are listed when the pass begins) or the keys changed since the last pass.
    Keys changed during a pass go to the next one, so for any prefix the last UPDATE sent
    carries its latest state.

    A pass first sorts its keys by route template (``groups``), a few thousand keys per step,
    then encodes and packs each template's prefixes at once (``packing``). Why: prefixes that share
    attributes are spread over the table (in prefix order, the prefixes of one attribute set of
    a real table are scattered over all of it), so packing in key order kept a message open
    per attribute set until the end of the table: nothing was sent for seconds (9 s at 1M
    prefixes into FRR) and then everything at once. Grouped, every message leaves full and at
    once, from the first milliseconds of the pass."""

    def __init__(
        self,
        keys: Iterator[tuple[Family, int]] | list[Family],
        before: list[Message],
        after: list[Message],
        initial: bool,
    ) -> None:
        self.source = keys
        self.keys: Iterator[tuple[Family, int]] = iter(())
        self.before = before
        self.after = after
        self.initial = initial
        self.seen: set[tuple[Family, int]] = set()  # prefixes of several paths, done once
        # family -> template id -> its keys; then the groups left to pack
        self.groups: dict[Family, dict[int, Keys]] = {}
        self.pairs: list[tuple[Family, Iterator[tuple[int, int]]]] = []  # (key, template id)
        self.order: dict[Family, Iterator[int]] = {}  # the templates left to pack
        self.packing = False


class AdjRibOut:
    """What one established session has been sent and still has to be sent.

    ``store()`` returns the peer's current :class:`RouteStore`; the routes are not copied
    here. Changes are recorded as keys (:meth:`changed`); :meth:`produce` turns pending work
    into encoded UPDATEs, a bounded amount per call, reading each route's current state.
    """

    def __init__(
        self,
        store: Callable[[], RouteStore],
        ctx: Context,
        families: Iterable[Family],
        add_path_send: Iterable[Family],
        export: ExportContext,
        on_error: Callable[[str], None],
    ) -> None:
        self._store = store
        self.ctx = ctx
        self.families = frozenset(families)
        self.add_path_send = frozenset(add_path_send)
        self.export = export
        self._on_error = on_error
        self._packers = {f: UpdatePacker(f, ctx) for f in self.families}
        # per family, template id -> its RunGroup (None: not exportable); ints and tuples of
        # bytes, which the garbage collector does not track
        self._cache: dict[Family, dict[int, RunGroup | None]] = {f: {} for f in self.families}
        self._hops: dict[tuple[Any, ...], NextHops] = {}
        self._dirty: dict[Family, set[int]] = {}
        self._passes: list[_Pass] = []
        self._current: _Pass | None = None
        self.advertised = 0
        self.initial_started = False
        self.initial_done = False

    def __len__(self) -> int:
        return self.advertised

    # --- work in ----------------------------------------------------------------------------

    def start_initial(self) -> None:
        """Queue the initial transfer: every route, then End-of-RIB for every family."""
        families = sorted(self.families)
        after: list[Message] = [Update.end_of_rib_marker(f) for f in families]
        self._passes.append(_Pass(families, [], after, True))

    def start_refresh(self, family: Family, enhanced: bool) -> None:
        """Route refresh (RFC 2918): the whole family again, framed by Begin/End-of-RIB-refresh
        with enhanced route refresh (RFC 7313)."""
        if family not in self.families:
            return
        if any(not p.initial and p.source == [family] for p in self._passes):
            # a refresh of this family is queued and not begun: it answers this request too
            # (otherwise each 23-octet request costs a whole table: an amplification)
            return
        fa = (family.afi, family.safi)
        before: list[Message] = [RouteRefresh(*fa, REFRESH_BORR)] if enhanced else []
        after: list[Message] = [RouteRefresh(*fa, REFRESH_EORR)] if enhanced else []
        self._passes.append(_Pass([family], before, after, False))

    def changed(self, family: Family, key: int) -> None:
        if family in self.families and self.initial_started:
            d = self._dirty.get(family)
            if d is None:
                d = self._dirty[family] = set()
            d.add(key)

    def changed_many(self, family: Family, keys: Iterable[int]) -> None:
        # before the initial transfer begins, its listing of the table will hold the change
        if family in self.families and self.initial_started:
            d = self._dirty.get(family)
            if d is None:
                d = self._dirty[family] = set()
            d.update(keys)

    def forget_templates(self) -> None:
        """Drop cached exports (templates were collected)."""
        for c in self._cache.values():
            c.clear()

    @property
    def pending(self) -> bool:
        return bool(self._current or self._passes or any(self._dirty.values()))

    def _snapshot(self, families: Iterable[Family]) -> Iterator[tuple[Family, int]]:
        store = self._store()
        # the keys are copied now (a C-speed copy) so changes during the pass are safe
        parts = [zip(itertools.repeat(f), store.snapshot(f), strict=False) for f in families]
        return itertools.chain.from_iterable(parts)

    def _next_pass(self) -> _Pass | None:
        if self._passes:
            p = self._passes.pop(0)
            if isinstance(p.source, list):
                # a family whose keys are what goes on the wire (no ADD-PATH paths stored, or a
                # neighbor that takes them all) is read with its template ids from a copy of
                # its table (12 octets a route); the others key by key
                store = self._store()
                plain = {pf for pf, _ in store.paths}
                direct = [f for f in p.source if f in self.add_path_send or f not in plain]
                for f in direct:
                    t = store.tables.get(f)
                    if t:
                        p.pairs.append((f, iter(t.copy().items())))
                p.keys = self._snapshot([f for f in p.source if f not in direct])
            else:
                p.keys = p.source
            if p.initial:
                self.initial_started = True
            return p
        if any(self._dirty.values()):
            dirty, self._dirty = self._dirty, {}
            parts = [zip(itertools.repeat(f), keys, strict=False) for f, keys in dirty.items()]
            p = _Pass(itertools.chain.from_iterable(parts), [], [], False)
            p.keys = p.source  # type: ignore[assignment]
            return p
        return None

    # --- work out ---------------------------------------------------------------------------

    def produce(
        self, max_bytes: int, deadline: float, clock: Callable[[], float], hold: bool = False
    ) -> list[Any]:
        """Encoded UPDATEs (``(bytes, count)``) and messages to send, about ``max_bytes`` of
        them or whatever is ready when ``clock()`` passes ``deadline``; empty when idle.
        ``hold``: route changes are still being applied, so the initial transfer waits (its
        End-of-RIB must follow every route announced before the session came up)."""
        out: list[Produced] = []
        if hold and not self.initial_started:
            return out
        size = 0
        while size < max_bytes:
            p = self._current
            if p is None:
                p = self._current = self._next_pass()
                if p is None:
                    break
                out.extend(p.before)
            done = self._step(p)
            for packer in self._packers.values():
                if packer.count:
                    size += packer.out_bytes
                    out.append(packer.take())
            if done:
                for packer in self._packers.values():
                    packer.flush()
                    if packer.count:
                        out.append(packer.take())
                out.extend(p.after)
                self._current = None
                if p.initial:
                    self.initial_done = True
                if p.initial or not self.pending:
                    self._recount()
            if clock() >= deadline:
                break
        return out

    def _recount(self) -> None:
        store = self._store()
        n = 0
        for f in self.families:
            t = store.tables.get(f)
            if t:
                n += len(t)
                if f not in self.add_path_send:
                    n -= sum(len(v) for (pf, b), v in store.paths.items() if pf == f) - sum(
                        1 for (pf, b) in store.paths if pf == f and b not in t
                    )
        self.advertised = n

    COLLECT = 4096  # keys sorted by template per step
    PACK = 1024  # keys packed per step (a template costs about as much as 16 keys)

    def _step(self, p: _Pass) -> bool:
        """One bounded piece of the pass; True when the pass is finished."""
        if not p.packing:
            p.packing = self._collect(p)
            return False
        return self._pack(p)

    def _collect(self, p: _Pass) -> bool:
        """Sort up to COLLECT keys of the pass by template (withdrawals are packed at once);
        True when the keys are all sorted."""
        if p.pairs:
            self._collect_pairs(p)
            return False
        return self._collect_keys(p)

    def _collect_pairs(self, p: _Pass) -> None:
        """:meth:`_collect` of a table read with its template ids (``p.pairs``)."""
        if p.pairs:
            family, pairs = p.pairs[0]
            batch = list(itertools.islice(pairs, self.COLLECT))
            groups = p.groups.setdefault(family, {})
            if family.afi == 1 and family not in self.add_path_send:
                order = _ORDER
                for key, tid in batch:
                    b = key.to_bytes(8, order)
                    run = groups.get(tid)
                    if run is None:
                        groups[tid] = bytearray(b)
                    else:
                        run += b  # type: ignore[operator]
            else:
                for key, tid in batch:
                    keys = groups.get(tid)
                    if keys is None:
                        groups[tid] = [key]
                    else:
                        keys.append(key)
            if p.initial:
                self.advertised += len(batch)
            if len(batch) < self.COLLECT:
                p.pairs.pop(0)

    def _collect_keys(self, p: _Pass) -> bool:
        """:meth:`_collect` of keys whose templates are looked up (``p.keys``)."""
        store = self._store()
        paths = store.paths
        batch = list(itertools.islice(p.keys, self.COLLECT))
        fam: Family | None = None
        table: KeyTable | dict[int, int] = {}
        groups: dict[int, Keys] = {}
        packer: UpdatePacker | None = None
        add_path = False
        counted = 0
        for family, key in batch:
            if family is not fam:
                fam = family
                table = store.tables.get(family) or {}
                groups = p.groups.setdefault(family, {})
                packer = self._packers[family]
                add_path = family in self.add_path_send
            if add_path or not paths:
                # the common case: the key is what goes on the wire (no ADD-PATH paths stored,
                # or a neighbor that takes them all)
                wire_key = key
                tid = table.get(key)
            else:
                wire_key = base_key(key) if has_path_id(key) else key
                if wire_key != key or (family, wire_key) in paths:
                    if (family, wire_key) in p.seen:
                        continue
                    p.seen.add((family, wire_key))
                tid = store.single_path(family, wire_key)
            counted += 1
            if tid is None:
                assert packer is not None
                packer.withdraw(wire_key)
                continue
            keys = groups.get(tid)
            if keys is None:
                groups[tid] = [wire_key]
            else:
                keys.append(wire_key)
        if p.initial:
            self.advertised += counted
        return len(batch) < self.COLLECT

    def _pack(self, p: _Pass) -> bool:
        """Pack the sorted prefixes, one template at a time, about PACK prefixes' worth; True
        when everything is packed."""
        store = self._store()
        work = 0
        while p.groups:
            family = next(iter(p.groups))
            groups = p.groups[family]
            packer = self._packers[family]
            cache = self._cache[family]
            # a pass over the whole table meets each template once: keeping its export would
            # only hold the encoded attributes of every set (30 MB at 1M) until the session
            # ends; the passes of changed routes keep theirs for the next change
            keep = not isinstance(p.source, list)
            order = p.order.get(family)
            if order is None:
                # templates in the order of their first prefix: the receiver gets the table
                # roughly in prefix order where sets are small (most are), as zebra likes
                order = p.order[family] = iter(list(groups))
            for tid in order:
                group = groups.pop(tid)
                keys = memoryview(group).cast("Q") if isinstance(group, bytearray) else group
                g = cache.get(tid, False)
                if g is False:
                    g = self._export(store, family, tid, keys[0])
                    if keep:
                        cache[tid] = g
                run = b"".join(map(packer.encode, keys))
                if g is None:
                    packer.withdraw_run(run)
                else:
                    assert isinstance(g, tuple)
                    packer.announce_run(g, run)
                work += len(keys) + 16
                if work >= self.PACK:
                    return False
            del p.groups[family], p.order[family]
        return True

    def _export(self, store: RouteStore, family: Family, tid: int, key: int) -> RunGroup | None:
        templates = store.templates
        packer = self._packers[family]
        try:
            fast = export_fields(
                templates.fields(tid), self.export, self._hops, lambda: templates.template(tid)
            )
            if fast is not None:
                return packer.run_group(*fast)
            attrs, next_hops = export_attributes(templates.template(tid), self.export)
            encoded = b"".join(a.encode(self.ctx) for a in attrs)
            return packer.run_group(encoded, b"".join(a.packed for a in next_hops))
        except (ExportError, ValueError) as e:
            prefix = key_prefix(family.afi, key)
            msg = str(e).split(": ", 1)[-1]
            self._on_error(f"{prefix}: {msg}")
            return None


# --- Adj-RIB-In ---------------------------------------------------------------------------------

Attrs = tuple[PathAttribute, ...]


class _FamilyView(Mapping[Prefix, Attrs]):
    """``Prefix -> attributes`` over one family's compact table."""

    def __init__(self, afi: int, table: dict[int, Attrs]) -> None:
        self._afi = afi
        self._t = table

    def __len__(self) -> int:
        return len(self._t)

    def __iter__(self) -> Iterator[Prefix]:
        afi = self._afi
        return (key_prefix(afi, k) for k in list(self._t))

    def __getitem__(self, p: Prefix) -> Attrs:
        if not isinstance(p, Prefix):
            raise KeyError(p)
        return self._t[prefix_key(p)]

    def __contains__(self, p: object) -> bool:
        return isinstance(p, Prefix) and prefix_key(p) in self._t


class _RoutesView(Mapping[Family, _FamilyView]):
    def __init__(self, tables: dict[Family, dict[int, Attrs]]) -> None:
        self._tables = tables

    def __len__(self) -> int:
        return len(self._tables)

    def __iter__(self) -> Iterator[Family]:
        return iter(list(self._tables))

    def __getitem__(self, f: Family) -> _FamilyView:
        return _FamilyView(f.afi, self._tables[f])


class AdjRibIn:
    """Routes received from one peer, with graceful-restart stale marking.

    Stored per family as prefix key -> attributes (the UPDATE's attributes, MP_REACH included
    for the next hop), each distinct attribute tuple kept once. A route whose family the session
    did not negotiate is still kept so nothing is silently lost, but counted for the max-prefix
    limit like any other. ``routes`` is a read-only ``{family: {Prefix: attributes}}`` view.
    """

    def __init__(self) -> None:
        self.tables: dict[Family, dict[int, Attrs]] = {}
        self.stale: dict[Family, set[int]] = {}
        self._attrs: dict[Attrs, Attrs] = {}

    @property
    def routes(self) -> _RoutesView:
        return _RoutesView(self.tables)

    def __len__(self) -> int:
        return sum(len(t) for t in self.tables.values())

    def count(self, family: Family) -> int:
        return len(self.tables.get(family, {}))

    def intern(self, attrs: Attrs) -> Attrs:
        """One shared tuple per distinct attribute set (bounded: reset when it grows past the
        number of routes, which only happens when attributes churn)."""
        a = self._attrs.get(attrs)
        if a is None:
            if len(self._attrs) > 1024 and len(self._attrs) > len(self):
                self._attrs.clear()
            a = self._attrs[attrs] = attrs
        return a

    def add(self, family: Family, prefix: Prefix, attrs: Attrs) -> bool:
        return self.add_keys(family, (prefix_key(prefix),), self.intern(attrs)) == 1

    def add_keys(self, family: Family, keys: Iterable[int], attrs: Attrs) -> int:
        """Store routes by key (attributes already interned); returns how many were new."""
        table = self.tables.get(family)
        if table is None:
            table = self.tables[family] = {}
        before = len(table)
        stale = self.stale.get(family)
        if stale:
            for k in keys:
                stale.discard(k)
                table[k] = attrs
        else:
            table.update(dict.fromkeys(keys, attrs))
        return len(table) - before

    def remove(self, family: Family, prefix: Prefix) -> bool:
        return self.remove_key(family, prefix_key(prefix))

    def remove_key(self, family: Family, key: int) -> bool:
        table = self.tables.get(family)
        stale = self.stale.get(family)
        if stale:
            stale.discard(key)
        if table is None:
            return False
        return table.pop(key, None) is not None

    def mark_stale(self, families: Iterable[Family]) -> int:
        n = 0
        for f in families:
            table = self.tables.get(f)
            if table:
                self.stale[f] = set(table)
                n += len(table)
        return n

    def sweep_stale(self, family: Family) -> list[Prefix]:
        """Remove the routes still stale in ``family`` (End-of-RIB or restart time passed)."""
        gone = self.stale.pop(family, set())
        table = self.tables.get(family, {})
        for k in gone:
            table.pop(k, None)
        return [key_prefix(family.afi, k) for k in gone]

    def remove_family(self, family: Family) -> list[Prefix]:
        self.stale.pop(family, None)
        table = self.tables.pop(family, {})
        return [key_prefix(family.afi, k) for k in table]

    def clear(self) -> dict[Family, list[Prefix]]:
        gone = {f: [key_prefix(f.afi, k) for k in t] for f, t in self.tables.items() if t}
        self.tables.clear()
        self.stale.clear()
        self._attrs.clear()
        return gone
