"""The BFD Control packet (RFC 5880 section 4.1): bytes in, a frozen value out, and back.

Decoding applies every check of RFC 5880 section 6.8.6 that needs nothing but the packet
itself, and reports a failure as a :class:`PacketError` whose ``kind`` says which rule was
broken, so the transport can count discards by reason instead of guessing from a message.
Checks that need a session (which session, authentication in use) are the table's and the
session's.

    0                   1                   2                   3
    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
   |Vers |  Diag   |Sta|P|F|C|A|D|M|  Detect Mult  |    Length     |
   |                       My Discriminator                        |
   |                      Your Discriminator                       |
   |                    Desired Min TX Interval                    |
   |                   Required Min RX Interval                    |
   |                 Required Min Echo RX Interval                 |
   |       (Auth Type, Auth Len, authentication data ...)          |
"""

from __future__ import annotations

import enum
import struct
from dataclasses import dataclass

from .codes import State

VERSION = 1
HEADER = struct.Struct("!BBBBIIIII")
MIN_LENGTH = HEADER.size  # 24
MIN_AUTH_LENGTH = MIN_LENGTH + 2  # the A bit promises at least Auth Type and Auth Len

_P, _F, _C, _A, _D, _M = 0x20, 0x10, 0x08, 0x04, 0x02, 0x01
_U32 = 0xFFFFFFFF


class Malformed(enum.Enum):
    """Which reception rule of RFC 5880 section 6.8.6 a packet broke (the counter names)."""

    TRUNCATED = "truncated"  # shorter than 24 octets, or Length beyond the datagram
    BAD_VERSION = "bad-version"
    BAD_LENGTH = "bad-length"  # Length below 24 (26 with the A bit)
    ZERO_DETECT_MULT = "zero-detect-mult"
    MULTIPOINT = "multipoint"
    ZERO_MY_DISCRIMINATOR = "zero-my-discriminator"
    ZERO_YOUR_DISCRIMINATOR = "zero-your-discriminator"  # only valid in Down / AdminDown
    BAD_AUTH_SECTION = "bad-auth-section"


class PacketError(ValueError):
    """A datagram that is not an acceptable BFD Control packet; ``kind`` names the rule."""

    def __init__(self, kind: Malformed, detail: str) -> None:
        super().__init__(f"{kind.value}: {detail}")
        self.kind = kind
        self.detail = detail


@dataclass(frozen=True, slots=True)
class ControlPacket:
    """One BFD Control packet. Intervals are microseconds, as on the wire.

    ``auth`` is the raw authentication section (Auth Type, Auth Len, data); the A bit is set
    exactly when it is not empty. ``diag`` stays an int because values 9..31 are reserved,
    not invalid."""

    state: State
    my_discriminator: int
    your_discriminator: int = 0
    diag: int = 0
    detect_mult: int = 3
    desired_min_tx: int = 1_000_000
    required_min_rx: int = 1_000_000
    required_min_echo_rx: int = 0
    poll: bool = False
    final: bool = False
    control_plane_independent: bool = False
    demand: bool = False
    multipoint: bool = False
    auth: bytes = b""

    @property
    def authenticated(self) -> bool:
        return bool(self.auth)

    def encode(self) -> bytes:
        if not 0 <= self.diag <= 31:
            raise ValueError(f"diag {self.diag} does not fit 5 bits")
        if not 0 <= self.detect_mult <= 255:
            raise ValueError(f"detect_mult {self.detect_mult} does not fit one octet")
        length = MIN_LENGTH + len(self.auth)
        if length > 255:
            raise ValueError(f"authentication section of {len(self.auth)} octets is too long")
        if self.auth and len(self.auth) < 2:
            raise ValueError("an authentication section holds at least Auth Type and Auth Len")
        for name in (
            "my_discriminator",
            "your_discriminator",
            "desired_min_tx",
            "required_min_rx",
            "required_min_echo_rx",
        ):
            value = getattr(self, name)
            if not 0 <= value <= _U32:
                raise ValueError(f"{name} {value} does not fit 32 bits")
        flags = (int(self.state) << 6) | (
            (_P if self.poll else 0)
            | (_F if self.final else 0)
            | (_C if self.control_plane_independent else 0)
            | (_A if self.auth else 0)
            | (_D if self.demand else 0)
            | (_M if self.multipoint else 0)
        )
        return (
            HEADER.pack(
                (VERSION << 5) | self.diag,
                flags,
                self.detect_mult,
                length,
                self.my_discriminator,
                self.your_discriminator,
                self.desired_min_tx,
                self.required_min_rx,
                self.required_min_echo_rx,
            )
            + self.auth
        )


def decode(data: bytes) -> ControlPacket:
    """Decode one datagram's payload; raises :class:`PacketError` and nothing else."""
    if len(data) < MIN_LENGTH:
        raise PacketError(Malformed.TRUNCATED, f"{len(data)} octets, a packet has at least 24")
    (vers_diag, flags, mult, length, my_d, your_d, tx, rx, echo) = HEADER.unpack_from(data)
    version = vers_diag >> 5
    if version != VERSION:
        raise PacketError(Malformed.BAD_VERSION, f"version {version}, expected {VERSION}")
    has_auth = bool(flags & _A)
    minimum = MIN_AUTH_LENGTH if has_auth else MIN_LENGTH
    if length < minimum:
        raise PacketError(Malformed.BAD_LENGTH, f"Length {length} is below {minimum}")
    if length > len(data):
        raise PacketError(
            Malformed.TRUNCATED, f"Length {length} is beyond the {len(data)}-octet datagram"
        )
    if mult == 0:
        raise PacketError(Malformed.ZERO_DETECT_MULT, "Detect Mult is zero")
    if flags & _M:
        raise PacketError(Malformed.MULTIPOINT, "the Multipoint bit is set")
    if my_d == 0:
        raise PacketError(Malformed.ZERO_MY_DISCRIMINATOR, "My Discriminator is zero")
    state = State(flags >> 6)
    if your_d == 0 and state not in (State.DOWN, State.ADMIN_DOWN):
        raise PacketError(
            Malformed.ZERO_YOUR_DISCRIMINATOR,
            f"Your Discriminator is zero in state {state.label}",
        )
    auth = b""
    if has_auth:
        auth = bytes(data[MIN_LENGTH:length])
        auth_len = auth[1]
        if auth_len < 2 or auth_len != len(auth):
            raise PacketError(
                Malformed.BAD_AUTH_SECTION,
                f"Auth Len {auth_len} does not match the {len(auth)} octets after the header",
            )
    return ControlPacket(
        state=state,
        my_discriminator=my_d,
        your_discriminator=your_d,
        diag=vers_diag & 0x1F,
        detect_mult=mult,
        desired_min_tx=tx,
        required_min_rx=rx,
        required_min_echo_rx=echo,
        poll=bool(flags & _P),
        final=bool(flags & _F),
        control_plane_independent=bool(flags & _C),
        demand=bool(flags & _D),
        multipoint=False,
        auth=auth,
    )
