"""KEEPALIVE, NOTIFICATION (with RFC 8203/9003 shutdown communication) and ROUTE-REFRESH
(RFC 2918, RFC 7313 subtypes)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from .errors import (
    CeaseSubcode,
    DecodeError,
    ErrorCode,
    RouteRefreshSubcode,
    code_name,
    subcode_name,
)
from .family import Context, afi_text, safi_text
from .message import HEADER_LENGTH, KEEPALIVE, MARKER, NOTIFICATION, ROUTE_REFRESH, Message

MAX_SHUTDOWN_MESSAGE = 255  # RFC 9003
# the most data a NOTIFICATION can carry in any session (4096-octet messages, RFC 4271 4.5):
# data taken from a received message (RFC 7313 section 5 asks for the whole ROUTE-REFRESH, which
# may be 4096 or, with extended messages, 65535 octets) is cut to this so the NOTIFICATION
# can always be sent
MAX_NOTIFICATION_DATA = 4096 - HEADER_LENGTH - 2


@dataclass(frozen=True, slots=True)
class Keepalive(Message):
    TYPE: ClassVar[int] = KEEPALIVE

    @classmethod
    def decode_body(cls, body: bytes, ctx: Context | None = None) -> Keepalive:
        if body:
            raise DecodeError(
                ErrorCode.MESSAGE_HEADER,
                2,
                f"KEEPALIVE has a {len(body)}-octet body",
                field="header.length",
            )
        return cls()

    def encode_body(self, ctx: Context) -> bytes:
        return b""

    def json_body(self) -> dict[str, Any]:
        return {}


@dataclass(frozen=True, slots=True)
class Notification(Message):
    TYPE: ClassVar[int] = NOTIFICATION

    code: int
    subcode: int = 0
    data: bytes = b""

    @classmethod
    def from_error(cls, error: DecodeError) -> Notification:
        return cls(error.code, error.subcode, error.data[:MAX_NOTIFICATION_DATA])

    @classmethod
    def cease(cls, subcode: int, message: str = "") -> Notification:
        """A Cease; administrative shutdown and reset carry ``message`` (RFC 9003: at most 255
        octets of UTF-8, cut at a character boundary)."""
        data = b""
        if message and subcode in (
            CeaseSubcode.ADMINISTRATIVE_SHUTDOWN,
            CeaseSubcode.ADMINISTRATIVE_RESET,
        ):
            raw = message.encode("utf-8")[:MAX_SHUTDOWN_MESSAGE]
            raw = raw.decode("utf-8", "ignore").encode("utf-8")
            data = bytes((len(raw),)) + raw
        return cls(ErrorCode.CEASE, subcode, data)

    def hard_reset(self) -> Notification:
        """This notification wrapped as Cease/Hard Reset (RFC 8538 section 3: the data is the
        encapsulated error code, subcode and data), which tells a graceful-restart peer to flush
        our routes instead of keeping them as stale."""
        if self.code == ErrorCode.CEASE and self.subcode == CeaseSubcode.HARD_RESET:
            return self
        data = bytes((self.code, self.subcode)) + self.data
        return Notification(ErrorCode.CEASE, CeaseSubcode.HARD_RESET, data[:MAX_NOTIFICATION_DATA])

    @property
    def inner(self) -> Notification:
        """For a Hard Reset, the notification it carries; otherwise the notification itself."""
        hard = self.code == ErrorCode.CEASE and self.subcode == CeaseSubcode.HARD_RESET
        if hard and len(self.data) >= 2:
            return Notification(self.data[0], self.data[1], self.data[2:])
        return self

    @property
    def shutdown_message(self) -> str | None:
        """The shutdown communication of a Cease/administrative shutdown or reset (also inside a
        Hard Reset), when the data is a well-formed one (length octet that matches, valid
        UTF-8); otherwise None."""
        note = self.inner
        if note.code != ErrorCode.CEASE or note.subcode not in (2, 4) or not note.data:
            return None
        n = note.data[0]
        if n + 1 != len(note.data):
            return None
        try:
            return note.data[1:].decode("utf-8")
        except UnicodeDecodeError:
            return None

    @classmethod
    def decode_body(cls, body: bytes, ctx: Context | None = None) -> Notification:
        if len(body) < 2:
            raise DecodeError(
                ErrorCode.MESSAGE_HEADER,
                2,
                "NOTIFICATION body is shorter than 2 octets",
                field="header.length",
            )
        return cls(body[0], body[1], bytes(body[2:]))

    def encode_body(self, ctx: Context) -> bytes:
        return bytes((self.code, self.subcode)) + self.data

    def json_body(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "code": self.code,
            "code_name": code_name(self.code),
            "subcode": self.subcode,
            "subcode_name": subcode_name(self.code, self.subcode),
            "data": self.data.hex(),
        }
        msg = self.shutdown_message
        if msg is not None:
            out["shutdown_message"] = msg
        return out

    def __str__(self) -> str:
        text = f"{code_name(self.code)}/{subcode_name(self.code, self.subcode)}"
        inner = self.inner
        if inner is not self:
            text += f"({code_name(inner.code)}/{subcode_name(inner.code, inner.subcode)})"
        msg = self.shutdown_message
        return f"{text}: {msg!r}" if msg else text


REFRESH_NORMAL = 0
REFRESH_BORR = 1
REFRESH_EORR = 2
_SUBTYPE_NAMES = {0: "refresh", 1: "begin", 2: "end"}


@dataclass(frozen=True, slots=True)
class RouteRefresh(Message):
    """ROUTE-REFRESH; ``subtype`` 1/2 are RFC 7313 Begin/End-of-RIB-refresh; ``orf`` keeps ORF
    entries (RFC 5291) as raw bytes."""

    TYPE: ClassVar[int] = ROUTE_REFRESH

    afi: int
    safi: int
    subtype: int = REFRESH_NORMAL
    orf: bytes = b""

    @classmethod
    def decode_body(cls, body: bytes, ctx: Context | None = None) -> RouteRefresh:
        if len(body) < 4:
            raise DecodeError(
                ErrorCode.MESSAGE_HEADER,
                2,
                "ROUTE-REFRESH body is shorter than 4 octets",
                field="header.length",
            )
        subtype = body[2]
        if subtype in (REFRESH_BORR, REFRESH_EORR) and len(body) != 4:
            # RFC 7313 section 5
            raise DecodeError(
                ErrorCode.ROUTE_REFRESH,
                RouteRefreshSubcode.INVALID_MESSAGE_LENGTH,
                f"{_SUBTYPE_NAMES[subtype]}-of-RIB-refresh must be 23 octets, got {19 + len(body)}",
                field="route_refresh.length",
                # RFC 7313 section 5: the data is the complete ROUTE-REFRESH message
                data=MARKER + (HEADER_LENGTH + len(body)).to_bytes(2, "big") + b"\x05" + body,
            )
        return cls(int.from_bytes(body[:2], "big"), body[3], subtype, bytes(body[4:]))

    def encode_body(self, ctx: Context) -> bytes:
        return self.afi.to_bytes(2, "big") + bytes((self.subtype, self.safi)) + self.orf

    def json_body(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "afi": afi_text(self.afi),
            "safi": safi_text(self.safi),
            "subtype": _SUBTYPE_NAMES.get(self.subtype, str(self.subtype)),
        }
        if self.orf:
            out["orf"] = self.orf.hex()
        return out
