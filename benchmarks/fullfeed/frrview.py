"""What the receiving FRR reports, polled through vtysh while a feed runs."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from typing import Any

from lab import FrrInstance

VTYSH = "/usr/bin/vtysh"


def show(frr: FrrInstance, command: str, daemon: str = "bgpd", timeout: float = 30.0) -> Any:
    """vtysh JSON, or {} when the daemon is too busy to answer in time (polling goes on)."""
    argv = [VTYSH, "--vty_socket", str(frr.dir), "-d", daemon, "-c", command]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return {}
    try:
        return json.loads(done.stdout)
    except ValueError:
        return {}


@dataclass(frozen=True)
class PeerView:
    state: str | None
    prefixes: int  # accepted from the peer (pfxRcd)
    uptime_s: float | None  # since Established, from FRR's own timer


def peer_view(frr: FrrInstance, afi: int, peer: str) -> PeerView:
    fam = "ipv4" if afi == 1 else "ipv6"
    view = show(frr, f"show bgp {fam} unicast summary json")
    p = view.get("peers", {}).get(peer, {}) if isinstance(view, dict) else {}
    up = p.get("peerUptimeMsec")
    state = p.get("state")
    return PeerView(
        state,
        int(p.get("pfxRcd", 0) or 0),
        up / 1000 if state == "Established" and up is not None else None,
    )


def fib_count(frr: FrrInstance, afi: int) -> int:
    """Routes zebra has installed in the kernel from BGP."""
    cmd = "show ip route summary json" if afi == 1 else "show ipv6 route summary json"
    view = show(frr, cmd, daemon="zebra")
    routes = view.get("routes", []) if isinstance(view, dict) else []
    return sum(int(r.get("fib", 0)) for r in routes if "bgp" in str(r.get("type", "")))


def message_stats(frr: FrrInstance, peer: str) -> dict[str, Any]:
    view = show(frr, f"show bgp neighbors {peer} json")
    record = view.get(peer, {}) if isinstance(view, dict) else {}
    stats = record.get("messageStats", {})
    return dict(stats) if isinstance(stats, dict) else {}
