"""The asyncio side of BFD: sockets, one timer, and the pure :class:`BfdTable` in between.

Kept thin like the BGP peer: every protocol decision is the table's; this module reads
datagrams (with the TTL and addresses the kernel reports), sends what the sessions ask for,
keeps one timer at the table's next deadline, and hands state changes to subscribers.

By default it runs on a dedicated thread with its own event loop. Measured here (docs/bfd.md):
the speaker's own loop stalls for hundreds of milliseconds while it decodes a large table, and
a BFD timer on that loop would stall with it; a thread only waits for the GIL. CPython hands
the GIL over every 5 ms by default and a BFD packet needs it several times (every system call
gives it up), so with a busy main thread packets left up to 70 ms late; the service therefore
lowers ``sys.setswitchinterval`` to 1 ms while its thread runs (``switch_interval``), which
brought that under 8 ms. ``dedicated_thread=False`` runs on the caller's loop instead (tests,
programs whose loop never does long work). Public methods may be called from any thread: a
lock guards the table, and subscribers get their events on the loop they subscribed from.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import socket
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from .codes import MULTI_HOP_PORT, SINGLE_HOP_PORT, Diag, State
from .config import BfdConfig, IPAddress, SessionKey, SessionParams
from .events import AdminDown, AdminUp, Reconfigure, StateChanged, Transmit
from .sockets import (
    InterfaceNames,
    destination,
    open_receiver,
    open_sender,
    open_session_receiver,
    receive,
)
from .status import ServiceStatus, SessionStatus
from .table import BfdTable, SessionOutput

log = logging.getLogger("bgpspeak.bfd")
READ_BATCH = 64  # datagrams per wake-up: a flood cannot keep the timers from running


def monotonic_us() -> int:
    return time.monotonic_ns() // 1000


@dataclass(frozen=True, slots=True)
class SessionEvent:
    """A session changed state. ``path_down``: it was Up and the path may be gone (not an
    administrative Down on either side): what BGP reacts to (RFC 5882 section 3.2)."""

    key: SessionKey
    old: State
    new: State
    diag: Diag
    remote_admin: bool
    remote_diag: int
    at: float  # time.monotonic() of the change

    @property
    def path_down(self) -> bool:
        change = StateChanged(self.old, self.new, self.diag, self.remote_admin, self.remote_diag)
        return change.path_down


Subscriber = Callable[[SessionEvent], None]


class BfdService:
    """Every BFD session of a program. See the module docstring."""

    def __init__(
        self,
        *,
        rng: random.Random | None = None,
        dedicated_thread: bool = True,
        single_hop_port: int = SINGLE_HOP_PORT,
        multi_hop_port: int = MULTI_HOP_PORT,
        listen_v4: str | None = None,
        listen_v6: str | None = None,
        switch_interval: float | None = 0.001,
    ) -> None:
        """``single_hop_port`` / ``multi_hop_port`` / ``listen_*`` exist for tests that run two
        systems on one host; real sessions use 3784 / 4784 on every address.
        ``switch_interval``: with the dedicated thread, lower the interpreter's GIL switch
        interval to this (seconds; never raised, put back on stop); None leaves it alone."""
        self._rng = rng if rng is not None else random.Random()
        self.table = BfdTable(self._rng)
        self.dedicated_thread = dedicated_thread
        self._ports = {False: single_hop_port, True: multi_hop_port}
        self._listen = {socket.AF_INET: listen_v4, socket.AF_INET6: listen_v6}
        self._lock = threading.RLock()
        self._senders: dict[SessionKey, socket.socket] = {}
        self._receivers: dict[tuple[int, bool], socket.socket] = {}
        # per session, once the peer's source port is known: (port, connected socket or None
        # if it could not be opened)
        self._session_rx: dict[SessionKey, tuple[int, socket.socket | None]] = {}
        self._subscribers: list[tuple[Subscriber, asyncio.AbstractEventLoop | None]] = []
        self._names = InterfaceNames()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._engine_ident: int | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at: int | None = None
        self._running = False
        self._switch_interval = switch_interval
        self._saved_switch_interval: float | None = None

    # --- sessions ---------------------------------------------------------------------------

    def add(self, key: SessionKey, params: SessionParams, *, admin_down: bool = False) -> None:
        """A new session; it starts sending as soon as the service runs."""
        with self._lock:
            self.table.add(key, params, admin_down=admin_down)
            if self._running:
                try:
                    self._open_for(key)
                except OSError:
                    self.table.remove(key, monotonic_us())
                    raise
        self._poke()

    def add_peer(
        self, peer: str | IPAddress, config: BfdConfig, *, local: IPAddress | None = None
    ) -> SessionKey:
        """A session from a user's :class:`BfdConfig`; returns its key."""
        key = config.key(peer, local)
        self.add(key, config.params(), admin_down=config.shutdown)
        return key

    def remove(self, key: SessionKey) -> None:
        """Forget a session after telling the peer AdminDown."""
        with self._lock:
            outs = self.table.remove(key, monotonic_us())
            self._process(outs, closing=key)
            sock = self._senders.pop(key, None)
            self._close_session_rx(key)
        if sock is not None:
            sock.close()
        self._poke()

    def set_admin_down(self, key: SessionKey, down: bool = True) -> None:
        with self._lock:
            event = AdminDown() if down else AdminUp()
            self._process(self.table.handle(key, event, monotonic_us()))
        self._poke()

    def reconfigure(self, key: SessionKey, params: SessionParams) -> None:
        """New intervals; while Up they are negotiated with a Poll Sequence, no flap."""
        with self._lock:
            self._process(self.table.handle(key, Reconfigure(params), monotonic_us()))
        self._poke()

    def state(self, key: SessionKey) -> State:
        with self._lock:
            return self.table.sessions[key].state

    def __contains__(self, key: object) -> bool:
        with self._lock:
            return key in self.table

    # --- status and events ------------------------------------------------------------------

    def status(self) -> ServiceStatus:
        now = monotonic_us()
        with self._lock:
            sessions = tuple(SessionStatus.of(k, s, now) for k, s in self.table.sessions.items())
            counters = self.table.counters.copy()
        return ServiceStatus(sessions, counters, self._running, self.dedicated_thread)

    def session_status(self, key: SessionKey) -> SessionStatus:
        with self._lock:
            return SessionStatus.of(key, self.table.sessions[key], monotonic_us())

    def subscribe(self, callback: Subscriber) -> Callable[[], None]:
        """Call ``callback(event)`` on every state change, on the event loop running where
        ``subscribe`` was called (directly in the BFD thread if none). Returns the
        unsubscribe function."""
        try:
            loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        entry = (callback, loop)
        with self._lock:
            self._subscribers.append(entry)

        def unsubscribe() -> None:
            with self._lock, contextlib.suppress(ValueError):
                self._subscribers.remove(entry)

        return unsubscribe

    @contextlib.asynccontextmanager
    async def events(self) -> AsyncIterator[asyncio.Queue[SessionEvent]]:
        """``async with service.events() as q: event = await q.get()``"""
        queue: asyncio.Queue[SessionEvent] = asyncio.Queue()
        unsubscribe = self.subscribe(queue.put_nowait)
        try:
            yield queue
        finally:
            unsubscribe()

    async def wait_state(self, key: SessionKey, state: State, timeout: float = 10.0) -> None:
        """Until the session is in ``state`` (polled: works whatever thread runs BFD)."""
        deadline = time.monotonic() + timeout
        while self.state(key) is not state:
            if time.monotonic() > deadline:
                raise TimeoutError(f"BFD {key}: not {state.label} after {timeout} s")
            await asyncio.sleep(0.01)

    # --- lifecycle --------------------------------------------------------------------------

    async def start(self) -> None:
        """Open the sockets (in the calling thread's network namespace) and start running."""
        if self._running:
            return
        with self._lock:
            self._running = True
            try:
                for key in list(self.table):
                    self._open_for(key)
            except OSError:
                self._running = False
                self._close_sockets()
                raise
        if not self.dedicated_thread:
            self._loop = asyncio.get_running_loop()
            self._engine_ident = threading.get_ident()
            for (_family, multihop), sock in self._receivers.items():
                self._watch(sock, multihop)
            self._arm()
            return
        wanted = self._switch_interval
        if wanted is not None and sys.getswitchinterval() > wanted:
            self._saved_switch_interval = sys.getswitchinterval()
            sys.setswitchinterval(wanted)
        ready = threading.Event()
        self._thread = threading.Thread(
            target=self._thread_main, args=(ready,), name="bgpspeak-bfd", daemon=True
        )
        self._thread.start()
        if not await asyncio.to_thread(ready.wait, 10.0):
            raise RuntimeError("the BFD thread did not start")

    def _thread_main(self, ready: threading.Event) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        self._engine_ident = threading.get_ident()
        try:
            with self._lock:
                for (_family, multihop), sock in self._receivers.items():
                    self._watch(sock, multihop)
                self._arm()
            ready.set()
            loop.run_forever()
        finally:
            loop.close()

    async def stop(self) -> None:
        """Tell every peer AdminDown (RFC 5882: not a failure), then close everything."""
        if not self._running:
            return
        with self._lock:
            for key in list(self.table):
                self._process(self.table.remove(key, monotonic_us()), closing=key)
        loop, thread = self._loop, self._thread
        if thread is not None and loop is not None:
            loop.call_soon_threadsafe(self._shutdown_engine)
            await asyncio.to_thread(thread.join, 5.0)
        else:
            self._shutdown_engine()
        with self._lock:
            self._running = False
            self._close_sockets()
        self._loop = None
        self._thread = None
        saved, self._saved_switch_interval = self._saved_switch_interval, None
        if saved is not None and sys.getswitchinterval() == self._switch_interval:
            sys.setswitchinterval(saved)

    def _shutdown_engine(self) -> None:
        loop = self._loop
        assert loop is not None
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
            self._timer_at = None
        for sock in self._receivers.values():
            loop.remove_reader(sock.fileno())
        if self._thread is not None:
            loop.stop()

    def _close_sockets(self) -> None:
        for key in list(self._session_rx):
            self._close_session_rx(key)
        for sock in [*self._receivers.values(), *self._senders.values()]:
            sock.close()
        self._receivers.clear()
        self._senders.clear()

    def _close_session_rx(self, key: SessionKey) -> None:
        _port, sock = self._session_rx.pop(key, (0, None))
        if sock is None:
            return
        loop = self._loop
        if loop is not None and threading.get_ident() == self._engine_ident:
            loop.remove_reader(sock.fileno())
            sock.close()
        elif loop is not None and self._running:
            loop.call_soon_threadsafe(self._unwatch_and_close, sock)
        else:
            sock.close()

    def _unwatch_and_close(self, sock: socket.socket) -> None:
        if self._loop is not None and sock.fileno() >= 0:
            self._loop.remove_reader(sock.fileno())
        sock.close()

    @property
    def running(self) -> bool:
        return self._running

    # --- sockets ----------------------------------------------------------------------------

    def _open_for(self, key: SessionKey) -> None:
        """The session's sender, and the receiver of its family and port if not open yet."""
        family = socket.AF_INET6 if key.peer.version == 6 else socket.AF_INET
        where = (family, key.multihop)
        if where not in self._receivers:
            sock = open_receiver(family, self._ports[key.multihop], self._listen[family])
            self._receivers[where] = sock
            if self._loop is not None:
                self._loop.call_soon_threadsafe(self._watch, sock, key.multihop)
        if key not in self._senders:
            self._senders[key] = open_sender(key, self._rng)

    def _watch(self, sock: socket.socket, multihop: bool) -> None:
        assert self._loop is not None
        if sock.fileno() >= 0:
            self._loop.add_reader(sock.fileno(), self._readable, sock, multihop)

    # --- the engine (runs on the BFD loop) ---------------------------------------------------

    def _readable(self, sock: socket.socket, multihop: bool, shared: bool = True) -> None:
        with self._lock:
            for _ in range(READ_BATCH):
                try:
                    dgram = receive(sock, multihop, self._names)
                except OSError as e:
                    log.debug("BFD receive: %s", e)
                    break
                if dgram is None:
                    break
                self._process(self.table.receive(dgram, monotonic_us()))
            if shared:
                self._give_sessions_their_sockets()
            self._arm()

    def _give_sessions_their_sockets(self) -> None:
        """Sessions whose peer port is known (or changed) get a connected receiver."""
        for key, port in self.table.peer_ports.items():
            have = self._session_rx.get(key)
            if have is not None and have[0] == port:
                continue
            self._close_session_rx(key)
            try:
                sock: socket.socket | None = open_session_receiver(
                    key, self._ports[key.multihop], port
                )
            except OSError as e:
                log.info("BFD %s: no socket of its own (%s); sharing the port's", key, e)
                sock = None
            self._session_rx[key] = (port, sock)
            if sock is not None and self._loop is not None:
                self._loop.add_reader(sock.fileno(), self._readable, sock, key.multihop, False)

    def _on_timer(self) -> None:
        self._timer = None
        self._timer_at = None
        with self._lock:
            self._process(self.table.tick(monotonic_us()))
            self._arm()

    def _arm(self) -> None:
        """One timer at the table's next deadline (only replaced when that moves)."""
        loop = self._loop
        if loop is None or not self._running:
            return
        deadline = self.table.next_deadline()
        if deadline == self._timer_at and self._timer is not None:
            return
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
            self._timer_at = None
        if deadline is not None:
            delay = max(0.0, (deadline - monotonic_us()) / 1_000_000)
            self._timer = loop.call_later(delay, self._on_timer)
            self._timer_at = deadline

    def _poke(self) -> None:
        """After a change from outside the engine: let it re-arm its timer."""
        loop = self._loop
        if loop is None or not self._running:
            return
        if threading.get_ident() == self._engine_ident:
            with self._lock:
                self._arm()
        else:
            loop.call_soon_threadsafe(self._locked_arm)

    def _locked_arm(self) -> None:
        with self._lock:
            self._arm()

    def _process(self, outs: list[SessionOutput], closing: SessionKey | None = None) -> None:
        for item in outs:
            out = item.output
            if isinstance(out, Transmit):
                self._send(item.key, out.packet.encode())
            elif isinstance(out, StateChanged) and item.key != closing:
                self._announce(item.key, out)

    def _send(self, key: SessionKey, data: bytes) -> None:
        sock = self._senders.get(key)
        if sock is None:
            return  # not running yet: the first packets go out after start
        try:
            sock.sendto(data, destination(key, self._ports[key.multihop]))
        except OSError as e:
            self.table.counters.tx_errors += 1
            log.debug("BFD send to %s: %s", key, e)

    def _announce(self, key: SessionKey, change: StateChanged) -> None:
        event = SessionEvent(
            key,
            change.old,
            change.new,
            change.diag,
            change.remote_admin,
            change.remote_diag,
            time.monotonic(),
        )
        log.info(
            "BFD %s: %s -> %s (%s)",
            key,
            change.old.label,
            change.new.label,
            Diag.describe(change.diag),
        )
        for callback, loop in list(self._subscribers):
            if loop is None:
                _call(callback, event)
            else:
                with contextlib.suppress(RuntimeError):  # that loop is closed
                    loop.call_soon_threadsafe(_call, callback, event)


def _call(callback: Subscriber, event: SessionEvent) -> None:
    try:
        callback(event)
    except Exception:
        log.exception("BFD subscriber %r failed on %s", callback, event)
