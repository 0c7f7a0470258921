"""The facts other tools print about an UPDATE, read from our decode in one neutral form.

Each comparison (tcpdump, ExaBGP, pmacct, NetGauze, Scapy) maps its tool's output onto these
facts, so the rules of what counts as "the same route" live in one place. bgpspeak keeps the
NLRI of labeled and VPN families as raw bytes; the small reader here (RFC 8277, RFC 4364) turns
them into prefixes, labels and route distinguishers so that those routes are compared too: an
independent check that the codec framed the raw bytes right.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass

from bgpspeak.wire import (
    IPV4_UNICAST,
    AsPath,
    BgpsecPath,
    Communities,
    ExtendedCommunities,
    Family,
    LargeCommunities,
    MpReachNlri,
    MpUnreachNlri,
    NextHop,
    Prefix,
    Update,
)

LABELED = 4
VPN = 128
_RD_LENGTH = 8
_BOTTOM_OF_STACK = 1
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True)
class Route:
    """One NLRI entry of a family whose entries we can read (unicast, multicast, labeled,
    VPN): prefix text, ADD-PATH id, route distinguisher text and MPLS labels."""

    family: Family
    prefix: str
    path_id: int | None = None
    rd: str | None = None
    labels: tuple[int, ...] = ()


def rd_text(rd: bytes) -> str:
    """``asn:number`` (types 0 and 2) or ``ip:number`` (type 1), as RFC 4364 writes them."""
    kind = int.from_bytes(rd[:2], "big")
    if kind == 0:
        return f"{int.from_bytes(rd[2:4], 'big')}:{int.from_bytes(rd[4:], 'big')}"
    if kind == 1:
        return f"{ipaddress.IPv4Address(rd[2:6])}:{int.from_bytes(rd[6:], 'big')}"
    if kind == 2:
        return f"{int.from_bytes(rd[2:6], 'big')}:{int.from_bytes(rd[6:], 'big')}"
    return rd.hex()


def _prefix_text(afi: int, raw: bytes, bits: int) -> str:
    width = 4 if afi == 1 else 16
    addr = int.from_bytes(raw.ljust(width, b"\0")[:width], "big")
    total = width * 8
    addr &= ((1 << total) - 1) ^ ((1 << (total - bits)) - 1) if bits else 0
    net = ipaddress.ip_network((addr, bits)) if afi == 1 else ipaddress.IPv6Network((addr, bits))
    return str(net)


def labeled_routes(family: Family, data: bytes, add_path: bool, withdraw: bool) -> list[Route]:
    """Read labeled-unicast (SAFI 4) or VPN (SAFI 128) NLRI. Labels run to the bottom-of-stack
    bit; a withdrawal carries one label field whatever its value (RFC 8277 section 2.4)."""
    out: list[Route] = []
    i = 0
    while i < len(data):
        path_id = None
        if add_path:
            path_id = int.from_bytes(data[i : i + 4], "big")
            i += 4
        bits = data[i]
        i += 1
        end = i + (bits + 7) // 8
        labels: list[int] = []
        while True:
            field = int.from_bytes(data[i : i + 3], "big")
            labels.append(field >> 4)
            i += 3
            bits -= 24
            if withdraw or field & _BOTTOM_OF_STACK or bits < 24:
                break
        rd = None
        if family.safi == VPN:
            rd = rd_text(data[i : i + _RD_LENGTH])
            i += _RD_LENGTH
            bits -= 64
        out.append(
            Route(family, _prefix_text(family.afi, data[i:end], bits), path_id, rd, tuple(labels))
        )
        i = end
    return out


def _prefix_routes(family: Family, prefixes: Sequence[Prefix]) -> list[Route]:
    return [Route(family, str(p.with_path_id(None)), p.path_id) for p in prefixes]


def _mp_routes(
    family: Family, nlri: Sequence[Prefix] | bytes, add_path: frozenset[Family], withdraw: bool
) -> list[Route] | None:
    if not isinstance(nlri, bytes):
        return _prefix_routes(family, nlri)
    if family.afi in (1, 2) and family.safi in (LABELED, VPN):
        return labeled_routes(family, nlri, family in add_path, withdraw)
    return None  # a family nobody here reads (EVPN, flowspec, BGP-LS...)


@dataclass(frozen=True)
class Facts:
    """An UPDATE as the other tools describe it. ``announced`` maps each readable route to its
    next hops; ``raw`` holds the NLRI bytes of families left undecoded."""

    announced: dict[Route, tuple[IPAddress, ...]]
    withdrawn: list[Route]
    raw_announced: dict[Family, bytes]
    raw_withdrawn: dict[Family, bytes]
    update: Update


def facts(update: Update, add_path: frozenset[Family] = frozenset()) -> Facts:
    announced: dict[Route, tuple[IPAddress, ...]] = {}
    withdrawn = _prefix_routes(IPV4_UNICAST, update.withdrawn)
    raw_a: dict[Family, bytes] = {}
    raw_w: dict[Family, bytes] = {}
    nh = update.get(NextHop.TYPE_CODE)
    v4_hops: tuple[IPAddress, ...] = (nh.address,) if isinstance(nh, NextHop) else ()
    for r in _prefix_routes(IPV4_UNICAST, update.nlri):
        announced[r] = v4_hops
    for a in update.attributes:
        if isinstance(a, MpReachNlri):
            hops = a.next_hops
            routes = _mp_routes(a.family, a.nlri, add_path, withdraw=False)
            if routes is None:
                raw_a[a.family] = bytes(a.nlri) if isinstance(a.nlri, bytes) else b""
            else:
                for r in routes:
                    announced[r] = hops
        elif isinstance(a, MpUnreachNlri):
            routes = _mp_routes(a.family, a.withdrawn, add_path, withdraw=True)
            if routes is None:
                raw_w[a.family] = bytes(a.withdrawn) if isinstance(a.withdrawn, bytes) else b""
            else:
                withdrawn += routes
    return Facts(announced, withdrawn, raw_a, raw_w, update)


def as_path(update: Update) -> AsPath | None:
    """AS_PATH, or the path a BGPsec_PATH stands for."""
    a = update.get(2)
    if isinstance(a, AsPath):
        return a
    sec = update.get(33)
    return sec.as_path() if isinstance(sec, BgpsecPath) else None


def communities(update: Update) -> list[tuple[int, int]]:
    a = update.get(Communities.TYPE_CODE)
    return [(v >> 16, v & 0xFFFF) for v in a.values] if isinstance(a, Communities) else []


def ext_communities(update: Update) -> list[int]:
    a = update.get(ExtendedCommunities.TYPE_CODE)
    return list(a.values) if isinstance(a, ExtendedCommunities) else []


def large_communities(update: Update) -> list[tuple[int, int, int]]:
    a = update.get(LargeCommunities.TYPE_CODE)
    return list(a.values) if isinstance(a, LargeCommunities) else []
