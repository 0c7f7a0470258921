"""The metrics reference and the Grafana dashboard (docs/grafana/) match the metrics the code
exports: every metric defined in the three metrics modules is in docs/reference/metrics.md,
and every metric the dashboard queries exists."""

from __future__ import annotations

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MODULES = ["routeragent/metrics.py", "routeragent/lxd/metrics.py", "bgpspeak/daemon/metrics.py"]
DASHBOARD = ROOT / "docs" / "grafana" / "bgpspeak-routeragent.json"


def exported() -> dict[str, str]:
    """Metric family name -> kind, from the source (prometheus-client definitions and the
    daemon's hand-written exposition)."""
    out: dict[str, str] = {}
    for mod in MODULES:
        text = (ROOT / mod).read_text()
        for kind, name in re.findall(r'(Gauge|Counter|Histogram|Enum)\(\s*"(\w+)"', text):
            out[name + ("_total" if kind == "Counter" else "")] = kind
        for name, kind in re.findall(r'family\(\s*"(\w+)",\s*"(\w+)"', text):
            out[name] = kind
        for direction in re.findall(
            r'\(\("(\w+)", "messages_in"\), \("(\w+)", "messages_out"\)\)', text
        ):
            for d in direction:
                out[f"bgpspeak_messages_{d}_total"] = "counter"
    return out


def test_source_scan_finds_the_metrics() -> None:
    names = exported()
    assert len(names) >= 35
    assert {
        "routeragent_vrrp_master",
        "routeragent_apply_total",
        "routeragent_lxd_read_seconds",
    } <= set(names)
    assert {"bgpspeak_peer_up", "bgpspeak_messages_sent_total"} <= set(names)


def test_reference_lists_every_metric() -> None:
    text = (ROOT / "docs" / "reference" / "metrics.md").read_text()
    missing = sorted(n for n in exported() if f"`{n}`" not in text)
    assert not missing, f"docs/reference/metrics.md lacks {missing}"


def test_dashboard_queries_existing_metrics() -> None:
    dash = json.loads(DASHBOARD.read_text())
    exprs = [t["expr"] for p in dash["panels"] for t in p.get("targets", [])]
    assert len(exprs) >= 20
    known = set(exported())
    used = set()
    for expr in exprs:
        for name in re.findall(r"\b((?:routeragent|bgpspeak)_\w+)", expr):
            if name in ("routeragent_gateway", "routeragent_ingress", "routeragent_drain_phase"):
                used.add(name)  # an enum's label has the metric's name
                continue
            base = re.sub(r"_(bucket|sum|count)$", "", name)
            used.add(base if base in known else name)
    unknown = sorted(used - known)
    assert not unknown, f"the dashboard queries metrics that do not exist: {unknown}"
    # every router-side metric family is on the dashboard somewhere
    router_side = {n for n in known if n.startswith("routeragent_")} - {"routeragent_check_ok"}
    assert router_side <= used, sorted(router_side - used)
