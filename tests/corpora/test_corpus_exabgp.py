"""Agreement with ExaBGP's expected JSON (``exabgp/qa-messages.bgphex.meta.jsonl``).

For each of the 248 messages that have one: the announced and withdrawn routes of every family
we can read (prefix, ADD-PATH id, next hop, label, route distinguisher), the NLRI octets of the
families ExaBGP gives as raw hex, and the attributes (origin, AS path, MED, local preference,
communities of the three kinds, originator, cluster list, aggregator, atomic aggregate, and
the unknown ones ExaBGP prints generically). Where a message is one our codec rejects
(``corpus_expectations``), the comparison uses what the error kept (``err.update``).
"""

from __future__ import annotations

import ipaddress
from collections import Counter
from typing import Any

from corpus_facts import (
    Facts,
    Route,
    as_path,
    communities,
    ext_communities,
    facts,
    large_communities,
)
from corpus_files import load
from corpus_outcomes import Outcome, outcomes

from bgpspeak.wire import (
    Aggregator,
    AtomicAggregate,
    ClusterList,
    Family,
    LocalPref,
    MultiExitDisc,
    Open,
    Origin,
    OriginatorId,
    UnknownAttribute,
)

REL = "exabgp/qa-messages.bgphex"

EXA_FAMILIES = {
    "ipv4 unicast": Family(1, 1),
    "ipv6 unicast": Family(2, 1),
    "ipv4 multicast": Family(1, 2),
    "ipv4 nlri-mpls": Family(1, 4),
    "ipv6 nlri-mpls": Family(2, 4),
    "ipv4 mpls-vpn": Family(1, 128),
    "ipv6 mpls-vpn": Family(2, 128),
    "ipv4 mcast-vpn": Family(1, 5),
    "ipv6 mcast-vpn": Family(2, 5),
    "ipv4 mup": Family(1, 85),
    "ipv6 mup": Family(2, 85),
    "ipv4 sr-policy": Family(1, 73),
    "ipv4 flow": Family(1, 133),
    "ipv6 flow": Family(2, 133),
    "ipv4 flow-vpn": Family(1, 134),
    "l2vpn vpls": Family(25, 65),
    "l2vpn evpn": Family(25, 70),
    "bgp-ls bgp-ls": Family(16388, 71),
}
_SEGMENT_NAMES = {1: "as-set", 2: "as-sequence", 3: "confed-sequence", 4: "confed-set"}
#: attributes bgpspeak keeps raw and ExaBGP interprets; only their presence is compared
_RAW_HERE = {"bgp-prefix-sid": 40, "bgp-ls": 29, "tunnel-encap": 23, "extended-community-ipv6": 25}


def _exa_route(family: Family, entry: dict[str, Any]) -> Route | None:
    if "nlri" not in entry:
        return None
    pid = entry.get("path-information")
    path_id = int(ipaddress.IPv4Address(pid)) if pid is not None else None
    labels = tuple(pair[0] for pair in entry.get("label", ()))
    return Route(family, entry["nlri"], path_id, entry.get("rd"), labels)


def _address(text: str) -> object:
    """ExaBGP's next-hop key as an address (``no-nexthop`` for flowspec stays text)."""
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return text


def _compare_routes(section: str, body: Any, f: Facts, tally: Counter[str]) -> list[str]:
    out: list[str] = []
    for fam_text, content in body.items():
        family = EXA_FAMILIES[fam_text]
        if section == "announce":
            pairs = [(hop, e) for hop, entries in content.items() for e in entries]
        else:
            pairs = [("", e) for e in content]
        raws = [e.get("raw") for _, e in pairs]
        if all(r is not None for r in raws) and pairs:
            want = bytes.fromhex("".join(r for r in raws if r))
            have = (f.raw_announced if section == "announce" else f.raw_withdrawn).get(family)
            if have != want:
                out.append(f"{section} {fam_text}: raw NLRI {have!r} != ExaBGP's {want.hex()}")
            tally["raw nlri"] += len(raws)
            continue
        for hop, entry in pairs:
            route = _exa_route(family, entry)
            if route is None:
                tally["routes not comparable (no prefix form)"] += 1
                continue
            tally["routes"] += 1
            if section == "withdraw":
                if route not in f.withdrawn:
                    out.append(f"withdraw {route} not in {f.withdrawn}")
                continue
            if route not in f.announced:
                out.append(f"announce {route} not in {list(f.announced)}")
            elif _address(hop) not in f.announced[route]:
                out.append(f"announce {route}: next hop {hop} not in {f.announced[route]}")
    return out


