"""What a reader remembers from one record to the next: the current PEER_INDEX_TABLE, the
address objects it already built, and the RIB attribute cache.

Addresses repeat on every record of a session (an update trace has a few hundred peers and
hundreds of thousands of records), and building an ``ipaddress`` object costs more than the
rest of a BGP4MP header, so they are interned by their raw octets.
"""

from __future__ import annotations

import ipaddress

from ..wire import AttributeCache
from .records import IPAddress, Peer
from .ribattrs import RibAttributes

_IPV4 = ipaddress.IPv4Address
_IPV6 = ipaddress.IPv6Address


class ReaderState:
    __slots__ = ("_pairs", "_singles", "peers", "rib_attributes")

    def __init__(self, codec_cache: AttributeCache | None = None) -> None:
        self.peers: tuple[Peer, ...] | None = None
        self.rib_attributes = RibAttributes(codec_cache)
        self._singles: dict[bytes, IPAddress] = {}
        self._pairs: dict[bytes, tuple[IPAddress, IPAddress]] = {}

    def address(self, raw: bytes) -> IPAddress:
        """An IPv4 (4 octets) or IPv6 (16 octets) address object."""
        hit = self._singles.get(raw)
        if hit is None:
            if len(self._singles) > 100_000:
                self._singles.clear()
            hit = self._singles[raw] = _IPV4(raw) if len(raw) == 4 else _IPV6(raw)
        return hit

    def address_pair(self, raw: bytes) -> tuple[IPAddress, IPAddress]:
        """Two addresses of the same family back to back (peer then local, in BGP4MP)."""
        hit = self._pairs.get(raw)
        if hit is None:
            if len(self._pairs) > 100_000:
                self._pairs.clear()
            half = len(raw) >> 1
            hit = self._pairs[raw] = (self.address(raw[:half]), self.address(raw[half:]))
        return hit
