"""Shared pieces of the BFD interop tests (test_bfd_*.py); holds no tests itself.

FRR runs zebra + bgpd + bfdd in namespace ``r1`` with ``neighbor X bfd`` and a profile of
100 ms x 3; the speaker, with :class:`BgpBfd`, runs in ``spk`` on the other end of a veth.
Timing is read where it is decided: FRR's own logs, written with microsecond timestamps
(``log timestamp precision 6``), and the kernel routing table of ``r1``, polled every few
milliseconds, for "FRR removed our routes".
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from lab import FrrInstance, FrrNeighbor, Lab, Link, Namespace, bgpd_config, wait_until

from bgpspeak import EventStream, Neighbor, Route, Speaker
from bgpspeak.bfd import BfdConfig, BfdService, BgpBfd

SPEAKER_AS = 65002
FRR_AS = 65001
PREFIX = "198.51.100.0/24"
INTERVAL_MS = 100
MULT = 3
DETECT_S = INTERVAL_MS * MULT / 1000

BFDD_CONFIG = f"""\
debug bfd peer
bfd
 profile fast
  transmit-interval {INTERVAL_MS}
  receive-interval {INTERVAL_MS}
  detect-multiplier {MULT}
 exit
 !
exit
"""


@dataclass
class BfdLab:
    lab: Lab
    r1: Namespace
    spk: Namespace
    link: Link
    frr: FrrInstance

    def bfd_peers(self) -> list[dict[str, Any]]:
        return list(self.frr.show_json("show bfd peers", daemon="bfdd"))

    def bfd_peer(self, address: str) -> dict[str, Any]:
        return next((p for p in self.bfd_peers() if p.get("peer") == address), {})

    def kernel_has(self, prefix: str) -> bool:
        return bool(self.r1.ip("route", "show", prefix).strip())

    def log(self, daemon: str) -> str:
        """The microsecond log of ``bfdd`` or ``bgpd``."""
        return (self.frr.dir / f"{daemon}-us.log").read_text(errors="replace")

    def log_since(self, daemon: str, since: float) -> str:
        """The lines of :meth:`log` stamped at or after ``since`` (time.time())."""
        out = []
        for line in self.log(daemon).splitlines():
            m = _STAMP.match(line)
            if m and _stamp(m.group(1)) >= since:
                out.append(line)
        return "\n".join(out)

    def restart_bfdd(self) -> None:
        """Start bfdd again after a kill, with the same config, sockets and logs (the lab
        has no public restart of a single daemon)."""
        self.frr._start_daemon("bfdd", 15.0)


FRR_PREFIX = "203.0.113.0/24"  # FRR announces it, so the speaker has routes to lose too


def bfd_lab(
    lab: Lab,
    *,
    transport: int = 4,
    neighbor_lines: tuple[str, ...] = ("passive", "bfd", "bfd profile fast"),
    bfdd: str = BFDD_CONFIG,
) -> BfdLab:
    """FRR in r1 with our address as a BFD-enabled, passive neighbor. FRR's logs go to
    ``bfdd-us.log`` / ``bgpd-us.log`` too, with microseconds: the lab's command-line log
    target ignores ``log timestamp precision``, a configured one does not."""
    r1, spk = lab.namespace("r1"), lab.namespace("spk")
    link = lab.link(r1, spk)
    peer = link.b.ipv4 if transport == 4 else link.b.ipv6
    where = lab.dir / "frr-r1"
    precise = "log timestamp precision 6\nlog file {}/{}-us.log\n"
    bfdd = precise.format(where, "bfdd") + bfdd
    config = bgpd_config(
        FRR_AS,
        link.a.ipv4,
        [FrrNeighbor(peer, SPEAKER_AS, families=("ipv4",), lines=neighbor_lines)],
        networks=[FRR_PREFIX],
        before=precise.format(where, "bgpd") + "debug bgp neighbor-events\ndebug bgp bfd\n",
    )
    frr = lab.frr(r1, config, bfdd=bfdd)
    return BfdLab(lab, r1, spk, link, frr)


def speaker_for(
    bl: BfdLab, config: BfdConfig, *, transport: int = 4, **neighbor: Any
) -> tuple[Speaker, BgpBfd]:
    """The speaker toward FRR with BFD, announcing PREFIX; BFD on its own thread (default)."""
    link = bl.link
    address = link.a.ipv4 if transport == 4 else link.a.ipv6
    speaker = Speaker(SPEAKER_AS, link.b.ipv4, listen=())
    neighbor.setdefault("connect_retry_time", 1)
    neighbor.setdefault("families", ("ipv4/unicast",))
    speaker.add_neighbor(Neighbor(address, remote_as=FRR_AS, **neighbor))
    speaker.announce(Route.make(PREFIX))
    bfd = BgpBfd(speaker, BfdService())
    bfd.attach(address, config)
    return speaker, bfd


@contextlib.asynccontextmanager
async def running(ns: Namespace, speaker: Speaker, bfd: BgpBfd) -> AsyncIterator[EventStream]:
    """Speaker and BFD started and stopped with the thread inside ``ns``: every socket, and the
    BFD thread itself, live in the namespace."""
    with ns.entered():
        events = speaker.events()
        await speaker.start()
        await bfd.start()
        try:
            yield events
        finally:
            await bfd.stop()
            await speaker.stop("test over")
            events.close()


async def polled(probe: Any, *, what: str, timeout: float = 20.0, interval: float = 0.1) -> Any:
    return await asyncio.to_thread(wait_until, probe, timeout=timeout, what=what, interval=interval)


def watch_kernel_route_gone(bl: BfdLab, prefix: str, timeout: float) -> float:
    """Poll r1's kernel table every few ms; return time.time() when ``prefix`` is gone."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if not bl.kernel_has(prefix):
            return time.time()
        time.sleep(0.003)
    raise AssertionError(f"{prefix} still in r1's kernel table after {timeout} s")


