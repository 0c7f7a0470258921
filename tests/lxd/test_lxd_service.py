"""The announcer's loop with a fake LXD (recorded reads, scripted events) and a real bgpspeak
speaker as the router, over loopback: what reaches the router, when, and what survives LXD
going away and the announcer restarting."""

from __future__ import annotations

import asyncio
import copy
import logging
import socket
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from bgpspeak import Neighbor, PeerDown, PeerUp, RouteReceived, RouteWithdrawn, Speaker
from lxd.snapshots import instance, recorded
from routeragent.lxd.config_load import parse_lxd_config
from routeragent.lxd.lxd_objects import RawSnapshot
from routeragent.lxd.lxd_reader import LxdUnavailable, StreamMessage
from routeragent.lxd.service import Announcer, relevant

pytestmark = pytest.mark.timeout(60)


class FakeLxd:
    """An LxdSource: serves ``raw`` until ``down``; events are pushed by the test."""

    def __init__(self, raw: RawSnapshot) -> None:
        self.raw = raw
        self.down = False
        self.reads = 0
        self.opened = 0
        self._deliver: Callable[[StreamMessage], None] | None = None

    def read(self) -> RawSnapshot:
        if self.down:
            raise LxdUnavailable("LXD is restarting")
        self.reads += 1
        return copy.deepcopy(self.raw)

    def open_events(self, deliver: Callable[[StreamMessage], None]) -> Callable[[], None]:
        if self.down:
            raise LxdUnavailable("no socket")
        self._deliver = deliver
        self.opened += 1
        return lambda: None

    def event(self, action: str, source: str = "/1.0/instances/x") -> None:
        assert self._deliver is not None
        self._deliver(
            StreamMessage(
                event={"type": "lifecycle", "metadata": {"action": action, "source": source}}
            )
        )

    def stop_daemon(self) -> None:
        self.down = True
        if self._deliver is not None:
            self._deliver(StreamMessage(closed=1006))
            self._deliver = None


@dataclass
class Router:
    """A bgpspeak speaker standing in for FRR; ``paths`` is what it holds from us."""

    speaker: Speaker
    port: int
    paths: dict[tuple[str, int | None], tuple[str, ...]] = field(default_factory=dict)
    downs: list[PeerDown] = field(default_factory=list)
    ups: list[PeerUp] = field(default_factory=list)

    def view(self) -> set[tuple[str, str]]:
        return {(p, nh[0]) for (p, _), nh in self.paths.items()}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
async def router() -> AsyncIterator[Router]:
    async for r in make_router(add_path=True):
        yield r


@pytest.fixture
async def plain_router() -> AsyncIterator[Router]:
    """A router that does not take ADD-PATH."""
    async for r in make_router(add_path=False):
        yield r


async def make_router(add_path: bool) -> AsyncIterator[Router]:
    port = free_port()
    sp = Speaker(65000, "192.0.2.1", listen=[("127.0.0.1", port)])
    receive = (("ipv4/unicast", "receive"), ("ipv6/unicast", "receive"))
    sp.add_neighbor(
        Neighbor("127.0.0.2", remote_as=65010, passive=True, add_path=receive if add_path else ())
    )
    r = Router(sp, port)
    events = sp.events()

    async def collect() -> None:
        async for ev in events:
            if isinstance(ev, RouteReceived):
                r.paths[(str(ev.prefix), ev.prefix.path_id)] = tuple(str(n) for n in ev.next_hops)
            elif isinstance(ev, RouteWithdrawn):
                r.paths.pop((str(ev.prefix), ev.prefix.path_id), None)
            elif isinstance(ev, PeerDown):
                r.downs.append(ev)
            elif isinstance(ev, PeerUp):
                r.ups.append(ev)

    await sp.start()
    task = asyncio.create_task(collect())
    try:
        yield r
    finally:
        task.cancel()
        await sp.stop()


