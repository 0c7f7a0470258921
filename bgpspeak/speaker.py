"""The asyncio BGP speaker: many neighbors on one event loop.

    speaker = Speaker(local_as=65010, router_id="192.0.2.10", listen=[("::", 179)])
    speaker.add_neighbor(Neighbor("10.0.0.1", remote_as=65001))
    await speaker.start()
    speaker.announce(Route.make("198.51.100.0/24", communities=["65010:1"]))
    async for event in speaker.events():
        ...

Routes announced without ``neighbors=`` go to every neighbor, including ones added later.

Route changes are applied in order, a few milliseconds at a time: a call with a handful of
routes takes effect before it returns; a call with millions (a list or any iterable, consumed
lazily) continues in the background without stalling the event loop (``await
speaker.flush()`` waits until everything is applied and handed to the neighbors' sockets).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import itertools
import logging
import socket
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from .bfd import BfdService, BgpBfd, PeerHooks
from .neighbor import Neighbor
from .net.sockopts import send_with_max_ttl, set_md5
from .peer import SLICE_S, Peer, normalize
from .route_store import RouteStore, Templates, family_of, prefix_key
from .routes import Route
from .session import Session, State
from .speaker_events import Event
from .wire.errors import CeaseSubcode
from .wire.family import Family
from .wire.prefix import Prefix
from .wire.simple_messages import Notification

log = logging.getLogger("bgpspeak.speaker")
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True)
class PeerStatus:
    """A snapshot of one neighbor for ``show`` commands and programs."""

    address: IPAddress
    remote_as: int | None
    state: str
    uptime: float | None
    received: int
    advertised: int
    messages_in: dict[str, int]
    messages_out: dict[str, int]
    last_error: str
    description: str


class _Listener(asyncio.Protocol):
    """Accepts a connection, finds its neighbor, and hands the transport over."""

    def __init__(self, speaker: Speaker) -> None:
        self.speaker = speaker

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        peername = transport.get_extra_info("peername")
        sock = transport.get_extra_info("socket")
        try:
            addr = normalize(ipaddress.ip_address(peername[0].split("%")[0]))
        except (TypeError, ValueError, IndexError):
            transport.abort()
            return
        peer = self.speaker._peers.get(addr)
        if peer is None:
            log.info("refused connection from unconfigured %s", addr)
            transport.abort()
            return
        peer.accept(transport, sock)


class EventStream:
    """An async iterator over a speaker's events, registered from the moment it is created."""

    def __init__(self, queue: asyncio.Queue[Event], registry: list[asyncio.Queue[Event]]) -> None:
        self._queue = queue
        self._registry = registry

    def __aiter__(self) -> EventStream:
        return self

    async def __anext__(self) -> Event:
        return await self._queue.get()

    async def get(self, timeout: float | None = None) -> Event:
        """The next event; ``TimeoutError`` when none comes within ``timeout`` seconds."""
        return await asyncio.wait_for(self._queue.get(), timeout)

    def close(self) -> None:
        """Stop collecting events for this stream (an unread stream would grow forever)."""
        if self._queue in self._registry:
            self._registry.remove(self._queue)

    async def __aenter__(self) -> EventStream:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()


