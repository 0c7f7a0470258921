"""ExaBGP's text API, the part that unicast route scripts use, parsed into commands.

Scripts written for ExaBGP print lines such as ``announce route 10.0.0.0/24 next-hop self med
100 community [65000:1]`` on their stdout. This module turns one line into a command value;
:mod:`.processes` and the control socket apply it. Anything outside IPv4/IPv6 unicast (flowspec,
VPN, EVPN, VPLS, MUP, BGP-LS, generic attributes) is refused with a message saying so, rather
than guessed at. docs/daemon.md lists what is supported.

Pure: no I/O, no speaker.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, replace

from ..routes import Route
from ..wire.attribute import PathAttribute, UnknownAttribute
from ..wire.attributes import Aggregator, AtomicAggregate, ClusterList, OriginatorId
from ..wire.communities import parse_community, parse_ext_community, parse_large_community
from ..wire.family import IPV4_UNICAST, IPV6_UNICAST, Family
from ..wire.prefix import Prefix

MAX_SPLIT = 65536  # `split` beyond this is a typo, not a plan


class ExaParseError(ValueError):
    """The line is not a command we can carry out; the message says why."""


@dataclass(frozen=True)
class RouteCommand:
    """``announce``/``withdraw`` of unicast routes. ``watchdog`` groups routes that
    ``announce watchdog`` / ``withdraw watchdog`` switch together; ``start_withdrawn`` is the
    ``withdraw`` flag on an announce (the route waits for its watchdog to be announced)."""

    action: str
    routes: tuple[Route, ...]
    neighbors: tuple[str, ...] | None = None
    watchdog: str | None = None
    start_withdrawn: bool = False


@dataclass(frozen=True)
class WatchdogCommand:
    action: str
    name: str
    neighbors: tuple[str, ...] | None = None


@dataclass(frozen=True)
class RefreshCommand:
    family: Family
    neighbors: tuple[str, ...] | None = None


@dataclass(frozen=True)
class EorCommand:
    """Accepted for compatibility; the speaker sends End-of-RIB itself after every initial
    transfer, so a manual one changes nothing."""

    family: Family | None
    neighbors: tuple[str, ...] | None = None


@dataclass(frozen=True)
class TeardownCommand:
    neighbors: tuple[str, ...] | None
    code: int = 2


@dataclass(frozen=True)
class SimpleCommand:
    """``version``, ``shutdown``, ``reload``, ``restart``, ``show neighbor summary`` ..."""

    name: str


ExaCommand = (
    RouteCommand | WatchdogCommand | RefreshCommand | EorCommand | TeardownCommand | SimpleCommand
)

Token = str | list[str]

_UNSUPPORTED_FAMILIES = {
    "flow": "flowspec",
    "vpls": "VPLS",
    "vpn": "L3VPN",
    "evpn": "EVPN",
    "mcast-vpn": "multicast VPN",
    "mup": "MUP",
    "bgp-ls": "BGP-LS",
    "operational": "operational messages",
    "l2vpn": "L2VPN",
}
_UNSUPPORTED_ATTRIBUTES = {
    "rd": "route distinguishers (L3VPN)",
    "route-distinguisher": "route distinguishers (L3VPN)",
    "label": "labels (labeled unicast / L3VPN)",
    "bgp-prefix-sid": "BGP prefix SID",
    "bgp-prefix-sid-srv6": "SRv6 prefix SID",
    "aigp": "AIGP",
    "originator": "originator",
}
_SIMPLE = {
    ("version",): "version",
    ("shutdown",): "shutdown",
    ("reload",): "reload",
    ("restart",): "restart",
    ("show", "neighbor"): "show neighbor",
    ("show", "neighbor", "summary"): "show neighbor summary",
    ("show", "neighbors"): "show neighbor",
    ("show", "adj-rib", "out"): "show adj-rib out",
    ("show", "adj-rib", "in"): "show adj-rib in",
}


def tokenize(line: str) -> list[Token]:
    """Words, with ``[ a b ]`` and ``( a b )`` groups as lists (ExaBGP writes both). Brackets
    nested inside a group (ExaBGP's SRv6 SID structure) are kept as words of the outer group:
    no supported attribute needs them, and the family check can then refuse the command by
    name."""
    spaced = line
    for ch in "[]()":
        spaced = spaced.replace(ch, f" {ch} ")
    out: list[Token] = []
    group: list[str] | None = None
    depth = 0
    for word in spaced.split():
        if group is not None:
            if word in ("]", ")"):
                depth -= 1
                if depth == 0:
                    out.append(group)
                    group = None
                    continue
            elif word in ("[", "("):
                depth += 1
            group.append(word)
        elif word in ("[", "("):
            group, depth = [], 1
        elif word in ("]", ")"):
            raise ExaParseError(f"{word!r} without its opening bracket")
        else:
            out.append(word)
    if group is not None:
        raise ExaParseError("a closing bracket is missing")
    return out


class _Cursor:
    def __init__(self, tokens: list[Token], line: str) -> None:
        self.tokens = tokens
        self.i = 0
        self.line = line

    def more(self) -> bool:
        return self.i < len(self.tokens)

    def peek(self) -> Token | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def word(self, what: str) -> str:
        tok = self.peek()
        if tok is None:
            raise ExaParseError(f"{what} expected at the end of {self.line!r}")
        if isinstance(tok, list):
            raise ExaParseError(f"{what} expected, found [{' '.join(tok)}]")
        self.i += 1
        return tok

    def values(self, what: str) -> list[str]:
        """One value or a bracketed list of them."""
        tok = self.peek()
        if tok is None:
            raise ExaParseError(f"{what} expected at the end of {self.line!r}")
        self.i += 1
        return tok if isinstance(tok, list) else [tok]


def _neighbors(cur: _Cursor) -> tuple[str, ...] | None:
    """``neighbor A [, neighbor B ...]`` or ``neighbor *`` in front of a command."""
    if cur.peek() != "neighbor":
        return None
    out: list[str] = []
    star = False
    while cur.peek() == "neighbor":
        cur.i += 1
        addr = cur.word("neighbor address").rstrip(",")
        if addr == "*":
            star = True
        else:
            try:
                out.append(str(ipaddress.ip_address(addr)))
            except ValueError:
                raise ExaParseError(f"{addr!r} is not a neighbor address") from None
        # selector options (local-ip, peer-as, ...) narrow the match in ExaBGP; we match on
        # the address only, so refuse them rather than target the wrong neighbors
        tok = cur.peek()
        if tok in ("local-ip", "local-as", "peer-as", "router-id", "family-allowed"):
            raise ExaParseError(f"neighbor selector option {tok!r} is not supported")
        if tok == ",":
            cur.i += 1
    return None if star else tuple(out)


def _family(afi: str, safi: str) -> Family:
    if (afi, safi) == ("ipv4", "unicast"):
        return IPV4_UNICAST
    if (afi, safi) == ("ipv6", "unicast"):
        return IPV6_UNICAST
    raise ExaParseError(f"family {afi} {safi} is not supported (IPv4/IPv6 unicast only)")


def parse_line(line: str) -> ExaCommand:
    text = line.strip()
    if not text:
        raise ExaParseError("empty command")
    # "neighbor 10.0.0.1, neighbor 10.0.0.2 announce ..." : commas glued to words
    tokens = tokenize(text.replace(",", " , "))
    cur = _Cursor(tokens, text)
    neighbors = _neighbors(cur)
    words = tuple(t for t in tokens[cur.i :] if isinstance(t, str))
    if words and words == tuple(tokens[cur.i :]) and words in _SIMPLE and neighbors is None:
        return SimpleCommand(_SIMPLE[words])
    action = cur.word("a command")
    if action == "teardown":
        code = cur.word("a Cease subcode") if cur.more() else "2"
        if not code.isdigit() or not 1 <= int(code) <= 255:
            raise ExaParseError(f"teardown: {code!r} is not a Cease subcode")
        return TeardownCommand(neighbors, int(code))
    if action not in ("announce", "withdraw"):
        raise ExaParseError(f"unknown command {action!r}")
    what = cur.word("route, attributes, watchdog, eor or route-refresh")
    if what == "watchdog":
        name = cur.word("a watchdog name")
        return WatchdogCommand(action, name, neighbors)
    if what == "eor":
        if not cur.more():
            return EorCommand(None, neighbors)
        return EorCommand(_family(cur.word("AFI"), cur.word("SAFI")), neighbors)
    if what == "route-refresh":
        if action != "announce":
            raise ExaParseError("withdraw route-refresh is not a command")
        return RefreshCommand(_family(cur.word("AFI"), cur.word("SAFI")), neighbors)
    if what in ("ipv4", "ipv6"):
        safi = cur.word("SAFI")
        if safi != "unicast":
            name = _UNSUPPORTED_FAMILIES.get(safi, f"{what} {safi}")
            raise ExaParseError(f"{name} is not supported (IPv4/IPv6 unicast only)")
        prefix = cur.word("a prefix")
        return _route_command(action, [prefix], cur, neighbors, want_afi=what)
    if what == "route":
        prefix = cur.word("a prefix")
        return _route_command(action, [prefix], cur, neighbors)
    if what == "attributes":
        return _route_command(action, [], cur, neighbors)
    if what in _UNSUPPORTED_FAMILIES:
        raise ExaParseError(f"{_UNSUPPORTED_FAMILIES[what]} is not supported (unicast only)")
    raise ExaParseError(f"{action} {what!r}: unknown")


@dataclass
class _Attrs:
    next_hop: str = "self"
    origin: str = "igp"
    as_path: tuple[int, ...] = ()
    med: int | None = None
    local_pref: int | None = None
    communities: tuple[int, ...] = ()
    large: tuple[tuple[int, int, int], ...] = ()
    extended: tuple[int, ...] = ()
    path_id: int | None = None
    extra: tuple[PathAttribute, ...] = ()
    split: int | None = None
    watchdog: str | None = None
    start_withdrawn: bool = False


def _u32(text: str, what: str) -> int:
    try:
        v = int(text, 0)
    except ValueError:
        raise ExaParseError(f"{what}: {text!r} is not a number") from None
    if not 0 <= v <= 0xFFFFFFFF:
        raise ExaParseError(f"{what}: {v} is out of range")
    return v


def _asn(text: str) -> int:
    v = _u32(text, "as-path")
    if v == 0:
        raise ExaParseError("as-path: 0 is not a valid AS number")
    return v


def _community(text: str) -> int:
    t = text.lower()
    t = {"nopeer": "no-peer", "no-export-sub-confed": "no-export-subconfed"}.get(t, t)
    try:
        return parse_community(t)
    except ValueError as e:
        raise ExaParseError(str(e)) from None


def _read_attributes(cur: _Cursor, stop_at_nlri: bool) -> _Attrs:
    a = _Attrs()
    extra: dict[int, PathAttribute] = {}
    while cur.more():
        tok = cur.peek()
        if stop_at_nlri and tok == "nlri":
            break
        key = cur.word("an attribute")
        try:
            if key == "next-hop":
                nh = cur.word("a next hop")
                if nh != "self":
                    ipaddress.ip_address(nh)
                a.next_hop = nh
            elif key == "origin":
                origin = cur.word("an origin").lower()
                if origin not in ("igp", "egp", "incomplete"):
                    raise ExaParseError(f"origin: {origin!r} is not igp, egp or incomplete")
                a.origin = origin
            elif key == "as-path":
                a.as_path = tuple(_asn(v) for v in cur.values("an AS path"))
            elif key == "med":
                a.med = _u32(cur.word("a MED"), "med")
            elif key == "local-preference":
                a.local_pref = _u32(cur.word("a local preference"), "local-preference")
            elif key == "community":
                a.communities += tuple(_community(v) for v in cur.values("communities"))
            elif key == "large-community":
                a.large += tuple(parse_large_community(v) for v in cur.values("communities"))
            elif key == "extended-community":
                a.extended += tuple(parse_ext_community(v) for v in cur.values("communities"))
            elif key == "path-information":
                pid = cur.word("a path id")
                a.path_id = int(ipaddress.IPv4Address(pid)) if "." in pid else _u32(pid, key)
            elif key == "atomic-aggregate":
                extra[6] = AtomicAggregate()
            elif key == "aggregator":
                value = cur.values("an aggregator")
                text = ":".join(value) if len(value) > 1 else value[0]
                asn, _, addr = text.partition(":")
                extra[7] = Aggregator(_u32(asn, key), ipaddress.IPv4Address(addr))
            elif key == "originator-id":
                extra[9] = OriginatorId(ipaddress.IPv4Address(cur.word("an address")))
            elif key == "cluster-list":
                ids = tuple(ipaddress.IPv4Address(v) for v in cur.values("cluster ids"))
                extra[10] = ClusterList(ids)
            elif key == "attribute":
                gcode, gflags, gvalue = _generic(cur.values("[ code flags value ]"))
                extra[gcode] = UnknownAttribute(gcode, gvalue, gflags)
            elif key == "split":
                s = cur.word("a prefix length like /25").lstrip("/")
                if not s.isdigit():
                    raise ExaParseError(f"split: {s!r} is not a prefix length")
                a.split = int(s)
            elif key == "watchdog":
                a.watchdog = cur.word("a watchdog name")
            elif key == "withdraw":
                a.start_withdrawn = True
            elif key == "name":
                cur.word("a name")
            elif key in _UNSUPPORTED_ATTRIBUTES:
                raise ExaParseError(f"{_UNSUPPORTED_ATTRIBUTES[key]} not supported")
            else:
                raise ExaParseError(f"unknown attribute {key!r}")
        except ExaParseError:
            raise
        except ValueError as e:
            raise ExaParseError(f"{key}: {e}") from None
    a.extra = tuple(extra[k] for k in sorted(extra))
    return a


def _generic(values: list[str]) -> tuple[int, int, bytes]:
    """``attribute [ 0x99 0x60 0x00000064 ]``: type code, flags, value (ExaBGP's generic form)."""
    if len(values) != 3:
        raise ExaParseError("attribute: expected [ code flags value ]")
    code, flags = int(values[0], 0), int(values[1], 0)
    if not (0 < code < 256 and 0 <= flags < 256):
        raise ExaParseError(f"attribute: code {code} / flags {flags} out of range")
    if code in (1, 2, 3, 14, 15):
        raise ExaParseError(f"attribute: type {code} has its own keyword")
    text = values[2].lower().removeprefix("0x")
    return code, flags & 0xF0, bytes.fromhex(text)


def _prefixes(texts: list[str], split: int | None) -> list[Prefix]:
    out: list[Prefix] = []
    for t in texts:
        try:
            net = ipaddress.ip_network(t, strict=True)
        except ValueError:
            raise ExaParseError(f"{t!r} is not a prefix (host bits must be zero)") from None
        if split is None:
            out.append(Prefix.from_network(net))
            continue
        if not net.prefixlen <= split <= net.max_prefixlen:
            raise ExaParseError(f"split /{split} does not fit {t}")
        if 2 ** (split - net.prefixlen) > MAX_SPLIT:
            raise ExaParseError(f"split /{split} of {t} gives more than {MAX_SPLIT} routes")
        out += [Prefix.from_network(n) for n in net.subnets(new_prefix=split)]
    return out


def _route_command(
    action: str,
    prefixes: list[str],
    cur: _Cursor,
    neighbors: tuple[str, ...] | None,
    want_afi: str | None = None,
) -> RouteCommand:
    bulk = not prefixes
    attrs = _read_attributes(cur, stop_at_nlri=bulk)
    if bulk:
        if cur.peek() != "nlri":
            raise ExaParseError("announce attributes ... needs 'nlri' and prefixes")
        cur.i += 1
        while cur.more():
            prefixes += cur.values("a prefix")
        if not prefixes:
            raise ExaParseError("nlri without prefixes")
    routes: list[Route] = []
    for p in _prefixes(prefixes, attrs.split):
        if want_afi is not None and (p.afi == 1) != (want_afi == "ipv4"):
            raise ExaParseError(f"{p} is not an {want_afi} prefix")
        nh: str | ipaddress.IPv4Address | ipaddress.IPv6Address = attrs.next_hop
        if action == "withdraw":
            nh = "self"  # the next hop of a withdrawal is irrelevant (ExaBGP writes 0.0.0.0)
        elif nh != "self":
            addr = ipaddress.ip_address(nh)
            if p.afi == 2 and addr.version == 4:
                raise ExaParseError(f"{p}: an IPv6 prefix needs an IPv6 next hop, not {addr}")
            nh = addr
        route = Route(
            prefix=p if attrs.path_id is None else p.with_path_id(attrs.path_id),
            next_hop=nh,
            as_path=attrs.as_path,
            origin=attrs.origin,
            med=attrs.med,
            local_pref=attrs.local_pref,
            communities=attrs.communities,
            large_communities=attrs.large,
            extended_communities=attrs.extended,
            path_id=attrs.path_id,
        )
        if attrs.extra:
            route = replace(route, extra=attrs.extra)
        routes.append(route)
    return RouteCommand(
        action,
        tuple(routes),
        neighbors,
        attrs.watchdog,
        attrs.start_withdrawn and action == "announce",
    )
