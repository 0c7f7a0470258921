"""BGP4MP and BGP4MP_ET records (RFC 6396 sections 4.4 and 4.5, RFC 8050 section 3).

An update trace is mostly MESSAGE records, so this is the other hot path: one struct unpack for
the header, interned addresses, and three cheap checks that the embedded message is framed
(marker, 19-octet minimum, header length equal to what the record holds). Decoding the message
itself is left to :meth:`Bgp4mpMessage.decode`.

Two defects of old Zebra/Quagga writers are recognised, as bgpdump does, because RIPE RIS and
Route Views archives of 1999-2002 are full of them: MESSAGE records without interface index,
address family and addresses (the message starts where the interface index should be, so that
field and the AFI read 0xFFFF, the first octets of the marker), and 8-octet STATE_CHANGE records
with only the AS numbers and the states. Their addresses read as 0.0.0.0.
"""

from __future__ import annotations

import struct

from ..wire import MARKER, Family
from .errors import RecordCorrupt
from .nlri import nlri_at
from .records import (
    UNSPECIFIED_V4,
    Bgp4mpEntry,
    Bgp4mpMessage,
    Bgp4mpStateChange,
    UnsupportedRecord,
)
from .state import ReaderState

_new = tuple.__new__
_U32 = struct.Struct(">I").unpack_from
_HEAD_AS2 = struct.Struct(">HHHH")  # peer AS, local AS, interface index, AFI
_HEAD_AS4 = struct.Struct(">IIHH")
_STATES = struct.Struct(">HH")
_ENTRY_FIELDS = struct.Struct(">HHIHBB")  # view, status, originated, AFI, SAFI, next-hop length
_ADDRESS_PAIR = {1: 8, 2: 32}

# MESSAGE subtypes -> (4-octet AS, sent by the collector, ADD-PATH)
_MESSAGE_SUBTYPES = {
    1: (False, False, False),
    4: (True, False, False),
    6: (False, True, False),
    7: (True, True, False),
    8: (False, False, True),
    9: (True, False, True),
    10: (False, True, True),
    11: (True, True, True),
}

Bgp4mpRecord = Bgp4mpMessage | Bgp4mpStateChange | Bgp4mpEntry | UnsupportedRecord


def decode_bgp4mp(
    ts: float, rtype: int, subtype: int, body: bytes, state: ReaderState
) -> Bgp4mpRecord:
    p = 0
    if rtype == 17:
        # BGP4MP_ET: the microseconds come first and are counted in the record length
        if len(body) < 4:
            raise RecordCorrupt(f"BGP4MP_ET record of {len(body)} octets has no microseconds")
        ts += _U32(body)[0] / 1e6
        p = 4
    info = _MESSAGE_SUBTYPES.get(subtype)
    if info is not None:
        return _message(ts, rtype, subtype, body, p, info, state)
    if subtype == 0 or subtype == 5:
        return _state_change(ts, rtype, subtype, body, p, subtype == 5, state)
    if subtype == 2:
        return _entry(ts, rtype, subtype, body, p, state)
    return UnsupportedRecord(ts, rtype, subtype, body, f"BGP4MP subtype {subtype}")


def _message(
    ts: float,
    rtype: int,
    subtype: int,
    body: bytes,
    p: int,
    info: tuple[bool, bool, bool],
    state: ReaderState,
) -> Bgp4mpMessage:
    as4, sent, add_path = info
    head = _HEAD_AS4 if as4 else _HEAD_AS2
    q = p + head.size
    n = len(body)
    if q > n:
        raise RecordCorrupt(f"BGP4MP header truncated: {n - p} octets")
    peer_as, local_as, interface, afi = head.unpack_from(body, p)
    size = _ADDRESS_PAIR.get(afi)
    if size is not None:
        a = q + size
        if a > n:
            raise RecordCorrupt(f"BGP4MP addresses truncated: {n - q} octets for AFI {afi}")
        peer_ip, local_ip = state.address_pair(body[q:a])
        data = body[a:]
    elif afi == 0xFFFF and interface == 0xFFFF and body.startswith(MARKER, q - 4):
        peer_ip = local_ip = UNSPECIFIED_V4  # old Zebra: no interface, AFI or addresses
        interface = 0
        data = body[q - 4 :]
    else:
        raise RecordCorrupt(f"BGP4MP address family {afi} is neither IPv4 (1) nor IPv6 (2)")
    m = len(data)
    if m < 19:
        raise RecordCorrupt(f"embedded BGP message of {m} octets is shorter than its header")
    if not data.startswith(MARKER):
        raise RecordCorrupt("embedded BGP message does not start with the marker")
    length = (data[16] << 8) | data[17]
    if length != m:
        raise RecordCorrupt(
            f"embedded BGP message header says {length} octets, the record holds {m}"
        )
    return _new(
        Bgp4mpMessage,
        (
            ts,
            rtype,
            subtype,
            peer_as,
            local_as,
            interface,
            peer_ip,
            local_ip,
            as4,
            add_path,
            sent,
            data,
        ),
    )


