"""Reading the live lab into a :class:`~routeragent.lab.view.LabView`.

Each node is read by one command or socket request (vtysh with several ``-c``, ``ip -j``, the
agent's status file, the speaker's control socket), all nodes in parallel, so one screen costs
about as much as the slowest node.
"""

from __future__ import annotations

import http.client
import json
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from routeragent.lab import lxd_host, system
from routeragent.lab.build import Lab, read_state
from routeragent.lab.datapath import anycast_answer
from routeragent.lab.system import LabError
from routeragent.lab.topology import (
    ANYCAST4,
    CORES,
    HOST_PREFIXES,
    HOSTS,
    ROUTERS,
    SERVICE,
    VIP4,
    VIP6,
    core_loopback,
    host_of_address,
    router_of_address,
    uplinks_of,
)
from routeragent.lab.view import CoreView, HostView, LabView, RouterView
from routeragent.state_store import StateDir


def vtysh_json(frr_dir: Path, *commands: str, timeout: float = 3.0) -> list[Any]:
    """Several show commands in one vtysh process; one JSON document per command."""
    argv = ["vtysh", "--vty_socket", str(frr_dir)]
    for c in commands:
        argv += ["-c", c]
    out = system.run(argv, timeout=timeout).stdout
    docs: list[Any] = []
    dec = json.JSONDecoder()
    pos = 0
    while len(docs) < len(commands):
        while pos < len(out) and out[pos].isspace():
            pos += 1
        if pos >= len(out):
            break
        doc, pos = dec.raw_decode(out, pos)
        docs.append(doc)
    if len(docs) != len(commands):
        raise LabError(f"vtysh answered {len(docs)} of {len(commands)} commands in {frr_dir}")
    return docs


def _established(summary: Any, wanted: set[str]) -> int:
    peers = summary.get("peers", {}) if isinstance(summary, dict) else {}
    return sum(1 for a, p in peers.items() if a in wanted and p.get("state") == "Established")


def gateway_addresses(lab: Lab, node: str) -> set[str]:
    r = system.run(["ip", "-n", lab.ns(node), "-j", "addr", "show", "dev", "lan0"], check=False)
    try:
        links = json.loads(r.stdout or "[]")
    except ValueError:
        return set()
    return {
        a.get("local", "")
        for link in links
        for a in link.get("addr_info", [])
        if a.get("local") in (VIP4, VIP6)
    }


def read_router(lab: Lab, r: str) -> RouterView:
    d = lab.node_dir(r)
    frr = lab.frr_running(r)
    cores4 = {u.core4 for u in uplinks_of(r)}
    cores6 = {u.core6 for u in uplinks_of(r)}
    core_up = host_up = None
    guest_up = 0
    anycast: frozenset[str] = frozenset()
    error = ""
    if frr:
        try:
            s4, s6, any4 = vtysh_json(
                lab.frr_dir(r),
                "show bgp ipv4 unicast summary json",
                "show bgp ipv6 unicast summary json",
                f"show bgp ipv4 unicast {ANYCAST4} json",
            )
            core_up = _established(s4, cores4) + _established(s6, cores6)
            hosts4 = {str(a) for a in s4.get("peers", {}) if host_of_address(str(a))}
            host_up = _established(s4, hosts4)
            guests = {str(a) for a in s4.get("peers", {})} - hosts4 - cores4
            guest_up = _established(s4, guests)
            anycast = frozenset(
                h
                for p in any4.get("paths", [])
                if (h := host_of_address(str(p.get("peer", {}).get("peerId", ""))))
            )
        except (LabError, ValueError, AttributeError) as e:
            error = str(e)
    status = StateDir(d / "agent-state").load_status() if frr else None
    vrrp = (status or {}).get("vrrp") or [{}]
    return RouterView(
        name=r,
        frr=frr,
        keepalived=system.pid_alive(d / "keepalived.pid"),
        agent=system.pid_alive(d / "agent.pid"),
        # a router that is off may still have the addresses on its (down) interface
        holds=frozenset(gateway_addresses(lab, r)) if frr else frozenset(),
        priority=vrrp[0].get("priority"),
        healthy_priority=vrrp[0].get("healthy_priority"),
        drain_phase=(status or {}).get("drain_phase"),
        intent=(status or {}).get("intent"),
        agent_updated=(status or {}).get("updated"),
        core_sessions=core_up,
        host_sessions=host_up,
        anycast_hosts=anycast,
        error=error,
        guest_sessions=guest_up,
    )


