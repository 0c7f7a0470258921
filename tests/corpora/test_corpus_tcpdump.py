"""Agreement with tcpdump's expected ``-v`` output for its BGP regression captures.

Each message is matched to the block tcpdump printed for it (same frame, type and length; a
message that does not start and end in one frame is printed partially by tcpdump and skipped).
Compared: withdrawn and announced prefixes with path ids; each attribute's flags and length;
ORIGIN, AS_PATH / AS4_PATH (asplain and asdot), NEXT_HOP, MED, LOCAL_PREF, communities,
extended community types, large communities, ORIGINATOR_ID, CLUSTER_LIST, OTC, BGPsec Secure_Path;
MP_REACH/MP_UNREACH family, next hops and prefixes (unicast, labeled, VPN with RD and label);
OPEN header and capability codes; NOTIFICATION codes, Hard Reset contents and shutdown
communications; ROUTE-REFRESH family and subtype. The fuzzed captures are left out: their
``.out`` shows how far tcpdump's printer got, not what the bytes mean.
"""

from __future__ import annotations

import ipaddress
import re
from collections import Counter

import pytest
import tcpdump_out
from corpus_expectations import FUZZED
from corpus_facts import Route, communities, ext_communities, facts, large_communities
from corpus_files import root
from corpus_outcomes import Outcome, outcomes

from bgpspeak.wire import (
    BgpsecPath,
    ClusterList,
    Family,
    LocalPref,
    MpReachNlri,
    MpUnreachNlri,
    MultiExitDisc,
    NextHop,
    Notification,
    OnlyToCustomer,
    Open,
    Origin,
    OriginatorId,
    PathAttribute,
    RouteRefresh,
    Update,
)
from bgpspeak.wire.attribute import flags_text
from bgpspeak.wire.communities import WELL_KNOWN_COMMUNITIES


def _entries() -> list[tuple[str, str, str]]:
    try:
        listing = root() / "tcpdump" / "TESTLIST.bgp-lines.txt"
    except (pytest.skip.Exception, pytest.fail.Exception):
        return []
    return [e for e in tcpdump_out.testlist(listing) if f"tcpdump/{e[0]}.bgphex" not in FUZZED]


ENTRIES = _entries()
_NAMED_COMMUNITIES = {
    name.upper().replace("-", "_"): value for value, name in WELL_KNOWN_COMMUNITIES.items()
}
_NUMBERS = re.compile(r"\((\d+)\)")
_CAPABILITY = re.compile(r"^\t      \S.* \((\d+)\), length: \d+$")


def _asn(token: str) -> str:
    if "." in token:  # asdot (-b)
        hi, lo = token.split(".")
        return str((int(hi) << 16) | int(lo))
    return token


def _path_text(text: str) -> str:
    """tcpdump's AS path text in our ``str(AsPath)`` form (asdot converted)."""
    if text.strip() == "empty":
        return ""
    spaced = re.sub(r"([{}()\[\]])", r" \1 ", text)
    out = " ".join(_asn(t) if t[0].isdigit() else t for t in spaced.split())
    for a, b in (("{ ", "{"), (" }", "}"), ("( ", "("), (" )", ")"), ("[ ", "["), (" ]", "]")):
        out = out.replace(a, b)
    return out


def _addresses(text: str) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    out = []
    for item in text.split(", "):
        try:
            out.append(ipaddress.ip_address(item.strip()))
        except ValueError:
            continue
    return out


def _compare_mp(
    attr: tcpdump_out.Attribute, ours: PathAttribute, o: Outcome, tally: Counter[str]
) -> list[str]:
    out: list[str] = []
    assert isinstance(ours, MpReachNlri | MpUnreachNlri)
    family_line = next((ln for ln in attr.lines if "AFI: " in ln), None)
    if family_line is not None:
        numbers = [int(n) for n in _NUMBERS.findall(family_line)]
        if numbers[:2] != [ours.afi, ours.safi]:
            out.append(f"{attr.name}: family {numbers[:2]} != ours {ours.family}")
    if isinstance(ours, MpReachNlri):
        hop_line = next((ln for ln in attr.lines if "nexthop: " in ln), None)
        if hop_line is not None:
            text = hop_line.split("nexthop: ", 1)[1]
            nh_len = int(re.search(r"nh-length: (\d+)", text)[1])  # type: ignore[index]
            if nh_len != len(ours.next_hop):
                out.append(f"next-hop length {nh_len} != ours {len(ours.next_hop)}")
            text = re.sub(r"RD: [^,]+, ", "", text)
            if _addresses(text) != list(ours.next_hops):
                out.append(f"next hops {text} != ours {ours.next_hops}")
            tally["next hops"] += 1
    f = facts(Update(attributes=(ours,)), o.resolution.ctx.add_path)
    mine = list(f.announced) if isinstance(ours, MpReachNlri) else f.withdrawn
    family = Family(ours.afi, ours.safi)
    printed = tcpdump_out.routes(attr.lines)
    if printed and family.safi in (1, 2):
        want = [Route(family, p, pid) for p, pid in printed]
        tally["mp prefixes"] += len(want)
        if want != mine:
            out.append(f"{attr.name} prefixes {want} != ours {mine}")
    printed_labeled = tcpdump_out.labeled(attr.lines)
    if printed_labeled:
        got = [(r.rd, r.prefix, r.labels[0] if r.labels else None) for r in mine]
        tally["mp labeled prefixes"] += len(printed_labeled)
        if [(rd, p, lab) for rd, p, lab in printed_labeled] != got:
            out.append(f"{attr.name} labeled {printed_labeled} != ours {got}")
    return out


