"""The fast table-dump loader (:func:`bgpspeak.mrt.ribscan.scan_rib`, as ``bgpspeak mrt
replay`` uses it) against the record reader: the same routes from every MRT file of the corpora
and from crafted dumps, and damage reported as MrtError only."""

from __future__ import annotations

import contextlib
import dataclasses
import gzip
import io
import ipaddress
import struct
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mrt_builders import (
    abbreviated_mp_reach,
    attributes,
    peer_index_table,
    record,
    rib,
    rib_entries,
    rib_generic,
)
from mrt_corpus import mrt_files, path

from bgpspeak import Neighbor, Speaker
from bgpspeak.daemon.mrt_replay import ReplayOptions, keyed_routes, rib_routes
from bgpspeak.mrt import MrtError, read_mrt
from bgpspeak.route_store import Templates, key_prefix
from bgpspeak.routes import Route
from bgpspeak.wire import AsPath, Context, DecodeError, NextHop, Origin
from bgpspeak.wire.aspath import AsPathSegment
from bgpspeak.wire.attributes import MultiExitDisc
from bgpspeak.wire.communities import Communities
from bgpspeak.wire.family import IPV4_UNICAST, IPV6_UNICAST

Source = str | Path | bytes


def _open(src: Source) -> str | io.BytesIO:
    return io.BytesIO(src) if isinstance(src, bytes) else str(src)


def slow(src: Source, opts: ReplayOptions) -> list[Route]:
    return list(rib_routes(read_mrt(_open(src)), opts))


def fast(src: Source, opts: ReplayOptions) -> list[Route]:
    templates = Templates()
    out = []
    for family, key, tid in keyed_routes(_open(src), opts, templates):
        template = templates.template(tid)
        assert family is (IPV4_UNICAST if template.prefix.afi == 1 else IPV6_UNICAST)
        out.append(dataclasses.replace(template, prefix=key_prefix(family.afi, key)))
    return out


def same_or_mrt_error(src: Source, opts: ReplayOptions) -> None:
    """Where the reader takes the dump, the loader gives the same routes; where the reader
    finds damage, the loader (which reads less: not the entries after the one it takes) gives
    MrtError or routes, never another exception."""
    try:
        expected = slow(src, opts)
    except MrtError:
        with contextlib.suppress(MrtError):
            fast(src, opts)
        return
    assert fast(src, opts) == expected


# --- the corpora --------------------------------------------------------------------------------


@pytest.mark.parametrize("rel", mrt_files())
def test_corpora_files_give_the_same_routes(rel: str) -> None:
    same_or_mrt_error(path(rel), ReplayOptions())


@pytest.mark.parametrize(
    "rel",
    [
        "bgpdump/test_data/bview.ipv4_unicast_add_path.gz",
        "bgpdump/test_data/bview.ipv6_unicast_add_path.gz",
        "ryu/mrt/rib.20161101.0000_pick.bz2",
        "mrtparse/samples/quagga_rib",
        "mrtparse/samples/bird6-mrtdump_rib",
        "mrtparse/samples/openbgpd_rib_table-mp",
        str(Path(__file__).resolve().parents[2] / "examples" / "mrt" / "sample-rib.mrt"),
    ],
)
@pytest.mark.parametrize(
    "opts",
    [
        ReplayOptions(next_hop="keep"),
        ReplayOptions(next_hop="192.0.2.7", afis=frozenset({1})),
        ReplayOptions(afis=frozenset({2}), limit=7),
    ],
    ids=["keep", "v4-address", "v6-limit"],
)
def test_corpora_files_with_options(rel: str, opts: ReplayOptions) -> None:
    if not path(rel).exists():
        pytest.skip(f"{rel} is not in this corpora checkout")
    same_or_mrt_error(path(rel), opts)


