"""The UDP sockets BFD needs, and reading what the kernel says about each datagram.

RFC 5881 section 5 makes the received TTL part of the protocol (single hop accepts only 255),
so receivers ask for it with IP_RECVTTL / IPV6_RECVHOPLIMIT, and for the destination address
and interface with IP_PKTINFO / IPV6_RECVPKTINFO, which select the session when the peer does
not know our discriminator yet. Python's socket module lacks some of the Linux constants, so
they are spelled out here (include/uapi/linux/in.h, in6.h).

Each session sends from its own socket: bound to a source port in 49152..65535 that stays the
same for the session's life (RFC 5881 section 4), TTL / hop limit 255, DSCP CS6.
"""

from __future__ import annotations

import ipaddress
import random
import socket
import struct
from collections.abc import Sequence

from .codes import MAX_TTL, SOURCE_PORT_MAX, SOURCE_PORT_MIN, TOS_NETWORK_CONTROL
from .config import IPAddress, SessionKey
from .table import Datagram

IP_PKTINFO = 8
IP_RECVTTL = 12
IP_TTL = 2  # the cmsg type carrying a received TTL
IPV6_RECVPKTINFO = 49
IPV6_PKTINFO = 50
IPV6_RECVHOPLIMIT = 51
IPV6_HOPLIMIT = 52
IPV6_TCLASS = 67

_IN_PKTINFO = struct.Struct("=I4s4s")  # ifindex, spec_dst, addr (the header's destination)
_IN6_PKTINFO = struct.Struct("=16sI")  # addr, ifindex
_INT = struct.Struct("=i")
ANCILLARY_SIZE = socket.CMSG_SPACE(_IN6_PKTINFO.size) + socket.CMSG_SPACE(_INT.size) + 64
MAX_DATAGRAM = 512  # a Control packet is at most 255 octets; more is not BFD


def open_receiver(family: int, port: int, address: str | None = None) -> socket.socket:
    """A non-blocking socket for the well-known port of one address family, reporting TTL,
    destination and interface of every datagram."""
    sock = socket.socket(family, socket.SOCK_DGRAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            sock.setsockopt(socket.IPPROTO_IPV6, IPV6_RECVHOPLIMIT, 1)
            sock.setsockopt(socket.IPPROTO_IPV6, IPV6_RECVPKTINFO, 1)
            host = address or "::"
        else:
            sock.setsockopt(socket.IPPROTO_IP, IP_RECVTTL, 1)
            sock.setsockopt(socket.IPPROTO_IP, IP_PKTINFO, 1)
            host = address or "0.0.0.0"
        sock.setblocking(False)
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


def open_session_receiver(key: SessionKey, port: int, peer_port: int) -> socket.socket:
    """A receiver for one session only: bound to the well-known port beside the wildcard
    receiver and connected to the peer's address and source port. Linux delivers a datagram
    to the most specific matching socket, so the session's packets land here and a flood
    from anywhere else fills the wildcard socket's buffer, not this one."""
    family = socket.AF_INET6 if key.peer.version == 6 else socket.AF_INET
    bind = None if key.local is None or key.local.is_link_local else str(key.local)
    sock = open_receiver(family, port, bind)
    try:
        if key.interface:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, key.interface.encode())
        sock.connect(destination(key, peer_port))
    except OSError:
        sock.close()
        raise
    return sock


def open_sender(key: SessionKey, rng: random.Random) -> socket.socket:
    """The socket one session sends from: TTL 255, CS6, bound to ``key.local`` (or any) and a
    free source port picked at random in the RFC 5881 range, to ``key.interface`` if set."""
    family = socket.AF_INET6 if key.peer.version == 6 else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_DGRAM)
    try:
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_UNICAST_HOPS, MAX_TTL)
            sock.setsockopt(socket.IPPROTO_IPV6, IPV6_TCLASS, TOS_NETWORK_CONTROL)
        else:
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, MAX_TTL)
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_TOS, TOS_NETWORK_CONTROL)
        if key.interface:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, key.interface.encode())
        sock.setblocking(False)
        _bind_source_port(sock, key, rng)
    except OSError:
        sock.close()
        raise
    return sock


