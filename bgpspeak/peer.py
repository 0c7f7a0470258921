"""The asyncio side of one neighbor: sockets, timers and the RIBs around the pure state machine.

Kept thin on purpose: every protocol decision is the :class:`Session`'s; this module moves bytes,
schedules the one timer each session asks for, resolves connection collisions (RFC 4271 section
6.8), and keeps the Adj-RIB-In / Adj-RIB-Out in step with session events.
"""

from __future__ import annotations

import asyncio
import collections
import ipaddress
import logging
import socket
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING

from .neighbor import Neighbor
from .net.sockopts import SocketLike, set_md5, set_ttl_security
from .rib import AdjRibIn, AdjRibOut
from .route_store import DesiredView, RouteStore, Templates, key_prefix, prefix_key
from .routes import ExportContext
from .session import (
    US,
    Connect,
    Connected,
    ConnectionFailed,
    DataReceived,
    Disconnect,
    Output,
    PeerConfig,
    ProtocolError,
    RefreshMarker,
    RefreshRequested,
    Send,
    SendEncoded,
    SendMessage,
    Session,
    SessionDown,
    SessionUp,
    Start,
    State,
    StateChanged,
    Stop,
    Tick,
    UpdateReceived,
    WriteBlocked,
    WriteResumed,
)
from .speaker_events import (
    EndOfRib,
    Event,
    PeerDown,
    PeerError,
    PeerStateChanged,
    PeerUp,
    RouteReceived,
    RouteWithdrawn,
)
from .wire.aspath import (
    AS_CONFED_SEQUENCE,
    AS_CONFED_SET,
    AS_TRANS,
    AsPath,
    merge_as4_aggregator,
    merge_as4_path,
)
from .wire.attribute import PathAttribute
from .wire.attributes import Aggregator, As4Aggregator, NextHop
from .wire.errors import CeaseSubcode, ErrorCode
from .wire.family import IPV4_UNICAST, Family
from .wire.loop_peek import looped_announcement, nlri_keys
from .wire.message import Message
from .wire.prefix import Prefix
from .wire.simple_messages import Notification, RouteRefresh

if TYPE_CHECKING:
    from .session.negotiate import Negotiated

log = logging.getLogger("bgpspeak.peer")
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
_INTERNAL_ONLY = frozenset({5, 9, 10})  # LOCAL_PREF, ORIGINATOR_ID, CLUSTER_LIST
_CONFED = frozenset({AS_CONFED_SEQUENCE, AS_CONFED_SET})

# flow control: the transport buffers at most about HIGH_WATER bytes beyond what the kernel took;
# UPDATEs are generated in slices of SLICE_S seconds and CHUNK_BYTES octets, and received data
# is processed READ_SLICE octets at a time, so neither memory nor the event loop is held by a
# large transfer in either direction
HIGH_WATER = 256 * 1024
LOW_WATER = 64 * 1024
CHUNK_BYTES = 64 * 1024
SLICE_S = 0.003
CLOSE_GRACE_S = 5.0  # how long a closed connection may take to flush before it is reset
READ_SLICE = 16 * 1024  # received octets handed to the session at once


def _now_us(loop: asyncio.AbstractEventLoop) -> int:
    return int(loop.time() * US)


