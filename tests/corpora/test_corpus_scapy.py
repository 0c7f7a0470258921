"""Agreement with Scapy's own assertions on the messages of its ``test/contrib/bgp.uts``, and with
its expectation for the UPDATE split across TCP segments (``bgp_fragmented.pcap.gz``).

The assertions (``scapy/bgp_uts_messages.jsonl``) are Python over Scapy's objects; they are
restated here by hand against our decode, one check per assertion, keyed by the message line.
The "with BGP Additional Path" literal holds a Begin-of-RIB-refresh, two UPDATEs and an
End-of-RIB-refresh (lines 15 to 18): Scapy's ``m.withdrawn_routes`` is the first UPDATE's (line
16) and ``m.getlayer(BGPUpdate, 2)`` the second UPDATE (line 17).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Sequence

import pytest
from corpus_outcomes import outcomes

from bgpspeak.wire import (
    AsPath,
    Communities,
    Keepalive,
    Message,
    MpReachNlri,
    MpUnreachNlri,
    Notification,
    Open,
    Prefix,
    RouteRefresh,
    Update,
)

REL = "scapy/bgp_uts_messages.bgphex"


def _update(m: Message) -> Update:
    assert isinstance(m, Update)
    return m


def _prefixes(ps: Sequence[Prefix] | bytes) -> list[str]:
    assert not isinstance(ps, bytes)
    return [str(p.with_path_id(None)) for p in ps]


def _open(m: Message) -> Open:
    assert isinstance(m, Open)
    return m


def _orf_entries(orf: bytes) -> list[tuple[int, int, str]]:
    """(action, match, prefix) of the Cisco prefix-list ORF entries (RFC 5292 layout)."""
    out = []
    i = 4  # when-to-refresh, ORF type, ORF length
    while i < len(orf):
        flags, plen = orf[i], orf[i + 7]
        raw = orf[i + 8 : i + 8 + (plen + 7) // 8]
        net = ipaddress.IPv4Network((int.from_bytes(raw.ljust(4, b"\0"), "big"), plen))
        out.append((flags >> 6, (flags >> 5) & 1, str(net)))
        i += 8 + len(raw)
    return out


def _mp(m: Message, index: int) -> MpReachNlri:
    a = _update(m).attributes[index]
    assert isinstance(a, MpReachNlri)
    return a


def _unreach(m: Message, index: int) -> MpUnreachNlri:
    a = _update(m).attributes[index]
    assert isinstance(a, MpUnreachNlri)
    return a


Check = Callable[[Message], object]

#: line -> [(Scapy's assertion, our check, expected value)]
CHECKS: dict[int, list[tuple[str, Check, object]]] = {
    1: [("m.type == KEEPALIVE", lambda m: isinstance(m, Keepalive), True)],
    7: [
        ("m.len == 63", lambda m: len(m.encode()), 63),
        (
            "version, my_as, hold_time",
            lambda m: (_open(m).version, _open(m).asn, _open(m).hold_time),
            (4, 64503, 30),
        ),
        ('m.bgp_id == "192.168.100.3"', lambda m: str(_open(m).bgp_id), "192.168.100.3"),
        ("m.opt_param_len == 34", lambda m: len(m.encode()) - 29, 34),
        (
            "opt_params[0..3]: multiprotocol, two capabilities, graceful restart",
            lambda m: [c.code for c in _open(m).capabilities][:4:3],
            [1, 64],
        ),
    ],
    11: [
        ("m.withdrawn_routes_len == 25", lambda m: len(_update(m).withdrawn) * 4 + 1, 25),
        (
            "withdrawn_routes[0] / [5]",
            lambda m: _prefixes(_update(m).withdrawn)[0:6:5],
            ["192.168.150.0/24", "192.168.26.0/24"],
        ),
        ("m.path_attr_len == 0", lambda m: _update(m).attributes, ()),
    ],
    12: [
        (
            "path_attr[1].segments[0] == [64506]",
            lambda m: (
                list(a.segments[0].asns) if isinstance(a := _update(m).attributes[1], AsPath) else a
            ),
            [64506],
        ),
        (
            "path_attr[4].community == 0xFFFFFF01",
            lambda m: a.values[0] if isinstance(a := _update(m).attributes[4], Communities) else a,
            0xFFFFFF01,
        ),
        ('nlri[0] == "192.168.1.0/24"', lambda m: _prefixes(_update(m).nlri)[0], "192.168.1.0/24"),
    ],
    13: [
        (
            "path_attr[2] afi, safi, nh_addr_len",
            lambda m: (_mp(m, 2).afi, _mp(m, 2).safi, len(_mp(m, 2).next_hop)),
            (2, 1, 32),
        ),
        (
            "nh_v6_global, nh_v6_link_local",
            lambda m: [str(a) for a in _mp(m, 2).next_hops],
            ["fe80::fac0:100:15de:1581", "fe80::fac0:100:15de:1581"],
        ),
        ('path_attr[2].nlri[0] == "400::/6"', lambda m: _prefixes(_mp(m, 2).nlri)[0], "400::/6"),
        ("m.nlri == []", lambda m: _update(m).nlri, ()),
    ],
    14: [
        ("path_attr[0] afi, safi", lambda m: (_unreach(m, 0).afi, _unreach(m, 0).safi), (2, 1)),
        (
            'withdrawn_routes[0] == "6000::/3"',
            lambda m: _prefixes(_unreach(m, 0).withdrawn)[0],
            "6000::/3",
        ),
        ("m.nlri == []", lambda m: _update(m).nlri, ()),
    ],
    16: [
        ("withdrawn_routes[0].nlri_path_id == 2", lambda m: _update(m).withdrawn[0].path_id, 2),
        ("len(withdrawn_routes) == 21", lambda m: len(_update(m).withdrawn), 21),
        (
            'withdrawn_routes[-1] == "10.233.25.132/32"',
            lambda m: _prefixes(_update(m).withdrawn)[-1],
            "10.233.25.132/32",
        ),
    ],
    17: [
        ("len(getlayer(BGPUpdate, 2).path_attr) == 4", lambda m: len(_update(m).attributes), 4),
        (
            "getlayer(BGPUpdate, 2).nlri[0].nlri_path_id == 2",
            lambda m: _update(m).nlri[0].path_id,
            2,
        ),
        (
            'getlayer(BGPUpdate, 2).nlri[0] == "10.233.0.22/32"',
            lambda m: _prefixes(_update(m).nlri)[0],
            "10.233.0.22/32",
        ),
    ],
    19: [
        ("error 6/4", lambda m: (m.code, m.subcode) if isinstance(m, Notification) else m, (6, 4))
    ],
    20: [
        ("error 2/2", lambda m: (m.code, m.subcode) if isinstance(m, Notification) else m, (2, 2))
    ],
    21: [
        ("error 3/4", lambda m: (m.code, m.subcode) if isinstance(m, Notification) else m, (3, 4))
    ],
    22: [
        (
            "len 23, afi 2, subtype 0, safi 1",
            lambda m: (
                (len(m.encode()), m.afi, m.subtype, m.safi) if isinstance(m, RouteRefresh) else m
            ),
            (23, 2, 0, 1),
        )
    ],
    23: [
        (
            "len 46, afi 1, subtype 0, safi 1",
            lambda m: (
                (len(m.encode()), m.afi, m.subtype, m.safi) if isinstance(m, RouteRefresh) else m
            ),
            (46, 1, 0, 1),
        ),
        (
            "orf when_to_refresh 1, orf_type 128, orf_len 19",
            lambda m: (
                (m.orf[0], m.orf[1], int.from_bytes(m.orf[2:4], "big"))
                if isinstance(m, RouteRefresh)
                else m
            ),
            (1, 128, 19),
        ),
        (
            "entries: (0, 1, 1.1.0.0/21), (0, 0, 0.0.0.0/0)",
            lambda m: _orf_entries(m.orf) if isinstance(m, RouteRefresh) else m,
            [(0, 1, "1.1.0.0/21"), (0, 0, "0.0.0.0/0")],
        ),
    ],
}


@pytest.mark.parametrize("line", sorted(CHECKS))
def test_scapy_assertions(line: int) -> None:
    o = next(o for o in outcomes(REL) if o.line == line)
    assert o.message is not None, o.error
    for text, check, want in CHECKS[line]:
        assert check(o.message) == want, text


def test_scapy_fragmented_update() -> None:
    """Scapy's defragmentation test: one UPDATE over several TCP segments, 512 NLRI, the last
    91.0.177.0/24."""
    (o,) = outcomes("scapy/bgp_fragmented.pcap.gz.bgphex")
    u = _update(o.message) if o.message else None
    assert u is not None
    assert len(u.nlri) == 512
    assert str(u.nlri[-1]) == "91.0.177.0/24"
