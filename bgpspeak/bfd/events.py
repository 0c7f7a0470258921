"""Inputs to a BFD session's state machine and the outputs it returns, like the BGP session's
(bgpspeak/session/events.py): inputs say what happened, outputs what to send or report."""

from __future__ import annotations

from dataclasses import dataclass

from .codes import Diag, State
from .config import SessionParams
from .packet import ControlPacket

# --- inputs -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Received:
    """A Control packet the table has decoded, demultiplexed to this session and TTL-checked."""

    packet: ControlPacket


@dataclass(frozen=True, slots=True)
class Tick:
    """Time passed: run whatever timers are due."""


@dataclass(frozen=True, slots=True)
class AdminDown:
    """Take the session administratively down (RFC 5880 section 6.8.16)."""

    diag: Diag = Diag.ADMINISTRATIVELY_DOWN


@dataclass(frozen=True, slots=True)
class AdminUp:
    """Leave AdminDown: back to Down, and bring the session up again."""


@dataclass(frozen=True, slots=True)
class Reconfigure:
    """New intervals or multiplier; while Up they go through a Poll Sequence (section 6.8.3)."""

    params: SessionParams


Input = Received | Tick | AdminDown | AdminUp | Reconfigure

# --- outputs ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Transmit:
    """Send this packet to the peer (the transport knows address, port and TTL)."""

    packet: ControlPacket


@dataclass(frozen=True, slots=True)
class StateChanged:
    """bfd.SessionState changed. ``diag`` is bfd.LocalDiag after the change. ``remote_admin``:
    the session went Down because the peer said AdminDown, which RFC 5882 section 3.2 says a
    client must not take as a path failure."""

    old: State
    new: State
    diag: Diag
    remote_admin: bool = False

    @property
    def path_down(self) -> bool:
        """Up to Down for a reason that means the forwarding path may be gone: not our own
        AdminDown, not the peer's (RFC 5882 section 3.2)."""
        return self.old is State.UP and self.new is State.DOWN and not self.remote_admin


Output = Transmit | StateChanged
