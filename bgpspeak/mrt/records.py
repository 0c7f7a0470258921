"""The records :func:`bgpspeak.mrt.read_mrt` yields, one class per kind of MRT content.

Records are named tuples: immutable, and cheap to build (a RIB dump is millions of entries, an
update trace hundreds of thousands of messages). Every record starts with ``timestamp`` (seconds
since the epoch as a float, with the microseconds of the ``_ET`` types), ``type`` and
``subtype`` (the MRT codes, see :mod:`bgpspeak.mrt.types`).

BGP messages inside BGP4MP records stay raw bytes until :meth:`Bgp4mpMessage.decode` is called:
most consumers filter on peer, time or message type first, and decoding what they then skip
would be most of the cost. RIB attributes are decoded while reading, because a RIB entry is
nothing but its attributes (and they are cached by their bytes, which repeat across prefixes).
"""

from __future__ import annotations

import ipaddress
from typing import NamedTuple

from ..wire import AttributeCache, Context, Family, Message, PathAttribute, Prefix, decode_message
from ..wire.family import PREFIX_FAMILIES

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
#: an IP prefix, or the raw NLRI of a family whose NLRI bgpspeak does not interpret
Nlri = Prefix | bytes

UNSPECIFIED_V4 = ipaddress.IPv4Address(0)

_CONTEXTS: dict[tuple[bool, bool, bool], Context] = {
    (as4, add_path, ibgp): Context(
        asn4=as4,
        add_path=PREFIX_FAMILIES if add_path else frozenset(),
        extended_message=True,
        ibgp=ibgp,
    )
    for as4 in (False, True)
    for add_path in (False, True)
    for ibgp in (False, True)
}


def message_context(as4: bool, add_path: bool, ibgp: bool = False) -> Context:
    """The decoding context of a recorded message.

    The collector saw the session's OPENs; the record only keeps their outcome: the subtype says
    whether AS numbers are 4 octets and whether NLRI carry ADD-PATH identifiers (RFC 8050 says
    the ADDPATH subtypes mean every NLRI of the message has one, so all prefix families get it).
    Extended messages are always allowed: a collector records whatever the session carried.
    """
    return _CONTEXTS[(as4, add_path, ibgp)]


class Peer(NamedTuple):
    """A peer of the collector: from the PEER_INDEX_TABLE, or made up from a TABLE_DUMP (v1) or
    BGP4MP_ENTRY record, which carry no BGP identifier (``bgp_id`` is then 0.0.0.0)."""

    bgp_id: ipaddress.IPv4Address
    ip: IPAddress
    asn: int


class RibEntry(NamedTuple):
    """One path to one prefix in a RIB dump.

    ``prefix`` carries ``path_id`` too when the dump has ADD-PATH identifiers. For RIB_GENERIC
    records of families whose NLRI bgpspeak does not interpret, ``prefix`` is the raw NLRI.
    """

    peer: Peer
    originated: int
    path_id: int | None
    prefix: Nlri
    attributes: tuple[PathAttribute, ...]

    def get(self, type_code: int) -> PathAttribute | None:
        for a in self.attributes:
            if a.type_code == type_code:
                return a
        return None


class PeerIndexTable(NamedTuple):
    """TABLE_DUMP_V2 PEER_INDEX_TABLE: the peers the following RIB records refer to by index."""

    timestamp: float
    type: int
    subtype: int
    collector_id: ipaddress.IPv4Address
    view_name: str
    peers: tuple[Peer, ...]


class RibRecord(NamedTuple):
    """TABLE_DUMP_V2 RIB_* record: every path the collector has for one prefix (or NLRI)."""

    timestamp: float
    type: int
    subtype: int
    sequence: int
    family: Family
    prefix: Nlri
    entries: tuple[RibEntry, ...]

    @property
    def add_path(self) -> bool:
        return self.subtype >= 8


class TableDumpRecord(NamedTuple):
    """TABLE_DUMP (v1): one path to one prefix, with the peer inline."""

    timestamp: float
    type: int
    subtype: int
    view: int
    sequence: int
    prefix: Prefix
    status: int
    originated: int
    peer: Peer
    attributes: tuple[PathAttribute, ...]

    @property
    def family(self) -> Family:
        return Family(self.prefix.afi, 1)

    @property
    def entries(self) -> tuple[RibEntry, ...]:
        """The same route as :class:`RibRecord` entries, so RIB consumers need one loop."""
        return (RibEntry(self.peer, self.originated, None, self.prefix, self.attributes),)