def normalize(address: IPAddress) -> IPAddress:
    """IPv4-mapped IPv6 (what a dual-stack listener reports) back to IPv4."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _merge_as4(attrs: tuple[PathAttribute, ...]) -> tuple[PathAttribute, ...]:
    """From a 2-octet-AS peer: the real AS path and aggregator (RFC 6793 section 4.2.3), with
    AS4_PATH / AS4_AGGREGATOR folded in and removed, so AS_TRANS never reaches the program."""
    by_code = {a.type_code: a for a in attrs}
    as4_path = by_code.get(17)
    agg, agg4 = by_code.get(7), by_code.get(18)
    if as4_path is None and agg4 is None:
        return attrs
    new_agg = merge_as4_aggregator(
        agg if isinstance(agg, Aggregator) else None,
        agg4 if isinstance(agg4, As4Aggregator) else None,
    )
    # RFC 6793: an AGGREGATOR without AS_TRANS means AS4_PATH came from an old aggregation
    use_as4 = not (isinstance(agg, Aggregator) and agg.asn != AS_TRANS)
    out: list[PathAttribute] = []
    for a in attrs:
        if a.type_code in (17, 18):
            continue
        if a.type_code == 2 and isinstance(a, AsPath) and use_as4:
            a = merge_as4_path(a, as4_path if isinstance(as4_path, AsPath) else None)
        elif a.type_code == 7 and new_agg is not None:
            a = new_agg
        out.append(a)
    return tuple(out)


def _abort_unflushed(transport: asyncio.Transport) -> None:
    """Reset a closed connection that still has not written what it had (a flushed one has
    finished closing, and aborting it again would fail)."""
    if transport.get_write_buffer_size():
        transport.abort()


class _Connection(asyncio.Protocol):
    """One TCP connection with its own state machine."""

    def __init__(self, peer: Peer, session: Session, outbound: bool) -> None:
        self.peer = peer
        self.session = session
        self.outbound = outbound
        self.transport: asyncio.Transport | None = None
        self.timer: asyncio.TimerHandle | None = None
        self.connecting: asyncio.Task[None] | None = None
        self.local: IPAddress | None = None
        self.paused = False
        self.linger = False  # on release, wait for the peer's close (Peer.drop)
        self._backlog: collections.deque[memoryview] = collections.deque()
        self._draining = False
        self._reading_paused = False

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        if self.transport is not None:
            # a second dial of ours completed: the connect-retry timer fired while the first
            # was finishing (event loop stalled past connect_retry_time, seen in the BFD
            # tests). Keep the first: two transports feeding one session mixed their streams
            transport.set_protocol(asyncio.Protocol())
            transport.abort()
            return
        self.transport = transport
        transport.set_write_buffer_limits(high=HIGH_WATER, low=LOW_WATER)
        sockname = transport.get_extra_info("sockname")
        if sockname:
            self.local = normalize(ipaddress.ip_address(sockname[0].split("%")[0]))
        self.peer.feed(self, Connected(outbound=self.outbound))

    def data_received(self, data: bytes) -> None:
        self.peer.bytes_in += len(data)
        if not self._backlog and len(data) <= READ_SLICE:
            self.peer.feed(self, DataReceived(data))
            return
        # a large read (up to 256 KiB, a thousand UPDATEs) is taken in slices, with reading
        # paused meanwhile: the loop is never held for long, and TCP pushes back on the peer
        self._backlog.append(memoryview(data))
        if not self._draining:
            self._drain()

    def _drain(self) -> None:
        loop = self.peer._loop
        if self.transport is None or loop is None:
            self._backlog.clear()
            self._draining = False
            return
        deadline = loop.time() + SLICE_S
        backlog = self._backlog
        while backlog:
            head = backlog[0]
            if len(head) > READ_SLICE:
                backlog[0] = head[READ_SLICE:]
                head = head[:READ_SLICE]
            else:
                backlog.popleft()
            self.peer.feed(self, DataReceived(bytes(head)))
            if self.transport is None:
                backlog.clear()
                break
            if backlog and loop.time() >= deadline:
                if not self._reading_paused:
                    self._reading_paused = True
                    self.transport.pause_reading()
                self._draining = True
                loop.call_soon(self._drain)
                return
        self._draining = False
        if self._reading_paused and self.transport is not None:
            self._reading_paused = False
            self.transport.resume_reading()

    def connection_lost(self, exc: Exception | None) -> None:
        while self._backlog and self.transport is not None:  # what arrived before the close
            self.peer.feed(self, DataReceived(bytes(self._backlog.popleft())))
        self._backlog.clear()
        self.transport = None
        self.peer.feed(self, ConnectionFailed(str(exc) if exc else "connection closed"))

    def pause_writing(self) -> None:
        self.paused = True
        self.peer.feed(self, WriteBlocked())

    def resume_writing(self) -> None:
        self.paused = False
        self.peer.feed(self, WriteResumed())
        self.peer.schedule_pump()

    def release(self, *, abort: bool = False) -> None:
        """Close our TCP connection and forget it. Its transport gets a do-nothing protocol
        first: the connection_lost it reports later must not reach the session, which (for
        the primary connection) may be dialling its next connection by then. With ``linger``
        set (:meth:`Peer.drop`) it is half-closed instead, see :class:`_Lingering`."""
        transport, self.transport = self.transport, None
        self._backlog.clear()  # unread input of this connection is of no use to the next
        self._reading_paused = False
        linger, self.linger = self.linger, False
        if transport is not None and linger and not abort and transport.can_write_eof():
            self.peer.linger(transport)
        elif transport is not None:
            transport.set_protocol(asyncio.Protocol())
            if abort:
                transport.abort()
            else:
                transport.close()
                loop = self.peer._loop
                if transport.get_write_buffer_size() and loop is not None:
                    # close() waits for the buffer to drain: a peer that stopped reading (the
                    # send hold timer, RFC 9687) would keep the socket and the buffer forever
                    loop.call_later(CLOSE_GRACE_S, _abort_unflushed, transport)

    def close(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        if self.connecting is not None:
            self.connecting.cancel()
            self.connecting = None
        self.release()


class _Lingering(asyncio.Protocol):
    """A connection we ended (NOTIFICATION sent, then our FIN through ``write_eof``), kept
    until the peer closes its side or ``timeout`` passes; ``done`` is called once either way.

    Why (BFD, docs/bfd.md): redialling at once after a NOTIFICATION races the peer reading
    it. FRR's bgpd accepted our new connection before it processed the NOTIFICATION on the
    old one, and then took the old session of a graceful-restart peer for a restart
    (RFC 4724 4.2, "NSF peer closed the session"): the NOTIFICATION was never read and our
    routes stayed as stale. The peer's FIN says it has processed everything we sent."""

    def __init__(
        self, transport: asyncio.Transport, done: Callable[[], None], timeout: float
    ) -> None:
        self._done: Callable[[], None] | None = done
        self._timer = asyncio.get_running_loop().call_later(timeout, transport.abort)

    def eof_received(self) -> bool:
        return False  # the peer closed: close ours, connection_lost follows

    def connection_lost(self, exc: Exception | None) -> None:
        self._timer.cancel()
        done, self._done = self._done, None
        if done is not None:
            done()


