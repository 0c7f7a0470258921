"""Remotely triggered blackhole (RTBH) announcer: drop traffic to attacked addresses at the edge.

    python examples/rtbh_announcer.py --local-as 65001 --router-id 10.0.0.9 \\
        --peer 10.0.0.1:65001 --peer 10.0.0.2:65001 \\
        --blackhole-next-hop 192.0.2.1 --blackhole-next-hop-v6 2001:db8::dead \\
        [203.0.113.7 ...]

Then, on standard input, one command per line:

    add 203.0.113.7          blackhole this address (a /32, or a /128 for IPv6)
    add 203.0.113.0/28       or a prefix
    del 203.0.113.7          stop blackholing it
    list                     what is announced now

Every route carries the BLACKHOLE community (65535:666, RFC 7999) and NO_EXPORT, and a next
hop that the edge routers route to a discard interface (RFC 3882's trigger router: on FRR
`ip route 192.0.2.1/32 Null0` on every edge router; the iBGP route then resolves to it and the
kernel drops the traffic). The sessions are iBGP (`--peer` with our own AS): the trigger sits
inside the network. Toward a provider that offers RTBH, use eBGP and their community instead
(`--community`). Each change is printed as a line; bad input says what is wrong and goes on.
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import signal
import sys
import threading

from bgpspeak import Neighbor, Prefix, Route, Speaker

BLACKHOLE = "65535:666"


def host_prefix(text: str) -> Prefix:
    """An address becomes a host route; a prefix stays as given (host bits must be zero)."""
    net = ipaddress.ip_network(text.strip(), strict=True)
    return Prefix.parse(str(net))


class Blackholes:
    """The set of blackholed prefixes, and the routes that announce them."""

    def __init__(
        self, speaker: Speaker, next_hop_v4: str, next_hop_v6: str | None, extra: list[str]
    ):
        self.speaker = speaker
        self.next_hop = {1: next_hop_v4, 2: next_hop_v6}
        self.communities = [BLACKHOLE, "no-export", *extra]
        self.active: set[Prefix] = set()

    def route(self, prefix: Prefix) -> Route:
        nh = self.next_hop[prefix.afi]
        if nh is None:
            raise ValueError(f"{prefix}: no IPv6 blackhole next hop (--blackhole-next-hop-v6)")
        return Route.make(prefix, nh, communities=self.communities)

    def add(self, prefix: Prefix) -> str:
        route = self.route(prefix)
        self.speaker.announce([route])
        self.active.add(prefix)
        return f"blackholed {prefix} via {route.next_hop}"

    def remove(self, prefix: Prefix) -> str:
        if prefix not in self.active:
            return f"{prefix} is not blackholed"
        self.speaker.withdraw([prefix])
        self.active.discard(prefix)
        return f"released {prefix}"

    def command(self, line: str) -> str | None:
        words = line.split()
        if not words or words[0].startswith("#"):
            return None
        try:
            if words[0] == "list" and len(words) == 1:
                return " ".join(sorted(map(str, self.active))) or "(none)"
            if words[0] in ("add", "del") and len(words) == 2:
                prefix = host_prefix(words[1])
                return self.add(prefix) if words[0] == "add" else self.remove(prefix)
        except ValueError as e:
            return f"error: {e}"
        return f"error: {line.strip()!r}: expected add ADDRESS, del ADDRESS or list"


def parse_peer(text: str) -> tuple[str, int]:
    addr, sep, asn = text.rpartition(":")
    if not sep or not asn.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not ADDRESS:AS")
    return addr.strip("[]"), int(asn)


def read_lines(loop: asyncio.AbstractEventLoop, queue: asyncio.Queue[str | None]) -> None:
    """Standard input, line by line, handed to the loop (None at end of input). Runs in a
    daemon thread: a blocking read must not keep the process alive after a signal."""
    for line in sys.stdin:
        loop.call_soon_threadsafe(queue.put_nowait, line)
    loop.call_soon_threadsafe(queue.put_nowait, None)


async def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--local-as", type=int, required=True)
    p.add_argument("--router-id", required=True)
    p.add_argument("--peer", type=parse_peer, action="append", required=True, help="ADDRESS:AS")
    p.add_argument("--blackhole-next-hop", required=True, help="IPv4 next hop routed to Null0")
    p.add_argument("--blackhole-next-hop-v6", help="IPv6 next hop routed to Null0")
    p.add_argument("--community", action="append", default=[], help="extra community (repeat)")
    p.add_argument("prefixes", nargs="*", help="blackholed from the start")
    args = p.parse_args()

    speaker = Speaker(args.local_as, args.router_id, listen=())
    for addr, asn in args.peer:
        speaker.add_neighbor(Neighbor(addr, remote_as=asn))
    holes = Blackholes(speaker, args.blackhole_next_hop, args.blackhole_next_hop_v6, args.community)
    for text in args.prefixes:  # announced before start(): part of the initial transfer
        print(holes.add(host_prefix(text)), flush=True)

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await speaker.start()

    lines: asyncio.Queue[str | None] = asyncio.Queue()
    threading.Thread(target=read_lines, args=(loop, lines), daemon=True).start()
    stopping = asyncio.create_task(stop.wait())
    while not stop.is_set():
        getting = asyncio.create_task(lines.get())
        await asyncio.wait({getting, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if not getting.done():
            getting.cancel()
            break
        line = getting.result()
        if line is None:  # end of input: keep announcing until a signal
            await stop.wait()
            break
        answer = holes.command(line)
        if answer is not None:
            print(answer, flush=True)
    stopping.cancel()
    await speaker.stop("rtbh announcer stopped")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
