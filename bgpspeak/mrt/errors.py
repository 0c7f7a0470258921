"""The one error an MRT file can raise, and the record that stands for it in ``report`` mode.

Collector archives are decades old and a few are damaged (cut-off downloads, records whose
length field was overwritten, embedded BGP messages that do not fill their record). A reader
must say *where* the damage is so a person can look at the bytes, and whether anything after it
can still be trusted: a record whose own length is intact can be skipped, a broken length means
the record boundaries are lost and the reader stops.
"""

from __future__ import annotations

from typing import NamedTuple

from ..wire.errors import BGPError, DecodeError


class MrtError(BGPError):
    """A damaged MRT record.

    ``offset`` is where the record's 12-octet MRT header starts in the uncompressed stream.
    ``fatal`` is True when the record boundaries are lost (truncated file, impossible length,
    unreadable compression) so nothing after ``offset`` can be read; False when only this
    record's content is bad and the reader can go on with the next one. ``cause`` is the codec
    error when the damage is inside BGP attributes the reader decodes itself (RIB entries).
    """

    offset: int
    reason: str
    record_type: int | None
    subtype: int | None
    fatal: bool
    cause: DecodeError | None

    def __init__(
        self,
        offset: int,
        reason: str,
        *,
        record_type: int | None = None,
        subtype: int | None = None,
        fatal: bool = False,
        cause: DecodeError | None = None,
    ) -> None:
        self.offset = offset
        self.reason = reason
        self.record_type = record_type
        self.subtype = subtype
        self.fatal = fatal
        self.cause = cause
        super().__init__(self.__str__())

    def __str__(self) -> str:
        what = ""
        if self.record_type is not None:
            what = f" (type {self.record_type}/{self.subtype})"
        tail = ", reading stops" if self.fatal else ""
        return f"MRT record at offset {self.offset}{what}: {self.reason}{tail}"


class CorruptRecord(NamedTuple):
    """Stands in the record stream for a damaged record when reading with ``errors="report"``.

    ``data`` is the record body when it could be read (empty for a fatal error). The fields that
    every record has are here too, so code that sorts or counts records by time and type keeps
    working (``timestamp`` is 0.0 when even the header is unreadable).
    """

    timestamp: float
    type: int
    subtype: int
    error: MrtError
    data: bytes = b""


class RecordCorrupt(Exception):
    """Internal: raised by the record decoders, turned into :class:`MrtError` by the reader,
    which knows the offset and the header fields."""

    def __init__(self, reason: str, cause: DecodeError | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.cause = cause
