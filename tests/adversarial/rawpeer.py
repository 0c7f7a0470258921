"""A hostile BGP peer made of raw bytes: builds whatever octets a case wants, well formed or not,
and reads back what the target answers.

Nothing here uses bgpspeak's encoder for what is sent (the point is to send what an encoder
would refuse); bgpspeak's decoder only reads the target's answers.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import socket
import struct
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

MARKER = b"\xff" * 16
OPEN, UPDATE, NOTIFICATION, KEEPALIVE, ROUTE_REFRESH = 1, 2, 3, 4, 5
AS_TRANS = 23456

# attribute flags
OPTIONAL, TRANSITIVE, PARTIAL, EXTENDED = 0x80, 0x40, 0x20, 0x10
WELL_KNOWN = TRANSITIVE


def message(mtype: int, body: bytes, *, length: int | None = None, marker: bytes = MARKER) -> bytes:
    """A message with a header; ``length`` overrides the length field (to lie about it)."""
    n = 19 + len(body) if length is None else length
    return marker + struct.pack("!HB", n, mtype) + body


def keepalive() -> bytes:
    return message(KEEPALIVE, b"")


def capability(code: int, value: bytes) -> bytes:
    return bytes((code, len(value))) + value


def cap_mp(afi: int = 1, safi: int = 1) -> bytes:
    return capability(1, struct.pack("!HBB", afi, 0, safi))


def cap_as4(asn: int) -> bytes:
    return capability(65, struct.pack("!I", asn))


def open_message(
    asn: int,
    router_id: str,
    *,
    hold: int = 90,
    version: int = 4,
    caps: bytes | None = None,
    params: bytes | None = None,
    my_as: int | None = None,
) -> bytes:
    """OPEN: capabilities MP ipv4/unicast, route refresh, 4-octet AS unless ``caps`` given;
    ``params`` replaces the whole optional-parameter field."""
    if caps is None:
        caps = cap_mp() + capability(2, b"") + cap_as4(asn)
    if params is None:
        params = bytes((2, len(caps))) + caps if caps else b""
    two = my_as if my_as is not None else (asn if asn <= 0xFFFF else AS_TRANS)
    body = struct.pack("!BHH", version, two, hold) + ipaddress.IPv4Address(router_id).packed
    return message(OPEN, body + bytes((len(params),)) + params)


def attr(flags: int, code: int, value: bytes, *, length: int | None = None) -> bytes:
    """One path attribute; the extended-length bit is set when needed (or when in ``flags``)."""
    n = len(value) if length is None else length
    if flags & EXTENDED or n > 255:
        return struct.pack("!BBH", flags | EXTENDED, code, n) + value
    return struct.pack("!BBB", flags, code, n) + value


def as_path(*asns: int, seg_type: int = 2) -> bytes:
    return bytes((seg_type, len(asns))) + b"".join(struct.pack("!I", a) for a in asns)


def prefix(text: str) -> bytes:
    net = ipaddress.ip_network(text)
    octets = (net.prefixlen + 7) // 8
    return bytes((net.prefixlen,)) + net.network_address.packed[:octets]


def update(withdrawn: bytes = b"", attrs: bytes = b"", nlri: bytes = b"") -> bytes:
    body = struct.pack("!H", len(withdrawn)) + withdrawn + struct.pack("!H", len(attrs)) + attrs
    return message(UPDATE, body + nlri)


@dataclass(frozen=True)
class Attrs:
    """The well-formed attributes of one attacker's routes, as raw attributes."""

    asn: int
    next_hop: str
    med: int = 100

    def origin(self) -> bytes:
        return attr(WELL_KNOWN, 1, b"\x00")

    def path(self) -> bytes:
        return attr(WELL_KNOWN, 2, as_path(self.asn))

    def nh(self) -> bytes:
        return attr(WELL_KNOWN, 3, ipaddress.IPv4Address(self.next_hop).packed)

    def med_attr(self, value: int | None = None) -> bytes:
        return attr(OPTIONAL, 4, struct.pack("!I", self.med if value is None else value))

    def all(self, med: int | None = None) -> bytes:
        return self.origin() + self.path() + self.nh() + self.med_attr(med)