_STAMP = re.compile(r"^(\d{4}/\d\d/\d\d \d\d:\d\d:\d\d\.\d{6}) ")


def log_times(text: str, pattern: str) -> list[float]:
    """time.time() values of the log lines matching ``pattern`` (FRR logs local time)."""
    out = []
    rx = re.compile(pattern)
    for line in text.splitlines():
        m = _STAMP.match(line)
        if m and rx.search(line):
            out.append(_stamp(m.group(1)))
    return out


def _stamp(text: str) -> float:
    return datetime.strptime(text, "%Y/%m/%d %H:%M:%S.%f").timestamp()


def block_bfd_egress(ns: Namespace, ifname: str, *, v6: bool = False) -> None:
    """Drop every BFD Control packet leaving ``ifname`` (UDP to 3784), and nothing else: an
    htb class whose queue holds zero packets, selected by a u32 filter. Only tc from iproute2,
    because this kernel lacks the gact action and netem."""
    tc = ["tc"]
    ns.exec([*tc, "qdisc", "add", "dev", ifname, "root", "handle", "1:", "htb", "default", "10"])
    for cls in ("1:10", "1:20"):
        ns.exec(
            [
                *tc,
                "class",
                "add",
                "dev",
                ifname,
                "parent",
                "1:",
                "classid",
                cls,
                "htb",
                "rate",
                "1gbit",
            ]
        )
    ns.exec([*tc, "qdisc", "add", "dev", ifname, "parent", "1:20", "pfifo", "limit", "0"])
    proto, match = ("ipv6", "ip6") if v6 else ("ip", "ip")
    select = [
        "u32",
        "match",
        match,
        "protocol",
        "17",
        "0xff",
        "match",
        match,
        "dport",
        "3784",
        "0xffff",
    ]
    ns.exec(
        [
            *tc,
            "filter",
            "add",
            "dev",
            ifname,
            "parent",
            "1:",
            "protocol",
            proto,
            "prio",
            "1",
            *select,
            "flowid",
            "1:20",
        ]
    )


def unblock(ns: Namespace, ifname: str) -> None:
    ns.exec(["tc", "qdisc", "del", "dev", ifname, "root"], check=False)
