"""The speakers under attack: bgpspeak in this process, or FRR's bgpd, both inside one lab
namespace whose loopback holds the target (10.77.0.1) and one address per attacking peer.

Every case is a neighbor of its own (``neighbor_address(i)``, AS 64600 + i), passive on the
target's side, so the attacker always dials. The bystander (10.77.0.2, AS 64502) is a
well-behaved session that must live through every attack.
"""

from __future__ import annotations

import asyncio
import gc
import os
import socket
import tracemalloc
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bgpspeak import Neighbor, Route, Speaker
from bgpspeak.session import State
from bgpspeak.wire import IPV4_UNICAST, Prefix

TARGET_ADDRESS = "10.77.0.1"
TARGET_AS = 65000
BYSTANDER = "10.77.0.2"
BYSTANDER_AS = 64502


def neighbor_address(i: int) -> str:
    return f"10.77.0.{10 + i}"


def neighbor_as(i: int) -> int:
    return 64600 + i


@dataclass(frozen=True)
class NeighborSpec:
    address: str
    asn: int
    options: dict[str, Any]


def rss_bytes(pid: int | str = "self") -> int:
    with open(f"/proc/{pid}/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def fd_count(pid: int | str = "self") -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


class BgpspeakTarget:
    """A :class:`Speaker` in this process (the caller is inside the lab namespace)."""

    name = "bgpspeak"
    address = TARGET_ADDRESS
    port = 179
    asn = TARGET_AS
    router_id = TARGET_ADDRESS

    def __init__(self, neighbors: Sequence[NeighborSpec]) -> None:
        self.neighbors = neighbors
        self.speaker: Speaker | None = None
        self._started_tracing = False

    async def start(self) -> None:
        if not tracemalloc.is_tracing():
            tracemalloc.start()
            self._started_tracing = True
        sp = Speaker(self.asn, self.router_id, listen=[(self.address, self.port)])
        for n in self.neighbors:
            sp.add_neighbor(Neighbor(n.address, remote_as=n.asn, passive=True, **n.options))
        await sp.start()
        self.speaker = sp

    async def stop(self) -> None:
        if self.speaker is not None:
            await self.speaker.stop("adversarial run done")
        if self._started_tracing:
            # Left on, it would trace every later test in the process (and inflate their peaks).
            tracemalloc.stop()
            self._started_tracing = False

    def _sp(self) -> Speaker:
        assert self.speaker is not None
        return self.speaker

    async def route(self, neighbor: str, prefix: str) -> dict[str, Any] | None:
        table = self._sp().peer(neighbor).rib_in.routes.get(IPV4_UNICAST)
        attrs = None if table is None else table.get(Prefix.parse(prefix))
        if attrs is None:
            return None
        med = next((getattr(a, "value", None) for a in attrs if a.type_code == 4), None)
        return {"med": med, "codes": {a.type_code for a in attrs}}

    async def established(self, neighbor: str) -> bool:
        return self._sp().peer(neighbor).state is State.ESTABLISHED

    async def flood_routes(self, neighbor: str, count: int) -> None:
        """Give ``neighbor`` ``count`` routes of distinct attributes (one UPDATE each) to send."""
        routes = [
            Route.make(Prefix(1, (172 << 24) + (16 << 16) + i, 32), med=i) for i in range(count)
        ]
        self._sp().announce(routes, neighbors=[neighbor])

    async def small_buffers(self, neighbor: str) -> None:
        """Small socket and transport buffers on the session with ``neighbor``, so that a peer
        that stops reading blocks the writer after a few hundred kilobytes instead of the
        default high-water mark plus the kernel's autotuned buffers."""
        peer: Any = self._sp().peer(neighbor)
        conn = peer._established
        if conn is not None and conn.transport is not None:
            sock = conn.transport.get_extra_info("socket")
            if sock is not None:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 16384)
            conn.transport.set_write_buffer_limits(high=64 * 1024)

    def memory(self) -> dict[str, int]:
        gc.collect()
        return {"traced": tracemalloc.get_traced_memory()[0], "rss": rss_bytes(), "fds": fd_count()}


class FrrTarget:
    """FRR's bgpd in the lab namespace (tests/lab), configured like the bgpspeak target."""

    name = "frr"
    address = TARGET_ADDRESS
    port = 179
    asn = TARGET_AS
    router_id = TARGET_ADDRESS

    def __init__(self, lab: Any, ns: Any, neighbors: Sequence[NeighborSpec]) -> None:
        self.lab = lab
        self.ns = ns
        self.neighbors = neighbors
        self.frr: Any = None

    async def start(self) -> None:
        from lab import FrrNeighbor, bgpd_config

        frr_neighbors = []
        for n in self.neighbors:
            af: list[str] = []
            if n.options.get("max_prefixes"):
                af.append(f"maximum-prefix {n.options['max_prefixes']}")
            frr_neighbors.append(
                FrrNeighbor(n.address, n.asn, lines=("passive",), af_lines=tuple(af))
            )
        config = bgpd_config(self.asn, self.router_id, frr_neighbors)
        self.frr = await asyncio.to_thread(self.lab.frr, self.ns, config)
        # a passive neighbor leaves Idle (where FRR refuses connections) after its start timer
        wanted = {n.address for n in self.neighbors}
        for _ in range(300):
            view = await asyncio.to_thread(self.frr.neighbors)
            if all(view.get(a, {}).get("bgpState") == "Active" for a in wanted):
                break
            await asyncio.sleep(0.1)

    async def stop(self) -> None:
        return None  # the lab stops it

    async def route(self, neighbor: str, prefix: str) -> dict[str, Any] | None:
        view = await asyncio.to_thread(self.frr.route, prefix)
        for p in view.get("paths", []):
            if p.get("peer", {}).get("peerId") != neighbor:
                continue
            codes = {1, 2, 3}
            for key, code in (
                ("metric", 4),
                ("locPrf", 5),
                ("atomicAggregate", 6),
                ("aggregatorAs", 7),
                ("community", 8),
                ("originatorId", 9),
                ("clusterList", 10),
            ):
                if key in p:
                    codes.add(code)
            return {"med": p.get("metric"), "codes": codes}
        return None

    async def established(self, neighbor: str) -> bool:
        state = await asyncio.to_thread(self.frr.neighbor_state, neighbor)
        return bool(state == "Established")

    async def flood_routes(self, neighbor: str, count: int) -> None:
        raise NotImplementedError("not run against FRR: it would need FRR to originate routes")

    async def small_buffers(self, neighbor: str) -> None:
        return None

    def memory(self) -> dict[str, int]:
        pid = self.frr.daemons["bgpd"].pid
        return {"rss": rss_bytes(pid), "fds": fd_count(pid)}
