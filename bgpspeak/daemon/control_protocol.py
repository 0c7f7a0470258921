"""The control socket's JSON-lines protocol: request fields and the JSON forms of answers.

One request per line, one answer per request, in order: ``{"id": 7, "command": "announce",
"routes": [...]}`` -> ``{"id": 7, "ok": true, ...}`` or ``{"id": 7, "ok": false, "error":
"..."}``. docs/daemon.md is the reference; this module holds the pure parts both sides share.
"""

from __future__ import annotations

import ipaddress
import json
from typing import Any

from ..routes import Route
from ..speaker import PeerStatus
from ..wire.aspath import AsPath
from ..wire.attribute import PathAttribute
from ..wire.attributes import LocalPref, MultiExitDisc, NextHop, Origin
from ..wire.communities import (
    Communities,
    LargeCommunities,
    community_text,
    ext_community_text,
)
from ..wire.family import Family
from ..wire.mpnlri import MpReachNlri
from ..wire.prefix import Prefix
from .config_load import ConfigError, route_from_mapping

PROTOCOL_VERSION = 1
COMMANDS = (
    "ping",
    "show-peers",
    "show-routes",
    "show-rib-in",
    "show-services",
    "show-bfd",
    "announce",
    "withdraw",
    "exabgp",
    "peer",
    "service",
    "reload",
)
PEER_ACTIONS = ("shutdown", "enable", "refresh", "reset")
SERVICE_ACTIONS = ("up", "down", "auto")


class RequestError(ValueError):
    """A request the daemon refuses; the message goes back as ``error``."""


def encode(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode() + b"\n"


def decode_request(line: bytes) -> dict[str, Any]:
    try:
        obj = json.loads(line)
    except (ValueError, UnicodeDecodeError) as e:
        raise RequestError(f"not JSON: {e}") from None
    if not isinstance(obj, dict):
        raise RequestError("a request is a JSON object")
    cmd = obj.get("command")
    if cmd not in COMMANDS:
        raise RequestError(f"unknown command {cmd!r} (one of {', '.join(COMMANDS)})")
    return obj


def request_peer(req: dict[str, Any], required: bool = False) -> str | None:
    peer = req.get("peer")
    if peer is None:
        if required:
            raise RequestError("'peer' is required")
        return None
    if not isinstance(peer, str):
        raise RequestError(f"peer: {peer!r} is not an address")
    try:
        return str(ipaddress.ip_address(peer))
    except ValueError:
        raise RequestError(f"peer: {peer!r} is not an address") from None


def request_routes(req: dict[str, Any]) -> list[Route]:
    items = req.get("routes")
    if not isinstance(items, list) or not items:
        raise RequestError("'routes' must be a non-empty list of route objects")
    out = []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise RequestError(f"routes[{i}]: not an object")
        try:
            out.append(route_from_mapping(item, f"routes[{i}]"))
        except ConfigError as e:
            raise RequestError("; ".join(e.problems)) from None
    return out


def request_prefixes(req: dict[str, Any]) -> list[Prefix]:
    items = req.get("prefixes")
    if not isinstance(items, list) or not items:
        raise RequestError("'prefixes' must be a non-empty list")
    out = []
    for i, item in enumerate(items):
        text, path_id = item, None
        if isinstance(item, dict):
            text, path_id = item.get("prefix"), item.get("path_id")
        if not isinstance(text, str) or not (path_id is None or isinstance(path_id, int)):
            raise RequestError(f"prefixes[{i}]: {item!r} is not a prefix")
        try:
            out.append(Prefix.parse(text, path_id))
        except ValueError:
            raise RequestError(f"prefixes[{i}]: {text!r} is not a prefix") from None
    return out


# --- answers ------------------------------------------------------------------------------------


def route_json(route: Route, source: str, scope: str | None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "prefix": str(route.prefix.with_path_id(None)),
        "next_hop": str(route.next_hop),
        "source": source,
        "peer": scope,
        "origin": route.origin,
    }
    if route.path_id is not None:
        out["path_id"] = route.path_id
    if route.as_path:
        out["as_path"] = list(route.as_path)
    if route.med is not None:
        out["med"] = route.med
    if route.local_pref is not None:
        out["local_pref"] = route.local_pref
    if route.communities:
        out["communities"] = [community_text(c) for c in route.communities]
    if route.large_communities:
        out["large_communities"] = [":".join(map(str, c)) for c in route.large_communities]
    if route.extended_communities:
        out["extended_communities"] = [ext_community_text(c) for c in route.extended_communities]
    return out


def peer_json(s: PeerStatus, enabled: bool) -> dict[str, Any]:
    return {
        "address": str(s.address),
        "remote_as": s.remote_as,
        "state": s.state,
        "enabled": enabled,
        "uptime": None if s.uptime is None else round(s.uptime, 1),
        "received": s.received,
        "advertised": s.advertised,
        "messages_in": s.messages_in,
        "messages_out": s.messages_out,
        "last_error": s.last_error,
        "description": s.description,
    }


def rib_in_json(family: Family, prefix: Prefix, attrs: tuple[PathAttribute, ...]) -> dict[str, Any]:
    """A received route in the same flat shape as announced ones, plus every attribute in
    the codec's JSON form (docs/json.md) for what the flat keys leave out."""
    out: dict[str, Any] = {"family": str(family), "prefix": str(prefix.with_path_id(None))}
    if prefix.path_id is not None:
        out["path_id"] = prefix.path_id
    for a in attrs:
        if isinstance(a, NextHop):
            out["next_hop"] = str(a.address)
        elif isinstance(a, MpReachNlri):
            hops = [str(h) for h in a.next_hops]
            if hops:
                out["next_hop"] = hops[0]
                if len(hops) > 1:
                    out["link_local"] = hops[1]
        elif isinstance(a, Origin):
            out["origin"] = a.json_value()
        elif isinstance(a, AsPath) and a.type_code == 2:
            out["as_path"] = str(a)
        elif isinstance(a, MultiExitDisc):
            out["med"] = a.value
        elif isinstance(a, LocalPref):
            out["local_pref"] = a.value
        elif isinstance(a, Communities):
            out["communities"] = [community_text(c) for c in a.values]
        elif isinstance(a, LargeCommunities):
            out["large_communities"] = [":".join(map(str, c)) for c in a.values]
    out["attributes"] = [a.to_json() for a in attrs if not isinstance(a, MpReachNlri)]
    return out
