"""Each record kind, built field by field, read back: the subtypes and corner cases the corpora
lack (ET over IPv6, *_LOCAL_ADDPATH, RIB_GENERIC(_ADDPATH), TABLE_DUMP with 4-octet AS...)."""

from __future__ import annotations

import io
import ipaddress
import struct

import pytest
from mrt_builders import (
    AS4,
    abbreviated_mp_reach,
    attributes,
    bgp4mp_message,
    ip,
    peer_index_table,
    record,
    rib,
    rib_entries,
    rib_generic,
    state_change,
    update,
)

from bgpspeak.mrt import (
    Bgp4mpMessage,
    Bgp4mpStateChange,
    BgpState,
    LegacyBgpMessage,
    LegacyBgpStateChange,
    MrtRecord,
    Peer,
    PeerIndexTable,
    RibRecord,
    TableDumpRecord,
    UnsupportedRecord,
    read_mrt,
    type_name,
)
from bgpspeak.wire import (
    IPV4_UNICAST,
    AsPath,
    Context,
    DecodeError,
    Family,
    Keepalive,
    LocalPref,
    MpReachNlri,
    NextHop,
    Origin,
    Prefix,
    Update,
    decode_path_attributes,
)
from bgpspeak.wire.family import PREFIX_FAMILIES


def read(*records: bytes) -> list[MrtRecord]:
    return list(read_mrt(io.BytesIO(b"".join(records))))


def test_bgp4mp_et_message_as4_ipv6() -> None:
    msg = update(AS4, "203.0.113.0/24")
    (r,) = read(
        record(17, 4, bgp4mp_message(msg, peer_ip="2001:db8::1", local_ip="2001:db8::2", usec=250))
    )
    assert isinstance(r, Bgp4mpMessage)
    assert r.timestamp == 1_700_000_000.00025
    assert (r.peer_ip, r.local_ip) == (ip("2001:db8::1"), ip("2001:db8::2"))
    assert (r.as4, r.add_path, r.sent, r.msg_type, r.data) == (True, False, False, 2, msg)
    u = r.decode()
    assert isinstance(u, Update)
    assert u.nlri == (Prefix.parse("203.0.113.0/24"),)
    path = u.get(2)
    assert isinstance(path, AsPath) and path.asns == (65001, 4_200_000_000)


def test_message_as2_decodes_two_octet_paths() -> None:
    ctx = Context(asn4=False)
    (r,) = read(record(16, 1, bgp4mp_message(update(ctx, "10.0.0.0/8"), as4=False)))
    assert isinstance(r, Bgp4mpMessage) and not r.as4
    u = r.decode()
    assert isinstance(u, Update)
    path = u.get(2)
    assert isinstance(path, AsPath) and path.asns == (65001, 23456)  # AS_TRANS on the wire


def test_local_addpath_subtypes() -> None:
    """RFC 8050: *_ADDPATH means every NLRI of the message carries a path identifier."""
    ctx = Context(asn4=True, add_path=PREFIX_FAMILIES)
    msg = update(ctx, "198.51.100.0/24", "203.0.113.0/24")
    got = read(
        record(16, 11, bgp4mp_message(msg)),  # MESSAGE_AS4_LOCAL_ADDPATH
        record(
            16,
            8,
            bgp4mp_message(
                update(Context(asn4=False, add_path=PREFIX_FAMILIES), "10.0.0.0/8"), as4=False
            ),
        ),  # MESSAGE_ADDPATH
    )
    first, second = got
    assert isinstance(first, Bgp4mpMessage) and isinstance(second, Bgp4mpMessage)
    assert (first.as4, first.sent, first.add_path) == (True, True, True)
    assert (second.as4, second.sent, second.add_path) == (False, False, True)
    assert IPV4_UNICAST in first.context().add_path
    u = first.decode()
    assert isinstance(u, Update)
    assert [(str(p), p.path_id) for p in u.nlri] == [("198.51.100.0/24", 1), ("203.0.113.0/24", 2)]


def test_keepalive_and_ibgp_context() -> None:
    (r,) = read(record(16, 4, bgp4mp_message(Keepalive().encode(), peer_as=65000)))
    assert isinstance(r, Bgp4mpMessage) and r.msg_type == 4
    assert r.context().ibgp and r.context().extended_message
    assert isinstance(r.decode(), Keepalive)


def test_state_changes() -> None:
    got = read(
        record(16, 5, state_change(1, 2, peer_ip="2001:db8::1", local_ip="2001:db8::2", as4=True)),
        record(17, 0, struct.pack(">I", 7) + state_change(5, 6, as4=False)),
        record(16, 0, struct.pack(">HHHH", 65001, 65000, 3, 1)),  # old Zebra: no addresses
    )
    a, b, c = got
    assert isinstance(a, Bgp4mpStateChange) and a.as4 and a.peer_ip == ip("2001:db8::1")
    assert (a.old_state, a.new_state) == (BgpState.IDLE, BgpState.CONNECT)
    assert isinstance(b, Bgp4mpStateChange) and b.timestamp == 1_700_000_000.000007
    assert (b.old_state, b.new_state) == (BgpState.OPENCONFIRM, BgpState.ESTABLISHED)
    assert isinstance(c, Bgp4mpStateChange)
    assert (c.peer_as, c.local_as, c.old_state, c.new_state) == (65001, 65000, 3, 1)
    assert c.peer_ip == ipaddress.IPv4Address(0)


