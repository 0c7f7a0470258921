"""Probes against real local targets, the notify FIFO, and the state directory files."""

from __future__ import annotations

import os
import socket
import sys
import time
from ipaddress import ip_address
from pathlib import Path

import pytest

from agent.builders import make_config
from routeragent.config_model import Check, CommandProbe, InterfaceProbe, TcpProbe
from routeragent.decide import Memory
from routeragent.hysteresis import CheckMemory
from routeragent.keepalived_control import (
    NotifyFifo,
    interface_addresses,
    parse_fifo_line,
    running_pid,
    track_read,
    track_write,
    vip_presence,
)
from routeragent.probes import (
    probe_command,
    probe_interface,
    probe_ping,
    probe_tcp,
    run_probes,
)
from routeragent.state_store import StateDir, memory_from_json, memory_to_json

LOOPBACK = ip_address("127.0.0.1")


def test_tcp_probe_against_a_listening_and_a_closed_port() -> None:
    with socket.socket() as srv:
        srv.bind(("127.0.0.1", 0))
        srv.listen()
        port = srv.getsockname()[1]
        ok = probe_tcp(LOOPBACK, port, 1.0)
        assert ok.ok and f"port {port} connected" in ok.detail
    closed = probe_tcp(LOOPBACK, port, 1.0)
    assert not closed.ok and "refused" in closed.detail.lower()


def test_command_probe_exit_status_output_and_timeout() -> None:
    assert probe_command(["true"], 2).ok
    bad = probe_command([sys.executable, "-c", "print('disk full'); raise SystemExit(3)"], 5)
    assert not bad.ok and bad.detail.endswith("exit 3: disk full")
    slow = probe_command(["sleep", "5"], 0.2)
    assert not slow.ok and "no exit within 0.2 s" in slow.detail
    missing = probe_command(["/nonexistent/check"], 1)
    assert not missing.ok and "No such file" in missing.detail


def test_interface_probe_reads_sysfs(tmp_path: Path) -> None:
    assert probe_interface("lo").ok
    assert not probe_interface("ra-nonexistent0").ok
    fake = tmp_path / "eth9"
    fake.mkdir()
    (fake / "operstate").write_text("down\n")
    (fake / "flags").write_text("0x1003\n")
    r = probe_interface("eth9", tmp_path)
    assert not r.ok and r.detail == "interface eth9 admin up, oper down"
    (fake / "operstate").write_text("up\n")
    assert probe_interface("eth9", tmp_path).ok
    (fake / "flags").write_text("0x1002\n")
    assert not probe_interface("eth9", tmp_path).ok


@pytest.mark.skipif(os.geteuid() != 0, reason="ICMP echo needs a raw socket (root)")
def test_ping_probe_on_loopback() -> None:
    r = probe_ping(LOOPBACK, 1.0)
    assert r.ok, r.detail
    r6 = probe_ping(ip_address("::1"), 1.0)
    assert r6.ok, r6.detail


def test_probes_run_in_parallel() -> None:
    checks = [
        Check(name=f"slow{i}", probe=CommandProbe(("sleep", "0.3")), timeout=2.0) for i in range(4)
    ] + [Check(name="lo", probe=InterfaceProbe("lo")), Check(name="t", probe=TcpProbe(LOOPBACK, 1))]
    t0 = time.monotonic()
    results = run_probes(checks)
    assert time.monotonic() - t0 < 1.0
    assert set(results) == {"slow0", "slow1", "slow2", "slow3", "lo", "t"}
    assert results["slow0"].ok and results["lo"].ok and not results["t"].ok


def test_vip_presence() -> None:
    inst = make_config().vrrp[0]
    assert vip_presence(inst, {"10.50.0.11", "10.50.0.1", "2001:db8:50::1"}) == (True, False)
    assert vip_presence(inst, {"10.50.0.11"}) == (False, False)
    assert vip_presence(inst, {"10.50.0.1"}) == (True, True)  # v6 not (yet) there
    assert vip_presence(inst, None) == (False, False)
    assert "127.0.0.1" in (interface_addresses("lo") or set())
    assert interface_addresses("ra-nonexistent0") is None


