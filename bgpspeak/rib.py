"""Adj-RIB-Out and Adj-RIB-In of one peer, and the packing of routes into UPDATE messages.

The Adj-RIB-Out stores, per family, prefix -> (attributes, next hops); attribute tuples are
interned so routes that share attributes share one object. Changes are diffs: announcing the
same route twice sends nothing, and a replace sends only what differs. Packing groups prefixes
by attribute set and fills each UPDATE up to the negotiated maximum size.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from .wire.attribute import EXTENDED_LENGTH, OPTIONAL, PathAttribute
from .wire.family import IPV4_UNICAST, Context, Family
from .wire.message import MARKER
from .wire.mpnlri import MpReachNlri, MpUnreachNlri
from .wire.prefix import Prefix, encode_prefixes, prefix_length_on_wire

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
RouteKey = tuple[tuple[PathAttribute, ...], tuple[IPAddress, ...]]

HEADER = 19
UPDATE_FIXED = 4  # withdrawn length + attribute length


class AdjRibOut:
    """What we announce to one peer, as the peer should see it."""

    def __init__(self) -> None:
        self._routes: dict[Family, dict[Prefix, RouteKey]] = {}
        self._intern: dict[RouteKey, RouteKey] = {}

    def __len__(self) -> int:
        return sum(len(t) for t in self._routes.values())

    def families(self) -> list[Family]:
        return list(self._routes)

    def get(self, family: Family, prefix: Prefix) -> RouteKey | None:
        return self._routes.get(family, {}).get(prefix)

    def items(self, family: Family) -> Iterator[tuple[Prefix, RouteKey]]:
        yield from self._routes.get(family, {}).items()

    def set(self, family: Family, prefix: Prefix, key: RouteKey) -> bool:
        """Record a route; True when it changed what the peer must see."""
        key = self._intern.setdefault(key, key)
        table = self._routes.setdefault(family, {})
        if table.get(prefix) is key:
            return False
        table[prefix] = key
        return True

    def remove(self, family: Family, prefix: Prefix) -> bool:
        table = self._routes.get(family)
        if table is None or prefix not in table:
            return False
        del table[prefix]
        return True

    def clear(self) -> None:
        self._routes.clear()
        self._intern.clear()


@dataclass
class Change:
    """Pending changes for one family: routes to (re)announce and prefixes to withdraw."""

    announce: dict[Prefix, RouteKey]
    withdraw: set[Prefix]


def pack_updates(
    family: Family,
    announce: Iterable[tuple[Prefix, RouteKey]],
    withdraw: Iterable[Prefix],
    ctx: Context,
) -> list[tuple[bytes, int]]:
    """Encode changes of one family into as few UPDATEs as the maximum message size allows.

    Returns (encoded messages, number of UPDATEs) chunks. Withdrawals come first so a prefix
    that moves between attribute sets is never briefly missing.
    """
    max_len = ctx.max_message_length
    add_path = family in ctx.add_path
    out: list[tuple[bytes, int]] = []
    wd = list(withdraw)
    if wd:
        out += _pack_withdrawals(family, wd, ctx, max_len, add_path)
    groups: dict[RouteKey, list[Prefix]] = {}
    for prefix, key in announce:
        groups.setdefault(key, []).append(prefix)
    for (attrs, next_hops), prefixes in groups.items():
        out += _pack_announcements(family, attrs, next_hops, prefixes, ctx, max_len, add_path)
    return out


def _chunks(prefixes: list[Prefix], budget: int, add_path: bool) -> Iterator[list[Prefix]]:
    chunk: list[Prefix] = []
    used = 0
    for p in prefixes:
        size = prefix_length_on_wire(p, add_path)
        if chunk and used + size > budget:
            yield chunk
            chunk, used = [], 0
        chunk.append(p)
        used += size
    if chunk:
        yield chunk


def _message(withdrawn: bytes, attributes: bytes, nlri: bytes) -> bytes:
    body_len = UPDATE_FIXED + len(withdrawn) + len(attributes) + len(nlri)
    return b"".join(
        (
            MARKER,
            (HEADER + body_len).to_bytes(2, "big"),
            b"\x02",
            len(withdrawn).to_bytes(2, "big"),
            withdrawn,
            len(attributes).to_bytes(2, "big"),
            attributes,
            nlri,
        )
    )


def _pack_withdrawals(
    family: Family, prefixes: list[Prefix], ctx: Context, max_len: int, add_path: bool
) -> list[tuple[bytes, int]]:
    msgs = []
    if family == IPV4_UNICAST:
        budget = max_len - HEADER - UPDATE_FIXED
        for chunk in _chunks(prefixes, budget, add_path):
            msgs.append(_message(encode_prefixes(chunk, add_path), b"", b""))
    else:
        budget = max_len - HEADER - UPDATE_FIXED - 4 - 3  # attribute header (extended) + AFI/SAFI
        for chunk in _chunks(prefixes, budget, add_path):
            attr = MpUnreachNlri(family.afi, family.safi, tuple(chunk), OPTIONAL | EXTENDED_LENGTH)
            msgs.append(_message(b"", attr.encode(ctx), b""))
    return [(b"".join(msgs), len(msgs))] if msgs else []


def _pack_announcements(
    family: Family,
    attrs: tuple[PathAttribute, ...],
    next_hops: tuple[IPAddress, ...],
    prefixes: list[Prefix],
    ctx: Context,
    max_len: int,
    add_path: bool,
) -> list[tuple[bytes, int]]:
    """The attributes are encoded once per group, then each UPDATE is put together from bytes.
    MP_REACH_NLRI goes first in the attribute list (RFC 7606 section 5.1), so a receiver finds
    the NLRI even if a later attribute is malformed."""
    encoded_attrs = b"".join(a.encode(ctx) for a in attrs)
    nh_raw = b"".join(a.packed for a in next_hops)
    in_nlri_field = family == IPV4_UNICAST and len(nh_raw) == 4
    msgs: list[bytes] = []
    if in_nlri_field:
        budget = max_len - HEADER - UPDATE_FIXED - len(encoded_attrs)
    else:
        # MP_REACH: extended-length attribute header, AFI/SAFI, next hop, reserved octet
        budget = max_len - HEADER - UPDATE_FIXED - len(encoded_attrs) - 4 - 5 - len(nh_raw)
    if budget <= 0:
        raise ValueError(f"attributes of {len(encoded_attrs)} octets leave no room for NLRI")
    for chunk in _chunks(prefixes, budget, add_path):
        if in_nlri_field:
            msgs.append(_message(b"", encoded_attrs, encode_prefixes(chunk, add_path)))
        else:
            mp = MpReachNlri(
                family.afi, family.safi, nh_raw, tuple(chunk), 0, OPTIONAL | EXTENDED_LENGTH
            )
            msgs.append(_message(b"", mp.encode(ctx) + encoded_attrs, b""))
    return [(b"".join(msgs), len(msgs))] if msgs else []


class AdjRibIn:
    """Routes received from one peer, with graceful-restart stale marking.

    Stored per family as prefix -> attributes (the UPDATE's attributes, MP_REACH included for
    the next hop); a route whose family the session did not negotiate is still kept so nothing
    is silently lost, but counted for the max-prefix limit like any other.
    """

    def __init__(self) -> None:
        self.routes: dict[Family, dict[Prefix, tuple[PathAttribute, ...]]] = {}
        self.stale: dict[Family, set[Prefix]] = {}

    def __len__(self) -> int:
        return sum(len(t) for t in self.routes.values())

    def count(self, family: Family) -> int:
        return len(self.routes.get(family, {}))

    def add(self, family: Family, prefix: Prefix, attrs: tuple[PathAttribute, ...]) -> bool:
        table = self.routes.setdefault(family, {})
        stale = self.stale.get(family)
        if stale:
            stale.discard(prefix)
        new = prefix not in table
        table[prefix] = attrs
        return new

    def remove(self, family: Family, prefix: Prefix) -> bool:
        table = self.routes.get(family)
        stale = self.stale.get(family)
        if stale:
            stale.discard(prefix)
        if table is None or prefix not in table:
            return False
        del table[prefix]
        return True

    def mark_stale(self, families: Iterable[Family]) -> int:
        n = 0
        for f in families:
            table = self.routes.get(f)
            if table:
                self.stale[f] = set(table)
                n += len(table)
        return n

    def sweep_stale(self, family: Family) -> list[Prefix]:
        """Remove the routes still stale in ``family`` (End-of-RIB or restart time passed)."""
        gone = list(self.stale.pop(family, set()))
        table = self.routes.get(family, {})
        for p in gone:
            table.pop(p, None)
        return gone

    def clear(self) -> dict[Family, list[Prefix]]:
        gone = {f: list(t) for f, t in self.routes.items() if t}
        self.routes.clear()
        self.stale.clear()
        return gone
