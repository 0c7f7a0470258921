"""Readable tables for ``bgpspeak show ...`` (``--json`` prints the daemon's answer instead).

Pure: answer dicts in, text out.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(c)) for w, c in zip(widths, row, strict=True)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    for row in rows:
        lines.append("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    return "\n".join(lines)


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    s = int(seconds)
    d, s = divmod(s, 86400)
    h, s = divmod(s, 3600)
    m, s = divmod(s, 60)
    if d:
        return f"{d}d{h:02d}h{m:02d}m"
    return f"{h:02d}:{m:02d}:{s:02d}"


def peers_table(peers: list[dict[str, Any]]) -> str:
    rows = []
    for p in peers:
        state = p["state"] if p.get("enabled", True) else f"{p['state']} (shut down)"
        note = p.get("description") or ""
        if p.get("last_error"):
            note = f"{note} [{p['last_error']}]".strip()
        rows.append(
            [
                p["address"],
                str(p["remote_as"]),
                state,
                duration(p.get("uptime")),
                str(p["received"]),
                str(p["advertised"]),
                note,
            ]
        )
    return table(["PEER", "AS", "STATE", "UPTIME", "RECEIVED", "ADVERTISED", "NOTE"], rows)


def bfd_table(sessions: list[dict[str, Any]]) -> str:
    """``show bfd``: one line per neighbor with BFD, intervals in milliseconds like FRR's."""
    rows = []
    for b in sessions:
        detect = b.get("detection-time")
        note = "held (strict)" if b.get("bgp-held") else ""
        if b.get("bgp-drops"):
            note = f"{note} {b['bgp-drops']} BGP drop(s)".strip()
        rows.append(
            [
                b["neighbor"],
                b["status"],
                f"{b['remote-status']} ({b['remote-diagnostic']})",
                f"{b['transmit-interval']}/{b['receive-interval']}x{b['detect-multiplier']}",
                "-" if detect is None else f"{detect:g}",
                duration(b.get("seconds-in-state")),
                note,
            ]
        )
    return table(
        ["NEIGHBOR", "STATE", "REMOTE", "TX/RX ms x MULT", "DETECT ms", "SINCE", "NOTE"], rows
    )


def _attrs(r: dict[str, Any]) -> str:
    parts = []
    if "as_path" in r:
        path = r["as_path"]
        parts.append("path " + (" ".join(map(str, path)) if isinstance(path, list) else path))
    if "med" in r:
        parts.append(f"med {r['med']}")
    if "local_pref" in r:
        parts.append(f"local-pref {r['local_pref']}")
    for key, label in (
        ("communities", "communities"),
        ("large_communities", "large"),
        ("extended_communities", "extended"),
    ):
        if r.get(key):
            parts.append(f"{label} {' '.join(r[key])}")
    if r.get("origin") not in (None, "igp"):
        parts.append(f"origin {r['origin']}")
    return ", ".join(parts)


def _prefix(r: dict[str, Any]) -> str:
    text = str(r["prefix"])
    return text + (f" id {r['path_id']}" if "path_id" in r else "")


def routes_table(routes: list[dict[str, Any]]) -> str:
    rows = [
        [_prefix(r), r["next_hop"], r["source"], r.get("peer") or "all", _attrs(r)] for r in routes
    ]
    return table(["PREFIX", "NEXT HOP", "SOURCE", "PEERS", "ATTRIBUTES"], rows)


def rib_in_table(routes: list[dict[str, Any]]) -> str:
    rows = [[_prefix(r), r.get("next_hop", "-"), _attrs(r)] for r in routes]
    return table(["PREFIX", "NEXT HOP", "ATTRIBUTES"], rows)


def services_table(services: list[dict[str, Any]]) -> str:
    rows = []
    for s in services:
        state = s["state"]
        if s.get("forced"):
            state += f" (forced {s['forced']})"
        if s.get("suppressed"):
            state += " (damped)"
        rows.append(
            [
                s["name"],
                state,
                s["announced"],
                str(s["flaps"]),
                f"{s['penalty']:g}",
                " ".join(s["prefixes"]),
                s["last_result"],
            ]
        )
    return table(["SERVICE", "STATE", "ANNOUNCED", "FLAPS", "PENALTY", "PREFIXES", "LAST"], rows)
