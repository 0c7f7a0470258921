"""Shared pieces of the speaker interop tests (test_speaker_*.py); holds no tests itself.

The tests run a bgpspeak ``Speaker`` in the test's own event loop with the thread moved into a
lab namespace (``with ns.entered()``, tests/lab/README.md), and assert on what the real daemon
shows. Everything here waits with a deadline: on the speaker's event stream (``until``), or on
the daemon's view polled from a worker thread (``polled``) so the loop keeps sending keepalives
while vtysh, birdc or gobgp run.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

from lab import FrrInstance, FrrNeighbor, Lab, Link, Namespace, bgpd_config, wait_until

from bgpspeak import Event, EventStream, Neighbor, RouteReceived, Speaker

T = TypeVar("T")
E = TypeVar("E")

SPEAKER_AS = 65002
FRR_AS = 65001


async def until(
    stream: EventStream,
    kind: type[E],
    timeout: float = 15.0,
    where: Callable[[E], bool] | None = None,
) -> E:
    """The next event of ``kind`` (for which ``where`` holds) within ``timeout`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    seen: list[str] = []
    while True:
        left = deadline - loop.time()
        try:
            event: Event = await stream.get(max(0.01, left))
        except TimeoutError:
            raise AssertionError(
                f"no {kind.__name__} within {timeout} s; events seen: {seen[-15:]}"
            ) from None
        reason = getattr(event, "reason", None)
        seen.append(type(event).__name__ + (f"({reason})" if reason else ""))
        if isinstance(event, kind) and (where is None or where(event)):
            return event


async def polled(
    probe: Callable[[], T | None],
    *,
    what: str,
    timeout: float = 20.0,
    interval: float = 0.1,
) -> T:
    """``wait_until`` in a worker thread: the daemon's view, polled with a deadline."""
    return await asyncio.to_thread(wait_until, probe, timeout=timeout, what=what, interval=interval)


async def blocking(fn: Callable[..., T], *args: Any, **kw: Any) -> T:
    """A blocking lab call (``frr.wait_route``, ``birdc``, ...) off the event loop."""
    return await asyncio.to_thread(fn, *args, **kw)


@dataclass
class FrrPair:
    """One FRR (``r1``, AS 65001, on ``link.a``) and a namespace for the speaker (``link.b``)."""

    lab: Lab
    r1: Namespace
    spk: Namespace
    link: Link
    frr: FrrInstance

    def frr_neighbor(self, address: str) -> dict[str, Any]:
        return dict(self.frr.neighbors().get(address, {}))


def frr_pair(
    lab: Lab,
    *,
    speaker_as: int | str = SPEAKER_AS,
    transport: int = 4,
    lines: tuple[str, ...] = ("passive",),
    af_lines: tuple[str, ...] = (),
    networks: tuple[str, ...] = (),
    before: str = "",
) -> FrrPair:
    """FRR with the speaker's address as neighbor, activated for IPv4 and IPv6 unicast.

    FRR is passive by default so every session is dialled by the speaker (no collisions, and no
    wait for FRR's connect timer); ``lines``/``af_lines`` are ``neighbor X ...`` lines.
    ``before`` goes ahead of ``router bgp`` (route-maps). ``debug bgp neighbor-events`` is on
    so FRR's log shows NOTIFICATIONs, refreshes and collisions."""
    r1, spk = lab.namespace("r1"), lab.namespace("spk")
    link = lab.link(r1, spk)
    peer = link.b.ipv4 if transport == 4 else link.b.ipv6
    neighbors = [
        FrrNeighbor(peer, speaker_as, families=("ipv4", "ipv6"), lines=lines, af_lines=af_lines)
    ]
    config = bgpd_config(
        FRR_AS,
        link.a.ipv4,
        neighbors,
        networks=networks,
        before="debug bgp neighbor-events\n" + before,
    )
    return FrrPair(lab, r1, spk, link, lab.frr(r1, config))


def neighbor_to_frr(pair: FrrPair, transport: int = 4, **kw: Any) -> Neighbor:
    """The speaker's neighbor entry for FRR, with next hops of both families given, so IPv4
    and IPv6 routes both go out whatever the session's transport."""
    link = pair.link
    kw.setdefault("connect_retry_time", 1)
    kw.setdefault("next_hop_self_v4", link.b.ipv4)
    kw.setdefault("next_hop_self_v6", link.b.ipv6)
    kw.setdefault("link_local", link.b.link_local())
    return Neighbor(
        link.a.ipv4 if transport == 4 else link.a.ipv6, remote_as=kw.pop("remote_as", FRR_AS), **kw
    )


@contextlib.asynccontextmanager
async def running(
    ns: Namespace, speaker: Speaker, message: str = "test over", *, start: bool = True
) -> AsyncIterator[EventStream]:
    """Start ``speaker`` with the thread inside ``ns`` and stop it (Cease) there, so no socket
    of it is ever created outside the namespace. Yields an event stream opened before start.
    ``start=False``: the body starts it (still inside the namespace)."""
    with ns.entered():
        events = speaker.events()
        if start:
            await speaker.start()
        try:
            yield events
        finally:
            await speaker.stop(message)
            events.close()


def attributes(route: RouteReceived) -> dict[str, Any]:
    """A received route's path attributes by name, as JSON values (the decoder's view)."""
    return {a.name: a.json_value() for a in route.attributes}


def frr_log(frr: FrrInstance) -> str:
    return (frr.dir / "bgpd.log").read_text(errors="replace")


@contextlib.contextmanager
def paused(pid: int) -> Iterator[None]:
    """SIGSTOP a daemon for the body: it neither reads nor sends, its TCP stays open."""
    os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(pid, signal.SIGCONT)


def netstat_counters(ns: Namespace) -> dict[str, int]:
    """The namespace's kernel TcpExt counters (``/proc/net/netstat`` read from inside)."""
    text = ns.exec(["cat", "/proc/net/netstat"]).stdout
    lines = text.splitlines()
    out: dict[str, int] = {}
    for names, values in zip(lines[::2], lines[1::2], strict=False):
        prefix, _, keys = names.partition(":")
        for key, value in zip(keys.split(), values.partition(":")[2].split(), strict=False):
            out[f"{prefix}{key}"] = int(value)
    return out