def test_source_peer_on_a_table_dump_v2_file() -> None:
    rel = "ryu/mrt/rib.20161101.0000_pick.bz2"
    peers = [e.peer.ip for rec in read_mrt(path(rel)) for e in getattr(rec, "entries", ())]
    # the least frequent collector peer: its entry is rarely the first of a record
    chosen = min(set(peers), key=peers.count)
    opts = ReplayOptions(source_peer=chosen, next_hop="keep")
    got = fast(path(rel), opts)
    assert got and got == slow(path(rel), opts)


# --- crafted dumps ------------------------------------------------------------------------------

AS4 = Context(asn4=True)
PEERS = [("192.0.2.1", "192.0.2.1", 65001), ("192.0.2.2", "2001:db8::2", 4_200_000_000)]
TABLE = record(13, 1, peer_index_table(PEERS))


def attrs_v4(*path: int, next_hop: str = "192.0.2.1", med: int | None = None) -> bytes:
    out = [Origin(0), AsPath.sequence(*path), NextHop(ipaddress.IPv4Address(next_hop))]
    if med is not None:
        out.append(MultiExitDisc(med))
    return attributes(*out)


def attrs_v6(*path: int, next_hop: str = "2001:db8::1") -> bytes:
    return attributes(Origin(2), AsPath.sequence(*path)) + abbreviated_mp_reach(next_hop)


def test_first_entry_source_peer_and_next_hop_keep() -> None:
    a0, a1 = attrs_v4(65001, 1), attrs_v4(65002, 2, next_hop="192.0.2.9")
    dump = TABLE + record(13, 2, rib(1, "10.0.0.0/8", [(0, 1, a0, None), (1, 1, a1, None)]))
    (first,) = fast(dump, ReplayOptions())
    assert (str(first.prefix), first.as_path, first.next_hop) == ("10.0.0.0/8", (65001, 1), "self")
    (second,) = fast(dump, ReplayOptions(source_peer=ipaddress.ip_address("2001:db8::2")))
    assert second.as_path == (65002, 2)
    # an IPv6 prefix whose first entry has no IPv6 next hop: keep takes the second entry
    v6 = TABLE + record(
        13,
        4,
        rib(1, "2001:db8:1::/48", [(0, 1, attrs_v4(65001), None), (1, 1, attrs_v6(65002), None)]),
    )
    (kept,) = fast(v6, ReplayOptions(next_hop="keep"))
    assert (kept.as_path, kept.next_hop) == ((65002,), ipaddress.ip_address("2001:db8::1"))
    assert fast(v6, ReplayOptions(next_hop="keep")) == slow(v6, ReplayOptions(next_hop="keep"))
    fixed = fast(dump, ReplayOptions(next_hop="192.0.2.77"))
    assert fixed[0].next_hop == ipaddress.ip_address("192.0.2.77")


def test_duplicates_add_path_out_of_order_and_limit() -> None:
    a, b = attrs_v4(65001, med=5), attrs_v4(65002)
    dump = (
        TABLE
        + record(13, 8, rib(1, "10.2.0.0/16", [(0, 1, a, 1)]))  # ADD-PATH, path id 1
        + record(13, 8, rib(2, "10.2.0.0/16", [(0, 1, b, 2)]))  # the same prefix, path id 2
        + record(13, 2, rib(3, "10.3.0.0/16", [(0, 1, b, None)]))
        + record(13, 2, rib(4, "10.1.0.0/16", [(0, 1, a, None)]))  # out of key order
        + record(13, 2, rib(5, "10.2.0.0/16", [(0, 1, b, None)]))  # seen, out of order
        + record(13, 2, rib(6, "10.3.0.0/16", [(1, 1, a, None)]))  # seen, the last key
    )
    got = fast(dump, ReplayOptions())
    assert [str(r.prefix) for r in got] == ["10.2.0.0/16", "10.3.0.0/16", "10.1.0.0/16"]
    assert got[0].med == 5 and got[0].prefix.path_id is None
    assert got == slow(dump, ReplayOptions())
    assert fast(dump, ReplayOptions(limit=2)) == got[:2]
    assert fast(dump, ReplayOptions(limit=0)) == []  # (rib_routes yields one before it checks)


