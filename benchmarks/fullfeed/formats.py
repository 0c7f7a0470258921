"""The table written in each sender's input format (prepared before the clock starts).

* MRT TABLE_DUMP_V2 (RFC 6396), one RIB entry per prefix: ``bgpspeak mrt replay`` reads it, and
  so does ``gobgp mrt inject`` (its IPv6 entries with a whole MP_REACH_NLRI, see write_mrt).
  GoBGP 3.10's ``mrt inject`` drops the last 1-3 % of records (the CLI exits without closing
  its stream, gobgp PR #3044), so its copy ends with
  re-announcements of the first prefixes (``pad``): same attributes, so nothing changes but
  the real records get through.
* ExaBGP: ``static { route P next-hop self origin .. as-path [..] med .. community [..]
  large-community [..]; }`` (its fastest way according to the lab's measurements: 1M routes in
  the config beat every API variant).
* BIRD: a static protocol with ``route P blackhole { bgp_* attributes }`` and a BGP protocol
  exporting it with ``next hop self``.
"""

from __future__ import annotations

import ipaddress
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from .table import PathSet, Table

TS = 1_700_000_000
_ORIGIN_TEXT = ("igp", "egp", "incomplete")
_BIRD_ORIGIN = ("ORIGIN_IGP", "ORIGIN_EGP", "ORIGIN_INCOMPLETE")


# --- MRT --------------------------------------------------------------------------------------
def _attr(type_code: int, flags: int, body: bytes) -> bytes:
    if len(body) > 255:
        return struct.pack("!BBH", flags | 0x10, type_code, len(body)) + body
    return struct.pack("!BBB", flags, type_code, len(body)) + body


def _mrt_attrs(ps: PathSet, afi: int, next_hop: bytes, full_mp_reach: bool = False) -> bytes:
    out = [_attr(1, 0x40, bytes([ps.origin]))]
    path = b""
    asns = list(ps.as_path)
    while asns:  # AS_SEQUENCE segments of at most 255 ASes, 4-octet (TABLE_DUMP_V2)
        seg, asns = asns[:255], asns[255:]
        path += struct.pack("!BB", 2, len(seg)) + b"".join(struct.pack("!I", a) for a in seg)
    out.append(_attr(2, 0x40, path))
    if afi == 1:
        out.append(_attr(3, 0x40, next_hop))
    if ps.med is not None:
        out.append(_attr(4, 0x80, struct.pack("!I", ps.med)))
    if ps.communities:
        out.append(_attr(8, 0xC0, b"".join(struct.pack("!I", c) for c in ps.communities)))
    if afi == 2 and full_mp_reach:  # what GoBGP 3.10's MRT reader expects
        body = struct.pack("!HBB", 2, 1, len(next_hop)) + next_hop + b"\x00"
        out.append(_attr(14, 0x80, body))
    elif afi == 2:  # RFC 6396 4.3.4: only the next hop length and next hop in a RIB entry
        out.append(_attr(14, 0x80, bytes([len(next_hop)]) + next_hop))
    if ps.large:
        out.append(_attr(32, 0xC0, b"".join(struct.pack("!III", *v) for v in ps.large)))
    return b"".join(out)


def _record(subtype: int, body: bytes) -> bytes:
    return struct.pack("!IHHI", TS, 13, subtype, len(body)) + body


def write_mrt(
    table: Table,
    path: Path,
    next_hop: str,
    peer_as: int,
    pad: int = 0,
    full_mp_reach: bool = False,
) -> int:
    """Returns the number of RIB records written (the table's plus ``pad``).
    ``full_mp_reach``: IPv6 entries carry a whole MP_REACH_NLRI (AFI, SAFI, next hop,
    reserved octet) instead of RFC 6396's abbreviated one: GoBGP 3.10 reads the first two
    octets as the AFI ("unknown route family. AFI: 4128") and drops every entry otherwise."""
    nh = ipaddress.ip_address(next_hop)
    peer = struct.pack("!B4s", 0x02 if nh.version == 4 else 0x03, bytes(4)) + nh.packed
    peer += struct.pack("!I", peer_as)
    pit = bytes(4) + struct.pack("!HH", 0, 1) + peer
    attrs = [_mrt_attrs(ps, table.afi, nh.packed, full_mp_reach) for ps in table.sets]
    subtype = 2 if table.afi == 1 else 4
    width = 4 if table.afi == 1 else 16
    n = len(table)
    with path.open("wb") as f:
        f.write(_record(1, pit))
        for j in range(n + pad):
            i = j if j < n else (j - n) % n
            length = table.lengths[i]
            nbytes = (length + 7) // 8
            pfx = table.addrs[i].to_bytes(width, "big")[:nbytes]
            a = attrs[table.set_of[i]]
            entry = struct.pack("!HIH", 0, TS, len(a)) + a
            body = struct.pack("!IB", j, length) + pfx + struct.pack("!H", 1) + entry
            f.write(_record(subtype, body))
    return n + pad


