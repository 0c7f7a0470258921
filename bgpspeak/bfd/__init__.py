"""BFD (RFC 5880 asynchronous mode, RFC 5881 single hop, RFC 5883 multi-hop) for bgpspeak.

Same shape as the BGP side: :mod:`.packet` is the codec, :class:`BfdSession` the pure state
machine driven by ``now`` in microseconds, :class:`BfdTable` the pure set of sessions with the
demultiplexing of received datagrams. docs/bfd.md explains the rest.
"""

from .codes import Diag, State
from .config import BfdConfig, SessionKey, SessionParams
from .counters import SessionCounters, TableCounters
from .events import AdminDown, AdminUp, Received, Reconfigure, StateChanged, Tick, Transmit
from .packet import ControlPacket, Malformed, PacketError, decode
from .session import BfdSession
from .table import BfdTable, Datagram, SessionOutput

__all__ = [
    "AdminDown",
    "AdminUp",
    "BfdConfig",
    "BfdSession",
    "BfdTable",
    "ControlPacket",
    "Datagram",
    "Diag",
    "Malformed",
    "PacketError",
    "Received",
    "Reconfigure",
    "SessionCounters",
    "SessionKey",
    "SessionOutput",
    "SessionParams",
    "State",
    "StateChanged",
    "TableCounters",
    "Tick",
    "Transmit",
    "decode",
]
