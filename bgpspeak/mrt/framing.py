"""Cutting the uncompressed stream into MRT records (RFC 6396 section 2: a 12-octet header of
timestamp, type, subtype and length, then ``length`` octets of body).

Only the header is trusted here; what the body means is the record decoders' business. The
framer works on large buffers with ``unpack_from`` and hands out one body slice per record, so
its cost per record is a few hundred nanoseconds whatever the chunking of the input.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterable, Iterator

from .errors import MrtError

HEADER = struct.Struct(">IHHI")
HEADER_LENGTH = HEADER.size

#: Larger declared lengths are taken as damage rather than read: the biggest real records (RIB
#: entries of a prefix seen by every peer of a large collector) are well under a megabyte.
DEFAULT_MAX_RECORD_LENGTH = 16 << 20

Frame = tuple[int, int, int, int, bytes]  # offset, timestamp, type, subtype, body


def frames(
    chunks: Iterable[bytes],
    max_record_length: int = DEFAULT_MAX_RECORD_LENGTH,
    problem: Callable[[], str | None] = lambda: None,
) -> Iterator[Frame]:
    """Yield ``(offset, timestamp, type, subtype, body)`` per record.

    Raises a fatal :class:`MrtError` at the offset where framing breaks: a record longer than
    ``max_record_length``, a header or body cut off by the end of the input. ``problem()``
    is asked at the end of input why it ended (None: it ended cleanly), e.g. a truncated gzip
    stream.
    """
    unpack = HEADER.unpack_from
    it = iter(chunks)
    buf = b""
    pos = 0
    base = 0  # offset of buf[0] in the whole stream
    while True:
        n = len(buf)
        need = HEADER_LENGTH
        while pos + HEADER_LENGTH <= n:
            ts, rtype, subtype, length = unpack(buf, pos)
            if length > max_record_length:
                raise MrtError(
                    base + pos,
                    f"record declares {length} octets, more than the {max_record_length} any real"
                    " record needs: the length field is damaged",
                    record_type=rtype,
                    subtype=subtype,
                    fatal=True,
                )
            end = pos + HEADER_LENGTH + length
            if end > n:
                need = HEADER_LENGTH + length
                break
            yield base + pos, ts, rtype, subtype, buf[pos + HEADER_LENGTH : end]
            pos = end
        # not enough buffered for the next record: gather chunks until there is
        parts = [buf[pos:]]
        have = n - pos
        for chunk in it:
            parts.append(chunk)
            have += len(chunk)
            if have >= need:
                break
        base += pos
        pos = 0
        if have < need:
            _end_of_input(b"".join(parts), base, problem())
            return
        buf = b"".join(parts)


def _end_of_input(rest: bytes, offset: int, problem: str | None) -> None:
    """Raise for whatever is left after the last complete record (nothing is the good case)."""
    why = f" ({problem})" if problem else ""
    if not rest:
        if problem:
            raise MrtError(offset, f"input ends early: {problem}", fatal=True)
        return
    if len(rest) < HEADER_LENGTH:
        raise MrtError(
            offset,
            f"truncated header: {len(rest)} octets left, a header needs {HEADER_LENGTH}{why}",
            fatal=True,
        )
    _, rtype, subtype, length = HEADER.unpack_from(rest)
    raise MrtError(
        offset,
        f"truncated record: declares {length} octets, {len(rest) - HEADER_LENGTH} left{why}",
        record_type=rtype,
        subtype=subtype,
        fatal=True,
    )
