"""TABLE_DUMP (v1) and TABLE_DUMP_V2 records (RFC 6396 sections 4.2 and 4.3, RFC 8050 section 4).

A RIB dump is the reader's hot path (a full table is a million entries), so the entry loop does
its own bounds checks with precompiled structs and leaves only attribute sections the cache has
not seen yet to the codec.
"""

from __future__ import annotations

import ipaddress
import struct

from ..wire import Family, Prefix
from ..wire.family import IPV4_MULTICAST, IPV4_UNICAST, IPV6_MULTICAST, IPV6_UNICAST
from .errors import RecordCorrupt
from .nlri import nlri_at, prefix_at
from .records import (
    UNSPECIFIED_V4,
    Nlri,
    Peer,
    PeerIndexTable,
    RibEntry,
    RibRecord,
    TableDumpRecord,
    UnsupportedRecord,
)
from .state import ReaderState

_new = tuple.__new__
_U16 = struct.Struct(">H").unpack_from
_U32 = struct.Struct(">I").unpack_from
_ENTRY = struct.Struct(">HIH")  # peer index, originated time, attribute length
_ENTRY_ADDPATH = struct.Struct(">HIIH")  # ... with the path identifier before the length

# TABLE_DUMP (v1) subtype -> (AFI, 4-octet AS); 3 and 4 are bgpdump's AS4 extension. The fixed
# fields: view, sequence, prefix, prefix length, status, originated time, peer address, peer AS,
# attribute length.
_TD1_SUBTYPES = {
    subtype: (afi, as4, struct.Struct(f">HH{alen}sBBI{alen}s{'I' if as4 else 'H'}H"))
    for subtype, afi, as4, alen in (
        (1, 1, False, 4),
        (2, 2, False, 16),
        (3, 1, True, 4),
        (4, 2, True, 16),
    )
}
_TD1_FAMILIES = {1: IPV4_UNICAST, 2: IPV6_UNICAST}
_TD1_MASKS = {
    afi: [((1 << bits) - 1) ^ ((1 << (bits - n)) - 1) for n in range(bits + 1)]
    for afi, bits in ((1, 32), (2, 128))
}

_RIB_FAMILIES = {
    2: IPV4_UNICAST,
    3: IPV4_MULTICAST,
    4: IPV6_UNICAST,
    5: IPV6_MULTICAST,
    8: IPV4_UNICAST,
    9: IPV4_MULTICAST,
    10: IPV6_UNICAST,
    11: IPV6_MULTICAST,
}


def decode_table_dump(
    ts: float, rtype: int, subtype: int, body: bytes, state: ReaderState
) -> TableDumpRecord | UnsupportedRecord:
    info = _TD1_SUBTYPES.get(subtype)
    if info is None:
        return UnsupportedRecord(ts, rtype, subtype, body, f"TABLE_DUMP subtype {subtype}")
    afi, as4, fields = info
    n = len(body)
    if n < fields.size:
        raise RecordCorrupt(f"TABLE_DUMP record of {n} octets, the fixed fields need {fields.size}")
    view, sequence, raw_prefix, plen, status, originated, raw_peer, peer_as, attr_len = (
        fields.unpack_from(body)
    )
    masks = _TD1_MASKS[afi]
    if plen >= len(masks):
        raise RecordCorrupt(f"TABLE_DUMP prefix length {plen} is longer than {len(masks) - 1} bits")
    if fields.size + attr_len != n:
        raise RecordCorrupt(
            f"TABLE_DUMP attribute length {attr_len} does not match the {n - fields.size} octets"
            " left"
        )
    attrs = state.rib_attributes.decode(body[fields.size :], _TD1_FAMILIES[afi], as4)
    prefix = _new(Prefix, (afi, int.from_bytes(raw_prefix, "big") & masks[plen], plen, None))
    peer = _new(Peer, (UNSPECIFIED_V4, state.address(raw_peer), peer_as))
    return _new(
        TableDumpRecord,
        (ts, rtype, subtype, view, sequence, prefix, status, originated, peer, attrs),
    )


def decode_table_dump_v2(
    ts: float, rtype: int, subtype: int, body: bytes, state: ReaderState
) -> PeerIndexTable | RibRecord | UnsupportedRecord:
    family = _RIB_FAMILIES.get(subtype)
    if family is not None:
        if len(body) < 5:
            raise RecordCorrupt(f"RIB record of {len(body)} octets is too short")
        sequence = _U32(body)[0]
        prefix, p = prefix_at(family.afi, body, 4, "RIB prefix")
        entries = _entries(body, p, family, prefix, subtype >= 8, state)
        return _new(RibRecord, (ts, rtype, subtype, sequence, family, prefix, entries))
    if subtype == 1:
        return _peer_index_table(ts, rtype, subtype, body, state)
    if subtype in (6, 12):
        return _rib_generic(ts, rtype, subtype, body, state)
    return UnsupportedRecord(ts, rtype, subtype, body, f"TABLE_DUMP_V2 subtype {subtype}")


