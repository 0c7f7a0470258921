"""``bgpspeak mrt replay``: announce the routes of a table dump to one BGP neighbor.

For benchmarks and labs: a real-looking full table (paths, communities, MEDs) from a collector's
RIB dump, sent by a speaker that dials (or waits for) the neighbor. One path per prefix: the
entry of ``--source-peer`` when given, else the first entry the collector lists. The AS path is
kept with the collector's peer AS first (our AS goes in front toward an external neighbor); an
AS_SET is flattened into the sequence, since a replayed route only needs a path of the right
shape and length. Next hops are our own address unless ``--next-hop keep`` or an address.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import ipaddress
import signal
import sys
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace

from ..mrt import Bgp4mpEntry, MrtError, RibRecord, TableDumpRecord
from ..mrt.records import Peer, RibEntry
from ..mrt.ribscan import scan_rib
from ..mrt.source import Source
from ..neighbor import Neighbor
from ..route_store import Templates
from ..routes import Route
from ..speaker import Speaker
from ..wire.aspath import AsPath
from ..wire.attribute import PathAttribute
from ..wire.attributes import MultiExitDisc, NextHop, Origin
from ..wire.communities import Communities, ExtendedCommunities, LargeCommunities
from ..wire.family import IPV4_UNICAST, IPV6_UNICAST, Family
from ..wire.mpnlri import MpReachNlri
from ..wire.prefix import Prefix

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
_ORIGIN_NAMES = {0: "igp", 1: "egp", 2: "incomplete"}
_EMPTY = {1: Prefix(1, 0, 0), 2: Prefix(2, 0, 0)}
_FAMILIES = {1: IPV4_UNICAST, 2: IPV6_UNICAST}


@dataclass(frozen=True)
class ReplayOptions:
    source_peer: IPAddress | None = None
    next_hop: str = "self"  # "self", "keep" or an address
    afis: frozenset[int] = frozenset({1, 2})
    limit: int | None = None


class _Shared:
    """Equal values made once: ASNs, paths and community lists repeat across the attribute
    sets of a table (and every int above 256 is an object of its own), so the templates of a
    full table share them instead of holding a copy each."""

    __slots__ = ("_d",)

    def __init__(self) -> None:
        self._d: dict[object, object] = {}

    def ints(self, values: Iterable[int]) -> tuple[int, ...]:
        d = self._d
        t = tuple([d.setdefault(v, v) for v in values])
        return d.setdefault(t, t)  # type: ignore[return-value]

    def value(self, v: object) -> object:
        return self._d.setdefault(v, v)


def _template(
    attributes: Iterable[object], afi: int, opts: ReplayOptions, shared: _Shared | None = None
) -> Route | None:
    """The route for these attributes with prefix 0/0 of ``afi`` (None: no next hop to keep)."""
    as_path: list[int] = []
    origin = "igp"
    med = None
    communities: tuple[int, ...] = ()
    large: tuple[tuple[int, int, int], ...] = ()
    extended: tuple[int, ...] = ()
    hops: list[IPAddress] = []
    for a in attributes:
        if isinstance(a, AsPath) and a.type_code == 2:
            for seg in a.segments:
                if seg.type in (1, 2):  # AS_SET, AS_SEQUENCE; confederation segments stay ours
                    as_path += seg.asns
        elif isinstance(a, Origin):
            origin = _ORIGIN_NAMES.get(int(a.value), "incomplete")
        elif isinstance(a, MultiExitDisc):
            med = a.value
        elif isinstance(a, Communities):
            communities = a.values
        elif isinstance(a, LargeCommunities):
            large = a.values
        elif isinstance(a, ExtendedCommunities):
            extended = a.values
        elif isinstance(a, NextHop):
            hops.append(a.address)
        elif isinstance(a, MpReachNlri):
            hops += a.next_hops
    nh: IPAddress | str = "self"
    if opts.next_hop == "keep":
        fitting = [h for h in hops if h.version == (4 if afi == 1 else 6)]
        if not fitting:
            return None
        nh = fitting[0]
    elif opts.next_hop != "self":
        nh = ipaddress.ip_address(opts.next_hop)
    if any(not 1 <= asn <= 0xFFFFFFFF for asn in as_path):
        as_path = [asn for asn in as_path if 1 <= asn <= 0xFFFFFFFF]
    path = tuple(as_path)
    if shared is not None:
        path = shared.ints(path)
        communities = shared.ints(communities)
        extended = shared.ints(extended)
        large = shared.value(tuple(shared.value(v) for v in large))  # type: ignore[assignment]
        if med is not None:
            med = shared.value(med)  # type: ignore[assignment]
        nh = shared.value(nh)  # type: ignore[assignment]
    return Route(
        prefix=_EMPTY[afi],
        next_hop=nh,
        as_path=path,
        origin=origin,
        med=med,
        communities=communities,
        large_communities=large,
        extended_communities=extended,
    )


def _entry_route(entry: RibEntry, prefix: Prefix, opts: ReplayOptions) -> Route | None:
    t = _template(entry.attributes, prefix.afi, opts)
    return None if t is None else replace(t, prefix=prefix.with_path_id(None))


def _entries(records: Iterable[object]) -> Iterator[RibEntry]:
    """Every unicast RIB entry, whatever the dump format."""
    for rec in records:
        if isinstance(rec, RibRecord):
            if rec.family in (IPV4_UNICAST, IPV6_UNICAST):
                yield from rec.entries
        elif isinstance(rec, TableDumpRecord):
            yield from rec.entries
        elif isinstance(rec, Bgp4mpEntry) and rec.family in (IPV4_UNICAST, IPV6_UNICAST):
            peer = Peer(ipaddress.IPv4Address(0), rec.peer_ip, rec.peer_as)
            yield RibEntry(peer, rec.originated, None, rec.prefix, rec.attributes)


def rib_routes(records: Iterable[object], opts: ReplayOptions) -> Iterator[Route]:
    """One route per prefix of the dump's unicast RIB entries."""
    seen: set[Prefix] = set()
    for entry in _entries(records):
        prefix = entry.prefix
        if not isinstance(prefix, Prefix) or prefix.afi not in opts.afis:
            continue
        if opts.source_peer is not None and entry.peer.ip != opts.source_peer:
            continue
        key = prefix.with_path_id(None)
        if key in seen:
            continue
        route = _entry_route(entry, prefix, opts)
        if route is None:
            continue
        seen.add(key)
        yield route
        if opts.limit is not None and len(seen) >= opts.limit:
            return


