"""``routeragent announce-lxd --dry-run``: the table, from a recorded read of LXD 5.0.2."""

from __future__ import annotations

from pathlib import Path

import pytest

from lxd.snapshots import DATA
from routeragent.cli import main

CONFIG = """
[announcer]
name = "lxd1"
[lxd]
socket = "{socket}"
[bgp]
asn = 65010
router_id = "192.0.2.21"
[[neighbor]]
address = "192.0.2.1"
remote_as = 65000
[kinds.instance]
communities = ["65010:140"]
med = 10
[kinds.forward]
communities = ["65010:120", "no-export"]
"""


def write_config(tmp_path: Path, socket: str = "/nonexistent/unix.socket") -> Path:
    path = tmp_path / "lxd.toml"
    path.write_text(CONFIG.format(socket=socket))
    return path


def test_dry_run_table_from_a_recorded_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = write_config(tmp_path)
    snap = DATA / "all-projects.json"
    assert main(["announce-lxd", "-c", str(cfg), "--dry-run", "--replay", str(snap)]) == 0
    lines = [" ".join(line.split()) for line in capsys.readouterr().out.splitlines()]
    assert lines[0] == "PREFIX NEXT HOP KIND COMMUNITIES MED SOURCE"
    rows = lines[1:]
    assert "10.211.1.0/24 10.210.0.100 subnet - - default/ovn1" in rows
    assert (
        "198.51.100.50/32 10.210.0.100 forward 65010:120 no-export - default/ovn1 forward" in rows
    )
    assert [r for r in rows if r.startswith("198.51.100.99/32")] == [
        "198.51.100.99/32 10.210.0.100 instance 65010:140 10 default/c1-r2170 eth0",
        "198.51.100.99/32 10.210.0.101 instance 65010:140 10 default/c2-r2170 eth0",
    ]
    assert len(rows) == 15


def test_dry_run_shows_rejections_and_problems(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = (DATA / "all-projects.json").read_text()
    text = text.replace(
        '"volatile.network.ipv4.address": "10.210.0.101"',
        '"volatile.network.ipv4.address": "0.0.0.0"',
    )
    snap = tmp_path / "snap.json"
    snap.write_text(text)
    cfg = write_config(tmp_path)
    assert main(["announce-lxd", "-c", str(cfg), "--dry-run", "--replay", str(snap)]) == 0
    out = capsys.readouterr().out
    assert "REJECTED (never announced)" in out
    assert "10.211.2.0/24  -" not in out
    rejected = out.split("REJECTED (never announced)")[1]
    assert "10.211.2.0/24" in rejected and "next hop 0.0.0.0 is unspecified" in rejected


def test_unreachable_lxd_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = write_config(tmp_path, socket=str(tmp_path / "no.socket"))
    assert main(["announce-lxd", "-c", str(cfg), "--dry-run"]) == 1
    assert "no LXD socket at" in capsys.readouterr().err


def test_bad_config_and_usage_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[announcer]\nnam = 1\n")
    assert main(["announce-lxd", "-c", str(bad), "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert "announcer.nam: unknown key" in err and "bgp: required table is missing" in err
    cfg = write_config(tmp_path)
    assert main(["announce-lxd", "-c", str(cfg), "--replay", "x.json"]) == 2
    assert "need --dry-run" in capsys.readouterr().err