def _state_change(
    ts: float, rtype: int, subtype: int, body: bytes, p: int, as4: bool, state: ReaderState
) -> Bgp4mpStateChange:
    n = len(body)
    if not as4 and n - p == 8:  # old Zebra: AS numbers and states only
        peer_as, local_as, old, new = _HEAD_AS2.unpack_from(body, p)
        return Bgp4mpStateChange(
            ts, rtype, subtype, peer_as, local_as, 0, UNSPECIFIED_V4, UNSPECIFIED_V4, as4, old, new
        )
    head = _HEAD_AS4 if as4 else _HEAD_AS2
    q = p + head.size
    if q > n:
        raise RecordCorrupt(f"STATE_CHANGE header truncated: {n - p} octets")
    peer_as, local_as, interface, afi = head.unpack_from(body, p)
    size = _ADDRESS_PAIR.get(afi)
    if size is None:
        raise RecordCorrupt(f"STATE_CHANGE address family {afi} is neither IPv4 (1) nor IPv6 (2)")
    a = q + size
    if a + 4 != n:
        raise RecordCorrupt(f"STATE_CHANGE of {n - p} octets, AFI {afi} needs {a + 4 - p}")
    peer_ip, local_ip = state.address_pair(body[q:a])
    old, new = _STATES.unpack_from(body, a)
    return Bgp4mpStateChange(
        ts, rtype, subtype, peer_as, local_as, interface, peer_ip, local_ip, as4, old, new
    )


def _entry(
    ts: float, rtype: int, subtype: int, body: bytes, p: int, state: ReaderState
) -> Bgp4mpEntry | UnsupportedRecord:
    """BGP4MP_ENTRY, as the MRT draft defined it and OpenBGPD wrote it (2-octet AS)."""
    n = len(body)
    q = p + _HEAD_AS2.size
    if q > n:
        raise RecordCorrupt(f"BGP4MP_ENTRY header truncated: {n - p} octets")
    peer_as, local_as, interface, afi = _HEAD_AS2.unpack_from(body, p)
    size = _ADDRESS_PAIR.get(afi)
    if size is None:
        raise RecordCorrupt(f"BGP4MP_ENTRY address family {afi} is neither IPv4 (1) nor IPv6 (2)")
    a = q + size
    if a + _ENTRY_FIELDS.size > n:
        raise RecordCorrupt("BGP4MP_ENTRY fields truncated")
    peer_ip, local_ip = state.address_pair(body[q:a])
    view, status, originated, rafi, rsafi, nhlen = _ENTRY_FIELDS.unpack_from(body, a)
    family = Family(rafi, rsafi)
    h = a + _ENTRY_FIELDS.size
    next_hop = body[h : h + nhlen]
    h += nhlen
    found = nlri_at(family, body, h, "BGP4MP_ENTRY NLRI")
    if found is None:
        return UnsupportedRecord(
            ts, rtype, subtype, body, f"BGP4MP_ENTRY for {family}: NLRI length not known"
        )
    prefix, h = found
    if h + 2 > n:
        raise RecordCorrupt("BGP4MP_ENTRY ends before its attribute length")
    attr_len = (body[h] << 8) | body[h + 1]
    h += 2
    if h + attr_len != n:
        raise RecordCorrupt(
            f"BGP4MP_ENTRY attribute length {attr_len} does not match the {n - h} octets left"
        )
    attrs = state.rib_attributes.decode(body[h:], family, False)
    return Bgp4mpEntry(
        ts,
        rtype,
        subtype,
        peer_as,
        local_as,
        interface,
        peer_ip,
        local_ip,
        view,
        status,
        originated,
        family,
        next_hop,
        prefix,
        attrs,
    )