def keyed_routes(
    source: Source, opts: ReplayOptions, templates: Templates
) -> Iterator[tuple[Family, int, int]]:
    """The routes of :func:`rib_routes` as ``(family, prefix key, template id)`` for
    :meth:`Speaker.announce_keyed`, read with :func:`~bgpspeak.mrt.ribscan.scan_rib`: each
    distinct attribute section of the dump is made into a route once and interned in
    ``templates`` (the speaker's), the templates sharing their ASNs, paths and community
    lists; no Route is kept."""
    shared = _Shared()

    def convert(afi: int, attributes: tuple[PathAttribute, ...]) -> int | None:
        route = _template(attributes, afi, opts, shared)
        return None if route is None else templates.intern(route)

    return scan_rib(source, convert, afis=opts.afis, peer=opts.source_peer, limit=opts.limit)


class _Feed:
    """Hands the routes to the speaker and keeps the read error, if any: the speaker applies
    them in slices of its event loop, where an exception would only be logged."""

    def __init__(self, routes: Iterator[tuple[Family, int, int]]) -> None:
        self._routes = routes
        self.count = 0
        self.error: OSError | MrtError | None = None

    def __iter__(self) -> Iterator[tuple[Family, int, int]]:
        try:
            for r in self._routes:
                self.count += 1
                yield r
        except (OSError, MrtError) as e:
            self.error = e


