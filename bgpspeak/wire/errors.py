"""Typed decode errors that carry the NOTIFICATION a peer must receive.

A malformed message is a routine event on a BGP session, not a bug: every path that rejects input
raises :class:`DecodeError`, which says what to put on the wire (RFC 4271 section 6 code, subcode
and data) and how the session must react (the RFC 7606 action), so the session layer never has to
guess from an exception type or a message string.
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .update import Update


class ErrorCode(enum.IntEnum):
    """NOTIFICATION error codes (RFC 4271 section 4.5, RFC 7313, RFC 9687)."""

    MESSAGE_HEADER = 1
    OPEN_MESSAGE = 2
    UPDATE_MESSAGE = 3
    HOLD_TIMER_EXPIRED = 4
    FSM = 5
    CEASE = 6
    ROUTE_REFRESH = 7
    SEND_HOLD_TIMER_EXPIRED = 8


class HeaderSubcode(enum.IntEnum):
    """Message Header Error subcodes (RFC 4271 section 6.1)."""

    UNSPECIFIC = 0
    CONNECTION_NOT_SYNCHRONIZED = 1
    BAD_MESSAGE_LENGTH = 2
    BAD_MESSAGE_TYPE = 3


class OpenSubcode(enum.IntEnum):
    """OPEN Message Error subcodes (RFC 4271 section 6.2, RFC 5492, RFC 9234)."""

    UNSPECIFIC = 0
    UNSUPPORTED_VERSION_NUMBER = 1
    BAD_PEER_AS = 2
    BAD_BGP_IDENTIFIER = 3
    UNSUPPORTED_OPTIONAL_PARAMETER = 4
    AUTHENTICATION_FAILURE = 5  # deprecated (RFC 4271)
    UNACCEPTABLE_HOLD_TIME = 6
    UNSUPPORTED_CAPABILITY = 7  # RFC 5492
    ROLE_MISMATCH = 11  # RFC 9234


class UpdateSubcode(enum.IntEnum):
    """UPDATE Message Error subcodes (RFC 4271 section 6.3)."""

    UNSPECIFIC = 0
    MALFORMED_ATTRIBUTE_LIST = 1
    UNRECOGNIZED_WELL_KNOWN_ATTRIBUTE = 2
    MISSING_WELL_KNOWN_ATTRIBUTE = 3
    ATTRIBUTE_FLAGS_ERROR = 4
    ATTRIBUTE_LENGTH_ERROR = 5
    INVALID_ORIGIN_ATTRIBUTE = 6
    AS_ROUTING_LOOP = 7  # deprecated
    INVALID_NEXT_HOP_ATTRIBUTE = 8
    OPTIONAL_ATTRIBUTE_ERROR = 9
    INVALID_NETWORK_FIELD = 10
    MALFORMED_AS_PATH = 11


class FsmSubcode(enum.IntEnum):
    """RFC 6608."""

    UNSPECIFIED = 0
    UNEXPECTED_MESSAGE_IN_OPENSENT = 1
    UNEXPECTED_MESSAGE_IN_OPENCONFIRM = 2
    UNEXPECTED_MESSAGE_IN_ESTABLISHED = 3


class CeaseSubcode(enum.IntEnum):
    """RFC 4486, RFC 8538, RFC 9384."""

    UNSPECIFIC = 0
    MAXIMUM_PREFIXES_REACHED = 1
    ADMINISTRATIVE_SHUTDOWN = 2
    PEER_DECONFIGURED = 3
    ADMINISTRATIVE_RESET = 4
    CONNECTION_REJECTED = 5
    OTHER_CONFIGURATION_CHANGE = 6
    CONNECTION_COLLISION_RESOLUTION = 7
    OUT_OF_RESOURCES = 8
    HARD_RESET = 9
    BFD_DOWN = 10


class RouteRefreshSubcode(enum.IntEnum):
    """RFC 7313."""

    RESERVED = 0
    INVALID_MESSAGE_LENGTH = 1


SUBCODES: dict[int, type[enum.IntEnum]] = {
    ErrorCode.MESSAGE_HEADER: HeaderSubcode,
    ErrorCode.OPEN_MESSAGE: OpenSubcode,
    ErrorCode.UPDATE_MESSAGE: UpdateSubcode,
    ErrorCode.FSM: FsmSubcode,
    ErrorCode.CEASE: CeaseSubcode,
    ErrorCode.ROUTE_REFRESH: RouteRefreshSubcode,
}


def code_name(code: int) -> str:
    try:
        return ErrorCode(code).name
    except ValueError:
        return f"UNKNOWN_{code}"


def subcode_name(code: int, subcode: int) -> str:
    table = SUBCODES.get(code)
    if table is not None:
        try:
            return table(subcode).name
        except ValueError:
            pass
    return f"UNKNOWN_{subcode}" if subcode else "UNSPECIFIC"


class Action(enum.IntEnum):
    """What the session does with a malformed message (RFC 7606 section 2), weakest first.

    The numeric order is the severity order, so ``max()`` over several errors in one UPDATE gives
    the action RFC 7606 section 3 says to take.
    """

    ATTRIBUTE_DISCARD = 1
    TREAT_AS_WITHDRAW = 2
    AFI_SAFI_DISABLE = 3
    SESSION_RESET = 4


class BGPError(Exception):
    """Base class of every error bgpspeak raises on purpose."""


class DecodeError(BGPError):
    """A malformed message, with the NOTIFICATION to send and the RFC 7606 action to take.

    ``field`` names where in the message the problem is (``update.attributes[2](COMMUNITIES)``),
    ``reason`` says what is wrong with it. For ``TREAT_AS_WITHDRAW`` and ``ATTRIBUTE_DISCARD``
    ``update`` is the message as far as it could be read, with the bad attributes left out: the
    session withdraws ``update``'s routes, or processes it, and stays up.
    """

    code: int
    subcode: int
    data: bytes
    action: Action
    field: str
    reason: str
    update: Update | None

    def __init__(
        self,
        code: int,
        subcode: int,
        reason: str,
        *,
        field: str = "",
        data: bytes = b"",
        action: Action = Action.SESSION_RESET,
        update: Update | None = None,
    ) -> None:
        self.code = code
        self.subcode = subcode
        self.reason = reason
        self.field = field
        self.data = bytes(data)
        self.action = action
        self.update = update
        super().__init__(self.__str__())

    def __str__(self) -> str:
        where = f"{self.field}: " if self.field else ""
        return (
            f"{where}{self.reason} "
            f"[{code_name(self.code)}/{subcode_name(self.code, self.subcode)}, "
            f"{self.action.name.lower()}]"
        )

    def with_context(self, prefix: str) -> DecodeError:
        """Prepend the enclosing field name; the same error object travels up."""
        self.field = f"{prefix}.{self.field}" if self.field else prefix
        self.args = (self.__str__(),)
        return self

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "code": int(self.code),
            "code_name": code_name(self.code),
            "subcode": int(self.subcode),
            "subcode_name": subcode_name(self.code, self.subcode),
            "action": self.action.name.lower(),
            "field": self.field,
            "reason": self.reason,
            "data": self.data.hex(),
        }
        return out


def header_error(subcode: int, reason: str, data: bytes = b"") -> DecodeError:
    return DecodeError(ErrorCode.MESSAGE_HEADER, subcode, reason, field="header", data=data)


def open_error(subcode: int, reason: str, field: str, data: bytes = b"") -> DecodeError:
    return DecodeError(ErrorCode.OPEN_MESSAGE, subcode, reason, field=field, data=data)


def update_error(
    subcode: int,
    reason: str,
    field: str,
    action: Action,
    data: bytes = b"",
) -> DecodeError:
    return DecodeError(
        ErrorCode.UPDATE_MESSAGE, subcode, reason, field=field, data=data, action=action
    )
