"""The BGP message header and the base class of the five message types.

Every message class has a ``TYPE`` code, decodes its body with ``decode_body(body, ctx)`` and
encodes it with ``encode_body(ctx)``; ``codec.py`` holds the table from type codes to classes.
"""

from __future__ import annotations

from typing import Any, ClassVar, TypeVar

from .errors import ErrorCode, HeaderSubcode, header_error
from .family import DEFAULT_CONTEXT, Context

MARKER = b"\xff" * 16
HEADER_LENGTH = 19
MAX_LENGTH = 4096
MAX_EXTENDED_LENGTH = 65535

OPEN = 1
UPDATE = 2
NOTIFICATION = 3
KEEPALIVE = 4
ROUTE_REFRESH = 5

TYPE_NAMES = {
    OPEN: "open",
    UPDATE: "update",
    NOTIFICATION: "notification",
    KEEPALIVE: "keepalive",
    ROUTE_REFRESH: "route-refresh",
}

# smallest valid total length of each type (RFC 4271 section 6.1, RFC 2918)
MIN_LENGTH = {OPEN: 29, UPDATE: 23, NOTIFICATION: 21, KEEPALIVE: 19, ROUTE_REFRESH: 23}

M = TypeVar("M", bound="Message")


class Message:
    """Base class of OPEN, UPDATE, NOTIFICATION, KEEPALIVE and ROUTE-REFRESH."""

    __slots__ = ()

    TYPE: ClassVar[int] = 0

    @classmethod
    def decode_body(cls: type[M], body: bytes, ctx: Context) -> M:
        raise NotImplementedError

    def encode_body(self, ctx: Context) -> bytes:
        raise NotImplementedError

    def encode(self, ctx: Context = DEFAULT_CONTEXT) -> bytes:
        """The whole message, header included; ``ValueError`` when it is longer than the
        session allows (4096, or 65535 for UPDATE, NOTIFICATION and ROUTE-REFRESH with RFC 8654)."""
        body = self.encode_body(ctx)
        length = HEADER_LENGTH + len(body)
        limit = (
            ctx.max_message_length
            if self.TYPE in (UPDATE, ROUTE_REFRESH, NOTIFICATION)
            else MAX_LENGTH
        )
        if length > limit:
            raise ValueError(
                f"{TYPE_NAMES[self.TYPE].upper()} of {length} octets exceeds the maximum {limit}"
            )
        return MARKER + length.to_bytes(2, "big") + bytes((self.TYPE,)) + body

    def json_body(self) -> dict[str, Any]:
        raise NotImplementedError

    def to_json(self) -> dict[str, Any]:
        """The JSON form of docs/json.md: ``{"type": ..., ...}``."""
        out: dict[str, Any] = {"type": TYPE_NAMES[self.TYPE]}
        out.update(self.json_body())
        return out


def check_header(header: bytes, ctx: Context) -> tuple[int, int]:
    """Validate a 19-octet header (RFC 4271 section 6.1); return (type, total length).

    Checked before the body arrives, so a peer cannot make us wait for 64 KiB that a 4096-octet
    session never allows.
    """
    if header[:16] != MARKER:
        raise header_error(
            HeaderSubcode.CONNECTION_NOT_SYNCHRONIZED, "marker is not sixteen 0xff octets"
        )
    length = (header[16] << 8) | header[17]
    mtype = header[18]
    length_field = header[16:18]
    minimum = MIN_LENGTH.get(mtype)
    if minimum is None:
        err = header_error(
            HeaderSubcode.BAD_MESSAGE_TYPE, f"message type {mtype} is unknown", bytes((mtype,))
        )
        err.field = "header.type"
        raise err
    limit = ctx.max_message_length if mtype in (UPDATE, ROUTE_REFRESH, NOTIFICATION) else MAX_LENGTH
    if length < minimum or length > limit or (mtype == KEEPALIVE and length != HEADER_LENGTH):
        if mtype == KEEPALIVE and length != HEADER_LENGTH:
            why = f"KEEPALIVE length {length} is not 19"
        elif length < minimum:
            why = f"{TYPE_NAMES[mtype].upper()} length {length} is below the minimum {minimum}"
        else:
            why = f"{TYPE_NAMES[mtype].upper()} length {length} exceeds the maximum {limit}"
        err = header_error(HeaderSubcode.BAD_MESSAGE_LENGTH, why, length_field)
        err.field = "header.length"
        raise err
    return mtype, length


__all__ = [
    "HEADER_LENGTH",
    "KEEPALIVE",
    "MARKER",
    "NOTIFICATION",
    "OPEN",
    "ROUTE_REFRESH",
    "UPDATE",
    "ErrorCode",
    "Message",
    "check_header",
]