def test_zebra_message_without_addresses() -> None:
    """Old Zebra wrote OPENs with peer/local AS, then the message where the interface index
    should be: the interface and AFI fields read 0xFFFF, the first octets of the marker."""
    body = struct.pack(">HH", 0, 0) + Keepalive().encode()
    (r,) = read(record(16, 1, body))
    assert isinstance(r, Bgp4mpMessage)
    assert r.data == Keepalive().encode() and r.interface == 0
    assert r.peer_ip == r.local_ip == ipaddress.IPv4Address(0)


def test_peer_index_and_rib_ipv6_abbreviated_mp_reach() -> None:
    peers = [("192.0.2.1", "192.0.2.1", 65001), ("192.0.2.2", "2001:db8::2", 4_200_000_001)]
    attrs = attributes(Origin(0), AsPath.sequence(4_200_000_001, 65010)) + abbreviated_mp_reach(
        "2001:db8::2"
    )
    got = read(
        record(13, 1, peer_index_table(peers)),
        record(13, 4, rib(7, "2001:db8:100::/40", [(1, 1_600_000_000, attrs, None)])),
    )
    table, rib_record = got
    assert isinstance(table, PeerIndexTable)
    assert table.view_name == "main" and table.collector_id == ipaddress.IPv4Address("198.51.100.1")
    assert table.peers[1] == Peer(
        ipaddress.IPv4Address("192.0.2.2"), ip("2001:db8::2"), 4_200_000_001
    )
    assert isinstance(rib_record, RibRecord)
    assert (rib_record.sequence, rib_record.family, rib_record.add_path) == (7, Family(2, 1), False)
    (entry,) = rib_record.entries
    assert entry.peer is table.peers[1] and entry.originated == 1_600_000_000
    assert entry.prefix == Prefix.parse("2001:db8:100::/40") and entry.path_id is None
    mp = entry.get(14)
    assert isinstance(mp, MpReachNlri) and mp.next_hops == (ip("2001:db8::2"),)


def test_rib_addpath_puts_path_ids_on_prefixes() -> None:
    attrs = attributes(
        Origin(0), AsPath.sequence(65001), NextHop(ipaddress.IPv4Address("192.0.2.1"))
    )
    got = read(
        record(13, 1, peer_index_table([("192.0.2.1", "192.0.2.1", 65001)])),
        record(13, 8, rib(1, "10.1.0.0/16", [(0, 1, attrs, 5), (0, 2, attrs, 9)])),
    )
    rib_record = got[1]
    assert isinstance(rib_record, RibRecord) and rib_record.add_path
    assert [(e.path_id, e.prefix) for e in rib_record.entries] == [
        (5, Prefix.parse("10.1.0.0/16", 5)),
        (9, Prefix.parse("10.1.0.0/16", 9)),
    ]
    assert rib_record.entries[0].attributes is rib_record.entries[1].attributes  # cached


def test_rib_generic_vpn_keeps_nlri_raw() -> None:
    """RIB_GENERIC for VPNv4 (1/128): label + RD + prefix, kept as bytes; attributes decoded."""
    nlri = bytes((24 + 64 + 24,)) + bytes.fromhex("000011") + bytes(8) + bytes((10, 1, 2))
    attrs = attributes(Origin(0), AsPath.sequence(65001), LocalPref(100)) + abbreviated_mp_reach(
        "192.0.2.1"
    )
    got = read(
        record(13, 1, peer_index_table([("192.0.2.1", "192.0.2.1", 65001)])),
        record(13, 6, rib_generic(3, 1, 128, nlri, [(0, 1, attrs, None)])),
        record(13, 12, rib_generic(4, 1, 1, bytes((8, 10)), [(0, 1, attrs, 77)])),
        record(13, 6, rib_generic(5, 16388, 99, b"\x00\x01", [(0, 1, attrs, None)])),
    )
    vpn, generic_addpath, unknown = got[1:]
    assert isinstance(vpn, RibRecord) and vpn.family == Family(1, 128) and vpn.prefix == nlri
    (entry,) = vpn.entries
    assert entry.prefix == nlri and isinstance(entry.get(5), LocalPref)
    mp = entry.get(14)
    assert isinstance(mp, MpReachNlri) and mp.family == Family(1, 128)
    assert isinstance(generic_addpath, RibRecord) and generic_addpath.add_path
    (entry,) = generic_addpath.entries
    assert entry.prefix == Prefix.parse("10.0.0.0/8", 77) and entry.path_id == 77
    assert isinstance(unknown, UnsupportedRecord) and "NLRI length" in unknown.reason


