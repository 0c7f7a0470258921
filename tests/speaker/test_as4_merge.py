"""Routes from a 2-octet-AS peer reach the program with the real AS path (RFC 6793)."""

from __future__ import annotations

import ipaddress

from bgpspeak.peer import _merge_as4
from bgpspeak.wire import Aggregator, As4Aggregator, As4Path, AsPath, Origin

ADDR = ipaddress.IPv4Address("192.0.2.9")


def test_as4_path_and_aggregator_fold_in() -> None:
    attrs = (
        Origin(0),
        AsPath.parse("65001 23456 23456"),
        Aggregator(23456, ADDR),
        As4Path(AsPath.parse("4200000001 4200000002").segments),
        As4Aggregator(4200000009, ADDR),
    )
    out = _merge_as4(attrs)
    assert [a.type_code for a in out] == [1, 2, 7]
    assert str(out[1]) == "65001 4200000001 4200000002"
    assert out[2] == Aggregator(4200000009, ADDR)


def test_aggregator_without_as_trans_means_as4_path_is_ignored() -> None:
    attrs = (
        Origin(0),
        AsPath.parse("65001 65002"),
        Aggregator(65002, ADDR),
        As4Path(AsPath.parse("4200000001").segments),
    )
    out = _merge_as4(attrs)
    assert str(out[1]) == "65001 65002" and [a.type_code for a in out] == [1, 2, 7]


def test_nothing_to_merge_returns_the_same_tuple() -> None:
    attrs = (Origin(0), AsPath.parse("65001"))
    assert _merge_as4(attrs) is attrs
