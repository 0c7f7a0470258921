"""Counters of one session and of the whole table: what ``show bfd`` and the metrics export.

Besides packet counts they keep two timing figures the pure core can compute on its own from
the ``now`` it is given: how late periodic transmissions left (``tx_late_max_us``) and the
longest silence from the peer while Up (``rx_gap_max_us``). Those are how the interval floor
in docs/bfd.md was measured, and how an operator sees a session running close to its limit.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class SessionCounters:
    rx_packets: int = 0  # accepted Control packets
    tx_packets: int = 0
    rx_discarded: dict[str, int] = field(default_factory=dict)  # reason -> count
    up_transitions: int = 0
    down_transitions: int = 0  # from Up to anything else
    detect_expired: int = 0  # detection time passed without a packet (diag 1)
    polls_started: int = 0
    polls_completed: int = 0
    finals_sent: int = 0
    tx_late_max_us: int = 0  # worst delay of a periodic transmission behind its schedule
    tx_late_over_10ms: int = 0
    rx_gap_max_us: int = 0  # longest time between two accepted packets while Up
    last_down_diag: int = 0

    def discard(self, reason: str) -> None:
        self.rx_discarded[reason] = self.rx_discarded.get(reason, 0) + 1

    def copy(self) -> SessionCounters:
        new = SessionCounters(**vars(self))
        new.rx_discarded = dict(self.rx_discarded)
        return new

    def reset_timing(self) -> None:
        """Forget the worst-case timing figures (e.g. after a warm-up period)."""
        self.tx_late_max_us = 0
        self.tx_late_over_10ms = 0
        self.rx_gap_max_us = 0


@dataclass
class TableCounters:
    """Datagrams that never reached a session, by reason (malformed, no session, bad TTL)."""

    rx_datagrams: int = 0
    rx_discarded: dict[str, int] = field(default_factory=dict)
    tx_errors: int = 0  # sendto failures reported by the transport

    def discard(self, reason: str) -> None:
        self.rx_discarded[reason] = self.rx_discarded.get(reason, 0) + 1

    def copy(self) -> TableCounters:
        return TableCounters(self.rx_datagrams, dict(self.rx_discarded), self.tx_errors)
