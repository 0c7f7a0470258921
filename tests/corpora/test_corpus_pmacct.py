"""Agreement with pmacct's expected collector output (``pmacct/*/output-b[gm]p-00.json``).

pmacct logs one record per route, not per message, so the comparison is by set: every route
pmacct logged as announced (prefix, route distinguisher, next hop, AS path, communities, route
target / site-of-origin extended communities, large communities, origin, local preference, MED,
MPLS label) must be a route of our decode of the same capture with exactly those values; every
withdrawal and End-of-RIB it logged must be one of ours. pmacct's "delete" records (routes it
dropped when a peer went down) and the attributes it attaches to withdrawals (from its own RIB)
are not in the messages and are not compared.
"""

from __future__ import annotations

import ipaddress
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from corpus_facts import IPAddress, Route, as_path, communities, ext_communities, facts
from corpus_facts import large_communities as large
from corpus_files import capture_names, root
from corpus_outcomes import outcomes

from bgpspeak.wire import LocalPref, MultiExitDisc, Origin, Update

RouteKey = tuple[object, ...]


def _pairs() -> list[tuple[str, list[str]]]:
    try:
        base = root() / "pmacct"
    except (pytest.skip.Exception, pytest.fail.Exception):
        return []
    names = capture_names()
    out = []
    for js in sorted(base.glob("*/output-b[gm]p-00.json")):
        test = js.parent.name
        caps = [n for n in names if n.startswith(f"pmacct/{test}/")]
        if caps:
            out.append((str(js.relative_to(root())), caps))
    return out


PAIRS = _pairs()
_EXT_NAMES = {0x02: "RT", 0x03: "SoO"}


def _ext_text(value: int) -> str | None:
    kind, sub, low = value >> 56, (value >> 48) & 0xFF, value & 0xFFFFFFFFFFFF
    name = _EXT_NAMES.get(sub)
    if name is None or kind not in (0x00, 0x01, 0x02):
        return None
    if kind == 0x00:
        return f"{name}:{low >> 32}:{low & 0xFFFFFFFF}"
    if kind == 0x01:
        return f"{name}:{ipaddress.IPv4Address(low >> 16)}:{low & 0xFFFF}"
    return f"{name}:{low >> 16}:{low & 0xFFFF}"


def _prefix(text: str) -> str:
    return str(ipaddress.ip_network(text, strict=False))


def _sorted(words: Any) -> tuple[str, ...]:
    """pmacct lists communities in numeric order; so do we, for the comparison."""

    def number(w: str) -> tuple[int, ...]:
        return tuple(int(x) if x.isdigit() else 0 for x in w.replace(".", ":").split(":")[-3:])

    return tuple(sorted(words, key=lambda w: (w.split(":")[0], number(w))))


def _address(text: object) -> str | None:
    """A next hop as text. pmacct prints IPv4 next hops of routes from an IPv6 BMP peer as
    IPv4-mapped IPv6 (::ffff:a.b.c.d); both sides are read back to the IPv4 address."""
    if not text:
        return None
    addr = ipaddress.ip_address(str(text))
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        return str(addr.ipv4_mapped)
    return str(addr)


def _words(value: Any) -> list[str]:
    if value is None:
        return []
    return value.split() if isinstance(value, str) else [str(v) for v in value]


def route_key(route: Route, hops: tuple[IPAddress, ...], u: Update) -> RouteKey:
    origin = u.get(Origin.TYPE_CODE)
    lp = u.get(LocalPref.TYPE_CODE)
    med = u.get(MultiExitDisc.TYPE_CODE)
    path = as_path(u)
    return (
        route.family.afi,
        route.family.safi,
        _prefix(route.prefix),
        route.rd,
        _address(hops[0]) if hops else "0.0.0.0",  # pmacct's text for "no next hop"
        tuple(str(a) for a in path.asns) if path else (),
        _sorted(f"{a}:{b}" for a, b in communities(u)),
        _sorted(t for v in ext_communities(u) if (t := _ext_text(v))),
        _sorted(f"{a}:{b}:{c}" for a, b, c in large(u)),
        "ieu"[origin.value] if isinstance(origin, Origin) else None,
        lp.value if isinstance(lp, LocalPref) else None,
        med.value if isinstance(med, MultiExitDisc) else None,
        str(route.labels[0]) if route.labels else None,
    )


def pmacct_key(r: dict[str, Any]) -> RouteKey:
    rd = r["rd"].split(":", 1)[1] if r.get("rd") and r.get("rd_origin") == "bgp" else None
    return (
        r["afi"],
        r["safi"],
        _prefix(r["ip_prefix"]),
        rd,
        _address(r["bgp_nexthop"]),
        tuple(_words(r["as_path"])),
        _sorted(_words(r["comms"])),
        _sorted(w for w in _words(r["ecomms"]) if not w.startswith("?")),
        _sorted(_words(r["lcomms"])),
        r["origin"],
        r["local_pref"],
        r["med"],
        r["mpls_label"],
    )


def _load(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def run_pmacct(js: str, captures: list[str]) -> tuple[Counter[str], list[str]]:
    announced: set[RouteKey] = set()
    from_errors: set[RouteKey] = set()  # routes of treat-as-withdraw UPDATEs (err.update)
    withdrawn: set[tuple[object, ...]] = set()
    end_of_rib: set[tuple[int, int]] = set()
    for rel in captures:
        for o in outcomes(rel):
            u = o.update
            if u is None:
                continue
            f = facts(u, o.resolution.ctx.add_path)
            for route, hops in f.announced.items():
                announced.add(route_key(route, hops, u))
                if o.error is not None:
                    from_errors.add(route_key(route, hops, u))
            for route in f.withdrawn:
                withdrawn.add((route.family.afi, route.family.safi, _prefix(route.prefix)))
            eor = u.end_of_rib()
            if eor is not None:
                end_of_rib.add((eor.afi, eor.safi))
    tally: Counter[str] = Counter()
    problems: list[str] = []
    for n, r in enumerate(_load(root() / js), 1):
        kind = r.get("log_type")
        if kind == "update":
            tally["announced routes"] += 1
            key = pmacct_key(r)
            tally["routes of treat-as-withdraw UPDATEs (err.update)"] += key in from_errors
            if key not in announced:
                near = [k for k in announced if k[:4] == key[:4]]
                problems.append(f"record {n}: {key}\n    ours: {near[:3]}")
        elif kind == "withdraw":
            tally["withdrawn routes"] += 1
            if (r["afi"], r["safi"], _prefix(r["ip_prefix"])) not in withdrawn:
                problems.append(f"record {n}: withdrawal of {r['ip_prefix']} not in our decode")
        elif kind == "end-of-rib":
            tally["end-of-rib"] += 1
            if (r["afi"], r["safi"]) not in end_of_rib:
                problems.append(f"record {n}: End-of-RIB {r['afi']}/{r['safi']} not ours")
    return tally, problems


@pytest.mark.parametrize(("js", "captures"), PAIRS, ids=[p[0] for p in PAIRS])
def test_pmacct_routes(js: str, captures: list[str]) -> None:
    _tally, problems = run_pmacct(js, captures)
    assert not problems, "\n".join(problems[:15])