class Peer:
    """One neighbor, its connections and its RIBs. Created by :class:`Speaker`."""

    def __init__(
        self,
        neighbor: Neighbor,
        config: PeerConfig,
        emit: Callable[[Event], None],
        *,
        restarting: bool = False,
        store: RouteStore | None = None,
        listening: Callable[[], bool] | None = None,
        applying: Callable[[], bool] | None = None,
    ) -> None:
        """``store``: the routes to announce (the speaker's shared store; a new empty one by
        default). ``listening``: whether anyone reads events; per-route events are not even
        built when nobody does (a full table is a million of them). ``applying``: route changes
        are still being applied (the initial transfer waits for them)."""
        self.neighbor = neighbor
        self.config = config
        self.address = neighbor.ip
        self.rib_in = AdjRibIn()
        self.store = store if store is not None else RouteStore(Templates())
        self.out: AdjRibOut | None = None
        self._emit = emit
        self._listening = listening or (lambda: True)
        self._applying = applying or (lambda: False)
        self._restarting = restarting
        self._loop: asyncio.AbstractEventLoop | None = None
        self._primary: _Connection | None = None
        self._conns: list[_Connection] = []
        self._established: _Connection | None = None
        self._pump_scheduled = False
        self._stale_timer: asyncio.TimerHandle | None = None
        self._enabled = False
        self.held: str | None = None  # why no session may start now (BFD strict mode)
        self._redial_waits = 0  # what a drop waits for before dialling again
        self.last_error = ""
        self.bytes_in = 0  # octets received and sent on all connections, for measurements
        self.bytes_out = 0
        # UPDATEs whose routes were dropped because our AS is in their AS path (RFC 4271
        # 9.1.2), of them dropped before decoding (see _install_loop_skip)
        self.updates_looped = 0
        self.updates_looped_raw = 0

    # --- public state -----------------------------------------------------------------------------

    @property
    def state(self) -> State:
        if self._established is not None:
            return State.ESTABLISHED
        states = [c.session.state for c in self._conns]
        order = list(State)
        return max(states, key=order.index, default=State.IDLE)

    @property
    def desired(self) -> DesiredView:
        """What this neighbor should be sent: ``(family, prefix) -> Route`` (a view)."""
        return DesiredView(self.store)

    @property
    def rib_out(self) -> AdjRibOut | tuple[()]:
        """The established session's Adj-RIB-Out; ``len()`` counts the routes sent."""
        return self.out if self.out is not None else ()

    @property
    def negotiated(self) -> Negotiated | None:
        return self._established.session.negotiated if self._established else None

    @property
    def session(self) -> Session | None:
        conn = self._established or self._primary or (self._conns[0] if self._conns else None)
        return conn.session if conn else None

    # --- lifecycle --------------------------------------------------------------------------------

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._enabled = True
        if self.held is None and not self.config.passive:
            if self._primary is None:
                self._primary = self._new_connection(outbound=True)
            self.feed(self._primary, Start())

    def stop(self, notification: Notification | None = None) -> None:
        """Cease every connection (administrative shutdown by default); no automatic restart."""
        self._enabled = False
        for conn in list(self._conns):
            self.feed(conn, Stop(notification))
        for conn in list(self._conns):
            conn.close()
        self._conns.clear()
        self._primary = None
        if self._stale_timer is not None:
            self._stale_timer.cancel()
            self._stale_timer = None

    # --- BFD (bgpspeak.bfd.bgp.PeerHooks) ---------------------------------------------------------

    def drop(self, notification: Notification | None) -> None:
        """End the session now because the forwarding path is gone (BFD said so): send
        ``notification`` where one can still be sent, handle the routes as on any session
        loss, then reconnect as usual (unless held): after the idle hold time, as the session
        does after any other loss, and not before the peer has closed the old connection (or
        ``connect_retry_time`` has passed). Both found against FRR (docs/bfd.md, "Dropping
        BGP"): redialled at once, our new connection raced the peer reading the NOTIFICATION
        (see :class:`_Lingering`), or the session was back within 20 ms, too soon for the
        withdrawal to leave the peer's kernel table."""
        if self._loop is not None:
            self._redial_waits += 1
            self._loop.call_later(float(self.config.idle_hold_time), self._redial_wait_over)
        for conn in list(self._conns):
            if conn.session.state is not State.IDLE:
                conn.linger = True
                self.feed(conn, Stop(notification))
                conn.linger = False
        self._ensure_dialing()

    def linger(self, transport: asyncio.Transport) -> None:
        """Half-close a dropped connection; dialling waits until the peer closes it."""
        self._redial_waits += 1
        timeout = max(1.0, float(self.config.connect_retry_time))
        transport.set_protocol(_Lingering(transport, self._redial_wait_over, timeout))
        try:
            transport.write_eof()
        except OSError:
            # the peer reset the connection already (seen when FRR's own BFD Cease and our
            # drop crossed): nothing left to wait for; connection_lost ends the wait
            transport.abort()

    def _redial_wait_over(self) -> None:
        self._redial_waits -= 1
        self._ensure_dialing()

    def hold(self, reason: str, notification: Notification | None = None) -> None:
        """Start no session until :meth:`release` (BFD strict mode: BFD is not Up); one in
        progress ends with ``notification``."""
        self.held = reason
        for conn in list(self._conns):
            self.feed(conn, Stop(notification))
            if conn.connecting is not None:
                conn.connecting.cancel()
                conn.connecting = None

    def release(self) -> None:
        """Sessions may start again (BFD is Up)."""
        if self.held is None:
            return
        self.held = None
        if self._enabled and self._loop is not None and not self.config.passive:
            if self._primary is None:
                self._primary = self._new_connection(outbound=True)
            self.feed(self._primary, Start())

    def _new_connection(self, outbound: bool) -> _Connection:
        if outbound:
            config = self.config
        else:
            from dataclasses import replace

            config = replace(self.config, passive=True)
        session = Session(config, restarting=self._restarting, auto_restart=outbound)
        conn = _Connection(self, session, outbound)
        self._conns.append(conn)
        return conn

    def accept(self, transport: asyncio.Transport, sock: SocketLike | None) -> None:
        """An incoming connection from this neighbor's address."""
        if not self._enabled or self.held is not None:
            transport.abort()
            return
        if self._established is not None:
            neg = self._established.session.negotiated
            if neg is None or neg.peer_restart is None:
                # RFC 4271 section 6.8: a collision with an Established session closes the
                # new connection
                note = Notification(ErrorCode.CEASE, CeaseSubcode.CONNECTION_REJECTED)
                transport.write(note.encode())
                transport.close()
                return
            # RFC 4724 section 4.2: from a graceful-restart peer, a new connection may mean
            # it restarted and the old one is dead without our knowing; or it is the peer's
            # side of a collision that it is about to close. Run it: the peer decides by
            # completing it (see _session_up) or closing it.
        if sock is not None and self.neighbor.ttl_security:
            try:
                set_ttl_security(sock, self.neighbor.ttl_security)
            except OSError as e:
                self._emit(PeerError(self.address, f"ttl_security on accepted connection: {e}"))
                transport.abort()
                return
        conn = self._new_connection(outbound=False)
        self.feed(conn, Start())
        conn.connection_made(transport)
        transport.set_protocol(conn)

    # --- feeding the state machine ---------------------------------------------------------------

    def feed(self, conn: _Connection, event: object) -> None:
        loop = self._loop
        if loop is None or conn not in self._conns:
            return
        outs = conn.session.handle(event, _now_us(loop))  # type: ignore[arg-type]
        self._process(conn, outs)
        self._schedule(conn)

    def _schedule(self, conn: _Connection) -> None:
        if conn.timer is not None:
            conn.timer.cancel()
            conn.timer = None
        deadline = conn.session.next_deadline()
        if deadline is not None and self._loop is not None and conn in self._conns:
            conn.timer = self._loop.call_at(deadline / US, self.feed, conn, Tick())

    def _process(self, conn: _Connection, outs: list[Output]) -> None:
        for out in outs:
            if isinstance(out, Send):
                # A transport that failed (send() raised) is closing until connection_lost
                # arrives on a later loop turn; asyncio would count, drop and log each write
                # made in between (seen as "socket.send() raised exception." during link flaps).
                if conn.transport is not None and not conn.transport.is_closing():
                    self.bytes_out += len(out.data)
                    conn.transport.write(out.data)
            elif isinstance(out, Connect):
                self._dial(conn)
            elif isinstance(out, Disconnect):
                conn.release()
                if conn.connecting is not None:
                    conn.connecting.cancel()
                    conn.connecting = None
            elif isinstance(out, StateChanged):
                self._state_changed(conn, out)
            elif isinstance(out, SessionUp):
                self._session_up(conn, out.negotiated)
            elif isinstance(out, SessionDown):
                self._session_down(conn, out)
            elif isinstance(out, UpdateReceived):
                self._update_received(conn, out)
            elif isinstance(out, RefreshRequested):
                self._resend(out.family)
            elif isinstance(out, RefreshMarker):
                if out.begin:
                    self.rib_in.mark_stale([out.family])
                else:
                    for p in self.rib_in.sweep_stale(out.family):
                        self._emit(RouteWithdrawn(self.address, out.family, p))
            elif isinstance(out, ProtocolError):
                self.last_error = out.reason
                self._emit(PeerError(self.address, out.reason))

    # --- connections ------------------------------------------------------------------------------

    def _dial(self, conn: _Connection) -> None:
        if conn.connecting is not None:
            conn.connecting.cancel()
        assert self._loop is not None
        conn.connecting = self._loop.create_task(self._connect(conn))

    async def _connect(self, conn: _Connection) -> None:
        assert self._loop is not None
        n = self.neighbor
        family = socket.AF_INET6 if self.address.version == 6 else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.setblocking(False)
            if n.md5_password:
                set_md5(sock, self.address, n.md5_password)
            if n.ttl_security:
                set_ttl_security(sock, n.ttl_security)
            if n.local_ip is not None:
                sock.bind((str(n.local_ip), 0))
            await asyncio.wait_for(
                self._loop.sock_connect(sock, (str(self.address), n.port)),
                timeout=max(1.0, float(self.config.connect_retry_time)),
            )
            conn.connecting = None
            await self._loop.create_connection(lambda: conn, sock=sock)
        except asyncio.CancelledError:
            sock.close()
            raise
        except (OSError, TimeoutError) as e:
            sock.close()
            conn.connecting = None
            self.feed(conn, ConnectionFailed(f"connect to {self.address}: {e}"))

    def _others(self, conn: _Connection) -> list[_Connection]:
        return [c for c in self._conns if c is not conn]

    def _state_changed(self, conn: _Connection, change: StateChanged) -> None:
        if conn is self._established or self._established is None:
            self._emit(PeerStateChanged(self.address, change.old.value, change.new.value))
        if change.new is State.OPEN_CONFIRM:
            self._resolve_collision(conn)
        over = change.new is State.IDLE or (
            # RFC 4271 8.2.2: a connection lost in OpenSent goes back to Active; for an
            # accepted one (no dialling of its own) that is the end too
            change.new is State.ACTIVE and change.old is not State.IDLE
        )
        if over and conn is not self._primary:
            # an inbound connection's session is over: forget it
            conn.close()
            if conn in self._conns:
                self._conns.remove(conn)
            self._ensure_dialing()
        elif change.new is State.IDLE:
            self._ensure_dialing()

    def _ensure_dialing(self) -> None:
        """After a loss, make sure an active neighbor keeps trying to connect."""
        if not self._enabled or self.held is not None or self._redial_waits:
            return
        if self.config.passive or self._primary is None:
            return
        if self._established is not None:
            return
        primary = self._primary
        if any(c.session.state is not State.IDLE for c in self._others(primary)):
            return  # an accepted connection is on its way up (e.g. it won a collision)
        if primary.session.state is State.IDLE and primary.session.next_deadline() is None:
            self.feed(primary, Start())

    def _resolve_collision(self, conn: _Connection) -> None:
        """RFC 4271 section 6.8: of two connections that both received an OPEN, keep the one
        initiated by the speaker with the higher BGP identifier."""
        neg = conn.session.negotiated
        if conn.session.state is not State.OPEN_CONFIRM or neg is None:
            return  # the same input already moved it on (e.g. OPEN and NOTIFICATION together)
        if self._established is not None:
            # a new connection beside an Established session of a graceful-restart peer (see
            # accept): if the peer completes it, it restarted (_session_up drops the old one);
            # if it was a late collision, the peer closes it
            return
        for other in self._others(conn):
            if other.session.state is not State.OPEN_CONFIRM:
                continue
            local_wins = int(neg.local_id) > int(neg.peer_id)
            loser = (
                (conn if not conn.outbound else other)
                if local_wins
                else (conn if conn.outbound else other)
            )
            note = Notification(ErrorCode.CEASE, CeaseSubcode.CONNECTION_COLLISION_RESOLUTION)
            self.feed(loser, Stop(note))
            if loser is conn:
                return

    def _drop_dead_session(self, conn: _Connection, reason: str) -> None:
        """End ``conn``'s session without a NOTIFICATION, as a TCP failure would (the session
        gives no Disconnect output for a failure, so the connection is aborted here)."""
        conn.release(abort=True)
        self.feed(conn, ConnectionFailed(reason))

    def _session_up(self, conn: _Connection, negotiated: Negotiated) -> None:
        old, self._established = self._established, conn
        if old is not None and old is not conn:
            # RFC 4724 section 4.2: the graceful-restart peer completed a new session while
            # we still held the old one, so the old TCP connection is dead on its side: close
            # it without a NOTIFICATION and keep its routes as stale until End-of-RIB
            self._drop_dead_session(old, "peer reconnected (graceful restart)")
        for other in self._others(conn):
            # set as Established first, so that none of these restarts dialling when it goes
            # Idle; an Idle one is stopped too, so its idle-hold timer does not dial again.
            # _ensure_dialing starts the primary again when this session ends.
            note = Notification(ErrorCode.CEASE, CeaseSubcode.CONNECTION_COLLISION_RESOLUTION)
            self.feed(other, Stop(note))
        self._emit(PeerUp(self.address, negotiated))
        # graceful restart, receiving side: families the peer did not keep forwarding for lose
        # their stale routes now; the others wait for the peer's End-of-RIB
        pr = negotiated.peer_restart
        for family in list(self.rib_in.stale):
            if (
                pr is None
                or family not in pr.forwarding_preserved
                or family not in negotiated.families
            ):
                self._sweep(family)
        self._install_loop_skip(conn, negotiated)
        self._start_sending(conn, negotiated)

    def _session_down(self, conn: _Connection, down: SessionDown) -> None:
        if conn is self._established:
            self._established = None
            self.out = None
        neg = down.negotiated
        self._emit(PeerDown(self.address, down.reason, down.graceful))
        if down.graceful and neg is not None and neg.peer_restart is not None:
            self.rib_in.mark_stale(neg.peer_restart.families)
            for family in list(self.rib_in.routes):
                if family not in neg.peer_restart.families:
                    self._sweep_all(family)
            assert self._loop is not None
            if self._stale_timer is not None:
                self._stale_timer.cancel()
            self._stale_timer = self._loop.call_later(
                max(1, neg.peer_restart.restart_time), self._restart_time_expired
            )
        elif self._listening():
            for family, prefixes in self.rib_in.clear().items():
                for p in prefixes:
                    self._emit(RouteWithdrawn(self.address, family, p))
        else:
            self.rib_in.clear()

    def _restart_time_expired(self) -> None:
        self._stale_timer = None
        if self._established is None:
            for family in list(self.rib_in.stale):
                self._sweep(family)

    def _sweep(self, family: Family) -> None:
        for p in self.rib_in.sweep_stale(family):
            self._emit(RouteWithdrawn(self.address, family, p))

    def _sweep_all(self, family: Family) -> None:
        for p in self.rib_in.remove_family(family):
            self._emit(RouteWithdrawn(self.address, family, p))

    # --- receiving routes -------------------------------------------------------------------------

    def _update_received(self, conn: _Connection, ev: UpdateReceived) -> None:
        update = ev.update
        eor = update.end_of_rib()
        if eor is not None:
            self._sweep(eor)
            self._emit(EndOfRib(self.address, eor))
            return
        rib = self.rib_in
        listening = self._listening()
        for family, item in update.withdrawals():
            removed = isinstance(item, Prefix) and rib.remove_key(family, prefix_key(item))
            if removed and listening:
                assert isinstance(item, Prefix)
                self._emit(RouteWithdrawn(self.address, family, item))
        attrs = update.path_attributes()
        neg = conn.session.negotiated
        if neg is not None and not neg.asn4:
            attrs = _merge_as4(attrs)
        if neg is not None and not neg.ibgp:
            # RFC 4271 5.1.5, RFC 7606 7.5/7.9/7.10: from an external peer these are discarded
            attrs = tuple(a for a in attrs if a.type_code not in _INTERNAL_ONLY)
        mp = update.mp_reach
        nh4 = update.get(3)
        batches: list[tuple[Family, Sequence[Prefix], tuple[IPAddress, ...]]] = []
        if update.nlri:
            batches.append(
                (IPV4_UNICAST, update.nlri, (nh4.address,) if isinstance(nh4, NextHop) else ())
            )
        if mp is not None and not isinstance(mp.nlri, bytes) and mp.nlri:
            batches.append((mp.family, mp.nlri, mp.next_hops))
        # RFC 4271 9.1.2: a route whose AS path already holds our AS is a loop (FRR sends our
        # own routes back to us); like a malformed one, it replaces whatever we had
        looped = not ev.treat_as_withdraw and self._is_loop(attrs)
        if looped:
            self.updates_looped += 1
        drop = (
            ev.treat_as_withdraw
            or looped
            or self._confed_from_ebgp(attrs, neg)
            or (bool(update.nlri) and self._martian_next_hop(nh4))
        )
        stored = rib.intern(attrs if mp is None else (*attrs, mp))
        for family, prefixes, next_hops in batches:
            if drop:
                if not rib.tables.get(family):
                    continue  # nothing to replace (e.g. the echo of our own table): not decoded
                for prefix in prefixes:
                    if rib.remove_key(family, prefix_key(prefix)) and listening:
                        self._emit(RouteWithdrawn(self.address, family, prefix))
                continue
            if prefixes[0].path_id is None:  # all or none have one (ADD-PATH receive)
                keys = [(addr << 8) | length for _, addr, length, _ in prefixes]
            else:
                keys = [prefix_key(p) for p in prefixes]
            rib.add_keys(family, keys, stored)
            if listening:
                for prefix in prefixes:
                    self._emit(RouteReceived(self.address, family, prefix, next_hops, attrs))
        limit = self.config.max_prefixes
        if limit is not None:
            for family in {f for f, _, _ in batches}:
                if self.rib_in.count(family) > limit:
                    data = (
                        family.afi.to_bytes(2, "big")
                        + bytes((family.safi,))
                        + limit.to_bytes(4, "big")
                    )
                    note = Notification(
                        ErrorCode.CEASE, CeaseSubcode.MAXIMUM_PREFIXES_REACHED, data
                    )
                    self._emit(
                        PeerError(self.address, f"maximum prefixes {limit} exceeded in {family}")
                    )
                    self.feed(conn, Stop(note))
                    # a neighbor that overflowed comes back by itself after a pause, like FRR's
                    # `maximum-prefix ... restart`
                    assert self._loop is not None
                    self._loop.call_later(60, self._restart_after_limit)
                    return

    def _confed_from_ebgp(self, attrs: tuple[PathAttribute, ...], neg: Negotiated | None) -> bool:
        """RFC 5065 section 5, RFC 7606 section 7.2: confederation segments from an external
        peer (bgpspeak is in no confederation) make the AS_PATH malformed: treat-as-withdraw."""
        if neg is None or neg.ibgp:
            return False
        for a in attrs:
            if isinstance(a, AsPath) and any(s.type in _CONFED for s in a.segments):
                self._emit(PeerError(self.address, f"AS_PATH {a} with confederation segments"))
                return True
        return False

    def _martian_next_hop(self, nh: PathAttribute | None) -> bool:
        """RFC 4271 section 6.3: a semantically incorrect NEXT_HOP (0.0.0.0, multicast) makes
        the route ignored, without a NOTIFICATION; like a malformed one it replaces whatever
        we had (RFC 7606 treat-as-withdraw), so no stale route outlives the bad update."""
        if isinstance(nh, NextHop) and (nh.address.is_unspecified or nh.address.is_multicast):
            self._emit(PeerError(self.address, f"NEXT_HOP {nh.address} is not a host address"))
            return True
        return False

    def _install_loop_skip(self, conn: _Connection, neg: Negotiated) -> None:
        """Drop our own routes echoed back by an external peer before they are decoded.

        FRR advertises the whole table we send it back to us with its AS in front: at a full
        table that is a million routes in 177,000 UPDATEs of distinct attribute sets, which
        cost as much CPU to decode as the table cost to send. An UPDATE that
        :func:`~bgpspeak.wire.loop_peek.looped_announcement` recognises (well-formed, plain
        IPv4, our AS in its AS_PATH) is handled here from its raw bytes: its prefixes replace
        whatever we stored for them, which the full path would do too. Anything else goes
        through the decoder as before (RFC 7606 error handling included). Internal peers are
        left alone: our AS is in no path they send unless something is badly wrong, and then
        the full path reports it."""
        if neg.ibgp or IPV4_UNICAST in neg.add_path_receive:
            conn.session.skip_update = None
            return
        local_as, asn4 = self.config.local_as, neg.asn4

        def skip(body: bytes) -> bool:
            if not looped_announcement(body, local_as, asn4):
                return False
            self.updates_looped += 1
            self.updates_looped_raw += 1
            table = self.rib_in.tables.get(IPV4_UNICAST)
            if table:
                listening = self._listening()
                for k in nlri_keys(body):
                    if self.rib_in.remove_key(IPV4_UNICAST, k) and listening:
                        self._emit(RouteWithdrawn(self.address, IPV4_UNICAST, key_prefix(1, k)))
            return True

        conn.session.skip_update = skip

    def _is_loop(self, attrs: tuple[PathAttribute, ...]) -> bool:
        local = self.config.local_as
        return any(isinstance(a, AsPath) and local in a.asns for a in attrs)

    def _restart_after_limit(self) -> None:
        if self.held is not None or not self._enabled or self._primary is None:
            return
        if self._established is None:
            self.feed(self._primary, Start())

    # --- sending routes ---------------------------------------------------------------------------

    def _export_context(self, conn: _Connection) -> ExportContext:
        n = self.neighbor
        neg = conn.session.negotiated
        local = conn.local
        v4 = ipaddress.IPv4Address(n.next_hop_self_v4) if n.next_hop_self_v4 else None
        v6 = ipaddress.IPv6Address(n.next_hop_self_v6) if n.next_hop_self_v6 else None
        if isinstance(local, ipaddress.IPv4Address) and v4 is None:
            v4 = local
        if isinstance(local, ipaddress.IPv6Address) and v6 is None:
            v6 = local
        ll = ipaddress.IPv6Address(n.link_local) if n.link_local else None
        return ExportContext(
            local_as=self.config.local_as,
            ibgp=bool(neg and neg.ibgp),
            local_v4=v4,
            local_v6=v6,
            local_v6_link_local=ll,
            asn4=bool(neg is None or neg.asn4),
        )

    def routes_changed(self, family: Family, keys: Iterable[int]) -> None:
        """The store changed for these prefix keys: send them (when a session is up)."""
        out = self.out
        if out is not None:
            out.changed_many(family, keys)
            self.schedule_pump()

    def templates_collected(self) -> None:
        if self.out is not None:
            self.out.forget_templates()

    @property
    def sending(self) -> bool:
        """UPDATEs still to generate or in the transport's buffer."""
        conn = self._established
        if conn is None or self.out is None:
            return False
        t = conn.transport
        return self.out.pending or (t is not None and t.get_write_buffer_size() > 0)

    def _start_sending(self, conn: _Connection, neg: Negotiated) -> None:
        """Initial transfer after the session comes up: everything, then End-of-RIB."""
        self.out = AdjRibOut(
            lambda: self.store,
            neg.tx_context,
            neg.families,
            neg.add_path_send,
            self._export_context(conn),
            lambda reason: self._emit(PeerError(self.address, reason)),
        )
        self.out.start_initial()
        self._pump()

    def schedule_pump(self) -> None:
        if not self._pump_scheduled and self._loop is not None and self.out is not None:
            self._pump_scheduled = True
            self._loop.call_soon(self._pump)

    def _pump(self) -> None:
        """Generate UPDATEs while the connection takes them, a few milliseconds at a time:
        stops when the transport's buffer passes the high-water mark (``resume_writing``
        calls it again) and yields to the event loop between slices, so keepalives and other
        peers keep flowing during a full-table transfer."""
        self._pump_scheduled = False
        conn, out, loop = self._established, self.out, self._loop
        if conn is None or out is None or loop is None:
            return
        deadline = loop.time() + SLICE_S
        while conn.transport is not None and not conn.paused:
            items = out.produce(CHUNK_BYTES, deadline, loop.time, self._applying())
            if not items:
                if out.pending and out.initial_started:  # slice ended inside a message
                    self.schedule_pump()
                return
            for item in items:
                if isinstance(item, Message):
                    self.feed(conn, SendMessage(item))
                else:
                    self.feed(conn, SendEncoded(*item))
            if conn is not self._established:
                return
            if loop.time() >= deadline:
                self.schedule_pump()
                return

    def _resend(self, family: Family) -> None:
        """Route refresh: send the whole Adj-RIB-Out of ``family`` again (RFC 2918), framed by
        Begin/End-of-RIB-refresh when enhanced route refresh is on (RFC 7313)."""
        conn = self._established
        if conn is None or conn.session.negotiated is None or self.out is None:
            return
        self.out.start_refresh(family, conn.session.negotiated.enhanced_route_refresh)
        self.schedule_pump()

    def request_refresh(self, family: Family) -> bool:
        conn = self._established
        if conn is None or conn.session.negotiated is None:
            return False
        if not conn.session.negotiated.route_refresh:
            return False
        self.feed(conn, SendMessage(RouteRefresh(family.afi, family.safi)))
        return True
