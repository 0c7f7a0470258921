"""The status screen: a :class:`LabView` as plain text tables (pure, fits 80 columns)."""

from __future__ import annotations

import time

from routeragent.lab.topology import (
    ANYCAST4,
    ANYCAST6,
    ANYCAST_PORT,
    CORES,
    HOST_PREFIXES,
    ROUTERS,
    VIP4,
    VIP6,
    origin_of,
)
from routeragent.lab.view import LabView, RouterView, expected_paths, problems
from routeragent.status_table import table


def _duration(seconds: float) -> str:
    s = max(0, int(seconds))
    return f"{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}"


def _short(routers: tuple[str, ...]) -> str:
    """``("router1", "router3")`` -> ``"r1 r3"``; nothing -> ``"-"``."""
    return " ".join("r" + r.removeprefix("router") for r in routers) or "-"


def _onoff(ok: bool) -> str:
    return "up" if ok else "DOWN"


def _router_row(r: RouterView) -> list[object]:
    if not r.frr:
        return [r.name, "DOWN", _onoff(r.keepalived), _onoff(r.agent), "-", "-", "-", "-", "-"]
    if r.holds == {VIP4, VIP6}:
        gw = "yes"
    elif r.holds:
        gw = "partly"
    else:
        gw = ""
    drain = r.drain_phase or "-"
    if r.intent == "drain" and drain == "none":
        drain = "requested"
    return [
        r.name,
        "up",
        _onoff(r.keepalived),
        _onoff(r.agent),
        r.priority,
        gw,
        "-" if r.core_sessions is None else f"{r.core_sessions}/4",
        "-" if r.host_sessions is None else f"{r.host_sessions}/3",
        drain,
    ]


def render(view: LabView, now: float | None = None) -> str:
    now = time.time() if now is None else now
    clock = time.strftime("%H:%M:%S", time.localtime(now))
    out = [
        f"routeragent lab   up {_duration(now - view.created)}   {clock}   "
        f"namespaces {view.prefix}*   {view.run_dir}",
    ]
    holders = view.gateway(VIP4)
    out.append(
        f"gateway {VIP4} + {VIP6} held by {' and '.join(holders) or 'NOBODY'}"
        + ("   ** more than one holder **" if len(holders) > 1 else "")
    )
    out.append("")
    out += table(
        ["ROUTER", "FRR", "KEEPALIVED", "AGENT", "PRIORITY", "GATEWAY", "CORES", "HOSTS", "DRAIN"],
        [_router_row(r) for r in view.routers],
    )
    guests = [f"{r.name} {r.guest_sessions}" for r in view.routers if r.guest_sessions]
    if guests:
        out.append(f"guest speakers (namespace {view.prefix}guest): sessions " + ", ".join(guests))
    out.append("")
    out.append("PROVIDER PATHS: our routers each core uses (ECMP), rN = routerN")
    rows: list[list[object]] = []
    for prefix in HOST_PREFIXES:
        row: list[object] = [prefix, origin_of(prefix)]
        want = expected_paths(view, prefix)
        for c in view.cores:
            have = c.paths.get(prefix, ()) if c.frr else ()
            cell = _short(have) if c.frr else "(down)"
            if c.frr and have != want:
                cell += " *"
            row.append(cell)
        rows.append(row)
    out += table(["PREFIX", "FROM", *CORES], rows)
    out.append(
        f"traffic: GET {ANYCAST4.split('/')[0]}:{ANYCAST_PORT} answered by "
        + ", ".join(f"{c.anycast_answer or '-'} (from {c.name})" for c in view.cores if c.frr)
    )
    out.append("")
    out.append(f"ANYCAST {ANYCAST4} + {ANYCAST6}: HTTP :{ANYCAST_PORT} on every host")
    host_rows: list[list[object]] = []
    for h in view.hosts:
        seen = [
            "yes" if h.name in view.router(r).anycast_hosts else ("-" if view.router(r).frr else "")
            for r in ROUTERS
        ]
        if h.lxd:
            host_rows.append(
                [
                    h.name,
                    "lxd",
                    "-" if h.speaker else "ANNOUNCER DOWN",
                    "-" if h.sessions is None else f"{h.sessions}/3",
                    *seen,
                ]
            )
            continue
        host_rows.append(
            [
                h.name,
                "running" if h.service else "STOPPED",
                (h.check or "-") if h.speaker else "SPEAKER DOWN",
                "-" if h.sessions is None else f"{h.sessions}/3",
                *seen,
            ]
        )
    out += table(["HOST", "SERVICE", "CHECK", "SESSIONS", *(f"AT {r}" for r in ROUTERS)], host_rows)
    for h in view.hosts:
        if h.lxd:
            out.append(
                f"{h.name} is LXD + OVN, announced by routeragent announce-lxd "
                f"({'running' if h.speaker else 'NOT RUNNING'}): {h.lxd}"
            )
    out.append("")
    issues = problems(view)
    if not issues:
        out.append("steady: every path where it should be")
    else:
        out.append(f"converging ({len(issues)}):")
        out += [f"  {p}" for p in issues[:8]]
        if len(issues) > 8:
            out.append(f"  ... and {len(issues) - 8} more")
    return "\n".join(out) + "\n"
