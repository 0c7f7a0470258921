"""Input handling: compression told by magic bytes, paths and file objects alike, any chunking,
and memory that does not grow with the file."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import tracemalloc
from pathlib import Path

import pytest
from mrt_builders import bgp4mp_message, record
from mrt_corpus import path

from bgpspeak.mrt import MrtRecord, compression_of, read_mrt
from bgpspeak.mrt.framing import frames
from bgpspeak.mrt.source import ChunkSource
from bgpspeak.wire import Keepalive

SMALL = "mrtparse/samples/openbgpd_bgp"  # plain MRT, several record kinds


class ReadOnly:
    """A pipe-like stream: ``read`` and nothing else (no seek, no peek, no fileno)."""

    def __init__(self, data: bytes) -> None:
        self._buf = io.BytesIO(data)
        self.consumed = 0

    def read(self, n: int = -1) -> bytes:
        out = self._buf.read(n)
        self.consumed += len(out)
        return out


def records(source: object) -> list[MrtRecord]:
    return list(read_mrt(source))  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def raw() -> bytes:
    return path(SMALL).read_bytes()


def test_compressions_and_sources_give_the_same_records(raw: bytes, tmp_path: Path) -> None:
    want = records(path(SMALL))
    assert len(want) == 87
    half = len(raw) // 2
    variants = {
        "gzip": gzip.compress(raw),
        "bzip2": bz2.compress(raw),
        "xz": lzma.compress(raw),
        "gzip members": gzip.compress(raw[:half]) + gzip.compress(raw[half:]),
        "bzip2 streams": bz2.compress(raw[:half]) + bz2.compress(raw[half:]),
        "gzip padded": gzip.compress(raw) + bytes(512),
    }
    for name, packed in variants.items():
        assert records(io.BytesIO(packed)) == want, name
        assert records(ReadOnly(packed)) == want, name
        file = tmp_path / "renamed.mrt"  # the name says nothing; the magic bytes do
        file.write_bytes(packed)
        assert records(file) == want, name
        assert records(str(file)) == want, name


def test_compression_of() -> None:
    assert compression_of(gzip.compress(b"x")) == "gzip"
    assert compression_of(bz2.compress(b"x")) == "bzip2"
    assert compression_of(lzma.compress(b"x")) == "xz"
    assert compression_of(b"\x28\xb5\x2f\xfd") == "zstd"
    assert compression_of(b"\x00\x00\x00\x01") == "none"


@pytest.mark.parametrize("chunk", [1, 7, 12, 13, 4096])
def test_any_chunking_frames_the_same(raw: bytes, chunk: int) -> None:
    want = list(frames(ChunkSource(io.BytesIO(raw))))
    for packed in (raw, gzip.compress(raw), bz2.compress(raw)):
        assert list(frames(ChunkSource(io.BytesIO(packed), chunk_size=chunk))) == want


def test_empty_input() -> None:
    assert records(io.BytesIO(b"")) == []
    assert records(io.BytesIO(gzip.compress(b""))) == []


KEEPALIVE_RECORD = record(16, 4, bgp4mp_message(Keepalive().encode()))


class Endless:
    """``count`` identical records, generated as they are read (never all in memory)."""

    def __init__(self, count: int) -> None:
        self.left = count
        self.consumed = 0

    def read(self, n: int = -1) -> bytes:
        size = len(KEEPALIVE_RECORD)
        k = min(self.left, max(1, n // size))
        self.left -= k
        out = KEEPALIVE_RECORD * k
        self.consumed += len(out)
        return out


def test_reading_is_lazy() -> None:
    stream = Endless(10_000_000)  # 0.5 GB if it were read whole
    it = read_mrt(stream)  # type: ignore[arg-type]
    for _ in range(5):
        next(it)
    assert stream.consumed <= 2 << 20


def test_memory_does_not_grow_with_the_file() -> None:
    stream = Endless(100_000)  # 5 MB of records
    tracemalloc.start()
    tracemalloc.reset_peak()  # another test may have left tracing on: measure from here
    base, _ = tracemalloc.get_traced_memory()
    try:
        count = sum(1 for _ in read_mrt(stream))  # type: ignore[arg-type]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == 100_000
    assert peak - base < 4 << 20, peak - base
