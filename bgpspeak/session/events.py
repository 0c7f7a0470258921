"""What goes into the session state machine (inputs) and what comes out (outputs).

The machine never performs I/O: inputs say what happened (bytes arrived, a connection opened,
time passed), outputs say what the driver must do (write these bytes, open or close a
connection) or report (the session came up, routes arrived).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from ..wire.errors import DecodeError
from ..wire.family import Family
from ..wire.message import Message
from ..wire.simple_messages import Notification
from ..wire.update import Update
from .negotiate import Negotiated


class State(enum.Enum):
    """The RFC 4271 session states; the values are the names FRR and the RFC use."""

    IDLE = "Idle"
    CONNECT = "Connect"
    ACTIVE = "Active"
    OPEN_SENT = "OpenSent"
    OPEN_CONFIRM = "OpenConfirm"
    ESTABLISHED = "Established"


# --- inputs -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Start:
    """ManualStart (RFC 4271 event 1), or event 4 for a passive peer."""


@dataclass(frozen=True, slots=True)
class Stop:
    """ManualStop (event 2): send ``notification`` (default Cease/administrative shutdown) if a
    connection is up, close, and stay Idle (no automatic restart) until the next Start."""

    notification: Notification | None = None


@dataclass(frozen=True, slots=True)
class Connected:
    """A TCP connection for this session is up (events 16/17); ``outbound`` if we dialled."""

    outbound: bool = True


@dataclass(frozen=True, slots=True)
class ConnectionFailed:
    """The TCP connection could not be made, or was closed or reset (event 18)."""

    reason: str = ""


@dataclass(frozen=True, slots=True)
class DataReceived:
    data: bytes


@dataclass(frozen=True, slots=True)
class Tick:
    """Time passed: expire whatever timers are due at ``now``."""


@dataclass(frozen=True, slots=True)
class SendMessage:
    """Send a message (UPDATE, ROUTE-REFRESH...) on the established session."""

    message: Message


@dataclass(frozen=True, slots=True)
class SendEncoded:
    """Send messages already encoded for the negotiated context (the RIB packs them);
    ``count`` is how many UPDATEs ``data`` holds, for the counters."""

    data: bytes
    count: int = 1


@dataclass(frozen=True, slots=True)
class WriteBlocked:
    """The transport stopped accepting data (peer not reading): starts the send hold timer."""


@dataclass(frozen=True, slots=True)
class WriteResumed:
    pass


Input = (
    Start
    | Stop
    | Connected
    | ConnectionFailed
    | DataReceived
    | Tick
    | SendMessage
    | SendEncoded
    | WriteBlocked
    | WriteResumed
)

# --- outputs ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Send:
    data: bytes


@dataclass(frozen=True, slots=True)
class Connect:
    """Open a TCP connection to the peer."""


@dataclass(frozen=True, slots=True)
class Disconnect:
    """Close the TCP connection (after writing what was sent before)."""


@dataclass(frozen=True, slots=True)
class StateChanged:
    old: State
    new: State


@dataclass(frozen=True, slots=True)
class SessionUp:
    negotiated: Negotiated


@dataclass(frozen=True, slots=True)
class SessionDown:
    """The established session ended. ``notification`` is what was sent or received, if any;
    ``graceful`` says whether the peer's routes should be kept as stale (RFC 4724/8538)."""

    reason: str
    notification: Notification | None
    sent: bool
    graceful: bool
    negotiated: Negotiated | None = None  # what the session was, for the RIB cleanup


@dataclass(frozen=True, slots=True)
class UpdateReceived:
    """An UPDATE to apply. With ``error`` set (RFC 7606 treat-as-withdraw), every route in
    ``update`` must be withdrawn instead; with attribute-discard the update is usable as is."""

    update: Update
    error: DecodeError | None = None

    @property
    def treat_as_withdraw(self) -> bool:
        from ..wire.errors import Action

        return self.error is not None and self.error.action == Action.TREAT_AS_WITHDRAW


@dataclass(frozen=True, slots=True)
class RefreshRequested:
    """The peer asked for our routes again (RFC 2918 / RFC 7313 subtype 0)."""

    family: Family


@dataclass(frozen=True, slots=True)
class RefreshMarker:
    """The peer began (``begin``) or ended an enhanced route refresh of ``family`` (RFC 7313)."""

    family: Family
    begin: bool


@dataclass(frozen=True, slots=True)
class ProtocolError:
    """Something wrong was received or happened; reported for logs and counters."""

    error: DecodeError | None
    reason: str


Output = (
    Send
    | Connect
    | Disconnect
    | StateChanged
    | SessionUp
    | SessionDown
    | UpdateReceived
    | RefreshRequested
    | RefreshMarker
    | ProtocolError
)