def announcer_config(port: int, state: Path, graceful: bool = True) -> Any:
    return parse_lxd_config(
        {
            "announcer": {
                "name": "t",
                "state_dir": str(state),
                "debounce": 0.01,
                "resync_interval": 3600,
                "reconnect_min": 0.05,
                "reconnect_max": 0.2,
                "graceful_stop": graceful,
            },
            "lxd": {"socket": "/nonexistent"},
            "bgp": {"asn": 65010, "router_id": "192.0.2.2", "restart_time": 30},
            "neighbor": [
                {
                    "address": "127.0.0.1",
                    "port": port,
                    "remote_as": 65000,
                    "local_address": "127.0.0.2",
                    "hold_time": 9,
                }
            ],
            "kinds": {"instance": {"communities": ["65010:140"]}},
        }
    )


async def wait_for(check: Callable[[], bool], what: str, timeout: float = 10.0) -> float:
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    while not check():
        if loop.time() - t0 > timeout:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)
    return loop.time() - t0


RECORDED_PATHS = 15


async def start(
    lxd: FakeLxd, router: Router, state: Path, graceful: bool = True
) -> tuple[Announcer, asyncio.Task[int]]:
    cfg = announcer_config(router.port, state, graceful)
    a = Announcer(cfg, lxd, lxd, logging.getLogger("test-announcer"))
    task = asyncio.create_task(a.run())
    return a, task


async def stop(a: Announcer, task: asyncio.Task[int]) -> None:
    a.request_stop()
    assert await asyncio.wait_for(task, 10) == 0


async def test_everything_reaches_the_router_with_anycast_paths(
    router: Router, tmp_path: Path
) -> None:
    lxd = FakeLxd(recorded())
    a, task = await start(lxd, router, tmp_path)
    try:
        await wait_for(lambda: len(router.paths) == RECORDED_PATHS, "all paths")
        view = router.view()
        assert ("10.211.1.0/24", "10.210.0.100") in view
        assert ("2001:db8:211:1::/64", "2001:db8:210::100") in view
        anycast = {k: v for k, v in router.paths.items() if k[0] == "198.51.100.99/32"}
        assert sorted(v[0] for v in anycast.values()) == ["10.210.0.100", "10.210.0.101"]
        assert {k[1] for k in anycast} == {1, 2}
        assert (tmp_path / "announcing").exists()
    finally:
        await stop(a, task)


async def test_events_drive_reads_and_only_relevant_ones(router: Router, tmp_path: Path) -> None:
    lxd = FakeLxd(recorded())
    a, task = await start(lxd, router, tmp_path)
    try:
        await wait_for(lambda: len(router.paths) == RECORDED_PATHS, "all paths")
        await wait_for(lambda: lxd.opened == 1, "event stream")
        await asyncio.sleep(0.1)
        reads = lxd.reads
        lxd.event("image-created", "/1.0/images/x")
        lxd.event("instance-log-retrieved")
        await asyncio.sleep(0.2)
        assert lxd.reads == reads  # nothing relevant: no read
        instance(lxd.raw, "c1")["status"] = "Stopped"
        lxd.event("instance-stopped", "/1.0/instances/c1-r2170")
        c1 = {
            ("198.51.100.16/28", "10.210.0.100"),
            ("2001:db8:100:1::/64", "2001:db8:210::100"),
            ("198.51.100.99/32", "10.210.0.100"),
        }
        took = await wait_for(lambda: not c1 & router.view(), "c1 withdrawn")
        assert took < 1.0
        view = router.view()
        # anycast: c2's path stays
        assert ("198.51.100.99/32", "10.210.0.101") in view
        instance(lxd.raw, "c1")["status"] = "Running"
        for _ in range(5):  # a burst costs one read
            lxd.event("instance-updated", "/1.0/instances/c1-r2170")
        reads = lxd.reads
        await wait_for(lambda: ("198.51.100.16/28", "10.210.0.100") in router.view(), "c1 back")
        await asyncio.sleep(0.1)
        assert lxd.reads - reads == 1
    finally:
        await stop(a, task)


