"""BFD (RFC 5880 asynchronous mode, RFC 5881 single hop, RFC 5883 multi-hop) for bgpspeak.

Same shape as the BGP side: :mod:`.packet` is the codec, :class:`BfdSession` the pure state
machine driven by ``now`` in microseconds, :class:`BfdTable` the pure set of sessions with the
demultiplexing of received datagrams, :class:`BfdService` the thin asyncio layer (sockets,
one timer), and :class:`BgpBfd` ties sessions to a Speaker's neighbors. docs/bfd.md has the
guide, the measured interval floor and the FRR interop facts.
"""

from .bgp import BgpBfd, BgpBfdCounters, NeighborBfdStatus, PeerControl, PeerHooks, StopStartControl
from .codes import Diag, State
from .config import BfdConfig, SessionKey, SessionParams
from .counters import SessionCounters, TableCounters
from .events import AdminDown, AdminUp, Received, Reconfigure, StateChanged, Tick, Transmit
from .packet import ControlPacket, Malformed, PacketError, decode
from .service import BfdService, SessionEvent
from .session import BfdSession
from .status import ServiceStatus, SessionStatus
from .table import BfdTable, Datagram, SessionOutput

__all__ = [
    "AdminDown",
    "AdminUp",
    "BfdConfig",
    "BfdService",
    "BfdSession",
    "BfdTable",
    "BgpBfd",
    "BgpBfdCounters",
    "ControlPacket",
    "Datagram",
    "Diag",
    "Malformed",
    "NeighborBfdStatus",
    "PacketError",
    "PeerControl",
    "PeerHooks",
    "Received",
    "Reconfigure",
    "ServiceStatus",
    "SessionCounters",
    "SessionEvent",
    "SessionKey",
    "SessionOutput",
    "SessionParams",
    "SessionStatus",
    "State",
    "StateChanged",
    "StopStartControl",
    "TableCounters",
    "Tick",
    "Transmit",
    "decode",
]
