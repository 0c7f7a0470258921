"""Parsing FRR 8.4 ``vtysh ... json`` output into observation types (pure, no I/O).

The shapes were taken from real FRR 8.4.4 output (recorded in tests/agent/data/frr-8.4/).
Anything we rely on that is missing or of the wrong type raises :class:`FrrOutputError` naming
the command and the field: the agent then treats FRR as unobservable for that pass rather than
deciding on a half-read state.
"""

from __future__ import annotations

import json
from typing import Any, cast

from routeragent.observations import (
    AdvertisedRoute,
    Family,
    NeighborState,
    PrefixListEntry,
    PrefixListState,
    RouteMapEntry,
)

_AFI_KEYS: dict[str, Family] = {"ipv4Unicast": "ipv4", "ipv6Unicast": "ipv6"}


class FrrOutputError(Exception):
    """vtysh answered with something we cannot read (not JSON, an error text, a missing key)."""


def split_documents(text: str, command_hint: str = "vtysh") -> list[Any]:
    """vtysh prints one JSON document per ``-c`` command, back to back; split them. Any text
    that is not JSON (``% Unknown command``, ``% BGP instance not found``) is an error."""
    dec = json.JSONDecoder()
    docs: list[Any] = []
    i, n = 0, len(text)
    while True:
        while i < n and text[i].isspace():
            i += 1
        if i >= n:
            return docs
        try:
            doc, i = dec.raw_decode(text, i)
        except json.JSONDecodeError:
            snippet = text[i : i + 120].strip().splitlines()[0] if text[i:].strip() else ""
            raise FrrOutputError(
                f"{command_hint}: not JSON at document {len(docs) + 1}: {snippet!r}"
            ) from None
        docs.append(doc)


def _obj(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise FrrOutputError(f"{where}: expected an object, got {type(value).__name__}")
    return cast(dict[str, Any], value)


def _int(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise FrrOutputError(f"{where}: expected an integer, got {value!r}")
    return value


def parse_neighbors(doc: Any) -> tuple[int | None, dict[str, NeighborState]]:
    """``show bgp neighbors json`` -> (local AS, neighbor address -> state).

    A neighbor is reported in the family of its address (the agent's upstreams are single-family
    sessions); its accepted/sent counters and route-maps come from that family's block, which
    FRR prints only while the family is activated."""
    top = _obj(doc, "show bgp neighbors json")
    if "warning" in top and len(top) == 1:
        raise FrrOutputError(f"show bgp neighbors json: {top['warning']}")
    asn: int | None = None
    out: dict[str, NeighborState] = {}
    for addr, raw in top.items():
        where = f"show bgp neighbors json: {addr}"
        nb = _obj(raw, where)
        if asn is None and "localAs" in nb:
            asn = _int(nb["localAs"], f"{where}.localAs")
        state = nb.get("bgpState")
        if not isinstance(state, str):
            raise FrrOutputError(f"{where}.bgpState: missing")
        family: Family = "ipv6" if ":" in addr else "ipv4"
        afi_info = _obj(nb.get("addressFamilyInfo", {}), f"{where}.addressFamilyInfo")
        af: dict[str, Any] = {}
        for key, fam in _AFI_KEYS.items():
            if fam == family and key in afi_info:
                af = _obj(afi_info[key], f"{where}.addressFamilyInfo.{key}")
        out[addr] = NeighborState(
            address=addr,
            family=family,
            state=state,
            prefixes_received=_int(
                af.get("acceptedPrefixCounter", 0), f"{where}.acceptedPrefixCounter"
            ),
            prefixes_sent=_int(af.get("sentPrefixCounter", 0), f"{where}.sentPrefixCounter"),
            route_map_in=af.get("routeMapForIncomingAdvertisements"),
            route_map_out=af.get("routeMapForOutgoingAdvertisements"),
        )
    return asn, out


def _daemon_section(doc: Any, where: str) -> dict[str, Any]:
    """``show route-map json`` and the prefix-list commands wrap their answer per daemon
    (``{"BGP": {...}}``); we ask bgpd only (``vtysh -d bgpd``)."""
    top = _obj(doc, where)
    if "BGP" not in top:
        raise FrrOutputError(f"{where}: no BGP section (is bgpd running?)")
    return _obj(top["BGP"], f"{where}.BGP")


def parse_route_maps(doc: Any) -> dict[str, tuple[RouteMapEntry, ...]]:
    where = "show route-map json"
    out: dict[str, tuple[RouteMapEntry, ...]] = {}
    for name, raw in _daemon_section(doc, where).items():
        rm = _obj(raw, f"{where}: {name}")
        entries = []
        for i, rule_raw in enumerate(rm.get("rules", [])):
            w = f"{where}: {name}.rules[{i}]"
            rule = _obj(rule_raw, w)
            entries.append(
                RouteMapEntry(
                    seq=_int(rule.get("sequenceNumber"), f"{w}.sequenceNumber"),
                    action=str(rule.get("type")),
                    matches=tuple(str(m) for m in rule.get("matchClauses", [])),
                    sets=tuple(sorted(str(s) for s in rule.get("setClauses", []))),
                )
            )
        out[name] = tuple(sorted(entries, key=lambda e: e.seq))
    return out


def parse_prefix_lists(doc: Any, family: Family) -> dict[str, PrefixListState]:
    where = f"show {'ip' if family == 'ipv4' else 'ipv6'} prefix-list json"
    out: dict[str, PrefixListState] = {}
    for name, raw in _daemon_section(doc, where).items():
        pl = _obj(raw, f"{where}: {name}")
        entries = []
        for i, e_raw in enumerate(pl.get("entries", [])):
            w = f"{where}: {name}.entries[{i}]"
            e = _obj(e_raw, w)
            entries.append(
                PrefixListEntry(
                    seq=_int(e.get("sequenceNumber"), f"{w}.sequenceNumber"),
                    action=str(e.get("type")),
                    prefix=str(e.get("prefix")),
                )
            )
        out[name] = PrefixListState(family, tuple(sorted(entries, key=lambda e: e.seq)))
    return out


def parse_route_selected(doc: Any, prefix: str) -> bool:
    """``show ip route PREFIX json``: true when zebra has a selected (best) route for exactly
    that prefix. An empty list means no route."""
    top = _obj(doc, f"show route {prefix} json")
    routes = top.get(prefix, [])
    if not isinstance(routes, list):
        raise FrrOutputError(f"show route {prefix} json: expected a list")
    return any(isinstance(r, dict) and r.get("selected") is True for r in routes)


def parse_advertised(doc: Any, neighbor: str) -> tuple[AdvertisedRoute, ...]:
    where = f"advertised-routes {neighbor}"
    top = _obj(doc, where)
    if "warning" in top:
        # "No such neighbor" or a family not activated: nothing advertised
        return ()
    routes = _obj(top.get("advertisedRoutes", {}), f"{where}.advertisedRoutes")
    out = []
    for pfx, raw in routes.items():
        r = _obj(raw, f"{where}.{pfx}")
        med = r.get("metric")
        out.append(
            AdvertisedRoute(
                prefix=pfx,
                med=med if isinstance(med, int) and not isinstance(med, bool) else None,
                as_path=str(r.get("path", "")),
            )
        )
    return tuple(sorted(out, key=lambda a: a.prefix))
