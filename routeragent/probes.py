"""The health probes that are not read from FRR: interface, TCP, ping (ICMP echo), command.

Each returns a :class:`ProbeResult` and never raises; each is bounded by the check's timeout.
They run in parallel threads (:func:`run_probes`) so one slow target cannot stretch a pass.
"""

from __future__ import annotations

import os
import select
import socket
import struct
import subprocess
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from routeragent.config_model import (
    Check,
    CommandProbe,
    InterfaceProbe,
    IPAddress,
    PingProbe,
    TcpProbe,
)
from routeragent.observations import ProbeResult

SYS_NET = Path("/sys/class/net")


def probe_interface(name: str, sys_net: Path = SYS_NET) -> ProbeResult:
    try:
        oper = (sys_net / name / "operstate").read_text().strip()
        flags = int((sys_net / name / "flags").read_text().strip(), 16)
    except (OSError, ValueError):
        return ProbeResult(False, f"interface {name} does not exist")
    admin_up = bool(flags & 0x1)
    ok = admin_up and oper in ("up", "unknown")
    return ProbeResult(
        ok, f"interface {name} {'admin up' if admin_up else 'admin down'}, oper {oper}"
    )


def probe_tcp(host: IPAddress, port: int, timeout: float) -> ProbeResult:
    t0 = time.monotonic()
    try:
        with socket.create_connection((str(host), port), timeout=timeout):
            pass
    except OSError as e:
        return ProbeResult(False, f"tcp {host} port {port}: {e.strerror or e}")
    return ProbeResult(
        True, f"tcp {host} port {port} connected in {1000 * (time.monotonic() - t0):.0f} ms"
    )


def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    s: int = sum(struct.unpack(f"!{len(data) // 2}H", data))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return ~s & 0xFFFF


def probe_ping(host: IPAddress, timeout: float) -> ProbeResult:
    """One ICMP echo. Raw socket (the agent runs as root); the kernel fills in the ICMPv6
    checksum, we compute the ICMPv4 one."""
    v6 = host.version == 6
    family = socket.AF_INET6 if v6 else socket.AF_INET
    proto = socket.IPPROTO_ICMPV6 if v6 else socket.IPPROTO_ICMP
    echo_req, echo_rep = (128, 129) if v6 else (8, 0)
    ident = os.getpid() & 0xFFFF
    seq = int(time.monotonic() * 1000) & 0xFFFF
    payload = b"routeragent"
    header = struct.pack("!BBHHH", echo_req, 0, 0, ident, seq)
    if not v6:
        header = struct.pack("!BBHHH", echo_req, 0, _checksum(header + payload), ident, seq)
    t0 = time.monotonic()
    try:
        with socket.socket(family, socket.SOCK_RAW, proto) as s:
            s.sendto(header + payload, (str(host), 0))
            deadline = t0 + timeout
            while (left := deadline - time.monotonic()) > 0:
                ready, _, _ = select.select([s], [], [], left)
                if not ready:
                    break
                data, addr = s.recvfrom(2048)
                icmp = data if v6 else data[(data[0] & 0x0F) * 4 :]
                if len(icmp) < 8 or addr[0] != str(host):
                    continue
                typ, _, _, rid, rseq = struct.unpack("!BBHHH", icmp[:8])
                if typ == echo_rep and rid == ident and rseq == seq:
                    ms = 1000 * (time.monotonic() - t0)
                    return ProbeResult(True, f"ping {host}: reply in {ms:.1f} ms")
    except OSError as e:
        return ProbeResult(False, f"ping {host}: {e.strerror or e}")
    return ProbeResult(False, f"ping {host}: no reply within {timeout:g} s")


def probe_command(argv: Sequence[str], timeout: float) -> ProbeResult:
    try:
        r = subprocess.run(
            list(argv),
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return ProbeResult(False, f"{argv[0]}: no exit within {timeout:g} s")
    except OSError as e:
        return ProbeResult(False, f"{argv[0]}: {e.strerror}")
    tail = (r.stdout + r.stderr).strip().splitlines()
    detail = f"{argv[0]} exit {r.returncode}" + (f": {tail[-1][:120]}" if tail else "")
    return ProbeResult(r.returncode == 0, detail)


def run_probe(check: Check) -> ProbeResult:
    p = check.probe
    if isinstance(p, InterfaceProbe):
        return probe_interface(p.interface)
    if isinstance(p, TcpProbe):
        return probe_tcp(p.host, p.port, check.timeout)
    if isinstance(p, PingProbe):
        return probe_ping(p.host, check.timeout)
    if isinstance(p, CommandProbe):
        return probe_command(p.argv, check.timeout)
    return ProbeResult(False, "read from FRR, not probed")


def run_probes(checks: Sequence[Check]) -> dict[str, ProbeResult]:
    todo = [c for c in checks if not c.observed_in_frr]
    if not todo:
        return {}
    if len(todo) == 1:
        return {todo[0].name: run_probe(todo[0])}
    with ThreadPoolExecutor(max_workers=min(8, len(todo))) as pool:
        results = list(pool.map(run_probe, todo))
    return {c.name: r for c, r in zip(todo, results, strict=True)}