def used_routers(routes: Any) -> dict[str, tuple[str, ...]]:
    """prefix -> our routers whose path the core uses (best path plus multipath)."""
    out: dict[str, tuple[str, ...]] = {}
    table = routes.get("routes", {}) if isinstance(routes, dict) else {}
    for prefix in HOST_PREFIXES:
        used = set()
        for path in table.get(prefix, []):
            if path.get("valid") and (path.get("bestpath") or path.get("multipath")):
                r = router_of_address(str(path.get("peerId", "")))
                if r is not None:
                    used.add(r)
        out[prefix] = tuple(sorted(used))
    return out


def read_core(lab: Lab, c: str) -> CoreView:
    if not lab.frr_running(c):
        return CoreView(c, False, None, {}, "")
    links = uplinks_of(c)
    try:
        s4, s6, r4, r6 = vtysh_json(
            lab.frr_dir(c),
            "show bgp ipv4 unicast summary json",
            "show bgp ipv6 unicast summary json",
            "show bgp ipv4 unicast json",
            "show bgp ipv6 unicast json",
        )
    except (LabError, ValueError) as e:
        return CoreView(c, True, None, {}, str(e))
    up = _established(s4, {u.router4 for u in links}) + _established(s6, {u.router6 for u in links})
    paths = used_routers(r4)
    paths.update({p: v for p, v in used_routers(r6).items() if ":" in p})
    try:
        answer = anycast_answer(lab.ns(c), core_loopback(c))
    except (OSError, TimeoutError, ValueError, http.client.HTTPException) as e:
        answer = f"no answer ({e})"
    return CoreView(c, True, up, paths, "", answer)


def control_requests(sock_path: Path, *commands: str, timeout: float = 1.5) -> list[Any]:
    """Pipelined requests to a bgpspeak control socket; one answer object per command."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect(str(sock_path))
        s.sendall(b"".join(json.dumps({"command": c}).encode() + b"\n" for c in commands))
        buf = b""
        while buf.count(b"\n") < len(commands):
            chunk = s.recv(65536)
            if not chunk:
                break
            buf += chunk
    return [json.loads(line) for line in buf.splitlines()[: len(commands)]]


def read_lxd_host(lab: Lab, h: str) -> HostView:
    """An LXD host: the announcer's process and what LXD says of its containers."""
    d = lab.node_dir(h)
    announcer = system.pid_alive(d / "announcer.pid")
    env = [f"{k}={v}" for k, v in lxd_host.env_for(d).items()]
    error = ""
    state = "LXD not answering"
    try:
        out = system.run(
            ["env", *env, "lxc", "list", "--format=csv", "-c", "ns4"], timeout=3.0
        ).stdout
        rows = [line.split(",", 2) for line in out.splitlines() if line.strip()]
        state = (
            "; ".join(
                f"container {r[0]} {r[1]} {r[2].split(' ')[0] if len(r) > 2 else ''}".rstrip()
                for r in rows
            )
            or "no container"
        )
    except system.LabError as e:
        error = f"lxc list: {e}"
    return HostView(h, announcer, False, None, None, error, lxd=state)


def read_host(lab: Lab, h: str) -> HostView:
    if h in lab.lxd_hosts:
        return read_lxd_host(lab, h)
    d = lab.node_dir(h)
    speaker = system.pid_alive(d / "speaker.pid")
    check = None
    sessions = None
    error = ""
    if speaker:
        try:
            peers, services = control_requests(d / "bgpspeak.sock", "show-peers", "show-services")
            sessions = sum(1 for p in peers.get("peers", []) if p.get("state") == "Established")
            for s in services.get("services", []):
                if s.get("name") == SERVICE:
                    check = str(s.get("state"))
        except (OSError, ValueError) as e:
            error = f"control socket: {e}"
    return HostView(h, speaker, lab.service_running(h), check, sessions, error)


def read_view(lab: Lab) -> LabView:
    state = read_state(lab.run_dir) or {}
    with ThreadPoolExecutor(max_workers=8) as pool:
        routers = [pool.submit(read_router, lab, r) for r in ROUTERS]
        cores = [pool.submit(read_core, lab, c) for c in CORES]
        hosts = [pool.submit(read_host, lab, h) for h in HOSTS]
        return LabView(
            taken=time.time(),
            created=float(state.get("created", 0.0)),
            prefix=lab.names.prefix,
            run_dir=str(lab.run_dir),
            routers=tuple(f.result() for f in routers),
            cores=tuple(f.result() for f in cores),
            hosts=tuple(f.result() for f in hosts),
        )
