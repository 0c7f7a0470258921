"""The attacks, each with the RFC clause that says what the target must do.

A case gets its own neighbor address (and AS) on the target, so cases run concurrently and one
case's NOTIFICATION or restart backoff never touches another's. ``expect`` is what the RFCs ask
for, in the words ``observe`` produces:

* ``notification C/S``: the target sends this NOTIFICATION and closes;
* ``withdrawn``: the session stays up and the route announced before is gone (RFC 7606
  treat-as-withdraw);
* ``kept without N``: the session stays up, the route is updated, attribute type N was dropped
  (RFC 7606 attribute discard);
* ``accepted``: the session stays up and the update is applied as sent;
* ``up``: the session stays up (cases that announce nothing).

Several answers can be right (``expect`` lists them): RFC 7606 lets a malformed MP_REACH_NLRI
reset the session or disable the family, and so on.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import struct
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from .rawpeer import (
    EXTENDED,
    KEEPALIVE,
    OPTIONAL,
    PARTIAL,
    TRANSITIVE,
    WELL_KNOWN,
    Attrs,
    Closed,
    RawPeer,
    as_path,
    attr,
    cap_as4,
    cap_mp,
    capability,
    keepalive,
    message,
    open_message,
    prefix,
    update,
)


class Target(Protocol):
    """What a case needs from the speaker under attack (bgpspeak or FRR)."""

    name: str
    address: str
    port: int
    asn: int
    router_id: str

    async def route(self, neighbor: str, prefix: str) -> dict[str, Any] | None:
        """The route from ``neighbor``: {"med": int | None, "codes": set of attribute types}."""
        ...

    async def established(self, neighbor: str) -> bool: ...


@dataclass
class Ctx:
    """What a running case knows: its addresses, AS, the target, the options for bigger runs."""

    target: Target
    src: str
    asn: int
    index: int
    full: bool = False
    quiet: float = 1.5  # seconds a session must stay silent to count as "still up"
    expect: tuple[str, ...] = ()

    @property
    def patience(self) -> float:
        """How long to wait for the answer: when only a NOTIFICATION (or a close) is right,
        waiting long costs nothing (it returns when the answer comes) and a loaded machine
        cannot turn a late NOTIFICATION into a wrong "up"."""
        if self.expect and all(e.startswith(("notification", "closed")) for e in self.expect):
            return 10.0
        return self.quiet

    notes: list[str] = field(default_factory=list)

    @property
    def attrs(self) -> Attrs:
        return Attrs(self.asn, self.src)

    @property
    def prefix(self) -> str:
        return f"198.51.100.{self.index}/32"

    def open(self, **kw: Any) -> bytes:
        return open_message(kw.pop("asn", self.asn), kw.pop("router_id", self.src), **kw)

    async def connect(self, **kw: Any) -> RawPeer:
        return await RawPeer.connect(self.src, self.target.address, self.target.port, **kw)

    async def established_peer(self, hold: int = 90, **kw: Any) -> RawPeer:
        peer = await self.connect(**kw)
        await peer.handshake(self.open(hold=hold))
        return peer

    async def wait_route(self, present: bool, timeout: float = 8.0) -> dict[str, Any] | None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            r = await self.target.route(self.src, self.prefix)
            if (r is not None) == present or loop.time() > deadline:
                return r
            await asyncio.sleep(0.1)


Runner = Callable[[Ctx], Awaitable[str]]


@dataclass(frozen=True)
class Case:
    name: str
    group: str
    rfc: str
    expect: tuple[str, ...]
    run: Runner
    neighbor: dict[str, Any] = field(default_factory=dict)  # extra neighbor settings


# --- generic drivers ------------------------------------------------------------------------------


def before_open(data: Callable[[Ctx], bytes]) -> Runner:
    """Send ``data`` instead of (or as) the OPEN; the answer is the target's NOTIFICATION."""

    async def run(ctx: Ctx) -> str:
        peer = await ctx.connect()
        try:
            await peer.send(data(ctx))
            got = await peer.outcome(max(ctx.patience, 3.0), keepalives=False)
            return got or "up"
        finally:
            await peer.close()

    return run