def _compare_value(
    attr: tcpdump_out.Attribute, ours: PathAttribute, o: Outcome, tally: Counter[str]
) -> list[str]:
    v = attr.value
    u = o.update
    assert u is not None
    code = attr.code
    got: object
    want: object
    if code == 1 and isinstance(ours, Origin):
        got, want = ["IGP", "EGP", "Incomplete"][ours.value], v
    elif code in (2, 17):
        got, want = str(ours), _path_text(v)
    elif code == 3 and isinstance(ours, NextHop):
        got, want = str(ours.address), v
    elif code in (4, 5) and isinstance(ours, MultiExitDisc | LocalPref):
        got, want = ours.value, int(v)
    elif code == 8:
        words = [w.strip() for w in v.split(",") if w.strip()]
        want = [
            divmod(_NAMED_COMMUNITIES[w], 0x10000)
            if w in _NAMED_COMMUNITIES
            else tuple(int(x) for x in w.split(":"))
            for w in words
        ]
        got = communities(u)
    elif code == 9 and isinstance(ours, OriginatorId):
        got, want = str(ours.address), v
    elif code == 10 and isinstance(ours, ClusterList):
        got, want = [str(a) for a in ours.ids], [w.strip() for w in v.split(",")]
    elif code == 16:
        want = [int(m, 16) for ln in attr.lines if (m := _ext_type(ln))]
        got = [value >> 48 for value in ext_communities(u)]
    elif code == 32:
        text = " ".join(ln.strip() for ln in attr.lines)
        want = [tuple(int(x) for x in w.split(":")) for w in text.split(", ") if w]
        got = large_communities(u)
    elif code == 35 and isinstance(ours, OnlyToCustomer):
        got, want = ours.asn, int(attr.lines[0].split()[-1])
    elif code == 33 and isinstance(ours, BgpsecPath):
        want = [_secure_segment(ln) for ln in attr.lines if "Secure Path Segment" in ln]
        got = [tuple(s) for s in ours.secure_path]
    elif code in (14, 15):
        return _compare_mp(attr, ours, o, tally)
    else:
        tally["attributes compared by flags and length only"] += 1
        return []
    tally[f"attribute {code} values"] += 1
    return [] if got == want else [f"{attr.name}: ours {got!r} != tcpdump {want!r}"]


def _ext_type(line: str) -> str | None:
    m = re.search(r"\((0x[0-9a-f]{4})\), Flags", line)
    return m[1] if m else None


def _secure_segment(line: str) -> tuple[int, int, int]:
    m = re.search(r"pCount: (\d+), Flags: .*\((0x[0-9a-f]+)\), AS: (\d+)", line)
    assert m, line
    return int(m[1]), int(m[2], 16), int(m[3])


def compare_update(block: tcpdump_out.Block, o: Outcome, tally: Counter[str]) -> list[str]:
    u = o.update
    if u is None:
        tally["rejected with session reset (listed in corpus_expectations)"] += 1
        return []
    out: list[str] = []
    for title, mine in (("Withdrawn routes:", u.withdrawn), ("Updated routes:", u.nlri)):
        printed = tcpdump_out.routes(block.section(title))
        listed = [(str(p.with_path_id(None)), p.path_id) for p in mine]
        tally["prefixes"] += len(printed)
        if printed != listed:
            out.append(f"{title} tcpdump {printed} != ours {listed}")
    if any("End-of-Rib" in ln for ln in block.lines):
        if u.withdrawn and not u.attributes:
            # tcpdump says End-of-RIB for any UPDATE without attributes and NLRI; RFC 4724
            # section 2's marker also has no withdrawn routes, so this one is not
            tally["withdraw-only UPDATE printed as End-of-RIB by tcpdump"] += 1
        else:
            tally["end-of-rib"] += 1
            if u.end_of_rib() is None:
                out.append("tcpdump sees an End-of-RIB, we do not")
    by_code = {a.type_code: a for a in u.attributes}
    for attr in block.attributes():
        ours = by_code.get(attr.code)
        if ours is None:
            if o.error is None:
                out.append(f"{attr.name} ({attr.code}) missing from our decode")
            continue
        tally["attributes"] += 1
        ours_flags = set(flags_text(ours.flags)) - {"-"}
        if set(attr.flags) != ours_flags:
            out.append(f"{attr.name}: flags {attr.flags} != ours {flags_text(ours.flags)}")
        if attr.length != len(ours.encode_value(o.resolution.ctx)):
            out.append(f"{attr.name}: length {attr.length} != ours")
        out += _compare_value(attr, ours, o, tally)
    return out


