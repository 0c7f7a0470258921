"""The smallest useful speaker: announce two prefixes to an FRR router and print what it sends.

    python examples/announce_to_frr.py 10.0.0.1 65001 --local-as 65002 --router-id 10.0.0.2

Run it on a host with a session configured on the FRR side (`neighbor <this host> remote-as
65002`). Ctrl-C stops it with a Cease/administrative shutdown carrying a message.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal

from bgpspeak import Neighbor, PeerDown, PeerUp, Route, RouteReceived, RouteWithdrawn, Speaker


async def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("router", help="the FRR router's address")
    p.add_argument("router_as", type=int, help="the FRR router's AS")
    p.add_argument("--local-as", type=int, default=65002)
    p.add_argument("--router-id", default="10.0.0.2")
    p.add_argument("--prefix", action="append", default=[], help="prefix to announce (repeat)")
    args = p.parse_args()

    speaker = Speaker(args.local_as, args.router_id, listen=())
    speaker.add_neighbor(Neighbor(args.router, remote_as=args.router_as))
    for prefix in args.prefix or ["198.51.100.0/24", "2001:db8:100::/48"]:
        speaker.announce(Route.make(prefix, communities=[f"{args.local_as}:100"]))

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)

    events = speaker.events()
    await speaker.start()

    async def report() -> None:
        async for ev in events:
            if isinstance(ev, PeerUp):
                print(f"session with {ev.peer} up, hold time {ev.negotiated.hold_time}s")
            elif isinstance(ev, PeerDown):
                print(f"session with {ev.peer} down: {ev.reason}")
            elif isinstance(ev, RouteReceived):
                hops = ", ".join(map(str, ev.next_hops))
                print(f"received {ev.prefix} via {hops}")
            elif isinstance(ev, RouteWithdrawn):
                print(f"withdrawn {ev.prefix}")

    task = asyncio.create_task(report())
    await stop.wait()
    await speaker.stop("announce_to_frr.py stopped")
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


if __name__ == "__main__":
    asyncio.run(main())
