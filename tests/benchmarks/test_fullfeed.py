"""The full-table benchmark's harness (benchmarks/fullfeed): its table, its inputs, and one
small run against FRR that checks the harness measures and parses what it reports."""

from __future__ import annotations

import ipaddress
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from corpora_path import corpora_dir
from lab.preflight import require
from lab.runs import Run

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.fullfeed import announce, formats, report, table  # noqa: E402
from bgpspeak.daemon.mrt_replay import ReplayOptions, rib_routes  # noqa: E402
from bgpspeak.mrt import read_mrt  # noqa: E402


@pytest.fixture(scope="module")
def shape() -> table.Shape:
    return table.load_shape(corpora_dir(), limit=20_000)  # the whole files take ~4 s CPU


def test_ipv4_table_has_the_shape_and_stays_in_the_lab_range(shape: table.Shape) -> None:
    t = table.build(shape, 1, 20_000)
    prefixes = {(a, t.lengths[i]) for i, a in enumerate(t.addrs)}
    assert len(prefixes) == len(t) == 20_000
    lo, hi = int(ipaddress.IPv4Address("10.16.0.0")), int(ipaddress.IPv4Address("11.0.0.0"))
    assert all(lo <= a < hi for a in t.addrs)
    assert all(16 <= length <= 32 for length in t.lengths)
    # the RIB dump's main peer: about 5.6 prefixes per attribute set
    assert 1_000 < t.used_sets() < 10_000
    assert all(not table.LAB_ASES & set(ps.as_path) for ps in t.sets)
    assert sum(1 for ps in t.sets if ps.communities) > len(t.sets) // 3
    assert t.addrs == sorted(t.addrs)


def test_ipv6_table_stays_in_the_documentation_range(shape: table.Shape) -> None:
    t = table.build(shape, 2, 5_000)
    net = ipaddress.IPv6Network("2001:db8:8000::/33")
    for i in range(0, len(t), 97):
        assert ipaddress.IPv6Network(t.prefix_text(i)).subnet_of(net)
    assert len({(a, t.lengths[i]) for i, a in enumerate(t.addrs)}) == 5_000


def test_the_same_seed_gives_the_same_table(shape: table.Shape) -> None:
    a, b = table.build(shape, 1, 3_000), table.build(shape, 1, 3_000)
    assert a.addrs == b.addrs and a.set_of == b.set_of and a.sets == b.sets


@pytest.mark.parametrize("afi", [1, 2])
def test_mrt_input_reads_back_as_the_table(shape: table.Shape, tmp_path: Path, afi: int) -> None:
    t = table.build(shape, afi, 2_000)
    path = tmp_path / "t.mrt"
    nh = "10.1.0.2" if afi == 1 else "2001:db8:1::2"
    assert formats.write_mrt(t, path, nh, 65002, pad=10) == 2_010
    routes = list(rib_routes(read_mrt(path), ReplayOptions(next_hop="keep")))
    assert len(routes) == 2_000  # the padding repeats prefixes: read once
    for i in (0, 777, 1_999):
        r = routes[i]
        ps = t.sets[t.set_of[i]]
        assert str(r.prefix) == t.prefix_text(i)
        assert r.as_path == ps.as_path and r.med == ps.med
        assert r.communities == ps.communities and r.large_communities == ps.large
        assert str(r.next_hop) == nh


def test_exabgp_and_bird_inputs_carry_every_prefix(shape: table.Shape, tmp_path: Path) -> None:
    t = table.build(shape, 1, 500)
    addrs = {"peer": "10.1.0.1", "local": "10.1.0.2"}
    formats.write_exabgp(
        t, tmp_path / "e.conf", **addrs, local_as=65002, peer_as=65001, prepend=False
    )
    formats.bird_config(t, tmp_path / "b.conf", **addrs, local_as=65002, peer_as=65001)
    exa = (tmp_path / "e.conf").read_text()
    bird = (tmp_path / "b.conf").read_text()
    assert exa.count("route ") == bird.count("    route ") == 500
    first = t.sets[t.set_of[0]]
    assert f"route {t.prefix_text(0)} next-hop self" in exa
    assert f"bgp_path.prepend({first.as_path[0]});" in bird


@pytest.fixture
def run() -> Iterator[Run]:
    require("frr", "bird")
    yield Run()


@pytest.mark.interop
def test_harness_measures_a_small_feed_into_frr(
    shape: table.Shape, tmp_path: Path, run: Run
) -> None:
    """2,000 prefixes from bgpspeak and BIRD: both complete, and every number the report
    uses is there and plausible."""
    t = table.build(shape, 1, 2_000)
    started = time.monotonic()
    runs = []
    for sender in ("bgpspeak", "bird"):
        spec = announce.FeedRun(sender, 1, len(t), True, 60.0)
        runs.append(announce.run_feed(run, spec, t, tmp_path, 0.1))
    for r in runs:
        assert r.get("error") is None, r
        assert r["complete"], r
        assert 0 <= r["t_established_s"] <= r["t_first_prefix_s"] <= r["t_all_received_s"]
        assert r["t_all_received_s"] <= r["t_all_fib_s"]
        assert r["last_seen"] == {"state": "Established", "pfx": 2_000, "fib": 2_000}
        assert r["updates_received_by_frr"] >= len(t.sets) // 2  # UPDATEs carry one set each
        assert r["cpu_sender_s"] > 0 and r["cpu_bgpd_s"] > 0 and r["cpu_zebra_s"] > 0
        assert 1 < r["rss_sender_peak_mb"] < 2_000 and r["rss_bgpd_peak_mb"] > 1
    doc = {
        "case": "announce",
        "machine": {k: "x" for k in ("when_utc", "bgpspeak_commit", "frr", "bird", "gobgp")}
        | {"exabgp": "x", "python": "x", "cpus": 2, "cpu": "x"},
        "table": {"attribute_sets": len(t.sets)},
        "runs": runs,
    }
    text = "\n".join(report.announce_table(doc))
    assert "| bgpspeak (x) | fib |" in text and "| bird (x) | fib |" in text
    assert "bgpspeak CPU" in text and "vs BIRD" in text
    assert time.monotonic() - started < 45
