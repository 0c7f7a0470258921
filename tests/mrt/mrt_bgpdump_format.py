"""Render what bgpspeak read from an MRT file as ``bgpdump -m`` lines, to compare with bgpdump's
own expected output (``bgpdump/test_expect/*.bgp.gz`` in the corpora).

One line per prefix, ``|``-separated: ``TYPE|time|B/A/W/STATE|peer ip|peer AS|prefix[|path id]|
AS path|origin|next hop|local pref|MED|communities|AG/NAG|aggregator|``. Presentation follows
bgpdump (its AS path and community spelling, 0 for a missing LOCAL_PREF or MED,
255.255.255.255 for a missing NEXT_HOP, INCOMPLETE for a missing ORIGIN); the values are ours.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from bgpspeak.mrt import (
    Bgp4mpMessage,
    Bgp4mpStateChange,
    MrtRecord,
    RibEntry,
    RibRecord,
    TableDumpRecord,
)
from bgpspeak.wire import (
    AS_CONFED_SEQUENCE,
    AS_CONFED_SET,
    AS_SET,
    AsPath,
    AttributeCache,
    DecodeError,
    MpReachNlri,
    NextHop,
    PathAttribute,
    Prefix,
    Update,
    merge_as4_aggregator,
    merge_as4_path,
)

_ORIGINS = {0: "IGP", 1: "EGP"}
_WELL_KNOWN = {0xFFFFFF01: "no-export", 0xFFFFFF02: "no-advertise", 0xFFFFFF03: "local-AS"}
NO_ADDRESS = "255.255.255.255"


def aspath_text(path: AsPath) -> str:
    parts = []
    for seg in path.segments:
        asns = [str(a) for a in seg.asns]
        if seg.type == AS_SET:
            parts.append("{" + ",".join(asns) + "}")
        elif seg.type == AS_CONFED_SET:
            parts.append("[" + ",".join(asns) + "]")
        elif seg.type == AS_CONFED_SEQUENCE:
            parts.append("(" + " ".join(asns) + ")")
        else:
            parts.append(" ".join(asns))
    return " ".join(parts)


def _by_code(attrs: tuple[PathAttribute, ...]) -> dict[int, Any]:
    return {a.type_code: a for a in attrs}


def route_fields(attrs: tuple[PathAttribute, ...], as4: bool) -> tuple[str, str]:
    """``(AS path|origin|, |local pref|MED|communities|AG/NAG|aggregator|)``: the fields before
    and after the next hop, the same for every prefix of a message."""
    a = _by_code(attrs)
    path = a.get(2)
    aggregator = a.get(7)
    if not as4:
        # a 2-octet session: the real values travel in AS4_PATH / AS4_AGGREGATOR (RFC 6793)
        if path is not None:
            path = merge_as4_path(path, a.get(17))
        aggregator = merge_as4_aggregator(aggregator, a.get(18))
    origin = a.get(1)
    lp = a.get(5)
    med = a.get(4)
    comms = a.get(8)
    comm_text = (
        " ".join(_WELL_KNOWN.get(c, f"{c >> 16}:{c & 0xFFFF}") for c in comms.values)
        if comms is not None
        else ""
    )
    origin_text = _ORIGINS.get(origin.value, "INCOMPLETE") if origin is not None else "INCOMPLETE"
    before = f"{aspath_text(path) if path is not None else ''}|{origin_text}|"
    after = "|".join(
        [
            "",
            str(lp.value if lp is not None else 0),
            str(med.value if med is not None else 0),
            comm_text,
            "AG" if 6 in a else "NAG",
            f"{aggregator.asn} {aggregator.address}" if aggregator is not None else "",
            "",
        ]
    )
    return before, after


def _rib_next_hop(attrs: tuple[PathAttribute, ...]) -> str:
    a = _by_code(attrs)
    mp = a.get(14)
    if isinstance(mp, MpReachNlri) and mp.afi == 2 and mp.safi == 1 and mp.next_hops:
        return str(mp.next_hops[0])
    nh = a.get(3)
    return str(nh.address) if nh is not None else NO_ADDRESS


def _rib_line(kind: str, ts: str, entry: RibEntry, as4: bool) -> str:
    prefix = entry.prefix
    assert isinstance(prefix, Prefix)
    pid = f"|{entry.path_id}" if entry.path_id is not None else ""
    before, after = route_fields(entry.attributes, as4)
    head = f"{kind}|{ts}|B|{entry.peer.ip}|{entry.peer.asn}|{prefix}{pid}|"
    return head + before + _rib_next_hop(entry.attributes) + after


def _time(record: Bgp4mpMessage | Bgp4mpStateChange) -> str:
    if record.type == 17:
        return f"{record.timestamp:.6f}"
    return str(int(record.timestamp))


def _update_lines(record: Bgp4mpMessage, update: Update) -> Iterator[str]:
    kind = "BGP4MP_ET" if record.type == 17 else "BGP4MP"
    if record.add_path:
        kind += "_AP"
    who = f"{kind}|{_time(record)}|%s|{record.peer_ip}|{record.peer_as}|"
    withdraw = who % "W"
    for family, prefix in update.withdrawals():
        if isinstance(prefix, Prefix) and family.safi in (1, 2):
            pid = f"|{prefix.path_id}" if prefix.path_id is not None else ""
            yield f"{withdraw}{prefix}{pid}"
    attrs = update.attributes
    nh = next((a for a in attrs if isinstance(a, NextHop)), None)
    announce = who % "A"
    routes: list[tuple[Prefix, str]] = [
        (p, str(nh.address) if nh is not None else NO_ADDRESS) for p in update.nlri
    ]
    mp = update.mp_reach
    if mp is not None and not isinstance(mp.nlri, bytes) and mp.safi in (1, 2):
        mp_next_hop = str(mp.next_hops[0]) if mp.next_hops else NO_ADDRESS
        routes += [(p, mp_next_hop) for p in mp.nlri]
    if routes:
        before, after = route_fields(attrs, record.as4)
    for prefix, next_hop in routes:
        pid = f"|{prefix.path_id}" if prefix.path_id is not None else ""
        yield f"{announce}{prefix}{pid}|{before}{next_hop}{after}"


def bgpdump_lines(record: MrtRecord, cache: AttributeCache) -> Iterator[str]:
    """The ``bgpdump -m`` lines of one record (none for records bgpdump prints no line for)."""
    if isinstance(record, TableDumpRecord):
        (entry,) = record.entries
        yield _rib_line("TABLE_DUMP", str(int(record.timestamp)), entry, record.subtype > 2)
    elif isinstance(record, RibRecord):
        kind = "TABLE_DUMP2_AP" if record.add_path else "TABLE_DUMP2"
        for entry in record.entries:
            yield _rib_line(kind, str(int(record.timestamp)), entry, True)
    elif isinstance(record, Bgp4mpStateChange):
        kind = "BGP4MP_ET" if record.type == 17 else "BGP4MP"
        yield (
            f"{kind}|{_time(record)}|STATE|{record.peer_ip}|{record.peer_as}|"
            f"{record.old_state}|{record.new_state}"
        )
    elif isinstance(record, Bgp4mpMessage) and record.msg_type == 2:
        try:
            message = record.decode(cache)
        except DecodeError:
            return
        assert isinstance(message, Update)
        yield from _update_lines(record, message)