def after_established(data: Callable[[Ctx], bytes], hold: int = 90) -> Runner:
    """Establish, then send ``data``: the answer is a NOTIFICATION, a close, or "up"."""

    async def run(ctx: Ctx) -> str:
        peer = await ctx.established_peer(hold)
        try:
            await peer.send(data(ctx))
            return await peer.outcome(max(ctx.patience, 2.0)) or "up"
        finally:
            await peer.close()

    return run


def on_route(bad_update: Callable[[Ctx], bytes], *, bad_code: int | None = None) -> Runner:
    """Announce the case's prefix (MED 100), wait for the target to hold it, send the bad
    UPDATE (which re-announces it with MED 200), and classify what happened."""

    async def run(ctx: Ctx) -> str:
        peer = await ctx.established_peer()
        try:
            await peer.send(update(attrs=ctx.attrs.all(), nlri=prefix(ctx.prefix)))
            if await ctx.wait_route(True) is None:
                return "setup failed: valid route not installed"
            await peer.send(bad_update(ctx))
            got = await peer.outcome(ctx.patience)
            if got is not None:
                return got
            # the session is up: what became of the route? (give the target time to apply it)
            r = await ctx.wait_route(False, timeout=ctx.quiet)
            if r is None:
                return "withdrawn"
            for _ in range(20):
                if r is None or r.get("med") != 100:
                    break
                await asyncio.sleep(0.1)
                r = await ctx.target.route(ctx.src, ctx.prefix)
            if r is None:
                return "withdrawn"
            if r.get("med") == 100:
                return "ignored (old route kept)"
            if bad_code is not None and bad_code not in r["codes"]:
                return f"kept without {bad_code}"
            return "accepted"
        finally:
            await peer.close()

    return run


def _nlri(ctx: Ctx) -> bytes:
    return prefix(ctx.prefix)


def with_attrs(*parts: Callable[[Ctx], bytes]) -> Callable[[Ctx], bytes]:
    """An UPDATE for the case's prefix with the attributes ``parts`` build, in that order."""
    return lambda ctx: update(attrs=b"".join(p(ctx) for p in parts), nlri=_nlri(ctx))


def origin(ctx: Ctx) -> bytes:
    return ctx.attrs.origin()


def path(ctx: Ctx) -> bytes:
    return ctx.attrs.path()


def nh(ctx: Ctx) -> bytes:
    return ctx.attrs.nh()


def med200(ctx: Ctx) -> bytes:
    return ctx.attrs.med_attr(200)


def raw(flags: int, code: int, value: bytes, length: int | None = None) -> Callable[[Ctx], bytes]:
    return lambda ctx: attr(flags, code, value, length=length)


GOOD = (origin, path, nh, med200)
# MP_REACH_NLRI for ipv4/unicast: next hop 10.77.0.10, NLRI 10.78.0.0/24; then with a 5-octet
# next hop
MP_REACH = b"\x00\x01\x01\x04\x0a\x4d\x00\x0a\x00\x18\x0a\x4e\x00"
MP_BAD_NEXT_HOP = b"\x00\x01\x01\x05" + bytes(5) + b"\x00\x18\x0a\x4e\x00"


# --- resource attacks -----------------------------------------------------------------------------


async def trickle(ctx: Ctx) -> str:
    """Hold time 3 s, then one octet of an UPDATE per second: bytes that never make a message
    must not keep the session alive (the hold timer restarts on messages, RFC 4271 4.4)."""
    peer = await ctx.established_peer(hold=3)
    try:
        data = update(attrs=ctx.attrs.all(), nlri=_nlri(ctx))
        loop = asyncio.get_running_loop()
        start = loop.time()
        for i in range(8):  # bounded: the hold timer fires after about 3 s
            try:
                await peer.send(data[i : i + 1])
            except ConnectionError:
                return "closed"
            got = await peer.outcome(1.0, keepalives=False)
            if got is not None:
                ctx.notes.append(f"after {loop.time() - start:.1f} s and {i + 1} octets")
                return got
        return "up"
    finally:
        await peer.close()