def _peer_index_table(
    ts: float, rtype: int, subtype: int, body: bytes, state: ReaderState
) -> PeerIndexTable:
    n = len(body)
    if n < 8:
        raise RecordCorrupt(f"PEER_INDEX_TABLE of {n} octets is too short")
    collector = ipaddress.IPv4Address(body[0:4])
    name_len = _U16(body, 4)[0]
    p = 6 + name_len
    if p + 2 > n:
        raise RecordCorrupt(f"PEER_INDEX_TABLE view name of {name_len} octets runs past the record")
    view_name = body[6:p].decode("utf-8", "replace")
    count = _U16(body, p)[0]
    p += 2
    peers: list[Peer] = []
    for i in range(count):
        if p >= n:
            raise RecordCorrupt(f"PEER_INDEX_TABLE declares {count} peers, holds {i}")
        ptype = body[p]
        alen = 16 if ptype & 1 else 4
        aslen = 4 if ptype & 2 else 2
        end = p + 5 + alen + aslen
        if end > n:
            raise RecordCorrupt(f"PEER_INDEX_TABLE peer {i} runs past the record")
        bgp_id = state.address(body[p + 1 : p + 5])
        ip = state.address(body[p + 5 : p + 5 + alen])
        asn = int.from_bytes(body[p + 5 + alen : end], "big")
        peers.append(_new(Peer, (bgp_id, ip, asn)))
        p = end
    if p != n:
        raise RecordCorrupt(f"PEER_INDEX_TABLE has {n - p} octets after its last peer")
    state.peers = tuple(peers)
    return PeerIndexTable(ts, rtype, subtype, collector, view_name, state.peers)


def _rib_generic(
    ts: float, rtype: int, subtype: int, body: bytes, state: ReaderState
) -> RibRecord | UnsupportedRecord:
    """RIB_GENERIC(_ADDPATH). For the ADDPATH subtype the path identifier is read from each RIB
    entry, as GoBGP and OpenBGPD (the only known writers) put it, not from the NLRI field where
    RFC 8050 section 4.2 puts it."""
    if len(body) < 7:
        raise RecordCorrupt(f"RIB_GENERIC record of {len(body)} octets is too short")
    sequence, afi, safi = struct.unpack_from(">IHB", body)
    family = Family(afi, safi)
    found = nlri_at(family, body, 7, "RIB_GENERIC NLRI")
    if found is None:
        return UnsupportedRecord(
            ts, rtype, subtype, body, f"RIB_GENERIC for {family}: NLRI length not known"
        )
    nlri, p = found
    entries = _entries(body, p, family, nlri, subtype == 12, state)
    return _new(RibRecord, (ts, rtype, subtype, sequence, family, nlri, entries))


def _entries(
    body: bytes, p: int, family: Family, nlri: Nlri, add_path: bool, state: ReaderState
) -> tuple[RibEntry, ...]:
    peers = state.peers
    if peers is None:
        raise RecordCorrupt("RIB record before any PEER_INDEX_TABLE")
    n = len(body)
    if p + 2 > n:
        raise RecordCorrupt("RIB record ends before its entry count")
    count = _U16(body, p)[0]
    p += 2
    npeers = len(peers)
    decode = state.rib_attributes.decode
    head = _ENTRY_ADDPATH if add_path else _ENTRY
    unpack = head.unpack_from
    hsize = head.size
    out: list[RibEntry] = []
    append = out.append
    path_prefix = isinstance(nlri, Prefix) and add_path
    pid: int | None = None
    for i in range(count):
        if p + hsize > n:
            raise RecordCorrupt(f"RIB entry {i} of {count} is truncated")
        if add_path:
            index, originated, pid, alen = unpack(body, p)
        else:
            index, originated, alen = unpack(body, p)
        p += hsize
        end = p + alen
        if end > n:
            raise RecordCorrupt(
                f"RIB entry {i}: attribute length {alen} runs past the record ({n - p} left)"
            )
        if index >= npeers:
            raise RecordCorrupt(
                f"RIB entry {i}: peer index {index}, the PEER_INDEX_TABLE has {npeers} peers"
            )
        attrs = decode(body[p:end], family, True)
        p = end
        prefix = _new(Prefix, (nlri[0], nlri[1], nlri[2], pid)) if path_prefix else nlri
        append(_new(RibEntry, (peers[index], originated, pid, prefix, attrs)))
    if p != n:
        raise RecordCorrupt(f"RIB record has {n - p} octets after its last entry")
    return tuple(out)