class Bgp4mpMessage(NamedTuple):
    """BGP4MP / BGP4MP_ET MESSAGE* record: one whole BGP message (``data``, header included).

    ``sent`` is True for the ``*_LOCAL`` subtypes: the collector sent the message to the peer
    rather than received it. ``peer_ip``/``local_ip`` are 0.0.0.0 for the records old Zebra wrote
    without addresses (see docs/mrt.md).
    """

    timestamp: float
    type: int
    subtype: int
    peer_as: int
    local_as: int
    interface: int
    peer_ip: IPAddress
    local_ip: IPAddress
    as4: bool
    add_path: bool
    sent: bool
    data: bytes

    @property
    def msg_type(self) -> int:
        """The BGP message type code (1 OPEN, 2 UPDATE, ...), read from the header."""
        return self.data[18]

    def context(self) -> Context:
        return message_context(self.as4, self.add_path, self.peer_as == self.local_as)

    def decode(self, cache: AttributeCache | None = None) -> Message:
        """Decode the message; raises :class:`bgpspeak.wire.DecodeError` if it is malformed."""
        return decode_message(self.data, self.context(), cache)


class Bgp4mpStateChange(NamedTuple):
    """BGP4MP / BGP4MP_ET STATE_CHANGE(_AS4): the collector's session FSM moved (see
    :class:`~bgpspeak.mrt.types.BgpState`)."""

    timestamp: float
    type: int
    subtype: int
    peer_as: int
    local_as: int
    interface: int
    peer_ip: IPAddress
    local_ip: IPAddress
    as4: bool
    old_state: int
    new_state: int


class Bgp4mpEntry(NamedTuple):
    """BGP4MP_ENTRY (deprecated; OpenBGPD's ``table-mp`` dumps): one RIB path with its peer."""

    timestamp: float
    type: int
    subtype: int
    peer_as: int
    local_as: int
    interface: int
    peer_ip: IPAddress
    local_ip: IPAddress
    view: int
    status: int
    originated: int
    family: Family
    next_hop: bytes
    prefix: Nlri
    attributes: tuple[PathAttribute, ...]

    @property
    def entries(self) -> tuple[RibEntry, ...]:
        peer = Peer(UNSPECIFIED_V4, self.peer_ip, self.peer_as)
        return (RibEntry(peer, self.originated, None, self.prefix, self.attributes),)


class LegacyBgpMessage(NamedTuple):
    """A message of the deprecated BGP type (5): UPDATE, OPEN, NOTIFY or KEEPALIVE.

    Those records hold the message body without the BGP header; ``data`` is the whole message
    rebuilt with a header, so it decodes like any other. Sessions were 2-octet AS then.
    """

    timestamp: float
    type: int
    subtype: int
    peer_as: int
    peer_ip: IPAddress
    local_as: int
    local_ip: IPAddress
    data: bytes

    @property
    def as4(self) -> bool:
        return False

    @property
    def add_path(self) -> bool:
        return False

    @property
    def sent(self) -> bool:
        return False

    @property
    def msg_type(self) -> int:
        return self.data[18]

    def context(self) -> Context:
        return message_context(False, False, self.peer_as == self.local_as)

    def decode(self, cache: AttributeCache | None = None) -> Message:
        return decode_message(self.data, self.context(), cache)


class LegacyBgpStateChange(NamedTuple):
    """BGP (type 5) STATE_CHANGE."""

    timestamp: float
    type: int
    subtype: int
    peer_as: int
    peer_ip: IPAddress
    old_state: int
    new_state: int


class UnsupportedRecord(NamedTuple):
    """A well-formed record this reader does not interpret (other protocols, unassigned codes,
    deprecated subtypes with no simple layout, RIB_GENERIC of a family whose NLRI length is
    unknown): kept raw, with the reason, so callers can count or hand them on."""

    timestamp: float
    type: int
    subtype: int
    data: bytes
    reason: str


__all__ = [
    "Bgp4mpEntry",
    "Bgp4mpMessage",
    "Bgp4mpStateChange",
    "IPAddress",
    "LegacyBgpMessage",
    "LegacyBgpStateChange",
    "Nlri",
    "Peer",
    "PeerIndexTable",
    "RibEntry",
    "RibRecord",
    "TableDumpRecord",
    "UnsupportedRecord",
    "message_context",
]
