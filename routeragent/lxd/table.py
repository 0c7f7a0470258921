"""The ``announce-lxd --dry-run`` table: what would be announced, and what is refused and why."""

from __future__ import annotations

from collections.abc import Sequence

from routeragent.lxd.bgp_routes import merge, route_for
from routeragent.lxd.config_model import LxdConfig
from routeragent.lxd.model import Desired


def _columns(rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]


def render_table(desired: Desired, config: LxdConfig) -> str:
    lines: list[str] = []
    rows: list[tuple[str, ...]] = [("PREFIX", "NEXT HOP", "KIND", "COMMUNITIES", "MED", "SOURCE")]
    for path in merge(desired.announcements):
        route = route_for(path, config, None)
        attrs = [config.attributes(k) for k in path.kinds]
        comms = [c for a in attrs for c in (*a.communities, *a.large_communities)]
        rows.append(
            (
                str(path.prefix),
                str(path.next_hop),
                ",".join(path.kinds),
                " ".join(dict.fromkeys(comms)) or "-",
                "-" if route.med is None else str(route.med),
                ", ".join(path.sources),
            )
        )
    if len(rows) == 1:
        lines.append("nothing to announce")
    else:
        lines += _columns(rows)
    if desired.rejected:
        lines += ["", "REJECTED (never announced)"]
        rej: list[tuple[str, ...]] = [("PREFIX", "NEXT HOP", "KIND", "SOURCE", "REASON")]
        for r in desired.rejected:
            rej.append(
                (
                    str(r.prefix) if r.prefix else "-",
                    str(r.next_hop) if r.next_hop else "-",
                    r.kind,
                    r.source,
                    r.reason,
                )
            )
        lines += _columns(rej)
    if desired.problems:
        lines += ["", "PROBLEMS"]
        lines += [f"  {p}" for p in desired.problems]
    return "\n".join(lines) + "\n"
