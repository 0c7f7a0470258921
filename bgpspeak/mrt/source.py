"""MRT input as a stream of uncompressed chunks: plain, gzip, bzip2 or xz, told apart by their
magic bytes (archives get renamed and mirrored, so file names are not trusted).

Memory stays bounded whatever the file size: compressed input is read and inflated one chunk at
a time, and each inflate call is capped, so even a "compression bomb" yields ordinary chunks.
Concatenated streams (``cat a.gz b.gz``, parallel bzip2) are followed to the end. Damage in the
compressed layer is not raised from here: it is recorded in :attr:`ChunkSource.problem` after the
last good chunk, so the framer can first hand out every complete record before it.
"""

from __future__ import annotations

import bz2
import lzma
import os
import zlib
from collections.abc import Callable, Iterator
from typing import BinaryIO

CHUNK = 1 << 20  # read and inflate granularity

GZIP_MAGIC = b"\x1f\x8b"
BZIP2_MAGIC = b"BZh"
XZ_MAGIC = b"\xfd7zXZ\x00"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


Source = str | os.PathLike[str] | BinaryIO


def compression_of(head: bytes) -> str:
    """``'gzip'``, ``'bzip2'``, ``'xz'``, ``'zstd'`` or ``'none'`` from a file's first octets."""
    if head.startswith(GZIP_MAGIC):
        return "gzip"
    if head.startswith(BZIP2_MAGIC):
        return "bzip2"
    if head.startswith(XZ_MAGIC):
        return "xz"
    if head.startswith(ZSTD_MAGIC):
        return "zstd"
    return "none"


class ChunkSource:
    """Iterate to get uncompressed chunks; afterwards ``problem`` says why the input ended early
    (None when it ended cleanly). ``compression`` is known once iteration started."""

    def __init__(self, source: Source, chunk_size: int = CHUNK) -> None:
        self._source = source
        self.chunk_size = chunk_size
        self.compression = "none"
        self.problem: str | None = None

    def __iter__(self) -> Iterator[bytes]:
        src = self._source
        if isinstance(src, str | os.PathLike):
            with open(src, "rb") as fh:
                yield from self._chunks(fh.read)
        else:
            yield from self._chunks(src.read)

    def _chunks(self, read: Callable[[int], bytes]) -> Iterator[bytes]:
        head = read(self.chunk_size)
        while 0 < len(head) < len(XZ_MAGIC):  # short reads (pipes): enough to see the magic
            more = read(self.chunk_size)
            if not more:
                break
            head += more
        self.compression = compression_of(head)
        if self.compression == "none":
            while head:
                yield head
                head = read(self.chunk_size)
            return
        if self.compression == "zstd":
            self.problem = "zstd-compressed input: the Python standard library cannot inflate it"
            return
        yield from self._inflate(head, read)

    def _new_inflater(self) -> zlib._Decompress | bz2.BZ2Decompressor | lzma.LZMADecompressor:
        if self.compression == "gzip":
            return zlib.decompressobj(wbits=31)
        if self.compression == "bzip2":
            return bz2.BZ2Decompressor()
        return lzma.LZMADecompressor()

    def _inflate(self, data: bytes, read: Callable[[int], bytes]) -> Iterator[bytes]:
        limit = self.chunk_size
        inflater = self._new_inflater()
        magic = {"gzip": GZIP_MAGIC, "bzip2": BZIP2_MAGIC, "xz": XZ_MAGIC}[self.compression]
        at_eof = False
        while True:
            try:
                out = self._step(inflater, data, limit)
            except (zlib.error, OSError, EOFError, lzma.LZMAError) as e:
                self.problem = f"{self.compression} data is corrupt: {e}"
                return
            data = b""
            if out:
                yield out
            if inflater.eof:
                rest = inflater.unused_data
                if not rest and not at_eof:
                    rest = read(limit)
                    at_eof = not rest
                if not rest or not rest.strip(b"\x00"):
                    return  # the end, or zero padding after the last stream (tape blocks)
                if not rest.startswith(magic):
                    self.problem = (
                        f"{len(rest)}+ octets of garbage after the {self.compression} stream"
                    )
                    return
                inflater = self._new_inflater()  # another concatenated stream
                data = rest
                continue
            if len(out) < limit and self._wants_input(inflater):
                if at_eof:
                    self.problem = f"{self.compression} stream ends early (truncated file)"
                    return
                data = read(limit)
                at_eof = not data

    @staticmethod
    def _step(
        inflater: zlib._Decompress | bz2.BZ2Decompressor | lzma.LZMADecompressor,
        data: bytes,
        limit: int,
    ) -> bytes:
        """Inflate at most ``limit`` octets; input the inflater could not take yet stays inside
        it (bz2/lzma) or in ``unconsumed_tail`` (zlib), which is fed back here first."""
        if isinstance(inflater, bz2.BZ2Decompressor | lzma.LZMADecompressor):
            return inflater.decompress(data, max_length=limit)
        if inflater.unconsumed_tail:
            data = inflater.unconsumed_tail + data
        return inflater.decompress(data, limit)

    @staticmethod
    def _wants_input(
        inflater: zlib._Decompress | bz2.BZ2Decompressor | lzma.LZMADecompressor,
    ) -> bool:
        if isinstance(inflater, bz2.BZ2Decompressor | lzma.LZMADecompressor):
            return inflater.needs_input
        return not inflater.unconsumed_tail
