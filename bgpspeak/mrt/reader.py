"""``read_mrt``: the record stream of an MRT file, and its error policy.

Errors. A record is *damaged* when its body cannot be what its type says (a truncated field, an
unknown address family, an embedded BGP message whose header disagrees with the record, RIB
attributes the codec rejects). With ``errors="raise"`` (the default) the first damaged record
raises :class:`MrtError`; with ``errors="report"`` it is yielded as a :class:`CorruptRecord` in
its place and reading goes on, because the record's own length still says where the next one
starts. When that length itself is unusable (file cut off, impossible length, broken
compression) the error is *fatal*: raised, or yielded last in ``report`` mode, and reading stops.

Well-formed records of kinds this reader does not interpret come out as
:class:`UnsupportedRecord`; a BGP message that is framed correctly but malformed inside is not
the reader's business: it surfaces when :meth:`Bgp4mpMessage.decode` raises the codec's
:class:`~bgpspeak.wire.DecodeError`.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterator
from typing import Literal

from ..wire import AttributeCache
from .bgp4mp import decode_bgp4mp
from .errors import CorruptRecord, MrtError, RecordCorrupt
from .framing import DEFAULT_MAX_RECORD_LENGTH, frames
from .legacy import decode_legacy_bgp
from .records import (
    Bgp4mpEntry,
    Bgp4mpMessage,
    Bgp4mpStateChange,
    LegacyBgpMessage,
    LegacyBgpStateChange,
    PeerIndexTable,
    RibRecord,
    TableDumpRecord,
    UnsupportedRecord,
)
from .source import ChunkSource, Source
from .state import ReaderState
from .tabledump import decode_table_dump, decode_table_dump_v2
from .types import MrtType

MrtRecord = (
    PeerIndexTable
    | RibRecord
    | TableDumpRecord
    | Bgp4mpMessage
    | Bgp4mpStateChange
    | Bgp4mpEntry
    | LegacyBgpMessage
    | LegacyBgpStateChange
    | UnsupportedRecord
    | CorruptRecord
)

Decoder = Callable[[float, int, int, bytes, ReaderState], MrtRecord]

DECODERS: dict[int, Decoder] = {
    MrtType.TABLE_DUMP: decode_table_dump,
    MrtType.TABLE_DUMP_V2: decode_table_dump_v2,
    MrtType.BGP4MP: decode_bgp4mp,
    MrtType.BGP4MP_ET: decode_bgp4mp,
    MrtType.BGP: decode_legacy_bgp,
}


def read_mrt(
    source: Source,
    *,
    errors: Literal["raise", "report"] = "raise",
    max_record_length: int = DEFAULT_MAX_RECORD_LENGTH,
    attribute_cache: AttributeCache | None = None,
) -> Iterator[MrtRecord]:
    """Yield the records of an MRT file, in file order, reading it as it goes.

    ``source`` is a path or a binary file object; plain, gzip, bzip2 and xz input are told apart
    by their first octets; the file is opened when iteration starts, and ``OSError`` from it
    propagates as usual. ``errors`` is the policy for damaged records (module docstring).
    ``attribute_cache`` is shared with the codec for RIB attributes (pass the one you also give
    to :meth:`Bgp4mpMessage.decode` to share decoded attributes across both).
    """
    if errors not in ("raise", "report"):
        raise ValueError(f"errors must be 'raise' or 'report', not {errors!r}")
    if max_record_length < 0:
        raise ValueError(f"max_record_length must not be negative, got {max_record_length}")
    return _records(source, errors == "report", max_record_length, attribute_cache)


def _records(
    source: Source,
    report: bool,
    max_record_length: int,
    attribute_cache: AttributeCache | None,
) -> Iterator[MrtRecord]:
    chunks = ChunkSource(source)
    state = ReaderState(attribute_cache)
    decoders = DECODERS
    try:
        for offset, ts, rtype, subtype, body in frames(
            chunks, max_record_length, lambda: chunks.problem
        ):
            decode = decoders.get(rtype)
            if decode is None:
                yield UnsupportedRecord(float(ts), rtype, subtype, body, f"MRT type {rtype}")
                continue
            try:
                record = decode(float(ts), rtype, subtype, body, state)
            except RecordCorrupt as e:
                error = MrtError(
                    offset, e.reason, record_type=rtype, subtype=subtype, cause=e.cause
                )
            except (struct.error, IndexError, ValueError) as e:  # a check missing in a decoder
                error = MrtError(
                    offset, f"malformed record: {e!r}", record_type=rtype, subtype=subtype
                )
            else:
                yield record
                continue
            if not report:
                raise error
            yield CorruptRecord(float(ts), rtype, subtype, error, body)
    except MrtError as e:
        if not report or not e.fatal:
            raise
        yield CorruptRecord(
            0.0,
            -1 if e.record_type is None else e.record_type,
            -1 if e.subtype is None else e.subtype,
            e,
        )
