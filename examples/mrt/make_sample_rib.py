"""Writes sample-rib.mrt: a small TABLE_DUMP_V2 routing table dump (RFC 6396) for the examples.

Two collector peers and 24 prefixes (20 IPv4, 4 IPv6) from the documentation ranges, with
documentation AS numbers, communities and MEDs, as a route collector would dump them: a
PEER_INDEX_TABLE, then one RIB record per prefix with one entry per peer. It is deterministic
(fixed timestamps), so the file in the repository is exactly what this prints:

    python examples/mrt/make_sample_rib.py > examples/mrt/sample-rib.mrt

Real dumps (RIPE RIS ``bview.*.gz``, Route Views ``rib.*.bz2``) work the same with
examples/mrt_replay.py.
"""

from __future__ import annotations

import ipaddress
import struct
import sys

from bgpspeak.wire import (
    AsPath,
    Communities,
    Context,
    MultiExitDisc,
    NextHop,
    Origin,
    PathAttribute,
    Prefix,
    parse_community,
)

TIME = 1_700_000_000
TABLE_DUMP_V2 = 13
PEER_INDEX_TABLE, RIB_IPV4_UNICAST, RIB_IPV6_UNICAST = 1, 2, 4
CTX = Context(asn4=True)  # TABLE_DUMP_V2 always has 4-octet AS numbers

# (peer BGP id, peer address, peer AS)
PEERS = [
    ("192.0.2.101", "192.0.2.101", 64496),
    ("192.0.2.102", "2001:db8::102", 64497),
]


def record(subtype: int, body: bytes) -> bytes:
    return struct.pack("!IHHI", TIME, TABLE_DUMP_V2, subtype, len(body)) + body


def peer_index() -> bytes:
    body = ipaddress.IPv4Address("192.0.2.100").packed + struct.pack("!H", 6) + b"sample"
    body += struct.pack("!H", len(PEERS))
    for bgp_id, addr, asn in PEERS:
        ip = ipaddress.ip_address(addr)
        peer_type = 0x02 | (0x01 if ip.version == 6 else 0)  # 4-octet AS, IPv6 address
        body += bytes([peer_type]) + ipaddress.IPv4Address(bgp_id).packed + ip.packed
        body += struct.pack("!I", asn)
    return record(PEER_INDEX_TABLE, body)


def mp_next_hop(addr: str) -> bytes:
    """RFC 6396 4.3.4: in TABLE_DUMP_V2 MP_REACH_NLRI holds only the next hop length and it."""
    nh = ipaddress.IPv6Address(addr).packed
    value = bytes([len(nh)]) + nh
    return bytes([0x80, 14, len(value)]) + value


def attributes(peer: int, n: int, afi: int) -> bytes:
    bgp_id, addr, asn = PEERS[peer]
    path = [asn, 64500 + n % 10, 65536 + n] if peer == 0 else [asn, 65536 + n]
    attrs: list[PathAttribute] = [Origin(n % 2), AsPath.sequence(*path)]
    if afi == 1:
        attrs.append(NextHop(ipaddress.IPv4Address(bgp_id)))
    attrs.append(MultiExitDisc(10 * (n % 5)))
    attrs.append(Communities((parse_community(f"{asn}:{100 + n}"),)))
    blob = b"".join(a.encode(CTX) for a in attrs)
    if afi == 2:
        blob += mp_next_hop(addr if ":" in addr else "2001:db8::101")
    return blob


def rib(seq: int, prefix: Prefix, n: int) -> bytes:
    afi = prefix.afi
    nbytes = (prefix.length + 7) // 8
    addr = prefix.network.network_address.packed[:nbytes]
    body = struct.pack("!IB", seq, prefix.length) + addr + struct.pack("!H", len(PEERS))
    for peer in range(len(PEERS)):
        blob = attributes(peer, n, afi)
        body += struct.pack("!HIH", peer, TIME - 3600 * (peer + 1), len(blob)) + blob
    return record(RIB_IPV4_UNICAST if afi == 1 else RIB_IPV6_UNICAST, body)


def prefixes() -> list[Prefix]:
    out = [Prefix.parse(f"198.51.100.{16 * i}/28") for i in range(16)]
    out += [Prefix.parse(f"203.0.113.{64 * i}/26") for i in range(4)]
    out += [Prefix.parse(f"2001:db8:{0x100 + i:x}::/48") for i in range(4)]
    return out


def sample() -> bytes:
    return peer_index() + b"".join(rib(i, p, i) for i, p in enumerate(prefixes()))


if __name__ == "__main__":
    sys.stdout.buffer.write(sample())