async def test_lxd_restart_keeps_routes_and_resyncs_on_reconnect(
    router: Router, tmp_path: Path
) -> None:
    lxd = FakeLxd(recorded())
    a, task = await start(lxd, router, tmp_path)
    try:
        await wait_for(lambda: len(router.paths) == RECORDED_PATHS, "all paths")
        await wait_for(lambda: lxd.opened == 1, "event stream")
        lxd.stop_daemon()
        await asyncio.sleep(0.5)  # several reconnect attempts fail
        assert len(router.paths) == RECORDED_PATHS
        # while LXD was away, c5 started: no event will ever say so
        instance(lxd.raw, "c5")["status"] = "Running"
        lxd.down = False
        await wait_for(lambda: len(router.paths) == RECORDED_PATHS + 2, "resync")
        assert ("198.51.100.80/29", "10.210.0.100") in router.view()
        assert ("2001:db8:100:5::/64", "2001:db8:210::100") in router.view()
        assert lxd.opened == 2
        assert router.downs == []
    finally:
        await stop(a, task)


async def test_graceful_stop_keeps_routes_and_the_restart_sweeps_what_is_gone(
    router: Router, tmp_path: Path
) -> None:
    lxd = FakeLxd(recorded())
    a, task = await start(lxd, router, tmp_path)
    await wait_for(lambda: len(router.paths) == RECORDED_PATHS, "all paths")
    await stop(a, task)
    await wait_for(lambda: bool(router.downs), "session down")
    assert router.downs[-1].graceful
    assert len(router.speaker.peer("127.0.0.2").rib_in) == RECORDED_PATHS  # kept as stale
    assert (tmp_path / "announcing").exists()
    # c1 stops while the announcer is away; the new process restarts gracefully
    instance(lxd.raw, "c1")["status"] = "Stopped"
    a2, task2 = await start(lxd, router, tmp_path)
    try:
        await wait_for(lambda: len(router.ups) == 2, "session back")
        neg = router.ups[-1].negotiated
        assert neg.peer_restart is not None and neg.peer_restart.restarting
        rib = router.speaker.peer("127.0.0.2").rib_in
        await wait_for(
            lambda: len(rib) == RECORDED_PATHS - 3 and not any(rib.stale.values()), "stale swept"
        )
    finally:
        await stop(a2, task2)


async def test_stop_without_graceful_withdraws(router: Router, tmp_path: Path) -> None:
    lxd = FakeLxd(recorded())
    a, task = await start(lxd, router, tmp_path, graceful=False)
    await wait_for(lambda: len(router.paths) == RECORDED_PATHS, "all paths")
    await stop(a, task)
    await wait_for(lambda: bool(router.downs), "session down")
    assert not router.downs[-1].graceful
    assert len(router.speaker.peer("127.0.0.2").rib_in) == 0
    assert not (tmp_path / "announcing").exists()


async def test_no_session_before_lxd_answers(router: Router, tmp_path: Path) -> None:
    lxd = FakeLxd(recorded())
    lxd.down = True
    a, task = await start(lxd, router, tmp_path)
    try:
        await asyncio.sleep(0.5)
        assert router.ups == [] and a.speaker is None
        lxd.down = False
        await wait_for(lambda: len(router.paths) == RECORDED_PATHS, "all paths")
    finally:
        await stop(a, task)


async def test_stop_while_waiting_for_lxd(tmp_path: Path) -> None:
    lxd = FakeLxd(recorded())
    lxd.down = True
    a = Announcer(announcer_config(free_port(), tmp_path), lxd, lxd, logging.getLogger("t"))
    task = asyncio.create_task(a.run())
    await asyncio.sleep(0.1)
    await stop(a, task)
    assert a.speaker is None and not (tmp_path / "announcing").exists()


