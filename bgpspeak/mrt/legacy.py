"""The deprecated BGP type (5) of the original MRT format, still found in RIPE RIS archives of
1999-2000. RFC 6396 section 5 lists it without a layout; this follows the MRT draft and what
those archives hold: peer AS (2), peer IPv4 address, then for messages local AS (2), local IPv4
address and the message body *without* the 19-octet BGP header.
"""

from __future__ import annotations

import struct

from ..wire import MARKER
from .errors import RecordCorrupt
from .records import LegacyBgpMessage, LegacyBgpStateChange, UnsupportedRecord
from .state import ReaderState

_new = tuple.__new__
_PEERS = struct.Struct(">H4sH4s")  # peer AS, peer IP, local AS, local IP
_STATE = struct.Struct(">H4sHH")  # peer AS, peer IP, old state, new state

# BGP subtype -> BGP message type of the body
_MESSAGE_TYPES = {1: 2, 5: 1, 6: 3, 7: 4}  # UPDATE, OPEN, NOTIFY, KEEPALIVE

LegacyRecord = LegacyBgpMessage | LegacyBgpStateChange | UnsupportedRecord


def decode_legacy_bgp(
    ts: float, rtype: int, subtype: int, body: bytes, state: ReaderState
) -> LegacyRecord:
    msg_type = _MESSAGE_TYPES.get(subtype)
    n = len(body)
    if msg_type is not None:
        if n < _PEERS.size:
            raise RecordCorrupt(f"BGP message record of {n} octets, the addresses need 12")
        peer_as, peer_ip, local_as, local_ip = _PEERS.unpack_from(body)
        total = 19 + n - _PEERS.size
        if total > 0xFFFF:
            raise RecordCorrupt(f"BGP message of {total} octets does not fit a BGP header")
        data = MARKER + bytes((total >> 8, total & 0xFF, msg_type)) + body[_PEERS.size :]
        return _new(
            LegacyBgpMessage,
            (
                ts,
                rtype,
                subtype,
                peer_as,
                state.address(peer_ip),
                local_as,
                state.address(local_ip),
                data,
            ),
        )
    if subtype == 3:
        if n != _STATE.size:
            raise RecordCorrupt(f"BGP STATE_CHANGE of {n} octets, expected {_STATE.size}")
        peer_as, peer_ip, old, new = _STATE.unpack_from(body)
        return LegacyBgpStateChange(ts, rtype, subtype, peer_as, state.address(peer_ip), old, new)
    return UnsupportedRecord(ts, rtype, subtype, body, f"deprecated BGP subtype {subtype}")