def compare(block: tcpdump_out.Block, o: Outcome, tally: Counter[str]) -> list[str]:
    msg = o.message
    if block.type == 2:
        return compare_update(block, o, tally)
    if msg is None:
        tally["rejected (listed in corpus_expectations)"] += 1
        return []
    tally[f"{type(msg).__name__} messages"] += 1
    if isinstance(msg, Open):
        head = block.lines[0] if block.lines else ""
        m = re.search(r"Version (\d+), my AS (\S+), Holdtime (\d+)s, ID (\S+)", head)
        caps = [int(c[1]) for ln in block.lines if (c := _CAPABILITY.match(ln))]
        got = (msg.version, msg.asn, msg.hold_time, str(msg.bgp_id))
        want = (int(m[1]), int(_asn(m[2])), int(m[3]), m[4]) if m else None
        mine = [c.code for c in msg.capabilities]
        return [] if (got == want and caps == mine) else [f"OPEN {want} {caps} != {got} {mine}"]
    if isinstance(msg, Notification):
        numbers = [int(n) for n in _NUMBERS.findall(block.head.split("Data:")[0])]
        out = []
        if numbers[:2] != [msg.code, msg.subcode]:
            out.append(f"NOTIFICATION {numbers} != ours {msg.code}/{msg.subcode}")
        hard_reset = len(numbers) >= 4 and msg.inner is not msg
        if hard_reset and numbers[2:4] != [msg.inner.code, msg.inner.subcode]:
            out.append(f"Hard Reset inner {numbers[2:4]} != ours {msg.inner}")
        text = re.search(r'Shutdown Communication \(length: \d+\): "(.*)"$', block.head)
        if text and msg.shutdown_message != text[1]:
            out.append(f"shutdown communication {text[1]!r} != ours {msg.shutdown_message!r}")
        return out
    if isinstance(msg, RouteRefresh):
        line = next((ln for ln in block.lines if "AFI " in ln), "")
        numbers = [int(n) for n in _NUMBERS.findall(line)]
        mine = [msg.afi, msg.safi, msg.subtype]
        return [] if numbers[: len(mine)] == mine[: len(numbers)] else [f"{numbers} != {mine}"]
    return []


def _match(frames: dict[int, list[tcpdump_out.Block]], rel: str) -> list[tuple[object, Outcome]]:
    """Pair each message with the block tcpdump printed for it, frame by frame."""
    used: set[int] = set()
    pairs: list[tuple[object, Outcome]] = []
    for o in sorted(outcomes(rel), key=lambda o: (o.meta["first_frame"], o.meta["stream_offset"])):
        blocks = frames.get(o.meta["first_frame"], [])
        for b in blocks:
            if id(b) not in used and (b.type, b.length) == (o.data[18], len(o.data)):
                used.add(id(b))
                pairs.append((b, o))
                break
        else:
            pairs.append((None, o))
    return pairs


def run_tcpdump(entry: tuple[str, str, str]) -> tuple[Counter[str], list[str]]:
    pcap, out_file, _flags = entry
    frames = tcpdump_out.read(root() / "tcpdump" / out_file)
    tally: Counter[str] = Counter()
    problems: list[str] = []
    for block, o in _match(frames, f"tcpdump/{pcap}.bgphex"):
        if not isinstance(block, tcpdump_out.Block) or block.truncated:
            tally["not printed whole by tcpdump"] += 1
            continue
        tally["messages"] += 1
        where = f"line {o.line} (frame {o.meta['first_frame']})"
        problems += [f"{where}: {p}" for p in compare(block, o, tally)]
    return tally, problems


@pytest.mark.parametrize("entry", ENTRIES, ids=[e[1] for e in ENTRIES])
def test_tcpdump_expected_output(entry: tuple[str, str, str]) -> None:
    tally, problems = run_tcpdump(entry)
    assert not problems, "\n".join(problems[:20])
    assert tally["messages"], f"no message of {entry[0]} could be matched with {entry[1]}"
