"""MRT type and subtype codes (RFC 6396 section 4, RFC 8050, and the deprecated ones of the MRT
draft that old collector archives still contain), plus the BGP FSM states of STATE_CHANGE.

Records keep the codes as plain ``int`` (a file may hold codes nobody assigned); these enums give
them names for people and for ``isinstance``-free dispatch.
"""

from __future__ import annotations

import enum


class MrtType(enum.IntEnum):
    """MRT record types (RFC 6396 section 4, RFC 8050)."""

    NULL = 0
    START = 1
    DIE = 2
    I_AM_DEAD = 3
    PEER_DOWN = 4
    BGP = 5  # deprecated
    RIP = 6
    IDRP = 7
    RIPNG = 8
    BGP4PLUS = 9
    BGP4PLUS_01 = 10
    OSPFV2 = 11
    TABLE_DUMP = 12
    TABLE_DUMP_V2 = 13
    BGP4MP = 16
    BGP4MP_ET = 17
    ISIS = 32
    ISIS_ET = 33
    OSPFV3 = 48
    OSPFV3_ET = 49


class TableDumpSubtype(enum.IntEnum):
    """TABLE_DUMP (v1) subtypes are the AFI; 3 and 4 are a bgpdump extension with 4-octet AS."""

    AFI_IPV4 = 1
    AFI_IPV6 = 2
    AFI_IPV4_AS4 = 3
    AFI_IPV6_AS4 = 4


class TableDumpV2Subtype(enum.IntEnum):
    PEER_INDEX_TABLE = 1
    RIB_IPV4_UNICAST = 2
    RIB_IPV4_MULTICAST = 3
    RIB_IPV6_UNICAST = 4
    RIB_IPV6_MULTICAST = 5
    RIB_GENERIC = 6
    GEO_PEER_TABLE = 7  # RFC 6397
    RIB_IPV4_UNICAST_ADDPATH = 8
    RIB_IPV4_MULTICAST_ADDPATH = 9
    RIB_IPV6_UNICAST_ADDPATH = 10
    RIB_IPV6_MULTICAST_ADDPATH = 11
    RIB_GENERIC_ADDPATH = 12


class Bgp4mpSubtype(enum.IntEnum):
    STATE_CHANGE = 0
    MESSAGE = 1
    ENTRY = 2  # deprecated
    SNAPSHOT = 3  # deprecated
    MESSAGE_AS4 = 4
    STATE_CHANGE_AS4 = 5
    MESSAGE_LOCAL = 6
    MESSAGE_AS4_LOCAL = 7
    MESSAGE_ADDPATH = 8
    MESSAGE_AS4_ADDPATH = 9
    MESSAGE_LOCAL_ADDPATH = 10
    MESSAGE_AS4_LOCAL_ADDPATH = 11


class BgpSubtype(enum.IntEnum):
    """Subtypes of the deprecated BGP type (5), found in archives before 2001."""

    NULL = 0
    UPDATE = 1
    PREF_UPDATE = 2
    STATE_CHANGE = 3
    SYNC = 4
    OPEN = 5
    NOTIFY = 6
    KEEPALIVE = 7


class BgpState(enum.IntEnum):
    """BGP FSM states as STATE_CHANGE records number them (RFC 6396 section 4.4.1)."""

    IDLE = 1
    CONNECT = 2
    ACTIVE = 3
    OPENSENT = 4
    OPENCONFIRM = 5
    ESTABLISHED = 6


def type_name(mrt_type: int, subtype: int) -> str:
    """``'BGP4MP/MESSAGE_AS4'``; unassigned codes print as numbers."""
    try:
        tname = MrtType(mrt_type).name
    except ValueError:
        return f"{mrt_type}/{subtype}"
    table: type[enum.IntEnum] | None = {
        MrtType.TABLE_DUMP: TableDumpSubtype,
        MrtType.TABLE_DUMP_V2: TableDumpV2Subtype,
        MrtType.BGP4MP: Bgp4mpSubtype,
        MrtType.BGP4MP_ET: Bgp4mpSubtype,
        MrtType.BGP: BgpSubtype,
    }.get(MrtType(mrt_type))
    if table is not None:
        try:
            return f"{tname}/{table(subtype).name}"
        except ValueError:
            pass
    return f"{tname}/{subtype}"
