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


# diagnostics a peer sends with Down that say nothing about the forwarding path
_NOT_PATH_EVIDENCE = frozenset(
    {Diag.NONE, Diag.NEIGHBOR_SIGNALED_SESSION_DOWN, Diag.ADMINISTRATIVELY_DOWN}
)


@dataclass(frozen=True, slots=True)
class StateChanged:
    """bfd.SessionState changed. ``diag`` is bfd.LocalDiag after the change, ``remote_diag``
    the peer's diagnostic in the packet that caused it (0 if none). ``remote_admin``: the
    session went Down because the peer said AdminDown, which RFC 5882 section 3.2 says a
    client must not take as a path failure."""

    old: State
    new: State
    diag: Diag
    remote_admin: bool = False
    remote_diag: int = 0

    @property
    def path_down(self) -> bool:
        """Up to Down with evidence that the forwarding path failed: our detection time
        expired, or the peer says Down because its own detection (or forwarding) failed.

        Not: an AdminDown on either side (RFC 5882 section 3.2), and not a peer that says Down
        with "no diagnostic" or "neighbor signaled session down" while we were Up: it claims
        we said Down, which we did not, so its session was deleted or restarted, not the
        path. FRR 8.4 does exactly that right after BGP establishes (bgpd re-registers the
        session once it knows the interface, and the deleted one sends Down, diag 3); taking
        it for a failure would flap every strict-mode session once at start (docs/bfd.md).
        The path is still watched: if it fails, our own detection time expires."""
        if self.old is not State.UP or self.new is not State.DOWN or self.remote_admin:
            return False
        if self.diag is Diag.NEIGHBOR_SIGNALED_SESSION_DOWN:
            return self.remote_diag not in _NOT_PATH_EVIDENCE
        return True


Output = Transmit | StateChanged