# --- ExaBGP -------------------------------------------------------------------------------------
def _exa_attrs(ps: PathSet) -> str:
    out = [f"origin {_ORIGIN_TEXT[ps.origin]}", f"as-path [ {' '.join(map(str, ps.as_path))} ]"]
    if ps.med is not None:
        out.append(f"med {ps.med}")
    if ps.communities:
        out.append(
            "community [ " + " ".join(f"{c >> 16}:{c & 0xFFFF}" for c in ps.communities) + " ]"
        )
    if ps.large:
        out.append("large-community [ " + " ".join(f"{a}:{b}:{c}" for a, b, c in ps.large) + " ]")
    return " ".join(out)


def write_exabgp(
    table: Table, path: Path, *, peer: str, local: str, local_as: int, peer_as: int, prepend: bool
) -> None:
    """``prepend``: put our AS in front ourselves (ExaBGP sends the path as configured)."""
    family = "ipv4 unicast" if table.afi == 1 else "ipv6 unicast"
    sets = [_exa_attrs(ps) for ps in table.sets]
    if prepend:
        sets = [s.replace("as-path [ ", f"as-path [ {local_as} ", 1) for s in sets]
    with path.open("w") as f:
        f.write(
            f"neighbor {peer} {{\n    router-id 10.255.0.2;\n    local-address {local};\n"
            f"    local-as {local_as};\n    peer-as {peer_as};\n    hold-time 180;\n"
            f"    family {{\n        {family};\n    }}\n    static {{\n"
        )
        _lines(f, table, sets, "        route {p} next-hop self {a};\n")
        f.write("    }\n}\n")


def _lines(f: IO[str], table: Table, sets: list[str], fmt: str) -> None:
    buf: list[str] = []
    for i, p in enumerate(table.prefixes_text()):
        buf.append(fmt.format(p=p, a=sets[table.set_of[i]]))
        if len(buf) >= 10000:
            f.write("".join(buf))
            buf.clear()
    f.write("".join(buf))


# --- BIRD ---------------------------------------------------------------------------------------
def _bird_attrs(ps: PathSet) -> str:
    out = [f"bgp_origin = {_BIRD_ORIGIN[ps.origin]};"]
    out += [f"bgp_path.prepend({a});" for a in reversed(ps.as_path)]
    if ps.med is not None:
        out.append(f"bgp_med = {ps.med};")
    out += [f"bgp_community.add(({c >> 16},{c & 0xFFFF}));" for c in ps.communities]
    out += [f"bgp_large_community.add(({a},{b},{c}));" for a, b, c in ps.large]
    return " ".join(out)


def bird_config(
    table: Table, path: Path, *, peer: str, local: str, local_as: int, peer_as: int
) -> None:
    fam = "ipv4" if table.afi == 1 else "ipv6"
    sets = [_bird_attrs(ps) for ps in table.sets]
    with path.open("w") as f:
        f.write(
            f"router id 10.255.0.2;\nprotocol device {{ }}\nprotocol static feed {{\n    {fam};\n"
        )
        _lines(f, table, sets, "    route {p} blackhole {{ {a} }};\n")
        f.write(
            f"}}\nprotocol bgp frr {{\n    local {local} as {local_as};\n"
            f"    neighbor {peer} as {peer_as};\n    connect retry time 1;\n"
            f"    {fam} {{ import none; export all; next hop self; }};\n}}\n"
        )


def sample_prefixes(table: Table, k: int) -> Iterator[str]:
    step = max(1, len(table) // k)
    for i in range(0, len(table), step):
        yield table.prefix_text(i)
