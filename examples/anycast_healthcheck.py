"""Anycast with a health check: announce a service prefix while the local service is healthy.

    python examples/anycast_healthcheck.py --local-as 65100 --router-id 10.0.0.2 \\
        --peer 10.0.0.1:65001 --prefix 192.0.2.53/32 --tcp 127.0.0.1:53
    python examples/anycast_healthcheck.py ... --command "dig +short @127.0.0.1 example.net"

Run the same program on every host of the service, each announcing the same prefix: the
routers see one path per healthy host and spread traffic over them (ECMP, `maximum-paths`).
A host whose check fails `--fall` times in a row withdraws the prefix, one that passes
`--rise` times announces it again, so a flapping service does not flap the route on every
probe. Each change is printed as a line (`healthy: announce 192.0.2.53/32`). SIGTERM
withdraws (Cease/administrative shutdown) before exiting.

`bgpspeak run` does the same from a config file (`[[services]]`, docs/daemon.md); this is the
library version, to embed in a program of your own.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import shlex
import signal
import sys
from collections.abc import Awaitable, Callable

from bgpspeak import Neighbor, Route, Speaker

Check = Callable[[], Awaitable[bool]]


def tcp_check(target: str, timeout: float) -> Check:
    """Healthy when a TCP connection to HOST:PORT opens within ``timeout``."""
    host, _, port = target.rpartition(":")

    async def check() -> bool:
        try:
            _, writer = await asyncio.wait_for(
                asyncio.open_connection(host.strip("[]"), int(port)), timeout
            )
        except (OSError, TimeoutError):
            return False
        writer.close()
        return True

    return check


def command_check(command: str, timeout: float) -> Check:
    """Healthy when the command exits with status 0 within ``timeout``."""
    argv = shlex.split(command)

    async def check() -> bool:
        proc = await asyncio.create_subprocess_exec(
            *argv, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL
        )
        try:
            return await asyncio.wait_for(proc.wait(), timeout) == 0
        except TimeoutError:
            proc.kill()
            await proc.wait()
            return False

    return check


class Health:
    """Rise/fall counting: the state changes only after ``rise`` passes or ``fall`` failures
    in a row. Starts down, so a host announces only after proving itself healthy."""

    def __init__(self, rise: int, fall: int) -> None:
        self.rise, self.fall = rise, fall
        self.up = False
        self.streak = 0

    def record(self, ok: bool) -> bool:
        """Count one result; True when the state changed."""
        if ok == self.up:
            self.streak = 0
            return False
        self.streak += 1
        if self.streak >= (self.rise if ok else self.fall):
            self.up, self.streak = ok, 0
            return True
        return False


def parse_peer(text: str) -> tuple[str, int]:
    addr, sep, asn = text.rpartition(":")
    if not sep or not asn.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not ADDRESS:AS")
    return addr.strip("[]"), int(asn)


async def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--local-as", type=int, required=True)
    p.add_argument("--router-id", required=True)
    p.add_argument("--peer", type=parse_peer, action="append", required=True, help="ADDRESS:AS")
    p.add_argument("--prefix", action="append", required=True, help="service prefix (repeat)")
    p.add_argument("--next-hop", default="self", help="next hop (default: our session address)")
    p.add_argument("--community", action="append", default=[], help="e.g. 65100:53")
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--tcp", help="HOST:PORT that must accept a connection")
    what.add_argument("--command", help="a command that must exit 0")
    p.add_argument("--interval", type=float, default=2.0, help="seconds between checks")
    p.add_argument("--timeout", type=float, default=1.0, help="seconds a check may take")
    p.add_argument("--rise", type=int, default=2)
    p.add_argument("--fall", type=int, default=2)
    args = p.parse_args()

    check = (
        tcp_check(args.tcp, args.timeout) if args.tcp else command_check(args.command, args.timeout)
    )
    routes = [
        Route.make(prefix, args.next_hop, communities=args.community) for prefix in args.prefix
    ]
    speaker = Speaker(args.local_as, args.router_id, listen=())
    for addr, asn in args.peer:
        speaker.add_neighbor(Neighbor(addr, remote_as=asn))

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)

    health = Health(args.rise, args.fall)
    await speaker.start()
    print(f"checking every {args.interval}s; announcing after {args.rise} passes", flush=True)
    while not stop.is_set():
        if health.record(await check()):
            if health.up:
                speaker.announce(routes)
                print(f"healthy: announce {' '.join(args.prefix)}", flush=True)
            else:
                speaker.withdraw([r.prefix for r in routes])
                print(f"unhealthy: withdraw {' '.join(args.prefix)}", flush=True)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), args.interval)
    await speaker.stop("anycast service stopped")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