def test_rib_generic_as_set_host_bits_and_other_records() -> None:
    path_attr = AsPath((AsPathSegment(2, (65001, 65002)), AsPathSegment(1, (7, 0, 9))))
    blob = attributes(Origin(1), path_attr, NextHop(ipaddress.IPv4Address("192.0.2.1")))
    blob += attributes(Communities((65001 << 16 | 5,)))
    host_bits = struct.pack(">I", 9) + bytes((8, 10 + 0)) + rib_entries([(0, 1, blob, None)])
    host_bits = host_bits[:5] + bytes((10,)) + host_bits[6:]  # 10/8 as written
    odd = struct.pack(">I", 10) + bytes((12, 10, 0x1F)) + rib_entries([(0, 1, blob, None)])
    dump = (
        TABLE
        + record(13, 6, rib_generic(1, 1, 1, bytes((24, 192, 0, 2)), [(0, 1, blob, None)]))
        + record(13, 6, rib_generic(2, 1, 2, bytes((24, 198, 51, 100)), [(0, 1, blob, None)]))
        + record(13, 3, rib(3, "10.9.0.0/16", [(0, 1, blob, None)]))  # multicast
        + record(13, 2, odd)  # 10.31/12: host bits past the length are cleared -> 10.16.0.0/12
        + record(16, 1, b"")  # an update message record (not replayed, damaged even)
        + record(13, 2, host_bits)
    )
    got = fast(dump, ReplayOptions())
    assert [str(r.prefix) for r in got] == ["192.0.2.0/24", "10.16.0.0/12", "10.0.0.0/8"]
    assert got[0].as_path == (65001, 65002, 7, 9)  # AS_SET flattened, AS 0 dropped
    assert got[0].origin == "egp" and got[0].communities == (65001 << 16 | 5,)
    # the reader checks the update record the loader does not replay; without it they agree
    clean = dump.replace(record(16, 1, b""), b"")
    assert fast(clean, ReplayOptions()) == slow(clean, ReplayOptions()) == got


def test_table_dump_v1_and_gzip() -> None:
    blob = attrs_v4(65001, 3)
    # subtype 3: IPv4 with 4-octet AS (bgpdump's extension)
    v1 = struct.pack(">HH4sBBI4sIH", 0, 1, bytes((10, 5, 0, 0)), 16, 1, 0, bytes(4), 65001, 0)
    v1 = v1[:-2] + struct.pack(">H", len(blob)) + blob
    dump = record(12, 3, v1) + TABLE + record(13, 2, rib(1, "10.6.0.0/16", [(0, 1, blob, None)]))
    got = fast(gzip.compress(dump), ReplayOptions())
    assert [str(r.prefix) for r in got] == ["10.5.0.0/16", "10.6.0.0/16"]
    assert got == slow(dump, ReplayOptions())


def test_the_speaker_stores_what_announce_would() -> None:
    blob_a, blob_b = attrs_v4(65001, 1), attrs_v4(65001, 2)
    dump = TABLE + b"".join(
        record(13, 2, rib(i, f"10.{i}.0.0/16", [(0, 1, blob_a if i % 3 else blob_b, None)]))
        for i in range(200)
    )
    keyed = Speaker(65010, "192.0.2.10", listen=())
    keyed.add_neighbor(Neighbor("192.0.2.20", remote_as=65020))
    templates = keyed.peer("192.0.2.20").store.templates
    keyed.announce_keyed(keyed_routes(io.BytesIO(dump), ReplayOptions(), templates))
    plain = Speaker(65010, "192.0.2.10", listen=())
    plain.add_neighbor(Neighbor("192.0.2.20", remote_as=65020))
    plain.announce(slow(dump, ReplayOptions()))
    a, b = keyed.peer("192.0.2.20").desired, plain.peer("192.0.2.20").desired
    assert len(a) == 200 and dict(a) == dict(b)
    assert len(keyed.peer("192.0.2.20").store.templates) == 2


