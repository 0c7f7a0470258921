"""``routeragent status``: the status file as tables for a human (pure formatting)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from routeragent.clock import boot_id


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> list[str]:
    cells = [[str(h) for h in headers]] + [["-" if c is None else str(c) for c in r] for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    return [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells
    ]


def status_now(status: dict[str, Any]) -> float:
    """ "Now" on the status file's wall clock, measured with CLOCK_MONOTONIC when the file was
    written on this boot: a wall clock stepped since the agent wrote it (NTP, an operator)
    must not make a live agent look stale, nor a dead one fresh."""
    mono = status.get("written_monotonic", status.get("updated_monotonic"))
    here = boot_id()
    if isinstance(mono, int | float) and here and status.get("boot_id") == here:
        return float(status.get("updated", 0)) + (time.monotonic() - float(mono))
    return time.time()


def stale(status: dict[str, Any], now: float) -> bool:
    """The agent has not written status for a while: it is stopped, hung or crashed."""
    interval = float(status.get("interval", 1.0))
    return now - float(status.get("updated", 0)) > max(5.0, 5 * interval)


def render_status(status: dict[str, Any], now: float | None = None) -> str:
    now = status_now(status) if now is None else now
    age = now - float(status.get("updated", 0))
    out = [
        f"router {status['router']}   agent pid {status['pid']}   updated {age:.1f} s ago"
        + ("   ** STALE: agent not running? **" if stale(status, now) else ""),
    ]
    reasons = status.get("reasons", {})
    role = status["egress_role"]
    out.append(f"gateway  {status['gateway']} (egress role {role}): {reasons.get('gateway', '')}")
    out.append(f"ingress  {status['ingress']}: {reasons.get('ingress', '')}")
    out.append(
        f"drain    {status['drain_phase']} (intent {status['intent']}): {reasons.get('drain', '')}"
    )
    if status.get("frr_error"):
        out.append(f"FRR      NOT OBSERVABLE: {status['frr_error']}")
    if not status.get("keepalived_running"):
        out.append("keepalived NOT RUNNING")
    out.append("")
    out += table(
        ["VRRP", "IFACE", "VRID", "HERE", "PRIORITY", "HEALTHY", "TRACK", "NOTIFY"],
        [
            [
                v["instance"],
                v["interface"],
                v["vrid"],
                "yes" if v["holds"] else ("partial" if v["partial"] else "no"),
                v["priority"],
                v["healthy_priority"],
                v["track_value"],
                v["notify"],
            ]
            for v in status.get("vrrp", [])
        ],
    )
    out.append("")
    out += table(
        ["SESSION", "NEIGHBOR", "STATE", "RCVD", "SENT", "IN", "OUT"],
        [
            [
                s["name"],
                s["neighbor"],
                s["state"],
                s["prefixes_received"],
                s["prefixes_sent"],
                s["route_map_in"],
                s["route_map_out"],
            ]
            for s in status.get("sessions", [])
        ],
    )
    out.append("")
    out += table(
        ["CHECK", "STATE", "NOW", "AFFECTS", "DETAIL"],
        [
            [
                c["name"],
                "up" if c["up"] else "DOWN",
                "ok" if c["ok_now"] else "fail",
                c["affects"],
                c["detail"],
            ]
            for c in status.get("checks", [])
        ],
    )
    pending = status.get("pending") or []
    if pending:
        out += ["", "PENDING (not yet applied or blocked)"] + [f"  {p}" for p in pending]
    last = status.get("last_apply")
    if last and not last.get("ok"):
        out += ["", "LAST APPLY FAILED"]
        for tx in last.get("transactions", []):
            if not tx.get("ok"):
                rb = " (rolled back)" if tx.get("rolled_back") else ""
                out.append(f"  {tx['transaction']}: {tx['error']}{rb}")
    decisions = status.get("decisions") or []
    if decisions:
        out += ["", "LAST DECISIONS"]
        for d in decisions[-10:]:
            ts = (
                time.strftime("%H:%M:%S", time.localtime(d["ts"]))
                + f".{int(d['ts'] * 1000) % 1000:03d}"
            )
            out.append(f"  {ts}  {d['subject']}: {d['from']} -> {d['to']}  ({d['reason']})")
    return "\n".join(out) + "\n"
