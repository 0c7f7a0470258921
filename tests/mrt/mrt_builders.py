"""A small MRT writer for tests: records built field by field from RFC 6396 / RFC 8050, for the
record kinds and corner cases the corpora do not have (RIB_GENERIC_ADDPATH, *_LOCAL_ADDPATH,
BGP4MP_ET over IPv6...) and for precise damage."""

from __future__ import annotations

import ipaddress
import struct
from collections.abc import Sequence

from bgpspeak.wire import (
    AsPath,
    Context,
    NextHop,
    Origin,
    PathAttribute,
    Prefix,
    build_update,
    encode_prefixes,
)

IP = ipaddress.IPv4Address | ipaddress.IPv6Address
TS = 1_700_000_000
AS4 = Context(asn4=True)


def ip(text: str) -> IP:
    return ipaddress.ip_address(text)


def record(rtype: int, subtype: int, body: bytes, ts: int = TS) -> bytes:
    return struct.pack(">IHHI", ts, rtype, subtype, len(body)) + body


def bgp4mp_head(
    peer_as: int, local_as: int, peer_ip: IP, local_ip: IP, *, as4: bool, interface: int = 0
) -> bytes:
    fmt = ">IIHH" if as4 else ">HHHH"
    afi = 1 if peer_ip.version == 4 else 2
    return struct.pack(fmt, peer_as, local_as, interface, afi) + peer_ip.packed + local_ip.packed


def bgp4mp_message(
    message: bytes,
    *,
    peer_as: int = 65001,
    local_as: int = 65000,
    peer_ip: str = "192.0.2.1",
    local_ip: str = "192.0.2.2",
    as4: bool = True,
    usec: int | None = None,
) -> bytes:
    """A BGP4MP body (BGP4MP_ET when ``usec`` is given: the microseconds come first)."""
    head = bgp4mp_head(peer_as, local_as, ip(peer_ip), ip(local_ip), as4=as4)
    et = b"" if usec is None else struct.pack(">I", usec)
    return et + head + message


def state_change(
    old: int, new: int, *, peer_ip: str = "192.0.2.1", local_ip: str = "192.0.2.2", as4: bool
) -> bytes:
    head = bgp4mp_head(65001, 65000, ip(peer_ip), ip(local_ip), as4=as4)
    return head + struct.pack(">HH", old, new)


def update(ctx: Context, *prefixes: str, next_hop: str = "192.0.2.1", path: int = 65001) -> bytes:
    """An IPv4 UPDATE announcing ``prefixes`` (ADD-PATH ids 1, 2, ... when ``ctx`` has it)."""
    nlri = [Prefix.parse(p, i + 1 if ctx.add_path else None) for i, p in enumerate(prefixes)]
    attrs: list[PathAttribute] = [
        Origin(0),
        AsPath.sequence(path, 4_200_000_000),
        NextHop(ipaddress.IPv4Address(next_hop)),
    ]
    return build_update(nlri=nlri, attributes=attrs).encode(ctx)


def attributes(*attrs: PathAttribute, ctx: Context = AS4) -> bytes:
    return b"".join(a.encode(ctx) for a in attrs)


def peer_index_table(
    peers: Sequence[tuple[str, str, int]], collector: str = "198.51.100.1", view: str = "main"
) -> bytes:
    """``peers`` as (BGP id, address, AS); the peer type bits follow each peer's values."""
    name = view.encode()
    out = ipaddress.IPv4Address(collector).packed + struct.pack(">H", len(name)) + name
    out += struct.pack(">H", len(peers))
    for bgp_id, address, asn in peers:
        addr = ip(address)
        ptype = (1 if addr.version == 6 else 0) | (2 if asn > 0xFFFF else 0)
        out += bytes((ptype,)) + ipaddress.IPv4Address(bgp_id).packed + addr.packed
        out += asn.to_bytes(4 if ptype & 2 else 2, "big")
    return out


Entry = tuple[int, int, bytes, int | None]  # peer index, originated, attributes, path id


def rib_entries(entries: Sequence[Entry]) -> bytes:
    out = struct.pack(">H", len(entries))
    for index, originated, attrs, path_id in entries:
        out += struct.pack(">HI", index, originated)
        if path_id is not None:
            out += struct.pack(">I", path_id)
        out += struct.pack(">H", len(attrs)) + attrs
    return out


def rib(sequence: int, prefix: str, entries: Sequence[Entry]) -> bytes:
    """RIB_IPV4/IPV6_UNICAST(_ADDPATH) body."""
    return (
        struct.pack(">I", sequence)
        + encode_prefixes([Prefix.parse(prefix)], False)
        + (rib_entries(entries))
    )


def rib_generic(sequence: int, afi: int, safi: int, nlri: bytes, entries: Sequence[Entry]) -> bytes:
    return struct.pack(">IHB", sequence, afi, safi) + nlri + rib_entries(entries)


def abbreviated_mp_reach(next_hop: str) -> bytes:
    """MP_REACH_NLRI as RFC 6396 section 4.3.4 writes it in RIB entries: next hop only."""
    nh = ip(next_hop).packed
    value = bytes((len(nh),)) + nh
    return bytes((0x80, 14, len(value))) + value
