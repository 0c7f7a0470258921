"""TCP MD5 signatures (RFC 2385) and GTSM (RFC 5082) through Linux socket options.

Python's socket module has no constants or structures for these, so the kernel's
``struct tcp_md5sig`` is packed here by hand (include/uapi/linux/tcp.h).
"""

from __future__ import annotations

import ipaddress
import socket
import struct
from typing import Protocol


class SocketLike(Protocol):
    """A socket or asyncio's TransportSocket view of one: enough to set options."""

    @property
    def family(self) -> int: ...

    def setsockopt(self, level: int, optname: int, value: int | bytes, /) -> None: ...


TCP_MD5SIG = 14
TCP_MD5SIG_MAXKEYLEN = 80
IP_MINTTL = 21
IPV6_MINHOPCOUNT = 73
_SOCKADDR_STORAGE = 128


def _sockaddr(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bytes:
    if address.version == 4:
        raw = struct.pack("=H", socket.AF_INET) + b"\x00\x00" + address.packed
    else:
        raw = struct.pack("=H", socket.AF_INET6) + b"\x00\x00" + b"\x00" * 4 + address.packed
        raw += b"\x00" * 4  # scope id
    return raw.ljust(_SOCKADDR_STORAGE, b"\x00")


def md5sig_struct(peer: ipaddress.IPv4Address | ipaddress.IPv6Address, password: bytes) -> bytes:
    if len(password) > TCP_MD5SIG_MAXKEYLEN:
        raise ValueError(f"TCP MD5 password is longer than {TCP_MD5SIG_MAXKEYLEN} octets")
    # flags, prefixlen, keylen, ifindex, key
    tail = struct.pack("=BBHI", 0, 0, len(password), 0) + password.ljust(
        TCP_MD5SIG_MAXKEYLEN, b"\x00"
    )
    return _sockaddr(peer) + tail


def set_md5(
    sock: SocketLike,
    peer: ipaddress.IPv4Address | ipaddress.IPv6Address,
    password: str | bytes | None,
) -> None:
    """Install (or with ``None`` remove) the MD5 key for ``peer`` on ``sock``. On a listening
    socket the key applies to connections accepted from that peer."""
    key = password.encode() if isinstance(password, str) else (password or b"")
    if sock.family == socket.AF_INET6 and peer.version == 4:
        peer = ipaddress.IPv6Address(f"::ffff:{peer}")
    sock.setsockopt(socket.IPPROTO_TCP, TCP_MD5SIG, md5sig_struct(peer, key))


def send_with_max_ttl(sock: SocketLike) -> None:
    """TTL / hop limit 255 on everything this socket sends, SYN-ACKs of a listener included, so
    a GTSM peer accepts our handshake before we know which peer is calling."""
    if sock.family == socket.AF_INET6:
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_UNICAST_HOPS, 255)
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, 255)  # IPv4-mapped peers
    else:
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, 255)


def set_ttl_security(sock: SocketLike, hops: int) -> None:
    """GTSM: send with TTL 255 and accept only packets that arrive with TTL >= 256 - hops."""
    if not 1 <= hops <= 254:
        raise ValueError(f"ttl_security hops {hops} is not 1..254")
    send_with_max_ttl(sock)
    if sock.family == socket.AF_INET6:
        sock.setsockopt(socket.IPPROTO_IPV6, IPV6_MINHOPCOUNT, 256 - hops)
        sock.setsockopt(socket.IPPROTO_IP, IP_MINTTL, 256 - hops)  # IPv4-mapped peers
    else:
        sock.setsockopt(socket.IPPROTO_IP, IP_MINTTL, 256 - hops)
