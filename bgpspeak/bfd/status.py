"""Snapshots of sessions for programs, ``show bfd`` and the metrics export.

Frozen values copied out of the live state machines, so a reader in another thread (the
daemon's control socket) never sees a half-updated session. ``as_dict`` gives the JSON shape
the CLI prints, with FRR's ``show bfd peers json`` names where a field means the same thing,
so an operator can read both side by side.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from .codes import Diag, State
from .config import SessionKey
from .counters import SessionCounters, TableCounters
from .session import BfdSession


@dataclass(frozen=True)
class SessionStatus:
    key: SessionKey
    state: State
    local_discriminator: int
    remote_discriminator: int
    local_diag: Diag
    remote_diag: int
    remote_state: State
    seconds_in_state: float | None
    # configured (µs)
    desired_min_tx: int
    required_min_rx: int
    detect_mult: int
    # negotiated and learned (µs)
    tx_interval: int
    detection_time: int | None
    remote_desired_min_tx: int
    remote_required_min_rx: int
    remote_detect_mult: int
    polling: bool
    counters: SessionCounters

    @classmethod
    def of(cls, key: SessionKey, s: BfdSession, now: int) -> SessionStatus:
        since = None if s.state_since is None else (now - s.state_since) / 1_000_000
        return cls(
            key=key,
            state=s.state,
            local_discriminator=s.local_discr,
            remote_discriminator=s.remote_discr,
            local_diag=s.local_diag,
            remote_diag=s.remote_diag,
            remote_state=s.remote_state,
            seconds_in_state=since,
            desired_min_tx=s.params.desired_min_tx,
            required_min_rx=s.params.required_min_rx,
            detect_mult=s.params.detect_mult,
            tx_interval=s.tx_interval,
            detection_time=s.detection_time,
            remote_desired_min_tx=s.remote_desired_tx,
            remote_required_min_rx=s.remote_min_rx,
            remote_detect_mult=s.remote_detect_mult,
            polling=s.polling,
            counters=s.counters.copy(),
        )

    def as_dict(self) -> dict[str, Any]:
        """JSON for ``show bfd``: intervals in milliseconds like FRR's, plus our counters."""
        k = self.key
        return {
            "peer": str(k.peer),
            "local": None if k.local is None else str(k.local),
            "interface": k.interface,
            "multihop": k.multihop,
            "status": self.state.label.lower(),
            "id": self.local_discriminator,
            "remote-id": self.remote_discriminator,
            "diagnostic": Diag.describe(self.local_diag),
            "remote-diagnostic": Diag.describe(self.remote_diag),
            "remote-status": self.remote_state.label.lower(),
            "seconds-in-state": self.seconds_in_state,
            "transmit-interval": self.desired_min_tx // 1000,
            "receive-interval": self.required_min_rx // 1000,
            "detect-multiplier": self.detect_mult,
            "negotiated-transmit-interval": self.tx_interval / 1000,
            "detection-time": None if self.detection_time is None else self.detection_time / 1000,
            "remote-transmit-interval": self.remote_desired_min_tx // 1000,
            "remote-receive-interval": self.remote_required_min_rx // 1000,
            "remote-detect-multiplier": self.remote_detect_mult,
            "polling": self.polling,
            "counters": asdict(self.counters),
        }


@dataclass(frozen=True)
class ServiceStatus:
    """Everything ``show bfd`` needs: every session, and the datagrams no session got."""

    sessions: tuple[SessionStatus, ...]
    counters: TableCounters
    running: bool
    dedicated_thread: bool

    def as_dict(self) -> dict[str, Any]:
        return {
            "running": self.running,
            "dedicated-thread": self.dedicated_thread,
            "sessions": [s.as_dict() for s in self.sessions],
            "counters": asdict(self.counters),
        }
