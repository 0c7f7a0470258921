"""The announcer's loop: LXD in, BGP out.

    start   read LXD fully (retrying until it answers), compute what to announce, hand it to
            the speaker, then start the speaker: the first UPDATEs after OPEN carry everything,
            and the End-of-RIB that follows is what lets routers drop stale routes of a
            previous run (graceful restart). Reading first is what makes that safe.
    events  LXD's lifecycle stream marks the state dirty; the sync loop waits ``debounce``
            so a burst (a restart is stopped + started) costs one read, reads everything, and
            gives the speaker the new set; bgpspeak sends only the difference.
    resync  every ``resync_interval`` and after every (re)connection of the stream, because
            events are lost while the stream is down (LXD restarting).
    LXD gone  nothing is withdrawn: reads fail, the last set stays announced, the stream
            reconnects with backoff.
    stop    SIGTERM/SIGINT: with ``graceful_stop`` an administrative reset that routers answer
            by keeping our routes until we are back (or restart_time passes); otherwise a
            hard reset that withdraws them at once.

A marker file in ``state_dir`` says "we were announcing": a process that finds it starts with
the graceful-restart R bit set.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Protocol

from bgpspeak import Neighbor, Speaker
from bgpspeak.speaker_events import PeerDown, PeerUp
from routeragent import logs
from routeragent.config_model import IPAddress, IPNetwork
from routeragent.lxd.bgp_routes import Path as BgpPath
from routeragent.lxd.bgp_routes import PathIds, merge, routes_for_neighbor
from routeragent.lxd.config_model import LxdConfig, NeighborSettings
from routeragent.lxd.lxd_objects import RawSnapshot, parse_snapshot
from routeragent.lxd.lxd_reader import LxdUnavailable, StreamMessage
from routeragent.lxd.metrics import AnnouncerMetrics
from routeragent.lxd.model import Desired, desired

INSTANCE_ACTIONS = frozenset(
    {
        "instance-created",
        "instance-started",
        "instance-stopped",
        "instance-shutdown",
        "instance-restarted",
        "instance-paused",
        "instance-resumed",
        "instance-updated",
        "instance-renamed",
        "instance-deleted",
    }
)


def relevant(action: str) -> bool:
    """Lifecycle actions that can change what we announce (others, such as image or storage
    events and an instance's log or file access, are frequent and never do)."""
    return action in INSTANCE_ACTIONS or action.startswith(
        ("network-", "project-", "cluster-member-")
    )


class LxdSource(Protocol):
    """What the announcer needs from LXD (``LxdReader``; tests replay recordings)."""

    def read(self) -> RawSnapshot: ...

    def open_events(self, deliver: Callable[[StreamMessage], None]) -> Callable[[], None]: ...


def make_neighbor(n: NeighborSettings, restart_time: int) -> Neighbor:
    return Neighbor(
        n.address,
        remote_as=n.remote_as,
        port=n.port,
        passive=n.passive,
        local_address=n.local_address,
        md5_password=n.md5_password,
        hold_time=n.hold_time,
        families=n.families,
        add_path=tuple((f, "send") for f in n.families) if n.add_path else (),
        graceful_restart=True,
        restart_time=restart_time,
        description=n.description,
    )


class Announcer:
    def __init__(
        self,
        config: LxdConfig,
        reader: LxdSource,
        events_reader: LxdSource,
        logger: logging.Logger,
        metrics: AnnouncerMetrics | None = None,
    ) -> None:
        self.config = config
        self.reader = reader
        self.events_reader = events_reader
        self.logger = logger
        self.metrics = metrics or AnnouncerMetrics()
        self.speaker: Speaker | None = None
        self.desired: Desired | None = None
        self.paths: dict[tuple[IPNetwork, IPAddress], BgpPath] = {}
        self._ids = PathIds()
        self._negotiated: dict[IPAddress, frozenset[int]] = {}
        self._dirty = asyncio.Event()
        self._stop = asyncio.Event()
        self._trigger = "start"
        self._rejected: set[tuple[str, str, str]] = set()
        self._problems: tuple[str, ...] = ()
        #: monotonic time of the last publish that changed something (tests measure with it)
        self.last_change: float | None = None
        self.reads = 0
        self._read_failures = 0

    @property
    def marker(self) -> Path:
        return self.config.announcer.state_dir / "announcing"

    def log(self, event: str, level: int = logging.INFO, **fields: Any) -> None:
        logs.emit(self.logger, event, level, **fields)

    def request_stop(self) -> None:
        self._stop.set()

    # --- the whole life --------------------------------------------------------------------
    async def run(self) -> int:
        restarting = self.marker.exists()
        first = await self._first_read()
        if first is None:
            return 0
        bgp = self.config.bgp
        self.speaker = Speaker(
            bgp.asn, bgp.router_id, listen=bgp.listen, hostname=None, restarting=restarting
        )
        for n in bgp.neighbors:
            self.speaker.add_neighbor(make_neighbor(n, bgp.restart_time))
        peer_events = self.speaker.events()
        self._apply(first)
        await self.speaker.start()
        self.config.announcer.state_dir.mkdir(parents=True, exist_ok=True)
        self.marker.write_text(f"{time.time():.3f}\n")
        self.log(
            "started", restarting=restarting, neighbors=[str(n.address) for n in bgp.neighbors]
        )
        tasks = [
            asyncio.create_task(self._guarded("lxd-events", self._events_loop)),
            asyncio.create_task(self._guarded("lxd-sync", self._sync_loop)),
            asyncio.create_task(self._guarded("bgp-events", lambda: self._peer_loop(peer_events))),
        ]
        try:
            await self._stop.wait()
        finally:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            peer_events.close()
            graceful = self.config.announcer.graceful_stop
            await self.speaker.stop("announcer stopping", restart=graceful)
            if not graceful:
                self.marker.unlink(missing_ok=True)
            self.log("stopped", graceful=graceful)
        return 0

    async def _guarded(self, name: str, loop: Callable[[], Awaitable[None]]) -> None:
        """Run ``loop`` for the announcer's whole life: a bug met in one pass (LXD sending
        something unforeseen) is logged and the loop starts again, keeping what is announced,
        instead of silently ending the task and with it all reactions."""
        while True:
            try:
                await loop()
            except asyncio.CancelledError:
                raise
            except Exception as e:
                self.logger.error(
                    "internal-error",
                    exc_info=True,
                    extra={"fields": {"loop": name, "error": repr(e)}},
                )
                await asyncio.sleep(self.config.announcer.reconnect_max)

    async def _first_read(self) -> Desired | None:
        wait = self.config.announcer.reconnect_min
        while not self._stop.is_set():
            got = await self._read()
            if got is not None:
                return got
            await self._sleep_or_stop(wait)
            wait = min(wait * 2, self.config.announcer.reconnect_max)
        return None

    async def _sleep_or_stop(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop.wait(), seconds)

    # --- reading ---------------------------------------------------------------------------
    async def _read(self) -> Desired | None:
        t0 = time.monotonic()
        try:
            raw = await asyncio.to_thread(self.reader.read)
        except LxdUnavailable as e:
            self._read_failed()
            self.log("lxd-read-failed", logging.WARNING, error=str(e), trigger=self._trigger)
            return None
        seconds = time.monotonic() - t0
        try:
            result = desired(parse_snapshot(raw), self.config.lxd)
        except Exception as e:  # LXD answered with a shape we do not know: keep the old set
            self._read_failed()
            self.log("lxd-data-error", logging.ERROR, error=repr(e), trigger=self._trigger)
            return None
        if self._read_failures:
            self.log("lxd-read-ok", after_failures=self._read_failures)
            self._read_failures = 0
        self.metrics.read_ok.set(1)
        self.reads += 1
        self.metrics.syncs.labels("ok").inc()
        self.metrics.read_seconds.observe(seconds)
        self.metrics.observe_desired(result)
        return result

    def _read_failed(self) -> None:
        """A read that did not work: what is announced stays as it is (LXD restarting or
        answering errors must never withdraw routes); counted and shown as a gauge."""
        self._read_failures += 1
        self.metrics.syncs.labels("failed").inc()
        self.metrics.read_ok.set(0)

    async def _sync_loop(self) -> None:
        a = self.config.announcer
        while True:
            try:
                await asyncio.wait_for(self._dirty.wait(), a.resync_interval)
            except TimeoutError:
                self._trigger = "periodic"
            await asyncio.sleep(a.debounce)
            self._dirty.clear()
            got = await self._read()
            if got is not None:
                self._apply(got)

    def _mark(self, trigger: str) -> None:
        self._trigger = trigger
        self._dirty.set()

    async def _events_loop(self) -> None:
        a = self.config.announcer
        wait = a.reconnect_min
        loop = asyncio.get_running_loop()
        while True:
            queue: asyncio.Queue[StreamMessage] = asyncio.Queue()

            def deliver(m: StreamMessage, q: asyncio.Queue[StreamMessage] = queue) -> None:
                loop.call_soon_threadsafe(q.put_nowait, m)

            try:
                close = await asyncio.to_thread(self.events_reader.open_events, deliver)
            except LxdUnavailable as e:
                self.metrics.lxd_up.set(0)
                self.log("lxd-events-unavailable", logging.WARNING, error=str(e), retry_in=wait)
                await asyncio.sleep(wait)
                wait = min(wait * 2, a.reconnect_max)
                continue
            wait = a.reconnect_min
            self.metrics.lxd_up.set(1)
            self.log("lxd-events-connected")
            self._mark("events-connected")  # whatever happened while we were not listening
            try:
                while True:
                    msg = await queue.get()
                    if msg.closed is not None:
                        self.metrics.lxd_up.set(0)
                        self.log("lxd-events-closed", logging.WARNING, code=msg.closed)
                        break
                    self._on_event(msg.event or {})
            finally:
                await asyncio.to_thread(close)

    def _on_event(self, event: dict[str, Any]) -> None:
        if event.get("type") != "lifecycle":
            return
        meta = event.get("metadata") or {}
        action = str(meta.get("action", ""))
        self.metrics.events.labels(action).inc()
        if relevant(action):
            self._mark(f"{action} {meta.get('source', '')}")

    async def _peer_loop(self, stream: Any) -> None:
        async for ev in stream:
            if isinstance(ev, PeerUp):
                fams = frozenset(4 if f.afi == 1 else 6 for f in ev.negotiated.add_path_send)
                self.metrics.established.labels(str(ev.peer)).set(1)
                self.log("bgp-up", neighbor=str(ev.peer), add_path=sorted(fams))
                if self._negotiated.get(ev.peer) != fams:
                    self._negotiated[ev.peer] = fams
                    if self.desired is not None:
                        self._send(self.desired)
            elif isinstance(ev, PeerDown):
                self.metrics.established.labels(str(ev.peer)).set(0)
                self.log("bgp-down", logging.WARNING, neighbor=str(ev.peer), reason=ev.reason)

    # --- publishing ------------------------------------------------------------------------
    def _apply(self, new: Desired) -> None:
        paths = {(p.prefix, p.next_hop): p for p in merge(new.announcements)}
        old = self.paths
        changed = False
        for key in sorted(old.keys() - paths.keys(), key=_key_order):
            p = old[key]
            self.metrics.changes.labels("withdraw").inc()
            self.log(
                "withdraw",
                prefix=str(p.prefix),
                next_hop=str(p.next_hop),
                kinds=list(p.kinds),
                trigger=self._trigger,
            )
            changed = True
        for key in sorted(paths.keys(), key=_key_order):
            p = paths[key]
            was = old.get(key)
            if was == p:
                continue
            self.metrics.changes.labels("announce").inc()
            self.log(
                "announce",
                prefix=str(p.prefix),
                next_hop=str(p.next_hop),
                kinds=list(p.kinds),
                sources=list(p.sources),
                trigger=self._trigger,
            )
            changed = True
        rejected = {(str(r.prefix), str(r.next_hop), r.reason) for r in new.rejected}
        for prefix, nh, reason in sorted(rejected - self._rejected):
            self.log("rejected", logging.WARNING, prefix=prefix, next_hop=nh, reason=reason)
        self._rejected = rejected
        if new.problems != self._problems:
            for problem in new.problems:
                self.log("lxd-problem", logging.WARNING, problem=problem)
            self._problems = new.problems
        self.paths = paths
        self.desired = new
        if changed:
            self.last_change = time.monotonic()
        self._send(new)

    def _send(self, new: Desired) -> None:
        if self.speaker is None:
            return
        paths = merge(new.announcements)
        ids = self._ids.assign(paths)
        for n in self.config.bgp.neighbors:
            fams = self._add_path_families(n)
            routes = routes_for_neighbor(paths, self.config, fams, ids)
            self.speaker.replace(routes, neighbors=[n.address])

    def _add_path_families(self, n: NeighborSettings) -> frozenset[int]:
        if not n.add_path:
            return frozenset()
        configured = frozenset(4 if f.startswith("ipv4") else 6 for f in n.families)
        negotiated = self._negotiated.get(n.address)
        # before the session is up, assume the neighbor takes ADD-PATH (FRR always does)
        return configured if negotiated is None else configured & negotiated


def _key_order(key: tuple[IPNetwork, IPAddress]) -> tuple[int, int, int, int]:
    prefix, nh = key
    return prefix.version, int(prefix.network_address), prefix.prefixlen, int(nh)