class Closed(Exception):
    """The target closed the connection."""


@dataclass
class Received:
    mtype: int
    raw: bytes

    @property
    def notification(self) -> tuple[int, int, bytes] | None:
        if self.mtype != NOTIFICATION or len(self.raw) < 21:
            return None
        return self.raw[19], self.raw[20], self.raw[21:]


class RawPeer:
    """One TCP connection to the target, driven by a case."""

    #: where attacking sockets are made: the attackers' namespace (``Namespace.entered``)
    socket_context: Callable[[], AbstractContextManager[Any]] = contextlib.nullcontext

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.received: list[Received] = []
        self.closed = False

    @classmethod
    async def connect(
        cls, src: str, dst: str, port: int, *, rcvbuf: int | None = None, timeout: float = 5.0
    ) -> RawPeer:
        with RawPeer.socket_context():
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setblocking(False)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if rcvbuf is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        sock.bind((src, 0))
        loop = asyncio.get_running_loop()
        try:
            await asyncio.wait_for(loop.sock_connect(sock, (dst, port)), timeout)
        except BaseException:
            sock.close()
            raise
        reader, writer = await asyncio.open_connection(sock=sock, limit=1 << 20)
        return cls(reader, writer)

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def read(self, timeout: float) -> Received | None:
        """The next whole message; None on timeout; raises Closed at end of stream."""
        try:
            header = await asyncio.wait_for(self.reader.readexactly(19), timeout)
            length = struct.unpack("!H", header[16:18])[0]
            body = await asyncio.wait_for(self.reader.readexactly(max(0, length - 19)), timeout)
        except TimeoutError:
            return None
        except (asyncio.IncompleteReadError, ConnectionError):
            self.closed = True
            raise Closed() from None
        msg = Received(header[18], header + body)
        self.received.append(msg)
        return msg

    async def handshake(self, open_bytes: bytes, timeout: float = 10.0) -> Received:
        """Send our OPEN, read theirs, exchange KEEPALIVEs: Established on both sides."""
        await self.send(open_bytes)
        their_open = await self._expect(OPEN, timeout)
        await self.send(keepalive())
        await self._expect(KEEPALIVE, timeout)
        return their_open

    async def _expect(self, mtype: int, timeout: float) -> Received:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            msg = await self.read(max(0.01, deadline - loop.time()))
            if msg is None:
                raise TimeoutError(f"no message of type {mtype} within {timeout} s")
            if msg.notification is not None:
                code, sub, _ = msg.notification
                raise ConnectionError(f"NOTIFICATION {code}/{sub} while waiting for {mtype}")
            if msg.mtype == mtype:
                return msg

    async def outcome(self, quiet: float, keepalives: bool = True) -> str | None:
        """Read for ``quiet`` seconds (answering nothing but KEEPALIVEs): the NOTIFICATION
        received (``"notification C/S"``), ``"closed"`` without one, or None (still up)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + quiet
        while loop.time() < deadline:
            try:
                msg = await self.read(max(0.01, deadline - loop.time()))
            except Closed:
                return "closed"
            if msg is None:
                break
            if msg.notification is not None:
                code, sub, _ = msg.notification
                return f"notification {code}/{sub}"
            if msg.mtype == KEEPALIVE and keepalives:
                await self.send(keepalive())
        return None

    def last_notification(self) -> tuple[int, int, bytes] | None:
        for msg in reversed(self.received):
            if msg.notification is not None:
                return msg.notification
        return None

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(asyncio.TimeoutError, ConnectionError, OSError):
            await asyncio.wait_for(self.writer.wait_closed(), 2)
