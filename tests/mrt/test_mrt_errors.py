"""Damage: where it is reported, what survives it, and that nothing but MrtError ever escapes.

Real damage from the corpora (RIPE rrc00 2000.03, whose length field at 15024 is garbage) and
damage made on purpose from real files at known places: cut-off files, cut-off compressed
streams, embedded BGP messages whose header disagrees with the record, bad peer indexes.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import struct
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mrt_builders import (
    abbreviated_mp_reach,
    bgp4mp_message,
    peer_index_table,
    record,
    rib,
    update,
)
from mrt_corpus import FATAL_DAMAGE, RRC00_2000_03, path

from bgpspeak.mrt import (
    Bgp4mpMessage,
    CorruptRecord,
    MrtError,
    MrtRecord,
    RibRecord,
    read_mrt,
)
from bgpspeak.wire import BGPError, Context, DecodeError, Keepalive

AS4 = Context(asn4=True)
UPDATES = "bgpdump/test_data/updates.20020722.2238.gz"


def plain(rel: str) -> bytes:
    with gzip.open(path(rel)) as fh:
        return fh.read()


def record_offsets(data: bytes) -> list[int]:
    """Record starts, walked here independently of the reader."""
    out = []
    i = 0
    while i + 12 <= len(data):
        out.append(i)
        i += 12 + struct.unpack_from(">I", data, i + 8)[0]
    return out


def report(data: bytes, **kw: int) -> list[MrtRecord]:
    return list(read_mrt(io.BytesIO(data), errors="report", **kw))


def test_rrc00_damaged_length_field() -> None:
    offset = FATAL_DAMAGE[RRC00_2000_03]
    got: list[MrtRecord] = []
    with pytest.raises(MrtError) as info:
        got.extend(read_mrt(path(RRC00_2000_03)))
    assert info.value.offset == offset and info.value.fatal
    assert info.value.record_type == 51388  # what the damaged header reads as
    assert len(got) == 6  # everything before the damage came out first
    reported = list(read_mrt(path(RRC00_2000_03), errors="report"))
    assert reported[:-1] == got
    last = reported[-1]
    assert isinstance(last, CorruptRecord) and last.error.offset == offset and last.error.fatal


@pytest.mark.parametrize("cut", [1, 11, 12, 40])
def test_cut_off_file(cut: int) -> None:
    data = plain(UPDATES)
    starts = record_offsets(data)
    victim = starts[len(starts) // 2]
    damaged = data[: victim + cut]
    with pytest.raises(MrtError) as info:
        for _ in read_mrt(io.BytesIO(damaged)):
            pass
    assert info.value.offset == victim and info.value.fatal
    assert ("header" if cut < 12 else "truncated record") in info.value.reason
    got = report(damaged)
    assert len(got) == len(starts) // 2 + 1 and isinstance(got[-1], CorruptRecord)


def test_cut_off_gzip_stream() -> None:
    packed = path(UPDATES).read_bytes()
    got = report(packed[: len(packed) // 2])
    last = got[-1]
    assert isinstance(last, CorruptRecord) and last.error.fatal
    assert "gzip stream ends early" in last.error.reason
    assert len(got) > 100  # the records inflated before the cut are all there
    starts = record_offsets(plain(UPDATES))
    assert last.error.offset in starts


def test_corrupt_and_trailing_compressed_data() -> None:
    packed = bytearray(path(UPDATES).read_bytes())
    packed[len(packed) // 3 : len(packed) // 3 + 64] = bytes(64)
    last = report(bytes(packed))[-1]
    assert isinstance(last, CorruptRecord) and "gzip" in last.error.reason
    garbage = path(UPDATES).read_bytes() + b"not gzip at all"
    last = report(garbage)[-1]
    assert isinstance(last, CorruptRecord) and "garbage after the gzip stream" in last.error.reason


def test_zstd_is_refused_not_misread() -> None:
    (only,) = report(b"\x28\xb5\x2f\xfd" + bytes(100))
    assert (
        isinstance(only, CorruptRecord) and only.error.offset == 0 and "zstd" in only.error.reason
    )


def test_embedded_length_mismatch_is_skipped_in_report_mode() -> None:
    data = bytearray(plain(UPDATES))
    starts = record_offsets(bytes(data))
    # the first BGP4MP MESSAGE (2-octet AS) over IPv4: header 12, AS/ifindex/AFI 8, addresses 8,
    # then the BGP marker (16) and its length field
    victim = next(
        i
        for i in starts
        if struct.unpack_from(">HH", data, i + 4) == (16, 1)
        and struct.unpack_from(">H", data, i + 12 + 6)[0] == 1
    )
    length_at = victim + 12 + 8 + 8 + 16
    data[length_at : length_at + 2] = struct.pack(">H", 999)
    with pytest.raises(MrtError) as info:
        for _ in read_mrt(io.BytesIO(bytes(data))):
            pass
    assert info.value.offset == victim and not info.value.fatal
    assert "header says 999 octets" in info.value.reason
    got = report(bytes(data))
    corrupt = [r for r in got if isinstance(r, CorruptRecord)]
    assert len(got) == len(starts) and len(corrupt) == 1
    assert corrupt[0].error.offset == victim and corrupt[0].data  # the body is kept for a look


def test_message_without_marker_and_unknown_family() -> None:
    good = record(16, 4, bgp4mp_message(Keepalive().encode()))
    no_marker = record(16, 4, bgp4mp_message(bytes(19)))
    bad_afi = bytearray(good)
    bad_afi[12 + 10 : 12 + 12] = b"\x00\x07"
    got = report(good + no_marker + bytes(bad_afi) + good)
    kinds = [type(r).__name__ for r in got]
    assert kinds == ["Bgp4mpMessage", "CorruptRecord", "CorruptRecord", "Bgp4mpMessage"]
    errors = [r.error for r in got if isinstance(r, CorruptRecord)]
    assert "marker" in errors[0].reason and errors[0].offset == len(good)
    assert "address family 7" in errors[1].reason
    assert errors[1].offset == len(good) + len(no_marker)


def test_rib_damage() -> None:
    attrs = bytes.fromhex("40010100") + abbreviated_mp_reach("192.0.2.1")
    table = record(13, 1, peer_index_table([("192.0.2.1", "192.0.2.1", 65001)]))
    orphan = record(13, 2, rib(1, "10.0.0.0/8", [(0, 1, attrs, None)]))
    bad_index = record(13, 2, rib(2, "10.0.0.0/8", [(3, 1, attrs, None)]))
    bad_attrs = record(13, 2, rib(3, "10.0.0.0/8", [(0, 1, bytes.fromhex("40010105"), None)]))
    fine = record(13, 2, rib(4, "10.0.0.0/8", [(0, 1, attrs, None)]))
    got = report(orphan + table + bad_index + bad_attrs + fine)
    assert [type(r).__name__ for r in got] == [
        "CorruptRecord",
        "PeerIndexTable",
        "CorruptRecord",
        "CorruptRecord",
        "RibRecord",
    ]
    errors = [r.error for r in got if isinstance(r, CorruptRecord)]
    assert "before any PEER_INDEX_TABLE" in errors[0].reason and errors[0].offset == 0
    assert "peer index 3" in errors[1].reason
    assert isinstance(errors[2].cause, DecodeError)  # the codec's verdict travels along
    assert isinstance(got[-1], RibRecord)


def test_impossible_length() -> None:
    good = record(16, 4, bgp4mp_message(Keepalive().encode()))
    huge = struct.pack(">IHHI", 0, 13, 2, 1 << 30)
    with pytest.raises(MrtError) as info:
        list(read_mrt(io.BytesIO(good + huge + good)))
    assert info.value.offset == len(good) and info.value.fatal
    with pytest.raises(MrtError):  # a caller may set the limit lower
        list(read_mrt(io.BytesIO(good), max_record_length=10))


def test_errors_argument_is_checked() -> None:
    with pytest.raises(ValueError):
        read_mrt(io.BytesIO(b""), errors="ignore")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        read_mrt(io.BytesIO(b""), max_record_length=-1)


def _consume(data: bytes) -> Iterator[MrtRecord]:
    for r in read_mrt(io.BytesIO(data), errors="report"):
        if isinstance(r, Bgp4mpMessage):
            with contextlib.suppress(DecodeError):
                r.decode()
        yield r


SAMPLE = (
    record(16, 4, bgp4mp_message(update(AS4, "10.0.0.0/8", "192.0.2.0/24")))
    + record(13, 1, peer_index_table([("192.0.2.1", "2001:db8::1", 65001)]))
    + record(13, 4, rib(1, "2001:db8::/32", [(0, 1, abbreviated_mp_reach("2001:db8::1"), None)]))
    + record(17, 4, struct.pack(">I", 5) + bgp4mp_message(Keepalive().encode()))
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.one_of(
        st.binary(max_size=600),
        st.lists(st.tuples(st.integers(0, len(SAMPLE) - 1), st.integers(0, 255)), max_size=8).map(
            lambda edits: bytes(_apply(bytearray(SAMPLE), edits))
        ),
    )
)
def test_arbitrary_bytes_give_records_or_mrt_errors(data: bytes) -> None:
    """Report mode never raises; raise mode raises nothing but MrtError; decoding a framed
    message raises nothing but the codec's DecodeError."""
    reported = list(_consume(data))
    try:
        raised = list(read_mrt(io.BytesIO(data)))
    except MrtError:
        assert any(isinstance(r, CorruptRecord) for r in reported)
    else:
        assert raised == reported
    assert all(not isinstance(r, CorruptRecord) or isinstance(r.error, BGPError) for r in reported)


def _apply(buf: bytearray, edits: list[tuple[int, int]]) -> bytearray:
    for at, value in edits:
        buf[at] = value
    return buf