def _bind_source_port(sock: socket.socket, key: SessionKey, rng: random.Random) -> None:
    host = str(key.local) if key.local is not None else ("::" if key.peer.version == 6 else "")
    span = SOURCE_PORT_MAX - SOURCE_PORT_MIN + 1
    first = rng.randrange(span)
    last_error: OSError | None = None
    for i in range(256):
        port = SOURCE_PORT_MIN + (first + i) % span
        try:
            if key.peer.version == 6:
                scope = _scope(key)
                sock.bind((host, port, 0, scope))
            else:
                sock.bind((host, port))
            return
        except OSError as e:
            if e.errno != 98:  # EADDRINUSE: try the next port; anything else is final
                raise
            last_error = e
    assert last_error is not None
    raise last_error


def _scope(key: SessionKey) -> int:
    """Scope id for link-local addresses, which mean nothing without their interface."""
    if key.interface and (
        (key.local is not None and key.local.is_link_local) or key.peer.is_link_local
    ):
        return socket.if_nametoindex(key.interface)
    return 0


def destination(key: SessionKey, port: int) -> tuple[str, int] | tuple[str, int, int, int]:
    if key.peer.version == 6:
        return (str(key.peer), port, 0, _scope(key))
    return (str(key.peer), port)


def parse_ancillary(
    ancdata: Sequence[tuple[int, int, bytes]],
) -> tuple[int | None, IPAddress | None, int | None]:
    """(TTL or hop limit, destination address, interface index) from recvmsg's ancillary
    data; None for whatever the kernel did not report."""
    ttl: int | None = None
    dst: IPAddress | None = None
    ifindex: int | None = None
    for level, kind, data in ancdata:
        if level == socket.IPPROTO_IP and kind == IP_TTL and len(data) >= _INT.size:
            ttl = _INT.unpack_from(data)[0]
        elif level == socket.IPPROTO_IP and kind == IP_PKTINFO and len(data) >= _IN_PKTINFO.size:
            index, _spec, addr = _IN_PKTINFO.unpack_from(data)
            ifindex, dst = index, ipaddress.IPv4Address(addr)
        elif level == socket.IPPROTO_IPV6 and kind == IPV6_HOPLIMIT and len(data) >= _INT.size:
            ttl = _INT.unpack_from(data)[0]
        elif (
            level == socket.IPPROTO_IPV6 and kind == IPV6_PKTINFO and len(data) >= _IN6_PKTINFO.size
        ):
            addr6, index = _IN6_PKTINFO.unpack_from(data)
            ifindex, dst = index, ipaddress.IPv6Address(addr6)
    return ttl, dst, ifindex


class InterfaceNames:
    """ifindex -> name, cached: looked up per datagram only for sessions bound to interfaces."""

    def __init__(self) -> None:
        self._names: dict[int, str | None] = {}

    def name(self, index: int | None) -> str | None:
        if index is None or index == 0:
            return None
        if index not in self._names:
            try:
                self._names[index] = socket.if_indextoname(index)
            except OSError:
                return None
        return self._names[index]


def receive(sock: socket.socket, multihop: bool, names: InterfaceNames) -> Datagram | None:
    """One datagram from a receiver socket, or None when there is nothing to read."""
    try:
        data, ancdata, _flags, addr = sock.recvmsg(MAX_DATAGRAM, ANCILLARY_SIZE)
    except (BlockingIOError, InterruptedError):
        return None
    ttl, dst, ifindex = parse_ancillary(ancdata)
    source = ipaddress.ip_address(addr[0].split("%")[0])
    return Datagram(
        data=data,
        source=source,
        source_port=int(addr[1]),
        destination=dst,
        interface=names.name(ifindex),
        ttl=ttl,
        multihop=multihop,
    )