class Speaker:
    """A BGP speaker: our AS and identifier, the listening sockets and the neighbors.

    Routes given to :meth:`announce`, :meth:`withdraw` and :meth:`replace` go to every neighbor
    (including ones added later) unless ``neighbors=`` scopes them; routes announced before
    :meth:`start` go out in each session's initial transfer, followed by End-of-RIB. What
    happens (sessions, received routes, errors) comes out of :meth:`events`. Use it as an
    ``async with`` block, or call :meth:`start` and :meth:`stop`.
    """

    def __init__(
        self,
        local_as: int,
        router_id: str | ipaddress.IPv4Address,
        *,
        listen: Sequence[tuple[str, int]] = (("::", 179),),
        hostname: str | None = None,
        restarting: bool = False,
        bfd: BfdService | None = None,
    ) -> None:
        """``listen``: (address, port) pairs; ``()`` for a speaker that only dials out.
        ``restarting``: this process restarted and its neighbors should keep our routes until
        our End-of-RIB (graceful restart R bit). ``bfd``: the BFD service of the neighbors
        with ``Neighbor(bfd=...)``; one is made on first use (own thread, ports 3784/4784)."""
        if not 1 <= local_as <= 0xFFFFFFFF:
            raise ValueError(f"local_as: {local_as} is not a valid AS number")
        self.local_as = local_as
        self.router_id = ipaddress.IPv4Address(router_id)
        if int(self.router_id) == 0:
            raise ValueError("router_id: 0.0.0.0 is not a valid BGP identifier")
        self.listen = tuple(listen)
        self.hostname = hostname
        self.restarting = restarting
        self._peers: dict[IPAddress, Peer] = {}
        self._templates = Templates()
        self._global = RouteStore(self._templates)
        self._ops: deque[Iterator[None]] = deque()
        self._ops_scheduled = False
        self._servers: list[asyncio.base_events.Server] = []
        self._queues: list[asyncio.Queue[Event]] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._listen_socks: list[socket.socket] = []
        self._bfd_service = bfd
        self._bfd: BgpBfd | None = None

    # --- neighbors ------------------------------------------------------------------------------

    def add_neighbor(self, neighbor: Neighbor) -> Peer:
        """Configure a neighbor; on a running speaker its session starts at once. Returns its
        :class:`~bgpspeak.peer.Peer` (Adj-RIB-In, Adj-RIB-Out, state). ``ValueError`` when
        the address is already a neighbor."""
        addr = neighbor.ip
        if addr in self._peers:
            raise ValueError(f"neighbor {addr} is already configured")
        config = neighbor.peer_config(self.local_as, self.router_id, self.hostname)
        peer = Peer(
            neighbor,
            config,
            self._emit,
            restarting=self.restarting,
            store=self._global,
            listening=lambda: bool(self._queues),
            applying=lambda: bool(self._ops),
        )
        self._peers[addr] = peer
        if neighbor.bfd is not None:
            if self._bfd is None:
                self._bfd = BgpBfd(self, self._bfd_service or BfdService(), PeerHooks(self))
            self._bfd.attach(addr, neighbor.bfd)  # strict: held from here on
        for sock in self._listen_socks:
            self._install_md5(sock, neighbor)
            if neighbor.ttl_security:
                send_with_max_ttl(sock)
        if self._loop is not None:
            peer.start(self._loop)
        return peer

    async def remove_neighbor(self, address: str | IPAddress, message: str = "") -> None:
        """Cease/Peer De-configured (a Hard Reset to a graceful-restart peer) and forget the
        neighbor. ``message`` does not reach the neighbor: RFC 9003 carries a text only with
        administrative shutdown and reset (FRR 8.4 shows none for this subcode)."""
        addr = normalize(ipaddress.ip_address(address))
        if self._bfd is not None and addr in self._bfd:
            self._bfd.detach(addr)
        peer = self._peers.pop(addr, None)
        if peer is None:
            raise KeyError(f"no neighbor {addr}")
        peer.stop(Notification.cease(CeaseSubcode.PEER_DECONFIGURED, message))
        await asyncio.sleep(0)

    def peer(self, address: str | IPAddress) -> Peer:
        """The neighbor's :class:`~bgpspeak.peer.Peer` (``KeyError`` if not configured)."""
        return self._peers[normalize(ipaddress.ip_address(address))]

    @property
    def peers(self) -> dict[IPAddress, Peer]:
        """Every neighbor's :class:`~bgpspeak.peer.Peer`, by address (a copy)."""
        return dict(self._peers)

    @property
    def bfd(self) -> BgpBfd | None:
        """BFD of the neighbors that have it (``status()`` for ``show bfd``), None if none."""
        return self._bfd

    def status(self) -> list[PeerStatus]:
        """A snapshot of every neighbor: state, uptime, routes received and advertised,
        message counters, last error."""
        out = []
        loop = self._loop
        for addr, p in self._peers.items():
            s: Session | None = p.session
            counters = s.counters if s else None
            up = None
            if s is not None and s.established_at is not None and loop is not None:
                up = loop.time() - s.established_at / 1_000_000
            out.append(
                PeerStatus(
                    address=addr,
                    remote_as=p.neighbor.remote_as,
                    state=p.state.value,
                    uptime=up,
                    received=len(p.rib_in),
                    advertised=len(p.rib_out),
                    messages_in=dict(counters.messages_in) if counters else {},
                    messages_out=dict(counters.messages_out) if counters else {},
                    last_error=p.last_error,
                    description=p.neighbor.description,
                )
            )
        return out

    # --- lifecycle ------------------------------------------------------------------------------

    async def start(self) -> None:
        """Open the listening sockets and start every neighbor's session (dialling unless
        passive); returns at once, sessions come up in the background."""
        loop = asyncio.get_running_loop()
        self._loop = loop
        for host, port in self.listen:
            sock = self._listening_socket(host, port)
            self._listen_socks.append(sock)
            server = await loop.create_server(lambda: _Listener(self), sock=sock)
            self._servers.append(server)
        if self._bfd is not None:
            await self._bfd.start()  # before the peers: strict ones are held from the start
        for peer in self._peers.values():
            peer.start(loop)

    def _listening_socket(self, host: str, port: int) -> socket.socket:
        addr = ipaddress.ip_address(host)
        family = socket.AF_INET6 if addr.version == 6 else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                # "::" takes IPv4 too, as FRR's listener does
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0 if host == "::" else 1)
            if any(p.neighbor.ttl_security for p in self._peers.values()):
                send_with_max_ttl(sock)
            sock.bind((host, port))
            sock.listen(128)
            sock.setblocking(False)
            for peer in self._peers.values():
                self._install_md5(sock, peer.neighbor)
        except OSError:
            sock.close()
            raise
        return sock

    def _install_md5(self, sock: socket.socket, neighbor: Neighbor) -> None:
        if not neighbor.md5_password:
            return
        if sock.family == socket.AF_INET and neighbor.ip.version == 6:
            return
        set_md5(sock, neighbor.ip, neighbor.md5_password)

    @property
    def listening(self) -> list[tuple[str, int]]:
        """The bound (address, port) pairs, useful with port 0 in tests."""
        return [s.getsockname()[:2] for s in self._listen_socks]

    async def stop(self, message: str = "", *, restart: bool = False) -> None:
        """Cease to every neighbor, with ``message`` (RFC 9003), and close.

        By default an administrative shutdown: neighbors that negotiated graceful restart with
        the N bit get it as a Hard Reset and drop our routes at once (RFC 8538). With
        ``restart=True`` an administrative reset instead: they keep our routes as stale until
        this speaker comes back (``Speaker(restarting=True)``) and sends End-of-RIB."""
        subcode = (
            CeaseSubcode.ADMINISTRATIVE_RESET if restart else CeaseSubcode.ADMINISTRATIVE_SHUTDOWN
        )
        note = Notification.cease(subcode, message)
        for peer in self._peers.values():
            peer.stop(note)
        for server in self._servers:
            server.close()
        for server in self._servers:
            with contextlib.suppress(Exception):
                await server.wait_closed()
        self._servers.clear()
        self._listen_socks.clear()
        if self._bfd is not None:
            await self._bfd.stop()  # after the Ceases: the peers hear AdminDown, no failure
        await asyncio.sleep(0)

    async def __aenter__(self) -> Speaker:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # --- routes ---------------------------------------------------------------------------------

    def _targets(self, neighbors: Iterable[str | IPAddress] | None) -> list[Peer] | None:
        if neighbors is None:
            return None
        return [self.peer(n) for n in neighbors]

    def announce(
        self, routes: Route | Iterable[Route], *, neighbors: Iterable[str | IPAddress] | None = None
    ) -> None:
        """Announce ``routes`` (replacing what was announced for the same prefixes)."""
        items = (routes,) if isinstance(routes, Route) else routes
        self._submit(self._set_op(items, self._targets(neighbors)))

    def withdraw(
        self,
        prefixes: str | Prefix | Iterable[str | Prefix],
        *,
        neighbors: Iterable[str | IPAddress] | None = None,
    ) -> None:
        """Withdraw the routes for ``prefixes`` (text or :class:`Prefix`; a path id in the
        prefix withdraws that ADD-PATH path only)."""
        items = (prefixes,) if isinstance(prefixes, str | Prefix) else prefixes
        self._submit(self._remove_op(items, self._targets(neighbors)))

    def replace(
        self, routes: Iterable[Route], *, neighbors: Iterable[str | IPAddress] | None = None
    ) -> None:
        """Make the announced set exactly ``routes``: only the difference is sent."""
        self._submit(self._replace_op(routes, self._targets(neighbors)))

    @property
    def busy(self) -> bool:
        """Route changes not yet applied, or UPDATEs not yet handed to the sockets."""
        return bool(self._ops) or any(p.sending for p in self._peers.values())

    async def flush(self, timeout: float | None = None) -> None:
        """Wait until every route change is applied and its UPDATEs are in the neighbors'
        sockets (TimeoutError after ``timeout`` seconds)."""
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        while self.busy:
            if deadline is not None and loop.time() > deadline:
                raise TimeoutError(f"route changes still pending after {timeout} s")
            await asyncio.sleep(0.005)

    # the operations: generators that apply a chunk of changes per step

    _CHUNK = 256

    def _stores(self, targets: list[Peer] | None) -> list[RouteStore]:
        """The stores an operation changes: the shared one and every neighbor's own one for a
        global change; for ``neighbors=``, theirs (copied from the shared one on first use)."""
        if targets is None:
            stores = {id(self._global): self._global}
            peers = list(self._peers.values())
        else:
            stores = {}
            peers = targets
            for p in targets:
                if p.store is self._global:
                    p.store = self._global.copy()
        for p in peers:
            stores.setdefault(id(p.store), p.store)
        return list(stores.values())

    def _notify(self, store: RouteStore, changed: dict[Family, list[int]]) -> None:
        if not any(changed.values()):
            return
        users = [p for p in self._peers.values() if p.store is store and p.out is not None]
        for family, keys in changed.items():
            if keys:
                for p in users:
                    p.routes_changed(family, keys)

    def _set_op(self, routes: Iterable[Route], targets: list[Peer] | None) -> Iterator[None]:
        stores = self._stores(targets)
        it = iter(routes)
        while chunk := list(itertools.islice(it, self._CHUNK)):
            keyed = self._templates.keyed(chunk)
            for store in stores:
                self._notify(store, store.put_many(keyed))
            yield

    def _remove_op(
        self, prefixes: Iterable[str | Prefix], targets: list[Peer] | None
    ) -> Iterator[None]:
        stores = self._stores(targets)
        it = iter(prefixes)
        while chunk := list(itertools.islice(it, self._CHUNK)):
            keyed = []
            for p in chunk:
                prefix = p if isinstance(p, Prefix) else Prefix.parse(p)
                keyed.append((family_of(prefix), prefix_key(prefix)))
            for store in stores:
                changed: dict[Family, list[int]] = {}
                for family, k in keyed:
                    if store.remove(family, k):
                        changed.setdefault(family, []).append(k)
                self._notify(store, changed)
            yield

    def _replace_op(self, routes: Iterable[Route], targets: list[Peer] | None) -> Iterator[None]:
        stores = self._stores(targets)
        seen: dict[Family, set[int]] = {}
        for store in stores:
            for family in store.tables:
                seen.setdefault(family, set())
        it = iter(routes)
        while chunk := list(itertools.islice(it, self._CHUNK)):
            keyed = self._templates.keyed(chunk)
            for family, k, _ in keyed:
                s = seen.get(family)
                if s is None:
                    s = seen[family] = set()
                s.add(k)
            for store in stores:
                self._notify(store, store.put_many(keyed))
            yield
        # then whatever the new set does not hold goes
        for store in stores:
            for family, table in list(store.tables.items()):
                keep = seen.get(family, set())
                keys = list(table) if len(table) > len(keep) else []
                step = self._CHUNK * 8
                for i in range(0, len(keys), step):
                    gone = [
                        k for k in keys[i : i + step] if k not in keep and store.remove(family, k)
                    ]
                    self._notify(store, {family: gone})
                    yield
        if targets is None:
            for p in self._peers.values():
                p.store = self._global  # every one of them now holds exactly the new set

    def _submit(self, op: Iterator[None]) -> None:
        """Run a route operation after those already queued; as much of it as fits in one
        slice runs now (so small changes are applied when the call returns, and a bad route
        early in the input raises here), the rest in later slices of the event loop."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            for _ in op:  # no event loop yet: nothing to stall
                pass
            self._maybe_collect()
            return
        self._ops.append(op)
        if len(self._ops) == 1 and not self._ops_scheduled:
            self._run_ops(loop, raise_errors=True)

    def _run_ops(self, loop: asyncio.AbstractEventLoop, raise_errors: bool = False) -> None:
        self._ops_scheduled = False
        deadline = loop.time() + SLICE_S
        while self._ops:
            op = self._ops[0]
            try:
                for _ in op:
                    if loop.time() >= deadline:
                        self._ops_scheduled = True
                        loop.call_soon(self._run_ops, loop)
                        return
            except Exception:
                self._ops.popleft()
                if raise_errors:
                    raise
                log.exception("route change abandoned")
                continue
            self._ops.popleft()
        self._maybe_collect()
        for p in self._peers.values():
            if p.out is not None and not p.out.initial_started:
                p.schedule_pump()  # initial transfers wait for the changes to be applied

    def _maybe_collect(self) -> None:
        """Forget route templates no longer used, once enough new ones piled up."""
        t = self._templates
        if t.created_since_collect < max(4096, len(t) // 2):
            return
        live: set[int] = set()
        stores = {id(p.store): p.store for p in self._peers.values()}
        stores[id(self._global)] = self._global
        for store in stores.values():
            live |= store.template_ids()
        t.collect(live)
        for p in self._peers.values():
            p.templates_collected()

    def refresh(self, neighbor: str | IPAddress, family: str | Family = "ipv4/unicast") -> bool:
        """Ask the neighbor to send its routes again (ROUTE-REFRESH)."""
        fam = family if isinstance(family, Family) else Family.parse(family)
        return self.peer(neighbor).request_refresh(fam)

    # --- events ---------------------------------------------------------------------------------

    def _emit(self, event: Event) -> None:
        for q in self._queues:
            q.put_nowait(event)

    def events(self) -> EventStream:
        """Every event from the moment of the call, in order; each caller gets its own stream
        (``async for ev in speaker.events()``; ``close()`` it, or leave the ``async with``)."""
        q: asyncio.Queue[Event] = asyncio.Queue()
        self._queues.append(q)
        return EventStream(q, self._queues)

    async def wait_established(self, neighbor: str | IPAddress, timeout: float = 30.0) -> None:
        """Return once the session with ``neighbor`` is Established (``TimeoutError`` after
        ``timeout`` seconds, naming the state it is in)."""
        peer = self.peer(neighbor)
        deadline = asyncio.get_running_loop().time() + timeout
        while peer.state is not State.ESTABLISHED:
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError(
                    f"{neighbor}: not Established after {timeout} s ({peer.state.value})"
                )
            await asyncio.sleep(0.05)

    def announce_keyed(self, routes: Iterable[tuple[Family, int, int]]) -> None:
        """Announce routes given as ``(family, prefix key, template id)`` to every neighbor:
        the key is :func:`~bgpspeak.route_store.prefix_key` of the prefix, the template id
        comes from this speaker's templates (``speaker.peer(address).store.templates``, whose
        ``intern(route)`` gives the id of a route without its prefix). For loading large
        tables (``bgpspeak mrt replay``): no Route or Prefix per prefix, each distinct route
        interned once by the caller. Applied in slices like :meth:`announce`."""

        def op() -> Iterator[None]:
            stores = self._stores(None)
            it = iter(routes)
            while chunk := list(itertools.islice(it, self._CHUNK * 8)):
                for store in stores:
                    self._notify(store, store.put_many(chunk))
                yield

        self._submit(op())