# --- the command --------------------------------------------------------------------------------


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", help="MRT table dump (TABLE_DUMP_V2, TABLE_DUMP, BGP4MP_ENTRY)")
    p.add_argument("--peer", required=True, help="the neighbor's address")
    p.add_argument("--peer-as", type=int, required=True, help="the neighbor's AS")
    p.add_argument("--local-as", type=int, required=True)
    p.add_argument("--router-id", required=True)
    p.add_argument("--port", type=int, default=179, help="the neighbor's port (179)")
    p.add_argument("--local-address", help="bind the session to this address")
    p.add_argument("--passive", action="store_true", help="wait for the neighbor to connect")
    p.add_argument("--listen", default="::", help="listen address with --passive (:: by default)")
    p.add_argument("--listen-port", type=int, default=179)
    p.add_argument("--source-peer", help="take the paths of this collector peer only")
    p.add_argument(
        "--next-hop", default="self", help="self (default), keep (the dump's), or an address"
    )
    p.add_argument("--next-hop-v6", help="IPv6 next hop for 'self' over an IPv4 session")
    p.add_argument("--family", choices=["ipv4", "ipv6", "both"], default="both")
    p.add_argument("--limit", type=int, help="at most this many routes")
    p.add_argument("--exit", action="store_true", help="close the session once everything is sent")
    p.add_argument("--timeout", type=float, default=60.0, help="to reach Established (s)")


def run(args: argparse.Namespace) -> int:
    return asyncio.run(_replay(args))


async def _replay(args: argparse.Namespace) -> int:
    afis = {"ipv4": {1}, "ipv6": {2}, "both": {1, 2}}[args.family]
    try:
        opts = ReplayOptions(
            source_peer=ipaddress.ip_address(args.source_peer) if args.source_peer else None,
            next_hop=args.next_hop,
            afis=frozenset(afis),
            limit=args.limit,
        )
        if opts.next_hop not in ("self", "keep"):
            ipaddress.ip_address(opts.next_hop)
        neighbor = Neighbor(
            args.peer,
            remote_as=args.peer_as,
            port=args.port,
            passive=args.passive,
            local_address=args.local_address,
            next_hop_self_v6=args.next_hop_v6,
            families=tuple(f"{'ipv4' if a == 1 else 'ipv6'}/unicast" for a in sorted(afis)),
        )
        speaker = Speaker(
            args.local_as,
            args.router_id,
            listen=[(args.listen, args.listen_port)] if args.passive else (),
        )
    except ValueError as e:
        print(f"bgpspeak mrt replay: {e}", file=sys.stderr)
        return 2
    t0 = time.monotonic()
    speaker.add_neighbor(neighbor)
    # Streamed into the speaker's store as it is read: no Route per prefix, one template per
    # distinct attribute section.
    # The load makes no reference cycles; collections during it would only walk the growing
    # set of templates again and again (about half the load's CPU at 1M routes).
    collecting = gc.isenabled()
    gc.disable()
    try:
        templates = speaker.peer(args.peer).store.templates
        feed = _Feed(keyed_routes(args.file, opts, templates))
        speaker.announce_keyed(feed)
        await speaker.flush()
    finally:
        if collecting:
            gc.enable()
    if feed.error is not None:
        print(f"bgpspeak mrt replay: {args.file}: {feed.error}", file=sys.stderr)
        return 1
    total = feed.count
    # The table stays as it is from here on: out of the collector's sight, so that full
    # collections (triggered by the sessions' garbage) do not walk every template again.
    gc.collect()
    gc.freeze()
    read_s = time.monotonic() - t0
    print(f"read {total} routes from {args.file} in {read_s:.1f} s", file=sys.stderr)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    t1 = time.monotonic()
    await speaker.start()
    try:
        try:
            await speaker.wait_established(args.peer, timeout=args.timeout)
        except TimeoutError as e:
            print(f"bgpspeak mrt replay: {e}", file=sys.stderr)
            return 1
        up = time.monotonic() - t1
        peer = speaker.peer(args.peer)
        while len(peer.rib_out) < total and not stop.is_set():
            await asyncio.sleep(0.05)
        # routes announced before the session came up go out in its initial transfer: what
        # can be timed here is when they were encoded and handed to the socket, not when the
        # neighbor had them (the interop test measures that on FRR's side)
        queued = time.monotonic() - t1
        print(
            f"announced {len(peer.rib_out)} routes to {args.peer}: session up {up:.2f} s "
            f"after start, UPDATEs written by {queued:.2f} s",
            file=sys.stderr,
        )
        if not args.exit:
            await stop.wait()
        else:
            await asyncio.sleep(0.5)  # End-of-RIB and the last UPDATEs leave
        return 0
    finally:
        await speaker.stop("mrt replay done")
        await asyncio.sleep(0.1)