async def test_unforeseen_data_keeps_routes_and_the_loop_alive(
    router: Router, tmp_path: Path
) -> None:
    lxd = FakeLxd(recorded())
    a, task = await start(lxd, router, tmp_path)
    try:
        await wait_for(lambda: len(router.paths) == RECORDED_PATHS, "all paths")
        await wait_for(lambda: lxd.opened == 1, "event stream")
        good = lxd.raw
        bad = copy.deepcopy(good)
        bad["networks"]["default"] = ["not a network"]  # type: ignore[list-item]
        lxd.raw = bad
        reads = lxd.reads
        lxd.event("network-updated", "/1.0/networks/ovn1")
        await wait_for(lambda: lxd.reads > reads, "a read of the bad data")
        await asyncio.sleep(0.2)
        assert len(router.paths) == RECORDED_PATHS  # nothing withdrawn
        instance(good, "c1")["status"] = "Stopped"
        lxd.raw = good
        lxd.event("instance-stopped", "/1.0/instances/c1-r2170")
        await wait_for(lambda: len(router.paths) == RECORDED_PATHS - 3, "still reacting")
    finally:
        await stop(a, task)


async def test_lxd_answering_errors_keeps_routes_and_reports(
    router: Router, tmp_path: Path
) -> None:
    """The event stream stays up but every read fails (LXD's database locked, HTTP 500):
    nothing is withdrawn, the failure is a gauge and a log event, and the first read that
    works again brings the changes made meanwhile."""
    lxd = FakeLxd(recorded())
    a, task = await start(lxd, router, tmp_path)
    events: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda rec: events.append(rec.getMessage())  # type: ignore[method-assign]
    a.logger.addHandler(handler)
    level = a.logger.level
    a.logger.setLevel(logging.INFO)
    try:
        await wait_for(lambda: len(router.paths) == RECORDED_PATHS, "all paths")
        await wait_for(lambda: lxd.opened == 1, "event stream")
        assert a.metrics.read_ok._value.get() == 1

        def failing() -> RawSnapshot:
            raise LxdUnavailable("GET /1.0/instances: 500 database is locked")

        lxd.read = failing  # type: ignore[method-assign]
        instance(lxd.raw, "c1")["status"] = "Stopped"
        lxd.event("instance-stopped", "/1.0/instances/c1-r2170")
        await wait_for(lambda: "lxd-read-failed" in events, "a failed read")
        assert a.metrics.read_ok._value.get() == 0
        assert a.metrics.lxd_up._value.get() == 1  # the stream is fine, the reads are not
        await asyncio.sleep(0.2)
        assert len(router.paths) == RECORDED_PATHS  # nothing withdrawn
        del lxd.read  # LXD answers again
        lxd.event("instance-updated", "/1.0/instances/c2")
        await wait_for(lambda: len(router.paths) == RECORDED_PATHS - 3, "c1's paths withdrawn")
        assert "lxd-read-ok" in events and a.metrics.read_ok._value.get() == 1
    finally:
        a.logger.removeHandler(handler)
        a.logger.setLevel(level)
        await stop(a, task)


async def test_neighbor_without_add_path_gets_one_path_per_prefix(
    plain_router: Router, tmp_path: Path
) -> None:
    router = plain_router
    lxd = FakeLxd(recorded())
    a, task = await start(lxd, router, tmp_path)
    try:
        # the anycast prefix: one path, the lowest next hop, once the negotiation is known
        await wait_for(
            lambda: (
                router.paths.get(("198.51.100.99/32", None)) == ("10.210.0.100",)
                and len(router.paths) == RECORDED_PATHS - 1
            ),
            "one path per prefix",
        )
        await wait_for(lambda: lxd.opened == 1, "event stream")
        instance(lxd.raw, "c1")["status"] = "Stopped"
        lxd.event("instance-stopped", "/1.0/instances/c1-r2170")
        # c1's path goes; c2's takes its place instead of the prefix vanishing
        await wait_for(
            lambda: router.paths.get(("198.51.100.99/32", None)) == ("10.210.0.101",),
            "the other anycast path",
        )
        await asyncio.sleep(0.2)
        assert router.paths.get(("198.51.100.99/32", None)) == ("10.210.0.101",)
    finally:
        await stop(a, task)


def test_relevant_actions() -> None:
    assert relevant("instance-started") and relevant("network-forward-created")
    assert relevant("network-load-balancer-deleted") and relevant("project-updated")
    assert not relevant("image-created") and not relevant("instance-log-retrieved")
    assert not relevant("storage-pool-updated") and not relevant("instance-snapshot-created")