def _attribute_value(name: str, f: Facts) -> object:
    u = f.update
    a = u.get({"origin": 1, "med": 4, "local-preference": 5, "originator-id": 9}.get(name, -1))
    if name == "origin" and isinstance(a, Origin):
        return ["igp", "egp", "incomplete"][a.value]
    if name in ("med", "local-preference") and isinstance(a, MultiExitDisc | LocalPref):
        return a.value
    if name == "originator-id" and isinstance(a, OriginatorId):
        return str(a.address)
    if name == "as-path":
        path = as_path(u)
        return (
            {
                str(i): {"element": _SEGMENT_NAMES[s.type], "value": list(s.asns)}
                for i, s in enumerate(path.segments)
            }
            if path
            else None
        )
    if name == "community":
        return [list(c) for c in communities(u)]
    if name == "extended-community":
        return ext_communities(u)
    if name == "large-community":
        return [list(c) for c in large_communities(u)]
    if name == "cluster-list":
        cl = u.get(10)
        return [str(x) for x in cl.ids] if isinstance(cl, ClusterList) else None
    if name == "next-hop":
        nh = u.get(3)
        return str(nh.address) if nh is not None and hasattr(nh, "address") else None
    if name == "atomic-aggregate":
        return isinstance(u.get(6), AtomicAggregate)
    if name == "aggregator":
        ag = u.get(7)
        return f"{ag.asn}:{ag.address}" if isinstance(ag, Aggregator) else None
    if name.startswith("attribute-0x"):
        code, flags = (int(x, 16) for x in name.removeprefix("attribute-").split("-"))
        un = u.get(code)
        if isinstance(un, UnknownAttribute) and un.flags == flags:
            return "0x" + un.value.hex().upper()
        return None
    return KeyError(name)


def _want(name: str, value: Any) -> Any:
    if name == "extended-community":
        return [e["value"] for e in value]
    return value


def compare(o: Outcome, expected: dict[str, Any], tally: Counter[str]) -> list[str]:
    kind = expected["type"]
    if kind == "open":
        assert isinstance(o.message, Open)
        want = expected["neighbor"]["open"]
        got = (
            o.message.version,
            o.message.effective_asn,
            o.message.hold_time,
            str(o.message.bgp_id),
        )
        tally["opens"] += 1
        caps = sorted(str(c.code) for c in o.message.capabilities)
        expect = (want["version"], want["asn"], want["hold_time"], want["router_id"])
        return [] if got == expect and caps == sorted(want["capabilities"]) else [f"{got} {caps}"]
    update = o.update
    if update is None:
        assert o.error is not None, f"line {o.line}: not an UPDATE"
        tally["rejected with session reset (listed in corpus_expectations)"] += 1
        return []
    f = facts(update, o.resolution.ctx.add_path)
    body = expected["neighbor"]["message"]["update"]
    out: list[str] = []
    for section in ("announce", "withdraw"):
        out += _compare_routes(section, body.get(section, {}), f, tally)
    for name, value in body.get("attribute", {}).items():
        if name in _RAW_HERE:
            tally["attributes kept raw here"] += 1
            if update.get(_RAW_HERE[name]) is None:
                out.append(f"attribute {name} missing")
            continue
        ours = _attribute_value(name, f)
        if isinstance(ours, KeyError):
            out.append(f"attribute {name} has no comparison")
            continue
        tally["attributes"] += 1
        if ours != _want(name, value):
            out.append(f"{name}: ours {ours!r} != ExaBGP's {value!r}")
    return out


def run_exabgp() -> tuple[Counter[str], list[str]]:
    cap = load(REL)
    tally: Counter[str] = Counter()
    problems: list[str] = []
    for o in outcomes(REL):
        expected = cap.metas[o.line - 1].get("expected_json")
        if not expected:
            continue
        tally["messages"] += 1
        for p in compare(o, expected, tally):
            problems.append(f"line {o.line} ({cap.metas[o.line - 1]['source']}): {p}")
    return tally, problems


def test_exabgp_expected_decodes() -> None:
    tally, problems = run_exabgp()
    assert not problems, "\n".join(problems[:30])
    # what was actually compared, so that a silent skip shows up as a changed number
    assert dict(tally) == {
        "messages": 248,
        "opens": 1,
        "routes": 163,
        "raw nlri": 40,
        "routes not comparable (no prefix form)": 57,  # flowspec, VPLS, SR policy, BGP-LS
        "attributes": 641,
        "attributes kept raw here": 23,
        "rejected with session reset (listed in corpus_expectations)": 3,
    }