async def stop_reading(ctx: Ctx) -> str:
    """A peer that never reads while the target has routes to send: RFC 9687 send hold timer.
    The target gets routes for this neighbor from ``Target.flood_routes``; the attacker's
    receive buffer is tiny. Twice: the first time the attacker reads again as soon as the
    session is dropped and the answer is the NOTIFICATION at the end of the stream; the second
    time it never reads again, and the target must still let go of the socket (with what it
    had queued for it) instead of waiting forever for the buffer to drain."""
    target: Any = ctx.target
    await target.flood_routes(ctx.src, 20000 if ctx.full else 6000)
    answer = ""
    for attempt in (1, 2):
        peer = await ctx.connect(rcvbuf=4096)
        try:
            await peer.handshake(ctx.open(hold=90))
            fds_up = target.memory()["fds"]
            peer.writer.transport.pause_reading()  # asyncio would keep reading into its buffer
            await target.small_buffers(ctx.src)
            dropped = await _wait(lambda: _not(ctx.target.established(ctx.src)), 60.0)
            if dropped is None:
                return "up"
            ctx.notes.append(f"dropped {dropped:.1f} s after the peer stopped reading")
            if attempt == 1:
                peer.writer.transport.resume_reading()
                answer = await _drain(peer)
                continue
            # still not reading: the target's socket must go (one descriptor fewer)
            gone = await _wait(functools.partial(_fds_below, target, fds_up), 20.0)
            if gone is None:
                return "socket kept open after the session ended"
            ctx.notes.append(f"socket released {gone:.1f} s after that")
        finally:
            await peer.close()
    return answer


async def _not(flag: Awaitable[bool]) -> bool:
    return not await flag


async def _fds_below(target: Any, fds: int) -> bool:
    return bool(target.memory()["fds"] < fds)


async def _wait(probe: Callable[[], Awaitable[bool]], limit: float) -> float | None:
    """Seconds until ``probe()`` is true, None if it is not within ``limit``."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    while loop.time() - start < limit:
        if await probe():
            return loop.time() - start
        await asyncio.sleep(0.25)
    return None


async def _drain(peer: RawPeer) -> str:
    """Read what is left: the last NOTIFICATION in it, or "closed"."""
    while True:
        try:
            msg = await peer.read(2.0)
        except Closed:
            return "closed"
        if msg is None:
            return "closed"
        if msg.notification is not None:
            code, sub, _ = msg.notification
            return f"notification {code}/{sub}"


async def refresh_flood(ctx: Ctx) -> str:
    """500 ROUTE-REFRESH requests in one burst while the target has 2,000 routes for us: one
    request costs 23 octets, its answer the whole table. Requests that arrive while a refresh
    of the same family is still waiting are answered by it; more than three tables' worth of
    UPDATEs is an amplification."""
    target: Any = ctx.target
    routes, requests = 2000, 500
    await target.flood_routes(ctx.src, routes)
    peer = await ctx.established_peer()
    try:
        loop = asyncio.get_running_loop()
        updates = 0
        start = loop.time()
        while updates < routes and loop.time() - start < 20:  # the initial transfer
            msg = await peer.read(2.0)
            if msg is None:
                break
            updates += msg.mtype == 2
        await peer.send(message(5, b"\x00\x01\x00\x01") * requests)
        updates = 0
        while loop.time() - start < (120 if ctx.full else 40):
            try:
                msg = await peer.read(1.0)
            except Closed:
                return "closed"
            if msg is None:
                break
            if msg.notification is not None:
                return f"notification {msg.notification[0]}/{msg.notification[1]}"
            if msg.mtype == KEEPALIVE:
                await peer.send(keepalive())
            updates += msg.mtype == 2
        ctx.notes.append(f"{updates} UPDATEs for {requests} requests of a {routes}-route table")
        if updates > 3 * routes + 10:
            return f"amplified: {updates / routes:.0f} tables"
        return "up"
    finally:
        await peer.close()


async def max_prefix(ctx: Ctx) -> str:
    """More prefixes than the neighbor's limit (100): Cease / Maximum Number of Prefixes."""
    peer = await ctx.established_peer()
    try:
        nlri = b"".join(prefix(f"10.{ctx.index}.{i}.0/24") for i in range(150))
        await peer.send(update(attrs=ctx.attrs.all(), nlri=nlri))
        got = await peer.outcome(4.0)
        note = peer.last_notification()
        if note is not None:
            ctx.notes.append(f"data {note[2].hex()}")
        return got or "up"
    finally:
        await peer.close()


