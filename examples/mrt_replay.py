"""Replay a routing table dump: announce one path per prefix of an MRT RIB file to a neighbor.

    python examples/mrt_replay.py examples/mrt/sample-rib.mrt \\
        --peer 10.0.0.1:65001 --local-as 65002 --router-id 10.0.0.2 [--collector-peer 192.0.2.101]

Reads a TABLE_DUMP_V2 file (plain, gzip, bzip2 or xz: RIPE RIS ``bview``, Route Views ``rib``
files, or examples/mrt/sample-rib.mrt), keeps the first path of each IPv4/IPv6 unicast prefix
(or the path of ``--collector-peer``), and announces them with their AS path, origin, MED and
communities, our own address as next hop. Prints how many routes it read and when the
neighbor is up, then keeps the session until SIGINT/SIGTERM.

``bgpspeak mrt replay`` is the full command (limits, passive mode, timing); this is the
library version in a page.
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import signal
import sys
from collections.abc import Iterator

from bgpspeak import Neighbor, Prefix, Route, Speaker
from bgpspeak.mrt import RibEntry, RibRecord, read_mrt
from bgpspeak.wire import IPV4_UNICAST, IPV6_UNICAST, AsPath, Communities, MultiExitDisc, Origin

ORIGINS = {0: "igp", 1: "egp", 2: "incomplete"}


def route_of(entry: RibEntry) -> Route:
    """A dump entry as a route to announce: its AS path (AS_SETs flattened), origin, MED and
    communities; the next hop becomes ours."""
    assert isinstance(entry.prefix, Prefix)
    as_path: tuple[int, ...] = ()
    communities: tuple[int, ...] = ()
    origin, med = "igp", None
    for a in entry.attributes:
        if isinstance(a, AsPath) and a.type_code == 2:  # AS_PATH (AS4_PATH is a subclass)
            as_path = tuple(asn for seg in a.segments if seg.type in (1, 2) for asn in seg.asns)
        elif isinstance(a, Origin):
            origin = ORIGINS.get(int(a.value), "incomplete")
        elif isinstance(a, MultiExitDisc):
            med = a.value
        elif isinstance(a, Communities):
            communities = a.values
    return Route(
        prefix=entry.prefix.with_path_id(None),
        as_path=as_path,
        origin=origin,
        med=med,
        communities=communities,
    )


def table(path: str, collector_peer: str | None) -> Iterator[Route]:
    """One route per unicast prefix of the dump, in file order."""
    want = ipaddress.ip_address(collector_peer) if collector_peer else None
    for rec in read_mrt(path):
        if not isinstance(rec, RibRecord) or rec.family not in (IPV4_UNICAST, IPV6_UNICAST):
            continue
        for entry in rec.entries:
            if want is None or entry.peer.ip == want:
                yield route_of(entry)
                break


async def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("file", help="MRT TABLE_DUMP_V2 file")
    p.add_argument("--peer", required=True, help="ADDRESS:AS of the neighbor")
    p.add_argument("--local-as", type=int, required=True)
    p.add_argument("--router-id", required=True)
    p.add_argument("--collector-peer", help="take the paths this collector peer had")
    p.add_argument("--next-hop-v6", help="IPv6 next hop when the session is IPv4")
    args = p.parse_args()
    addr, _, asn = args.peer.rpartition(":")

    routes = list(table(args.file, args.collector_peer))
    print(f"read {len(routes)} routes from {args.file}", flush=True)
    speaker = Speaker(args.local_as, args.router_id, listen=())
    speaker.add_neighbor(
        Neighbor(addr.strip("[]"), remote_as=int(asn), next_hop_self_v6=args.next_hop_v6)
    )
    speaker.announce(routes)  # before start(): sent in the initial transfer, then End-of-RIB

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await speaker.start()
    await speaker.wait_established(addr.strip("[]"), timeout=60)
    print(f"session with {addr} up: {len(routes)} routes announced", flush=True)
    await stop.wait()
    await speaker.stop("mrt replay stopped")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
