"""The soak command (benchmarks/soak.py) for a few seconds: every kind of flap once, the
churn, the samples, and the final accounting (FRR's RIB equals what we announce). The long
run is a command, not a test (docs/reliability-agent.md has its figures)."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
from lab.preflight import require

from bgpspeak.peer import CLOSE_GRACE_S

pytestmark = [pytest.mark.interop, pytest.mark.timeout(120)]

SOAK = Path(__file__).resolve().parents[2] / "benchmarks" / "soak.py"


def test_soak_smoke(tmp_path: Path) -> None:
    require("frr")
    summary, samples = tmp_path / "summary.json", tmp_path / "samples.jsonl"
    argv = [sys.executable, str(SOAK), "--seconds", "20", "--flap-interval", "2", "--hold", "3"]
    argv += ["--sample-interval", "1", "--prefixes", "600", "--settle-timeout", "40"]
    argv += ["--out", str(samples), "--summary", str(summary)]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=110, check=False)
    assert summary.exists(), done.stderr[-3000:]
    result = json.loads(summary.read_text())
    print(json.dumps(result, indent=1))  # shown when the test fails
    assert result["accounted"], result["problems"]
    assert result["problems"] == []
    # every kind of flap happened and the sessions came back each time
    assert set(result["flap_kinds"]) == {"frr-clear", "ours", "frr-shutdown", "link"}
    assert result["peer_up_events"] >= result["flaps"]
    assert result["route_changes"] > 1000
    lines = [json.loads(line) for line in samples.read_text().splitlines()]
    assert len(lines) >= 8
    assert {"rss_kib", "fds", "tasks", "established"} <= set(lines[0])
    # descriptors and tasks: a short run cannot judge RSS, but these must not creep
    full = [s for s in lines if s["established"] == 2]
    # A connection closed with unsent data (a link flap) keeps its descriptor for up to
    # CLOSE_GRACE_S before it is reset; with a flap every 2 s, up to that many flaps' worth of
    # both sessions' old sockets can be open at once. More than that would be a leak.
    lingering = 2 * math.ceil(CLOSE_GRACE_S / 2)
    assert max(s["fds"] for s in full) - min(s["fds"] for s in full) <= 2 + lingering, full
    assert max(s["tasks"] for s in full) - min(s["tasks"] for s in full) <= 2, full
    # the exit status says the verdict: 0 only when flat and accounted
    assert done.returncode == (0 if result["flat"] else 1), done.stderr[-2000:]