async def withdraw_flood(ctx: Ctx) -> str:
    """Withdrawals of routes never announced: nothing to do, nothing to keep."""
    count = 1_000_000 if ctx.full else 100_000
    peer = await ctx.established_peer()
    try:
        per_msg = 800
        sent = 0
        while sent < count:
            n = min(per_msg, count - sent)
            withdrawn = b"".join(
                b"\x20" + struct.pack("!I", (11 << 24) + sent + i) for i in range(n)
            )
            await peer.send(update(withdrawn=withdrawn))
            sent += n
            if sent % (per_msg * 50) == 0:
                got = await peer.outcome(0.01)
                if got is not None:
                    return got
        ctx.notes.append(f"{sent} withdrawals")
        await peer.send(keepalive())
        return await peer.outcome(ctx.quiet) or "up"
    finally:
        await peer.close()


async def connect_storm(ctx: Ctx) -> str:
    """Connections opened and closed at once, half after a partial OPEN, then a real session."""
    n = 2000 if ctx.full else 200
    half_open = ctx.open()[:30]
    for i in range(n):
        try:
            peer = await ctx.connect(timeout=2.0)
        except (TimeoutError, OSError):
            continue
        if i % 2:
            with contextlib.suppress(ConnectionError):
                await peer.send(half_open)
        peer.writer.transport.abort()
    ctx.notes.append(f"{n} connections")
    # the neighbor must still come up (its restart backoff may make the first tries fail)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + (60.0 if ctx.full else 40.0)
    last = ""
    while loop.time() < deadline:
        try:
            peer = await ctx.established_peer()
        except (OSError, TimeoutError, ConnectionError) as e:
            last = str(e)
            await asyncio.sleep(1.0)
            continue
        try:
            return await peer.outcome(ctx.quiet) or "up"
        finally:
            await peer.close()
    return f"no session after the storm: {last}"


# --- the catalogue --------------------------------------------------------------------------------


def _bad_caps(caps: bytes) -> Callable[[Ctx], bytes]:
    return lambda ctx: ctx.open(caps=caps)


def _update_body(body: bytes) -> Callable[[Ctx], bytes]:
    return lambda ctx: message(2, body)


