"""A route collector: hold BGP sessions and print every received update as one JSON line.

    python examples/route_collector.py --local-as 65002 --router-id 10.0.0.2 \\
        --peer 10.0.0.1:65001 --peer 2001:db8::1:65001 [--listen ::] [--passive]

One line per event on stdout, flushed at once (pipe it into jq, a file or a message queue):

    {"event": "up", "peer": "10.0.0.1", "hold_time": 90, "families": ["ipv4/unicast", ...]}
    {"event": "announce", "peer": "10.0.0.1", "family": "ipv4/unicast",
     "prefix": "198.51.100.0/24", "next_hops": ["10.0.0.1"],
     "attributes": [{"code": 1, "name": "ORIGIN", "flags": "T", "value": "igp"}, ...]}
    {"event": "withdraw", "peer": "10.0.0.1", "family": "ipv4/unicast", "prefix": "..."}
    {"event": "eor", "peer": "10.0.0.1", "family": "ipv4/unicast"}
    {"event": "down", "peer": "10.0.0.1", "reason": "...", "graceful": false}

Attributes are in the JSON form of bgpspeak decode (docs/json.md). The collector announces
nothing. SIGINT/SIGTERM close the sessions with a Cease.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
from typing import Any

from bgpspeak import (
    EndOfRib,
    Event,
    Neighbor,
    PeerDown,
    PeerError,
    PeerUp,
    RouteReceived,
    RouteWithdrawn,
    Speaker,
)


def event_json(ev: Event) -> dict[str, Any] | None:
    """The JSON line for one speaker event (None for the ones a collector does not print)."""
    peer = str(ev.peer)
    if isinstance(ev, RouteReceived):
        return {
            "event": "announce",
            "peer": peer,
            "family": str(ev.family),
            "prefix": str(ev.prefix),
            "path_id": ev.prefix.path_id,
            "next_hops": [str(h) for h in ev.next_hops],
            "attributes": [a.to_json() for a in ev.attributes],
        }
    if isinstance(ev, RouteWithdrawn):
        return {
            "event": "withdraw",
            "peer": peer,
            "family": str(ev.family),
            "prefix": str(ev.prefix),
        }
    if isinstance(ev, EndOfRib):
        return {"event": "eor", "peer": peer, "family": str(ev.family)}
    if isinstance(ev, PeerUp):
        neg = ev.negotiated
        return {
            "event": "up",
            "peer": peer,
            "hold_time": neg.hold_time,
            "families": sorted(str(f) for f in neg.families),
        }
    if isinstance(ev, PeerDown):
        return {"event": "down", "peer": peer, "reason": ev.reason, "graceful": ev.graceful}
    if isinstance(ev, PeerError):
        return {"event": "error", "peer": peer, "reason": ev.reason}
    return None


def parse_peer(text: str) -> tuple[str, int]:
    """``ADDRESS:AS`` (IPv6 addresses have colons too: the AS is after the last one)."""
    addr, sep, asn = text.rpartition(":")
    if not sep or not asn.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not ADDRESS:AS")
    return addr.strip("[]"), int(asn)


async def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--local-as", type=int, required=True)
    p.add_argument("--router-id", required=True)
    p.add_argument("--peer", type=parse_peer, action="append", required=True, help="ADDRESS:AS")
    p.add_argument("--listen", action="append", default=[], help="accept sessions here (port 179)")
    p.add_argument("--passive", action="store_true", help="never dial, only accept")
    args = p.parse_args()

    speaker = Speaker(args.local_as, args.router_id, listen=[(a, 179) for a in args.listen])
    for addr, asn in args.peer:
        speaker.add_neighbor(Neighbor(addr, remote_as=asn, passive=args.passive))

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)

    async def emit() -> None:
        async with speaker.events() as events:
            async for ev in events:
                line = event_json(ev)
                if line is not None:
                    sys.stdout.write(json.dumps(line) + "\n")
                    sys.stdout.flush()

    printer = asyncio.create_task(emit())
    await speaker.start()
    await stop.wait()
    await speaker.stop("route collector stopped")
    printer.cancel()
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