def test_rib_full_form_mp_reach_is_read_too() -> None:
    """Old Quagga wrote the whole MP_REACH_NLRI into RIB entries, not the abbreviated form."""
    nh = ip("2001:db8::1").packed
    value = struct.pack(">HBB", 2, 1, 16) + nh + b"\x00"
    attrs = attributes(Origin(0), AsPath.sequence(65001)) + bytes((0x80, 14, len(value))) + value
    got = read(
        record(13, 1, peer_index_table([("192.0.2.1", "2001:db8::1", 65001)])),
        record(13, 4, rib(1, "2001:db8::/32", [(0, 1, attrs, None)])),
    )
    rib_record = got[1]
    assert isinstance(rib_record, RibRecord)
    mp = rib_record.entries[0].get(14)
    assert isinstance(mp, MpReachNlri) and mp.next_hops == (ip("2001:db8::1"),)


def test_table_dump_v1_with_four_octet_as_extension() -> None:
    attrs = attributes(Origin(2), AsPath.sequence(4_200_000_000))
    body = (
        struct.pack(
            ">HH4sBBI4sIH",
            0,
            9,
            bytes((10, 9, 0, 0)),
            16,
            1,
            5,
            ip("192.0.2.9").packed,
            4_200_000_000,
            len(attrs),
        )
        + attrs
    )
    (r,) = read(record(12, 3, body))
    assert isinstance(r, TableDumpRecord)
    assert (r.sequence, r.prefix, r.peer.asn, r.originated) == (
        9,
        Prefix.parse("10.9.0.0/16"),
        4_200_000_000,
        5,
    )
    (entry,) = r.entries
    path = entry.get(2)
    assert isinstance(path, AsPath) and path.asns == (4_200_000_000,)


def test_legacy_bgp_records() -> None:
    body = update(Context(asn4=False), "10.0.0.0/8")[19:]
    peers = struct.pack(">H4sH4s", 65001, ip("192.0.2.1").packed, 65000, ip("192.0.2.2").packed)
    got = read(
        record(5, 1, peers + body),
        record(5, 7, peers),
        record(5, 3, struct.pack(">H4sHH", 65001, ip("192.0.2.1").packed, 6, 1)),
        record(5, 4, b"\x00\x00file\x00"),
    )
    upd, keepalive, state, sync = got
    assert isinstance(upd, LegacyBgpMessage) and upd.msg_type == 2 and not upd.as4
    u = upd.decode()
    assert isinstance(u, Update) and u.nlri == (Prefix.parse("10.0.0.0/8"),)
    assert isinstance(keepalive, LegacyBgpMessage) and isinstance(keepalive.decode(), Keepalive)
    assert isinstance(state, LegacyBgpStateChange) and state.new_state == BgpState.IDLE
    assert isinstance(sync, UnsupportedRecord) and sync.data == b"\x00\x00file\x00"


def test_unknown_and_uninterpreted_kinds_stay_raw() -> None:
    got = read(
        record(48, 0, b"ospf"),
        record(13, 7, b"geo"),
        record(16, 3, b"snapshot"),
        record(999, 1, b""),
    )
    raw = [r for r in got if isinstance(r, UnsupportedRecord)]
    assert [(r.type, r.subtype, r.data) for r in raw] == [
        (48, 0, b"ospf"),
        (13, 7, b"geo"),
        (16, 3, b"snapshot"),
        (999, 1, b""),
    ]


def test_type_names() -> None:
    assert type_name(16, 9) == "BGP4MP/MESSAGE_AS4_ADDPATH"
    assert type_name(13, 12) == "TABLE_DUMP_V2/RIB_GENERIC_ADDPATH"
    assert type_name(5, 3) == "BGP/STATE_CHANGE"
    assert type_name(32305, 1) == "32305/1"
    assert type_name(16, 99) == "BGP4MP/99"


def test_rib_entries_builder_roundtrip() -> None:
    """The test writer itself: an entry count of zero is a valid, empty RIB record."""
    got = read(
        record(13, 1, peer_index_table([])),
        record(13, 2, struct.pack(">I", 1) + bytes((0,)) + rib_entries([])),
    )
    assert isinstance(got[1], RibRecord) and got[1].entries == ()
    assert got[1].prefix == Prefix.parse("0.0.0.0/0")


def test_codec_rejects_abbreviated_mp_reach_with_extra_octets() -> None:
    """The reader never hands the codec a full-form MP_REACH as abbreviated (ribattrs.py tells
    the forms apart first); this pins the codec behaviour it would otherwise rely on."""
    value = struct.pack(">HBB", 2, 1, 16) + ip("2001:db8::1").packed + b"\x00"
    with pytest.raises(DecodeError):
        decode_path_attributes(bytes((0x80, 14, len(value))) + value, rib_family=Family(2, 1))