# --- damage -------------------------------------------------------------------------------------


def _error(dump: bytes, opts: ReplayOptions | None = None) -> MrtError:
    with pytest.raises(MrtError) as info:
        fast(dump, opts or ReplayOptions())
    return info.value


def test_damage_gives_mrt_errors_with_offset_and_reason() -> None:
    good = attrs_v4(65001)
    orphan = record(13, 2, rib(1, "10.0.0.0/8", [(0, 1, good, None)]))
    assert "before any PEER_INDEX_TABLE" in _error(orphan).reason
    bad_index = record(13, 2, rib(2, "10.0.0.0/8", [(3, 1, good, None)]))
    e = _error(TABLE + bad_index)
    assert "peer index 3" in e.reason and e.offset == len(TABLE) and e.record_type == 13
    bad_attrs = record(13, 2, rib(3, "10.0.0.0/8", [(0, 1, bytes.fromhex("40010105"), None)]))
    assert isinstance(_error(TABLE + bad_attrs).cause, DecodeError)
    long_prefix = record(13, 2, struct.pack(">I", 1) + bytes((33,)) + bytes(5))
    assert "longer than 32 bits" in _error(TABLE + long_prefix).reason
    short_prefix = record(13, 4, struct.pack(">I", 1) + bytes((64, 0x20, 1)))
    assert "prefix needs 8 octets" in _error(TABLE + short_prefix).reason
    no_count = record(13, 2, struct.pack(">I", 1) + bytes((8, 10)))
    assert "entry count" in _error(TABLE + no_count).reason
    cut_entry = record(13, 2, rib(4, "10.0.0.0/8", [(0, 1, good, None)])[: -len(good) - 3])
    assert "truncated" in _error(TABLE + cut_entry).reason
    over = record(13, 2, rib(5, "10.0.0.0/8", [(0, 1, good, None)])[:-1])
    assert "runs past the record" in _error(TABLE + over).reason
    extra = record(13, 2, rib(6, "10.0.0.0/8", [(1, 1, good, None)]) + b"\x00")
    peer = ipaddress.ip_address("192.0.2.1")  # no entry of this peer: the whole record is read
    assert "after its last entry" in _error(TABLE + extra, ReplayOptions(source_peer=peer)).reason
    cut_file = TABLE + record(13, 2, rib(7, "10.0.0.0/8", [(0, 1, good, None)]))[:-3]
    e = _error(cut_file)
    assert e.fatal and e.offset == len(TABLE)
    short_generic = record(13, 6, b"\x00\x00\x00\x01\x00")
    assert "too short" in _error(TABLE + short_generic).reason


SAMPLE = (
    TABLE
    + record(13, 2, rib(1, "10.0.0.0/8", [(0, 1, attrs_v4(65001, med=3), None)]))
    + record(13, 4, rib(2, "2001:db8::/32", [(1, 1, attrs_v6(65002), None)]))
    + record(13, 8, rib(3, "10.1.0.0/16", [(0, 1, attrs_v4(65003), 4)]))
    + record(
        13, 6, rib_generic(4, 2, 1, bytes((48, 0x20, 1, 0xD, 0xB8, 0, 1)), [(1, 1, b"", None)])
    )
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.integers(0, len(SAMPLE) - 1), st.integers(0, 255)), max_size=6))
def test_damaged_dumps_give_the_same_routes_or_mrt_errors(edits: list[tuple[int, int]]) -> None:
    data = bytearray(SAMPLE)
    for at, value in edits:
        data[at] = value
    for opts in (ReplayOptions(), ReplayOptions(next_hop="keep", afis=frozenset({2}))):
        same_or_mrt_error(bytes(data), opts)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_arbitrary_bytes_give_routes_or_mrt_errors(data: bytes) -> None:
    same_or_mrt_error(TABLE + data, ReplayOptions())