def test_running_pid_only_trusts_a_live_keepalived(tmp_path: Path) -> None:
    proc = tmp_path / "proc"
    pid_file = tmp_path / "keepalived.pid"
    assert running_pid(pid_file, proc) is None  # no pid file
    pid_file.write_text("4242\n")
    assert running_pid(pid_file, proc) is None  # no such process
    (proc / "4242").mkdir(parents=True)
    (proc / "4242" / "comm").write_text("keepalived\n")
    (proc / "4242" / "stat").write_text("4242 (keepalived) S 1 4242 4242 0 -1\n")
    assert running_pid(pid_file, proc) == 4242
    (proc / "4242" / "stat").write_text("4242 (keepalived) Z 1 4242 4242 0 -1\n")
    assert running_pid(pid_file, proc) is None  # exited, not reaped
    (proc / "4242" / "comm").write_text("nginx\n")
    (proc / "4242" / "stat").write_text("4242 (nginx) S 1 4242 4242 0 -1\n")
    assert running_pid(pid_file, proc) is None  # the pid was reused: never signal it
    pid_file.write_text("garbage")
    assert running_pid(pid_file, proc) is None


def test_fifo_lines() -> None:
    e = parse_fifo_line('INSTANCE "lan" MASTER 200\n')
    assert e is not None and (e.kind, e.name, e.state, e.priority) == (
        "INSTANCE",
        "lan",
        "MASTER",
        200,
    )
    e = parse_fifo_line('INSTANCE "lan" BACKUP_PRIORITY 50')
    assert e is not None and e.state == "BACKUP_PRIORITY"
    assert parse_fifo_line("garbage") is None


def test_fifo_reader_never_blocks_and_reassembles_lines(tmp_path: Path) -> None:
    fifo = NotifyFifo(tmp_path / "ka.fifo")
    fifo.open()
    try:
        assert fifo.read_events() == []
        w = os.open(tmp_path / "ka.fifo", os.O_WRONLY | os.O_NONBLOCK)
        os.write(w, b'INSTANCE "lan" MASTER 200\nINSTANCE "lan" BAC')
        assert [e.state for e in fifo.read_events()] == ["MASTER"]
        os.write(w, b"KUP 150\n")
        os.close(w)  # keepalived going away must not make the reader spin or fail
        assert [e.state for e in fifo.read_events()] == ["BACKUP"]
        assert fifo.read_events() == []
    finally:
        fifo.close()
    (tmp_path / "plain").write_text("x")
    with pytest.raises(Exception, match="not a FIFO"):
        NotifyFifo(tmp_path / "plain").open()


def test_track_files_are_replaced_atomically(tmp_path: Path) -> None:
    p = tmp_path / "keepalived" / "lan.track"
    assert track_read(p) is None
    track_write(p, -150)
    assert p.read_text() == "-150\n" and track_read(p) == -150
    inode = p.stat().st_ino
    track_write(p, 0)
    assert track_read(p) == 0 and p.stat().st_ino != inode  # a new file renamed into place
    assert [x.name for x in p.parent.iterdir()] == ["lan.track"]  # no temporary left behind
    p.write_text("garbage")
    assert track_read(p) is None


def test_memory_round_trip_and_rejects(tmp_path: Path) -> None:
    mem = Memory(
        checks={"bgp": CheckMemory(True, 1, 12.5), "lan": CheckMemory()},
        gateway_ok=True,
        ready_since=10.0,
        demotions=(1.0, 2.0),
        drain_phase="ingress-shifting",
        phase_since=3.0,
        quiet_since=4.0,
        last_rx=(5.0, {"up1": 77}),
    )
    assert memory_from_json(memory_to_json(mem)) == mem
    state = StateDir(tmp_path)
    state.ensure()
    assert state.load_memory() is None
    state.save_memory(mem)
    assert state.load_memory() == mem
    (tmp_path / "memory.json").write_text('{"version": 99}')
    assert state.load_memory() is None  # unreadable memory = start fresh, never crash
    bad = memory_to_json(mem) | {"drain_phase": "sideways"}
    with pytest.raises(ValueError):
        memory_from_json(bad)


def test_intent_file(tmp_path: Path) -> None:
    state = StateDir(tmp_path / "s")
    state.ensure()
    assert state.intent() == "normal"
    state.set_intent("drain")
    assert state.intent() == "drain" and (tmp_path / "s" / "intent").read_text() == "drain\n"
    state.set_intent("normal")
    assert state.intent() == "normal" and not (tmp_path / "s" / "intent").exists()