def _cases() -> list[Case]:
    c: list[Case] = []

    def add(
        name: str, group: str, rfc: str, expect: str | tuple[str, ...], run: Runner, **neighbor: Any
    ) -> None:
        exp = (expect,) if isinstance(expect, str) else expect
        c.append(Case(name, group, rfc, exp, run, neighbor))

    hdr = "header"
    add(
        "bad marker",
        hdr,
        "RFC 4271 6.1",
        "notification 1/1",
        after_established(lambda ctx: message(KEEPALIVE, b"", marker=b"\x00" * 16)),
    )
    add(
        "length 18",
        hdr,
        "RFC 4271 6.1",
        "notification 1/2",
        after_established(lambda ctx: message(KEEPALIVE, b"", length=18)),
    )
    add(
        "UPDATE length 4097 (no extended messages)",
        hdr,
        "RFC 4271 6.1, RFC 8654",
        "notification 1/2",
        after_established(lambda ctx: message(2, bytes(4078))),
    )
    add(
        "KEEPALIVE length 20",
        hdr,
        "RFC 4271 6.1",
        "notification 1/2",
        after_established(lambda ctx: message(KEEPALIVE, b"\x00")),
    )
    add(
        "UPDATE length 22",
        hdr,
        "RFC 4271 6.1",
        "notification 1/2",
        after_established(lambda ctx: message(2, b"\x00\x00\x00")),
    )
    add(
        "unknown type 9",
        hdr,
        "RFC 4271 6.1",
        "notification 1/3",
        after_established(lambda ctx: message(9, b"")),
    )

    op = "open"
    add(
        "OPEN version 3",
        op,
        "RFC 4271 6.2",
        "notification 2/1",
        before_open(lambda ctx: ctx.open(version=3)),
    )
    add(
        "OPEN version 5",
        op,
        "RFC 4271 6.2",
        "notification 2/1",
        before_open(lambda ctx: ctx.open(version=5)),
    )
    add(
        "OPEN wrong peer AS",
        op,
        "RFC 4271 6.2",
        "notification 2/2",
        before_open(lambda ctx: ctx.open(asn=ctx.asn + 1)),
    )
    add(
        "OPEN 4-octet AS capability 0",
        op,
        "RFC 7607",
        "notification 2/2",
        before_open(lambda ctx: ctx.open(caps=cap_mp() + cap_as4(0), my_as=ctx.asn)),
    )
    add(
        "OPEN my AS differs from 4-octet AS capability",
        op,
        "RFC 6793 4.1 (not specified)",
        ("notification 2/2", "up"),
        before_open(lambda ctx: ctx.open(caps=cap_mp() + cap_as4(ctx.asn), my_as=ctx.asn + 7)),
    )
    add(
        "OPEN hold time 1",
        op,
        "RFC 4271 6.2",
        "notification 2/6",
        before_open(lambda ctx: ctx.open(hold=1)),
    )
    add(
        "OPEN hold time 2",
        op,
        "RFC 4271 6.2",
        "notification 2/6",
        before_open(lambda ctx: ctx.open(hold=2)),
    )
    add(
        "OPEN router id 0.0.0.0",
        op,
        "RFC 4271 6.2, RFC 6286",
        "notification 2/3",
        before_open(lambda ctx: ctx.open(router_id="0.0.0.0")),
    )
    add(
        "OPEN router id = target's (eBGP)",
        op,
        "RFC 6286 2.2 (allowed between ASes)",
        "up",
        before_open(lambda ctx: ctx.open(router_id=ctx.target.router_id)),
    )
    add(
        "OPEN optional parameter type 1 (authentication)",
        op,
        "RFC 4271 6.2, RFC 5492",
        "notification 2/4",
        before_open(lambda ctx: ctx.open(params=b"\x01\x02\x00\x00")),
    )
    add(
        "OPEN capability length past the parameter",
        op,
        "RFC 5492 (malformed: 2/0)",
        "notification 2/0",
        before_open(_bad_caps(cap_mp() + b"\x41\x08\x00\x00")),
    )
    add(
        "OPEN optional parameters length past the message",
        op,
        "RFC 4271 6.2",
        ("notification 2/0", "notification 1/2"),
        before_open(lambda ctx: message(1, ctx.open()[19:-3])),
    )
    add(
        "OPEN length 28",
        op,
        "RFC 4271 6.1",
        "notification 1/2",
        before_open(lambda ctx: message(1, b"\x04\x00\x01\x00\x5a\x0a\x4d\x00")),
    )
    add(
        "OPEN unknown capability 200",
        op,
        "RFC 5492 5 (ignore unknown)",
        "up",
        before_open(_bad_caps(cap_mp() + capability(200, b"abc"))),
    )
    add(
        "OPEN without 4-octet AS capability",
        op,
        "RFC 6793 (2-octet peer)",
        "up",
        before_open(lambda ctx: ctx.open(caps=cap_mp())),
    )
    add(
        "UPDATE instead of OPEN",
        op,
        "RFC 6608 (OpenSent)",
        "notification 5/1",
        before_open(lambda ctx: update()),
    )
    add(
        "KEEPALIVE instead of OPEN",
        op,
        "RFC 6608 (OpenSent)",
        "notification 5/1",
        before_open(lambda ctx: keepalive()),
    )
    add(
        "second OPEN when Established",
        op,
        "RFC 6608 (Established)",
        "notification 5/3",
        after_established(lambda ctx: ctx.open()),
    )
    add(
        "ROUTE-REFRESH for a family not negotiated",
        op,
        "RFC 2918 4 (ignore)",
        "up",
        after_established(lambda ctx: message(5, b"\x00\x02\x00\x01")),
    )
    add(
        "Begin-of-RIB-refresh of 24 octets",
        op,
        "RFC 7313 5",
        "notification 7/1",
        after_established(lambda ctx: message(5, b"\x00\x01\x01\x01\x00")),
    )

    up = "update"
    add(
        "withdrawn length past the message",
        up,
        "RFC 7606 4",
        "notification 3/1",
        on_route(_update_body(b"\x00\x40\x00\x00")),
    )
    add(
        "attribute section length past the message",
        up,
        "RFC 7606 4",
        "notification 3/1",
        on_route(_update_body(b"\x00\x00\x01\x00\x40\x01\x01\x00")),
    )
    add(
        "last attribute's length past the section",
        up,
        "RFC 7606 4",
        "withdrawn",  # "the Total Attribute Length MUST be relied upon" to find the NLRI
        on_route(
            lambda ctx: update(attrs=ctx.attrs.all(200) + b"\x40\x01\x09\x00", nlri=_nlri(ctx))
        ),
    )
    add(
        "ORIGIN value 3",
        up,
        "RFC 7606 7.1",
        "withdrawn",
        on_route(with_attrs(raw(WELL_KNOWN, 1, b"\x03"), path, nh, med200)),
    )
    add(
        "ORIGIN length 2",
        up,
        "RFC 7606 7.1",
        "withdrawn",
        on_route(with_attrs(raw(WELL_KNOWN, 1, b"\x00\x00"), path, nh, med200)),
    )
    add(
        "ORIGIN flagged optional",
        up,
        "RFC 7606 3c",
        "withdrawn",
        on_route(with_attrs(raw(OPTIONAL | TRANSITIVE, 1, b"\x00"), path, nh, med200)),
    )
    add(
        "AS_PATH segment past the attribute",
        up,
        "RFC 7606 7.2",
        "withdrawn",
        on_route(
            with_attrs(origin, lambda ctx: attr(WELL_KNOWN, 2, b"\x02\x05" + bytes(8)), nh, med200)
        ),
    )
    add(
        "AS_PATH segment type 7",
        up,
        "RFC 7606 7.2",
        "withdrawn",
        on_route(
            with_attrs(
                origin, lambda ctx: attr(WELL_KNOWN, 2, as_path(ctx.asn, seg_type=7)), nh, med200
            )
        ),
    )
    add(
        "AS_PATH with AS_CONFED_SEQUENCE from eBGP",
        up,
        "RFC 7606 7.2, RFC 5065 5",
        "withdrawn",
        on_route(
            with_attrs(
                origin,
                lambda ctx: attr(WELL_KNOWN, 2, as_path(65535, seg_type=3) + as_path(ctx.asn)),
                nh,
                med200,
            )
        ),
    )
    add(
        "AS_PATH first AS is not the peer's",
        up,
        "RFC 4271 6.3 (MAY), RFC 7606 6",
        ("withdrawn", "notification 3/11", "accepted"),
        on_route(with_attrs(origin, lambda ctx: attr(WELL_KNOWN, 2, as_path(64999)), nh, med200)),
    )
    add(
        "NEXT_HOP length 5",
        up,
        "RFC 7606 7.3",
        "withdrawn",
        on_route(with_attrs(origin, path, raw(WELL_KNOWN, 3, b"\x0a\x4d\x00\x0a\x00"), med200)),
    )
    add(
        "NEXT_HOP 0.0.0.0",
        up,
        "RFC 4271 6.3 (semantic: ignore the route)",
        ("withdrawn", "ignored (old route kept)"),
        on_route(with_attrs(origin, path, raw(WELL_KNOWN, 3, bytes(4)), med200)),
    )
    add(
        "MED length 3",
        up,
        "RFC 7606 7.4",
        "withdrawn",
        on_route(with_attrs(origin, path, nh, raw(OPTIONAL, 4, b"\x00\x00\xc8"))),
    )
    add(
        "LOCAL_PREF from an external peer",
        up,
        "RFC 7606 7.5 (discard)",
        "kept without 5",
        on_route(with_attrs(*GOOD, raw(WELL_KNOWN, 5, b"\x00\x00\x01\x00")), bad_code=5),
    )
    add(
        "ATOMIC_AGGREGATE length 1",
        up,
        "RFC 7606 7.6",
        "kept without 6",
        on_route(with_attrs(*GOOD, raw(WELL_KNOWN, 6, b"\x00")), bad_code=6),
    )
    add(
        "AGGREGATOR length 7",
        up,
        "RFC 7606 7.7",
        "kept without 7",
        on_route(with_attrs(*GOOD, raw(OPTIONAL | TRANSITIVE, 7, bytes(7))), bad_code=7),
    )
    add(
        "COMMUNITIES length 5",
        up,
        "RFC 7606 7.8",
        "withdrawn",
        on_route(with_attrs(*GOOD, raw(OPTIONAL | TRANSITIVE, 8, bytes(5)))),
    )
    add(
        "ORIGINATOR_ID from an external peer",
        up,
        "RFC 7606 7.9 (discard)",
        "kept without 9",
        on_route(with_attrs(*GOOD, raw(OPTIONAL, 9, b"\x0a\x4d\x00\x63")), bad_code=9),
    )
    add(
        "CLUSTER_LIST from an external peer",
        up,
        "RFC 7606 7.10 (discard)",
        "kept without 10",
        on_route(with_attrs(*GOOD, raw(OPTIONAL, 10, b"\x0a\x4d\x00\x63")), bad_code=10),
    )
    add(
        "MP_REACH_NLRI next hop length 5",
        up,
        "RFC 7606 7.11, RFC 4760 7",
        ("notification 3/9", "notification 3/1", "notification 6/0"),
        on_route(with_attrs(raw(OPTIONAL, 14, MP_BAD_NEXT_HOP), *GOOD)),
    )
    add(
        "MP_REACH_NLRI twice",
        up,
        "RFC 7606 3g",
        ("notification 3/1", "notification 3/9"),
        on_route(with_attrs(*[raw(OPTIONAL, 14, MP_REACH)] * 2, *GOOD)),
    )
    add("missing ORIGIN", up, "RFC 7606 3d", "withdrawn", on_route(with_attrs(path, nh, med200)))
    add(
        "missing NEXT_HOP",
        up,
        "RFC 7606 3d",
        "withdrawn",
        on_route(with_attrs(origin, path, med200)),
    )
    add("missing AS_PATH", up, "RFC 7606 3d", "withdrawn", on_route(with_attrs(origin, nh, med200)))
    add(
        "MED twice (200 then 300)",
        up,
        "RFC 7606 3g (keep the first)",
        "accepted",
        on_route(with_attrs(*GOOD, raw(OPTIONAL, 4, struct.pack("!I", 300)))),
    )
    add(
        "ORIGIN twice",
        up,
        "RFC 7606 3g (keep the first)",
        "accepted",
        on_route(with_attrs(*GOOD, raw(WELL_KNOWN, 1, b"\x02"))),
    )
    add(
        "attributes in reverse order",
        up,
        "RFC 4271 5 (any order)",
        "accepted",
        on_route(with_attrs(med200, nh, path, origin)),
    )
    add(
        "extended length bit on a short attribute",
        up,
        "RFC 4271 4.3",
        "accepted",
        on_route(with_attrs(origin, path, nh, raw(OPTIONAL | EXTENDED, 4, struct.pack("!I", 200)))),
    )
    add(
        "unknown optional transitive attribute",
        up,
        "RFC 4271 5 (pass on, partial)",
        "accepted",
        on_route(with_attrs(*GOOD, raw(OPTIONAL | TRANSITIVE | PARTIAL, 199, b"xyz"))),
    )
    add(
        "unrecognized well-known attribute",
        up,
        "RFC 4271 6.3",
        "notification 3/2",
        on_route(with_attrs(*GOOD, raw(WELL_KNOWN, 99, b"x"))),
    )
    add(
        "NLRI prefix length 33",
        up,
        "RFC 7606 5.3",
        "notification 3/10",
        on_route(lambda ctx: update(attrs=ctx.attrs.all(200), nlri=b"\x21" + bytes(5))),
    )
    add(
        "NLRI cut short",
        up,
        "RFC 7606 5.3",
        "notification 3/10",
        on_route(lambda ctx: update(attrs=ctx.attrs.all(200), nlri=_nlri(ctx) + b"\x18\x0a")),
    )
    add(
        "withdrawn prefix length 40",
        up,
        "RFC 7606 5.3",
        "notification 3/10",
        on_route(lambda ctx: update(withdrawn=b"\x28" + bytes(5))),
    )

    res = "resources"
    add("one octet per second, hold time 3", res, "RFC 4271 4.4, 6.5", "notification 4/0", trickle)
    add(
        "peer stops reading",
        res,
        "RFC 9687",
        ("notification 8/0", "closed"),
        stop_reading,
        send_hold_time=3.0,
    )
    add(
        "prefixes past the maximum (100)",
        res,
        "RFC 4271 8.1.2, RFC 4486",
        "notification 6/1",
        max_prefix,
        max_prefixes=100,
    )
    add(
        "withdrawals of routes never announced",
        res,
        "RFC 4271 9.1.3 (nothing to do)",
        "up",
        withdraw_flood,
    )
    add("connect/close storm", res, "RFC 4271 8 (connection handling)", "up", connect_storm)
    add("ROUTE-REFRESH flood", res, "RFC 2918 4 (no amplification)", "up", refresh_flood)
    return c


CASES = _cases()


def by_name(name: str) -> Case:
    for case in CASES:
        if case.name == name:
            return case
    raise KeyError(name)
