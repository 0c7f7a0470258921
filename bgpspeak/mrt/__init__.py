"""MRT routing data (RFC 6396, RFC 8050): RIB dumps and BGP update traces from route collectors.

``read_mrt(path_or_file)`` streams the records of a file (plain, gzip, bzip2 or xz) with bounded
memory. RIB records come with their attributes decoded by :mod:`bgpspeak.wire`; BGP4MP messages
keep their bytes until :meth:`Bgp4mpMessage.decode`. docs/mrt.md has the record types and the
error policy.
"""

from .errors import CorruptRecord, MrtError
from .reader import MrtRecord, read_mrt
from .records import (
    Bgp4mpEntry,
    Bgp4mpMessage,
    Bgp4mpStateChange,
    LegacyBgpMessage,
    LegacyBgpStateChange,
    Peer,
    PeerIndexTable,
    RibEntry,
    RibRecord,
    TableDumpRecord,
    UnsupportedRecord,
    message_context,
)
from .source import compression_of
from .types import (
    Bgp4mpSubtype,
    BgpState,
    BgpSubtype,
    MrtType,
    TableDumpSubtype,
    TableDumpV2Subtype,
    type_name,
)

__all__ = [
    "Bgp4mpEntry",
    "Bgp4mpMessage",
    "Bgp4mpStateChange",
    "Bgp4mpSubtype",
    "BgpState",
    "BgpSubtype",
    "CorruptRecord",
    "LegacyBgpMessage",
    "LegacyBgpStateChange",
    "MrtError",
    "MrtRecord",
    "MrtType",
    "Peer",
    "PeerIndexTable",
    "RibEntry",
    "RibRecord",
    "TableDumpRecord",
    "TableDumpSubtype",
    "TableDumpV2Subtype",
    "UnsupportedRecord",
    "compression_of",
    "message_context",
    "read_mrt",
    "type_name",
]
