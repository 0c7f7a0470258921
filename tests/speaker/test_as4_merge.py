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


def test_export_to_a_2_octet_peer_adds_as4_path() -> None:
    from bgpspeak.routes import ExportContext, Route, export_attributes
    from bgpspeak.wire import Context, Prefix

    ctx = ExportContext(4200000001, False, ADDR, None, asn4=False)
    attrs, _ = export_attributes(Route(Prefix.parse("10.0.0.0/8"), as_path=(65010,)), ctx)
    codes = [a.type_code for a in attrs]
    assert codes == [1, 2, 3, 17]
    # on the wire toward the 2-octet peer the AS_PATH carries AS_TRANS
    assert attrs[1].encode(Context(asn4=False)).hex().endswith("5ba0fdf2")
    assert str(attrs[3]) == "4200000001 65010"
    assert [a.type_code for a in _merge_as4(attrs)] == [1, 2, 3]
