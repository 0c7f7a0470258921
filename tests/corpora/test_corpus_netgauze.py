"""Agreement with NetGauze's per-message JSON decodes (``netgauze/**/*-bgp.json``, ``*-bmp.json``).

NetGauze (Rust) decoded the same BGP and BMP captures, its own and the pmacct ones. Every BGP
message it printed (inside BMP: peer-up OPENs, route-monitoring UPDATEs, peer-down
NOTIFICATIONs) is paired with ours by content (type, attribute codes, prefixes), then compared
field by field: prefixes with path ids, route distinguishers and labels; next hops; every
attribute's flags and value (origin, AS path, next hop, MED, local preference, communities of
the three kinds, originator, cluster list, aggregator, unknown attributes); OPEN identity and
capability count; NOTIFICATION code and subcode. Messages NetGauze could not parse are counted
and must be ones we reject too.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections import Counter, defaultdict, deque
from pathlib import Path
from typing import Any

import pytest
from corpus_facts import Route, as_path, communities, ext_communities, facts, large_communities
from corpus_files import capture_names, root
from corpus_outcomes import Outcome, outcomes

from bgpspeak.wire import (
    Aggregator,
    ClusterList,
    ErrorCode,
    Family,
    LocalPref,
    MultiExitDisc,
    NextHop,
    Notification,
    Open,
    Origin,
    OriginatorId,
    UnknownAttribute,
    Update,
)
from bgpspeak.wire.attribute import EXTENDED_LENGTH, OPTIONAL, PARTIAL, TRANSITIVE
from bgpspeak.wire.errors import SUBCODES

#: NetGauze decoded these pmacct captures under their original test names; the corpus keeps one
#: copy of each identical capture (README: 203 = 200, 207 = 202, 304 = 302).
_DUPLICATES = {"203-BMP-HUAWEI-dump": "200-BMP-HUAWEI-locrib_instance"}


def _pairs() -> list[tuple[str, str]]:
    """(NetGauze JSON, capture) for every JSON whose capture is in the corpus."""
    try:
        base = root() / "netgauze"
    except (pytest.skip.Exception, pytest.fail.Exception):
        return []
    names = set(capture_names())
    out = []
    for js in sorted(base.rglob("*-b[gm]p.json")):
        rel = str(js.relative_to(root()))
        stem = js.name.rsplit("-", 1)[0]
        if "/pmacct-tests/" in rel:
            test = js.parent.name
            cap = f"pmacct/{_DUPLICATES.get(test, test)}/{stem}.pcap.bgphex"
        else:
            matches = [n for n in names if n.startswith(str(js.parent.relative_to(root())) + "/")]
            cap = matches[0] if len(matches) == 1 else ""
        if cap in names:
            out.append((rel, cap))
    return out


PAIRS = _pairs()

_ATTRIBUTE_CODES = {
    "Origin": 1,
    "AsPath": 2,
    "NextHop": 3,
    "MultiExitDiscriminator": 4,
    "LocalPreference": 5,
    "AtomicAggregate": 6,
    "Aggregator": 7,
    "Communities": 8,
    "Originator": 9,
    "ClusterList": 10,
    "MpReach": 14,
    "MpUnreach": 15,
    "ExtendedCommunities": 16,
    "Aigp": 26,
    "LargeCommunities": 32,
    "PrefixSegmentIdentifier": 40,
}
_FAMILIES = {
    "Ipv4Unicast": Family(1, 1),
    "Ipv6Unicast": Family(2, 1),
    "Ipv4NlriMplsLabels": Family(1, 4),
    "Ipv6NlriMplsLabels": Family(2, 4),
    "Ipv4MplsVpnUnicast": Family(1, 128),
    "Ipv6MplsVpnUnicast": Family(2, 128),
    "L2Evpn": Family(25, 70),
}
_NOTIFICATION_CODES = {
    "MessageHeaderError": ErrorCode.MESSAGE_HEADER,
    "OpenMessageError": ErrorCode.OPEN_MESSAGE,
    "UpdateMessageError": ErrorCode.UPDATE_MESSAGE,
    "HoldTimerExpiredError": ErrorCode.HOLD_TIMER_EXPIRED,
    "FiniteStateMachineError": ErrorCode.FSM,
    "CeaseError": ErrorCode.CEASE,
    "RouteRefreshError": ErrorCode.ROUTE_REFRESH,
}
_SEGMENTS = {"AsSet": 1, "AsSequence": 2, "AsConfedSequence": 3, "AsConfedSet": 4}
_EXT_TYPES = {
    ("TransitiveTwoOctet", "RouteTarget"): 0x0002,
    ("TransitiveTwoOctet", "RouteOrigin"): 0x0003,
    ("TransitiveFourOctet", "RouteTarget"): 0x0202,
    ("TransitiveIpv4", "RouteTarget"): 0x0102,
}


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).upper()


def bgp_messages(line: dict[str, Any] | str) -> list[dict[str, Any] | str] | None:
    """The BGP messages of one NetGauze line; None for a message NetGauze could not parse."""
    if isinstance(line, str):
        return [line]
    if "BmpMessageParsingError" in line:
        return None
    version = next((v for v in ("V3", "V4") if v in line), None)
    if version is None:
        return [line]
    kind, body = next(iter(line[version].items()))
    if kind == "PeerUpNotification":
        return [body["sent_message"], body["received_message"]]
    if kind == "RouteMonitoring":
        if "update_message" in body:
            return [body["update_message"]]
        return [body["update_pdu"]["value"]["BgpUpdate"]]
    if kind == "PeerDownNotification" and isinstance(body["reason"], dict):
        reason = next(iter(body["reason"].values()))
        if isinstance(reason, dict) and "Notification" in reason:
            return [reason]
    return []


def _label(stack: list[int]) -> int:
    return (stack[0] << 12) | (stack[1] << 4) | (stack[2] >> 4)


def _rd(rd: dict[str, Any] | None) -> str | None:
    if rd is None:
        return None
    _kind, v = next(iter(rd.items()))
    admin = v.get("asn2", v.get("asn4", v.get("ip")))
    return f"{admin}:{v['number']}"


def _route(family: Family, entry: dict[str, Any]) -> Route:
    prefix = str(entry.get("network", entry.get("prefix")))
    stack = entry.get("label_stack", entry.get("labels", []))
    return Route(
        family, prefix, entry.get("path_id"), _rd(entry.get("rd")), tuple(_label(s) for s in stack)
    )


def _ng_routes(update: dict[str, Any]) -> tuple[list[Route], list[Route]]:
    """(announced, withdrawn) routes NetGauze lists, for the families it structures."""
    ann = [_route(Family(1, 1), e) for e in update["nlri"]]
    wd = [_route(Family(1, 1), e) for e in update["withdrawn_routes"]]
    for a in update["path_attributes"]:
        v = a["value"]
        if not isinstance(v, dict):
            continue
        for key, target in (("MpReach", ann), ("MpUnreach", wd)):
            if key in v:
                fam_name, body = next(iter(v[key].items()))
                if fam_name in _FAMILIES and fam_name != "L2Evpn":
                    target += [_route(_FAMILIES[fam_name], e) for e in body["nlri"]]
    return ann, wd


def _codes(update: dict[str, Any]) -> tuple[int, ...]:
    out = []
    for a in update["path_attributes"]:
        v = a["value"]
        name = v if isinstance(v, str) else next(iter(v))
        out.append(
            v["UnknownAttribute"]["code"] if name == "UnknownAttribute" else _ATTRIBUTE_CODES[name]
        )
    return tuple(out)


def ng_key(msg: dict[str, Any] | str) -> tuple[object, ...]:
    if isinstance(msg, str):
        return (msg,)
    kind, body = next(iter(msg.items()))
    if kind == "Update":
        ann, wd = _ng_routes(body)
        return ("Update", _codes(body), tuple(sorted(map(str, ann))), tuple(sorted(map(str, wd))))
    if kind == "Open":
        return ("Open", body["bgp_id"], body["my_as"])
    if kind == "Notification":
        return ("Notification",)
    return (kind,)


def our_key(o: Outcome) -> tuple[object, ...] | None:
    msg = o.message
    if isinstance(msg, Open):
        return ("Open", str(msg.bgp_id), msg.asn)
    if isinstance(msg, Notification):
        return ("Notification",)
    u = o.update
    if u is None:
        return None if msg is None else ({4: "KeepAlive", 5: "RouteRefresh"}[msg.TYPE],)
    f = facts(u, o.resolution.ctx.add_path)
    ann = [r for r in f.announced if r.family != Family(25, 70)]
    return (
        "Update",
        tuple(a.type_code for a in u.attributes),
        tuple(sorted(map(str, ann))),
        tuple(sorted(map(str, f.withdrawn))),
    )


def _ext(entry: dict[str, Any]) -> int | None:
    kind, body = next(iter(entry.items()))
    sub, value = next(iter(body.items())) if isinstance(body, dict) else (None, None)
    code = _EXT_TYPES.get((kind, sub or ""))
    if code is None or not isinstance(value, dict):
        return None
    if kind == "TransitiveTwoOctet":
        return (code << 48) | (int(value["global_admin"]) << 32) | int(value["local_admin"])
    if kind == "TransitiveFourOctet":
        return (code << 48) | (int(value["global_admin"]) << 16) | int(value["local_admin"])
    return None


def compare_attribute(a: dict[str, Any], u: Update, o: Outcome, tally: Counter[str]) -> list[str]:
    v = a["value"]
    name = v if isinstance(v, str) else next(iter(v))
    body: Any = None if isinstance(v, str) else v[name]
    code = body["code"] if name == "UnknownAttribute" else _ATTRIBUTE_CODES[name]
    ours = u.get(code)
    if ours is None:
        return [f"{name} missing from our decode"]
    flags = (
        OPTIONAL * a["optional"]
        | TRANSITIVE * a["transitive"]
        | PARTIAL * a["partial"]
        | EXTENDED_LENGTH * a["extended_length"]
    )
    out = [] if flags == ours.flags else [f"{name}: flags {flags:#x} != ours {ours.flags:#x}"]
    got: object = None
    want: object = None
    if name == "Origin" and isinstance(ours, Origin):
        got, want = ours.value, ["IGP", "EGP", "Incomplete"].index(body)
    elif name == "AsPath":
        segments = next(iter(body.values()))
        want = [(_SEGMENTS[s["segment_type"]], tuple(s["as_numbers"])) for s in segments]
        path = as_path(u)
        got = [(s.type, s.asns) for s in path.segments] if path else None
    elif name == "NextHop" and isinstance(ours, NextHop):
        got, want = str(ours.address), body["next_hop"]
    elif name in ("MultiExitDiscriminator", "LocalPreference"):
        assert isinstance(ours, MultiExitDisc | LocalPref)
        got, want = ours.value, body["metric"]
    elif name == "Communities":
        got = communities(u)
        want = [divmod(c, 0x10000) for c in body["communities"]]
    elif name == "ExtendedCommunities":
        mine = ext_communities(u)
        want_all = [_ext(e) for e in body["communities"]]
        got = [m for m, w in zip(mine, want_all, strict=False) if w is not None]
        want = [w for w in want_all if w is not None]
        if len(mine) != len(want_all):
            out.append(f"{len(mine)} extended communities != NetGauze's {len(want_all)}")
    elif name == "LargeCommunities":
        got = large_communities(u)
        want = [
            (c["global_admin"], c["local_data1"], c["local_data2"]) for c in body["communities"]
        ]
    elif name == "Originator" and isinstance(ours, OriginatorId):
        got, want = str(ours.address), body
    elif name == "ClusterList" and isinstance(ours, ClusterList):
        got, want = [str(x) for x in ours.ids], body
    elif name == "Aggregator" and isinstance(ours, Aggregator):
        inner = next(iter(body.values()))
        got, want = (ours.asn, str(ours.address)), (inner["asn"], inner["origin"])
    elif name == "UnknownAttribute" and isinstance(ours, UnknownAttribute):
        got, want = list(ours.value), body["value"]
    elif name in ("MpReach", "MpUnreach"):
        fam_name, inner = next(iter(body.items()))
        fam = _FAMILIES.get(fam_name)
        our_family = getattr(ours, "family", None)
        if fam is not None and our_family != fam:
            out.append(f"{name}: family {fam} != ours {our_family}")
        if name == "MpReach" and isinstance(inner, dict) and "next_hop" in str(inner):
            hop = inner.get("next_hop", inner.get("next_hop_global"))
            if isinstance(hop, dict):  # VPN: {"Ipv4"/"Ipv6": {"rd", "next_hop", ...}}
                hop = next(iter(hop.values()))
                local = hop.get("next_hop_local")
                hop = hop["next_hop"]
            else:
                local = inner.get("next_hop_local")
            hops = [str(ipaddress.ip_address(h)) for h in (hop, local) if h]
            got = [str(h) for h in getattr(ours, "next_hops", ())]
            tally["next hops"] += 1
            if hops != got:
                out.append(f"next hops {hops} != ours {got}")
        return out
    else:
        tally[f"{name} compared by flags only"] += 1
        return out
    tally[f"{name} values"] += 1
    if got != want:
        out.append(f"{name}: ours {got!r} != NetGauze {want!r}")
    return out


def compare(ng: dict[str, Any] | str, o: Outcome, tally: Counter[str]) -> list[str]:
    if isinstance(ng, str):
        return []
    kind, body = next(iter(ng.items()))
    if kind == "Open":
        assert isinstance(o.message, Open)
        caps = sum(len(p["Capabilities"]) for p in body["params"] if "Capabilities" in p)
        got = (o.message.version, o.message.hold_time, len(o.message.capabilities))
        return [] if got == (body["version"], body["hold_time"], caps) else [f"OPEN {got}"]
    if kind == "Notification":
        assert isinstance(o.message, Notification)
        code_name, inner = next(iter(body.items()))
        sub_name = next(iter(inner))
        tally["notifications"] += 1
        table = SUBCODES.get(o.message.code)
        mine = table(o.message.subcode).name if table else ""
        want = (_NOTIFICATION_CODES.get(code_name), _snake(sub_name))
        if (o.message.code, mine) != want:
            return [f"NOTIFICATION {want} != ours {o.message.code}/{mine}"]
        return []
    u = o.update
    assert u is not None
    if o.error is not None:  # a treat-as-withdraw UPDATE: what the error kept must agree
        tally["treat-as-withdraw UPDATEs compared through err.update"] += 1
    ann, wd = _ng_routes(body)
    f = facts(u, o.resolution.ctx.add_path)
    out = []
    tally["routes"] += len(ann) + len(wd)
    if sorted(map(str, ann)) != sorted(str(r) for r in f.announced if r.family != Family(25, 70)):
        out.append("announced routes differ")
    for a in body["path_attributes"]:
        out += compare_attribute(a, u, o, tally)
    return out


def _load(path: Path) -> list[Any]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def run_netgauze(js: str, rel: str) -> tuple[Counter[str], list[str]]:
    tally: Counter[str] = Counter()
    ours: dict[tuple[object, ...], deque[Outcome]] = defaultdict(deque)
    for o in outcomes(rel):
        key = our_key(o)
        if key is not None:
            ours[key].append(o)
    problems: list[str] = []
    for n, line in enumerate(_load(root() / js), 1):
        msgs = bgp_messages(line)
        if msgs is None:
            # NetGauze refuses BGP identifier 0 in BMP peer-up OPENs (bgpspeak decodes them and
            # leaves that check to its session layer, negotiate.py) and FRR's 2-octet AS_PATHs
            tally["not parsed by NetGauze"] += 1
            if "RouteMonitoringMessageError" in json.dumps(line):
                tally["UPDATEs NetGauze rejects"] += 1
            continue
        for ng in msgs:
            tally["NetGauze messages"] += 1
            key = ng_key(ng)
            candidates = ours[key]
            if not candidates:
                problems.append(f"NetGauze line {n}: no message of ours matches {key}")
                continue
            # several messages can share routes and attribute codes (one per BMP peer or
            # RIB): take the first that agrees, else report against the first
            pick, found = 0, compare(ng, candidates[0], Counter())
            for i, other in enumerate(candidates):
                if not compare(ng, other, Counter()):
                    pick, found = i, []
                    break
            o = candidates[pick]
            del candidates[pick]
            compare(ng, o, tally)
            tally["messages"] += 1
            problems += [f"NetGauze line {n}, our line {o.line}: {p}" for p in found]
    return tally, problems


@pytest.mark.parametrize(("js", "rel"), PAIRS, ids=[p[0] for p in PAIRS])
def test_netgauze_decodes(js: str, rel: str) -> None:
    tally, problems = run_netgauze(js, rel)
    assert not problems, "\n".join(problems[:20])
    assert tally["messages"] == tally["NetGauze messages"]
    rejected = sum(1 for o in outcomes(rel) if o.error is not None and o.data[18] == 2)
    # every UPDATE NetGauze rejects, we reject too (we also reject the FRR ones NetGauze
    # accepts without NEXT_HOP, and Cisco's next-hop length 0)
    assert tally["UPDATEs NetGauze rejects"] <= rejected
