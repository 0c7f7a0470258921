"""Speaker events as ExaBGP's JSON API messages, for helper processes written against ExaBGP.

ExaBGP writes one JSON object per line to a process's stdin: neighbor state changes
(``"type": "state"``) and received UPDATEs (``"type": "update"``, with ``announce`` /
``withdraw`` keyed by ``"ipv4 unicast"`` and, for announcements, by next hop). The attribute
forms follow ExaBGP's own output (checked against the JSON in ExaBGP's qa files). One
difference: the speaker reports received routes per prefix, so each message holds one prefix
where ExaBGP would group an UPDATE's prefixes; readers that loop over the lists see no change.

Pure: the caller passes the header values (time, pid, counter) in.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any

from ..speaker_events import (
    EndOfRib,
    Event,
    PeerDown,
    PeerStateChanged,
    PeerUp,
    RouteReceived,
    RouteWithdrawn,
)
from ..wire.aspath import AS_CONFED_SEQUENCE, AS_CONFED_SET, AS_SEQUENCE, AS_SET, AsPath
from ..wire.attribute import PathAttribute, UnknownAttribute
from ..wire.attributes import (
    Aggregator,
    AtomicAggregate,
    ClusterList,
    LocalPref,
    MultiExitDisc,
    Origin,
    OriginatorId,
)
from ..wire.communities import (
    Communities,
    ExtendedCommunities,
    LargeCommunities,
    ext_community_text,
)
from ..wire.family import Family, afi_text, safi_text
from ..wire.prefix import Prefix

API_VERSION = "4.0.1"  # what ExaBGP 4.x writes in the "exabgp" field
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_SEGMENTS = {
    AS_SEQUENCE: "as-sequence",
    AS_SET: "as-set",
    AS_CONFED_SEQUENCE: "confed-sequence",
    AS_CONFED_SET: "confed-set",
}
_SKIPPED = {3, 14, 15, 17, 18}  # next hop and MP_* go in announce/withdraw; AS4_* are merged


@dataclass(frozen=True)
class NeighborInfo:
    """What ExaBGP puts in every message's ``neighbor`` block."""

    peer: str
    local: str
    peer_as: int | None
    local_as: int


@dataclass(frozen=True)
class Header:
    time: float
    host: str
    pid: int
    ppid: int
    counter: int


def family_key(family: Family) -> str:
    return f"{afi_text(family.afi)} {safi_text(family.safi)}"


def attribute_json(attrs: tuple[PathAttribute, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for a in sorted(attrs, key=lambda x: x.type_code):
        if a.type_code in _SKIPPED:
            continue
        if isinstance(a, Origin):
            out["origin"] = a.json_value()
        elif isinstance(a, AsPath):
            if a.segments:
                out["as-path"] = {
                    str(i): {"element": _SEGMENTS.get(s.type, str(s.type)), "value": list(s.asns)}
                    for i, s in enumerate(a.segments)
                }
        elif isinstance(a, MultiExitDisc):
            out["med"] = a.json_value()
        elif isinstance(a, LocalPref):
            out["local-preference"] = a.json_value()
        elif isinstance(a, AtomicAggregate):
            out["atomic-aggregate"] = True
        elif isinstance(a, Aggregator):
            out["aggregator"] = f"{a.asn}:{a.address}"
        elif isinstance(a, Communities):
            out["community"] = [[v >> 16, v & 0xFFFF] for v in a.values]
        elif isinstance(a, OriginatorId):
            out["originator-id"] = str(a.address)
        elif isinstance(a, ClusterList):
            out["cluster-list"] = [str(i) for i in a.ids]
        elif isinstance(a, ExtendedCommunities):
            out["extended-community"] = [
                {"value": v, "string": ext_community_text(v)} for v in a.values
            ]
        elif isinstance(a, LargeCommunities):
            out["large-community"] = [list(v) for v in a.values]
        elif isinstance(a, UnknownAttribute):
            out[f"attribute-0x{a.code:02X}-0x{a.flags:02X}"] = "0x" + a.value.hex().upper()
    return out


def _nlri(prefix: Prefix) -> dict[str, Any]:
    out: dict[str, Any] = {"nlri": str(prefix.with_path_id(None))}
    if prefix.path_id is not None:
        out["path-information"] = str(ipaddress.IPv4Address(prefix.path_id))
    return out


def _neighbor(info: NeighborInfo) -> dict[str, Any]:
    return {
        "address": {"local": info.local, "peer": info.peer},
        "asn": {"local": info.local_as, "peer": info.peer_as},
    }


def _message(kind: str, header: Header, neighbor: dict[str, Any]) -> dict[str, Any]:
    return {
        "exabgp": API_VERSION,
        "time": header.time,
        "host": header.host,
        "pid": header.pid,
        "ppid": header.ppid,
        "counter": header.counter,
        "type": kind,
        "neighbor": neighbor,
    }


def event_kind(event: Event) -> str | None:
    """Which ``events`` setting of a process selects this event."""
    if isinstance(event, PeerUp | PeerDown):
        return "state"
    if isinstance(event, PeerStateChanged):
        return "state" if event.new == "OpenSent" else None
    if isinstance(event, RouteReceived | RouteWithdrawn):
        return "update"
    if isinstance(event, EndOfRib):
        return "eor"
    return None


def event_json(event: Event, info: NeighborInfo, header: Header) -> dict[str, Any] | None:
    """The ExaBGP message for one event, or None for events ExaBGP does not report."""
    nb = _neighbor(info)
    if isinstance(event, PeerUp):
        nb["state"] = "up"
        return _message("state", header, nb)
    if isinstance(event, PeerDown):
        nb["state"] = "down"
        nb["reason"] = event.reason
        return _message("state", header, nb)
    if isinstance(event, PeerStateChanged):
        if event_kind(event) is None:
            return None
        nb["state"] = "connected"
        return _message("state", header, nb)
    if isinstance(event, RouteReceived):
        nh = str(event.next_hops[0]) if event.next_hops else "null"
        nb["direction"] = "receive"
        nb["message"] = {
            "update": {
                "attribute": attribute_json(event.attributes),
                "announce": {family_key(event.family): {nh: [_nlri(event.prefix)]}},
            }
        }
        return _message("update", header, nb)
    if isinstance(event, RouteWithdrawn):
        nb["direction"] = "receive"
        nb["message"] = {"update": {"withdraw": {family_key(event.family): [_nlri(event.prefix)]}}}
        return _message("update", header, nb)
    if isinstance(event, EndOfRib):
        nb["direction"] = "receive"
        nb["message"] = {
            "eor": {"afi": afi_text(event.family.afi), "safi": safi_text(event.family.safi)}
        }
        return _message("update", header, nb)
    return None
