"""What makes a DecodeError a useful one, whatever the input: the session layer acts on it
without looking at anything else, so it must name a real NOTIFICATION that fits on the wire, an
RFC 7606 action that matches the message type, and (for the actions that keep the session up)
the part of the UPDATE that could be read."""

from __future__ import annotations

import json

from bgpspeak.wire import (
    Action,
    DecodeError,
    ErrorCode,
    Notification,
    Update,
)
from bgpspeak.wire.errors import SUBCODES

_HEADER = 19
#: which error codes a message of each type may raise (besides header errors, code 1)
_CODES_BY_TYPE = {
    1: {ErrorCode.OPEN_MESSAGE},
    2: {ErrorCode.UPDATE_MESSAGE},
    3: set(),
    4: set(),
    5: {ErrorCode.ROUTE_REFRESH},
}


def error_problems(err: DecodeError, data: bytes) -> list[str]:
    """Why ``err`` is not a sensible answer to the message ``data`` (empty when it is)."""
    out: list[str] = []
    if not isinstance(err.action, Action):
        out.append(f"action {err.action!r} is not an Action")
    try:
        code = ErrorCode(err.code)
    except ValueError:
        return [*out, f"code {err.code} is not an RFC error code"]
    table = SUBCODES.get(code)
    if table is not None and err.subcode not in {int(s) for s in table}:
        out.append(f"subcode {err.subcode} is not defined for {code.name}")
    if len(data) >= _HEADER and data[:16] == b"\xff" * 16 and code != ErrorCode.MESSAGE_HEADER:
        mtype = data[18]
        allowed = _CODES_BY_TYPE.get(mtype, set())
        if code not in allowed:
            out.append(f"{code.name} for a message of type {mtype}")
    if code != ErrorCode.UPDATE_MESSAGE and err.action != Action.SESSION_RESET:
        out.append(f"{err.action.name} for a {code.name} error (only UPDATE errors may spare it)")
    if err.action in (Action.TREAT_AS_WITHDRAW, Action.ATTRIBUTE_DISCARD):
        if not isinstance(err.update, Update):
            out.append(f"{err.action.name} without the readable part of the UPDATE")
        else:
            try:
                err.update.encode()
            except ValueError as e:  # a partial UPDATE may exceed 4096 octets only if data did
                if len(data) <= 4096:
                    out.append(f"err.update does not encode: {e}")
    elif err.update is not None:
        out.append(f"{err.action.name} with a partial UPDATE attached")
    if not err.reason or not err.field:
        out.append("empty reason or field")
    try:
        json.dumps(err.to_json())
        str(err)
    except Exception as e:
        out.append(f"error does not render: {type(e).__name__}: {e}")
    try:
        Notification.from_error(err).encode()
    except Exception as e:
        out.append(f"its NOTIFICATION cannot be sent: {type(e).__name__}: {e}")
    return out
