"""The routeragent command end to end against a fake vtysh process serving real FRR 8.4
answers (no root, no daemons)."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import pytest

from agent.builders import DATA
from agent.interop.topology import ROOT, agent_toml
from routeragent.cli import main

FAKE = Path(__file__).parent / "fake_vtysh.py"


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    vtysh = tmp_path / "vtysh"
    vtysh.write_text(f'#!/bin/sh\nexec {sys.executable} {FAKE} "$@"\n')
    vtysh.chmod(0o755)
    text = agent_toml("r1").replace(str(ROOT), str(tmp_path))
    text = text.replace('vtysh = "vtysh"', f'vtysh = "{vtysh}"').replace(
        "timeout = 2.0", "timeout = 1.0"
    )
    text = text.replace("[keepalived]\n", '[keepalived]\nbinary = "true"\n')
    (tmp_path / "r1").mkdir()
    (tmp_path / "r1" / "agent.toml").write_text(text)
    monkeypatch.setenv("FAKE_VTYSH_RECORDING", str(DATA / "r1-steady.json"))
    monkeypatch.setenv("FAKE_VTYSH_LOG", str(tmp_path / "vtysh.log"))
    return tmp_path


def cfg(env: Path) -> list[str]:
    return ["-c", str(env / "r1" / "agent.toml")]


def test_check_config(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check-config", *cfg(env)]) == 0
    assert (
        "OK (router r1, 1 VRRP instance(s), 4 upstream(s), 3 check(s))" in capsys.readouterr().out
    )
    bad = env / "bad.toml"
    bad.write_text((env / "r1" / "agent.toml").read_text().replace("vrid = 51", "vrid = 300"))
    assert main(["check-config", "-c", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "vrrp[0].vrid: must be in 1..255, got 300" in err


def test_render_keepalived(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["render-keepalived", *cfg(env)]) == 0
    out = capsys.readouterr().out
    assert "vrrp_instance lan {" in out and "    advert_int 0.1" in out


def test_plan_shows_changes_with_reasons_and_changes_nothing(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["plan", *cfg(env)]) == 0
    out = capsys.readouterr().out
    # lan0 does not exist here: the lan-up check fails, so ingress is depreferred
    assert "router r1: gateway demoted, ingress depref" in out
    assert "check lan-up: DOWN (now fail: interface lan0 does not exist)" in out
    assert "check upstream-bgp: DOWN (now ok: 4/4 upstream sessions Established" in out
    assert "vrrp lan: track file None -> -150 (priority ? -> 50: " in out
    assert "keepalived: write " in out and "(no config on disk)" in out
    assert "frr: neighbor 10.1.1.1 route-map out RA-OUT-7eb2fa62 -> RA-OUT-" in out
    assert "(ingress depref: depreferred: lan-up down" in out
    assert not (env / "r1" / "keepalived.conf").exists()
    assert not (env / "vtysh.log").exists()
    assert not (env / "r1" / "agent-state").exists()


def test_run_once_applies_and_rolls_back_what_frr_does_not_confirm(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # the fake vtysh accepts config commands but its answers never change: verification fails
    assert main(["run", "--once", *cfg(env)]) == 1
    state = env / "r1" / "agent-state"
    assert (
        (env / "r1" / "keepalived.conf").read_text().startswith("# keepalived.conf for router r1")
    )
    assert (state / "keepalived" / "lan.track").read_text() == "-150\n"
    sent = [json.loads(line) for line in (env / "vtysh.log").read_text().splitlines()]
    flat = [c.strip() for batch in sent for c in batch]
    switch = [c for c in flat if c.startswith("neighbor 10.1.1.1 route-map RA-OUT-")]
    assert switch[0] != "neighbor 10.1.1.1 route-map RA-OUT-7eb2fa62 out"  # the change
    assert switch[-1] == "neighbor 10.1.1.1 route-map RA-OUT-7eb2fa62 out"  # and its undo
    status = json.loads((state / "status.json").read_text())
    (frr_tx,) = [t for t in status["last_apply"]["transactions"] if t["transaction"] == "frr"]
    assert not frr_tx["ok"] and frr_tx["rolled_back"]
    assert "FRR does not show the change" in frr_tx["error"]
    logs = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert any(e["event"] == "apply-failed" and e["transaction"] == "frr" for e in logs)
    decision = next(e for e in logs if e["event"] == "decision" and e["subject"] == "priority lan")
    assert decision["to"] == 50 and "lan-up down" in decision["reason"]


def test_status_table_and_staleness(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["status", *cfg(env)]) == 1
    assert "no status" in capsys.readouterr().err
    main(["run", "--once", *cfg(env)])
    capsys.readouterr()
    assert main(["status", *cfg(env)]) == 0
    out = capsys.readouterr().out
    assert "router r1" in out and "gateway  demoted (egress role primary)" in out
    assert "core1-v4  10.1.1.1         Established  2     1" in out
    assert "LAST APPLY FAILED" in out and "frr: " in out
    assert "LAST DECISIONS" in out
    status_file = env / "r1" / "agent-state" / "status.json"
    status = json.loads(status_file.read_text())
    # the wall clock stepped an hour since the agent wrote (NTP): not stale, the age is
    # measured on CLOCK_MONOTONIC
    status["updated"] = time.time() - 3600
    status_file.write_text(json.dumps(status))
    assert main(["status", *cfg(env)]) == 0
    assert "STALE" not in capsys.readouterr().out
    # the agent really stopped writing a minute ago
    status["written_monotonic"] -= 60
    status_file.write_text(json.dumps(status))
    assert main(["status", *cfg(env)]) == 1
    assert "STALE" in capsys.readouterr().out
    assert main(["status", "--json", *cfg(env)]) == 1
    assert json.loads(capsys.readouterr().out)["router"] == "r1"


def test_vtysh_not_answering(
    env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_VTYSH_HANG", "1")
    t0 = time.monotonic()
    assert main(["run", "--once", *cfg(env)]) == 0
    assert time.monotonic() - t0 < 10
    status = json.loads((env / "r1" / "agent-state" / "status.json").read_text())
    assert status["frr_error"] == "vtysh did not answer within 1 s"
    assert (
        "FRR not observable (vtysh did not answer within 1 s): BGP policy left as it is"
        in (status["pending"][-1])
    )
    assert not (env / "vtysh.log").exists()  # nothing sent to FRR
    logs = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert any(e["event"] == "frr-unobservable" for e in logs)


def test_drain_and_undrain_record_the_intent(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    intent = env / "r1" / "agent-state" / "intent"
    assert main(["drain", "--wait", "0", *cfg(env)]) == 0
    assert intent.read_text() == "drain\n"
    assert main(["undrain", "--wait", "0", *cfg(env)]) == 0
    assert not intent.exists()
    # waiting for a drain needs a running agent
    assert main(["drain", "--wait", "5", *cfg(env)]) == 1
    assert "the agent is not running" in capsys.readouterr().out
    os.unlink(intent)
