"""``bgpspeak mrt replay`` into FRR: a real RIB dump (RIPE RIS 2002, from the shared corpora)
announced from a namespace, counted and spot-checked in FRR's table."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from corpora_path import corpora_dir
from lab import FrrNeighbor, Lab, bgpd_config, wait_until

ROOT = Path(__file__).resolve().parents[2]
ROUTES = 20000

pytestmark = pytest.mark.timeout(180)


def test_mrt_replay_into_frr(lab: Lab) -> None:
    r1, spk = lab.namespace("r1"), lab.namespace("spk")
    link = lab.link(r1, spk)
    frr = lab.frr(r1, bgpd_config(65001, link.a.ipv4, [FrrNeighbor(link.b.ipv4, 65002)]))
    dump = corpora_dir() / "bgpdump" / "test_data" / "bview.20020722.2337.gz"
    out = lab.dir / "replay.log"
    t0 = time.monotonic()
    proc = lab.popen(
        spk,
        [
            sys.executable,
            "-m",
            "bgpspeak.cli",
            "mrt",
            "replay",
            str(dump),
            "--peer",
            link.a.ipv4,
            "--peer-as",
            "65001",
            "--local-as",
            "65002",
            "--router-id",
            link.b.ipv4,
            "--family",
            "ipv4",
            "--limit",
            str(ROUTES),
        ],
        stdout=out.open("wb"),
        stderr=subprocess.STDOUT,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
    )

    def count() -> int | None:
        view = frr.show_json("show bgp ipv4 unicast summary")
        n = int(view.get("peers", {}).get(link.b.ipv4, {}).get("pfxRcd", 0))
        return n if n >= ROUTES else None

    wait_until(count, timeout=90, what=f"{ROUTES} routes in FRR")
    print(f"\n{ROUTES} routes from the dump in FRR {time.monotonic() - t0:.1f} s after start")
    view = frr.wait_route("3.0.0.0/8")
    assert view["paths"][0]["aspath"]["string"] == "65002 1853 1239 80"
    assert view["paths"][0]["nexthops"][0]["ip"] == link.b.ipv4
    proc.terminate()  # stays up until told: SIGTERM ends it with a Cease
    assert proc.wait(timeout=15) == 0
    log = out.read_text()
    assert f"read {ROUTES} routes" in log and f"announced {ROUTES} routes to {link.a.ipv4}" in log
    print(log.strip())
