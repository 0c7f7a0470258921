"""Numbers fixed by the BFD RFCs: states, diagnostic codes, ports, TTL and the slow rate.

Kept apart from the codec so the state machine, the table and the transport can share them
without importing each other.
"""

from __future__ import annotations

import enum

US = 1_000_000  # microseconds per second: every time in this package is an integer in µs

SINGLE_HOP_PORT = 3784  # RFC 5881 section 4
MULTI_HOP_PORT = 4784  # RFC 5883 section 5
SOURCE_PORT_MIN = 49152  # RFC 5881 section 4: source port in 49152..65535
SOURCE_PORT_MAX = 65535
MAX_TTL = 255  # RFC 5881 section 5 (GTSM, RFC 5082): sent with 255, single hop accepts only 255
TOS_NETWORK_CONTROL = 0xC0  # DSCP CS6, what FRR and most routers use for BFD

# RFC 5880 section 6.8.3: while the session is not Up, transmit no faster than one per second
SLOW_TX_INTERVAL = US


class State(enum.IntEnum):
    """bfd.SessionState (RFC 5880 section 4.1, the Sta field)."""

    ADMIN_DOWN = 0
    DOWN = 1
    INIT = 2
    UP = 3

    @property
    def label(self) -> str:
        return _STATE_LABELS[self]


_STATE_LABELS = {
    State.ADMIN_DOWN: "AdminDown",
    State.DOWN: "Down",
    State.INIT: "Init",
    State.UP: "Up",
}


class Diag(enum.IntEnum):
    """bfd.LocalDiag (RFC 5880 section 4.1): why the session last changed state."""

    NONE = 0
    CONTROL_DETECTION_TIME_EXPIRED = 1
    ECHO_FUNCTION_FAILED = 2
    NEIGHBOR_SIGNALED_SESSION_DOWN = 3
    FORWARDING_PLANE_RESET = 4
    PATH_DOWN = 5
    CONCATENATED_PATH_DOWN = 6
    ADMINISTRATIVELY_DOWN = 7
    REVERSE_CONCATENATED_PATH_DOWN = 8

    @classmethod
    def describe(cls, value: int) -> str:
        """Text for any 5-bit value, the reserved ones (9..31) included."""
        try:
            return _DIAG_TEXT[cls(value)]
        except ValueError:
            return f"reserved ({value})"


_DIAG_TEXT = {
    Diag.NONE: "no diagnostic",
    Diag.CONTROL_DETECTION_TIME_EXPIRED: "control detection time expired",
    Diag.ECHO_FUNCTION_FAILED: "echo function failed",
    Diag.NEIGHBOR_SIGNALED_SESSION_DOWN: "neighbor signaled session down",
    Diag.FORWARDING_PLANE_RESET: "forwarding plane reset",
    Diag.PATH_DOWN: "path down",
    Diag.CONCATENATED_PATH_DOWN: "concatenated path down",
    Diag.ADMINISTRATIVELY_DOWN: "administratively down",
    Diag.REVERSE_CONCATENATED_PATH_DOWN: "reverse concatenated path down",
}
