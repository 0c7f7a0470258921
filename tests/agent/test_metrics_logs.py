"""Prometheus metrics and JSON-lines logs."""

from __future__ import annotations

import io
import json
import logging

from prometheus_client import generate_latest

from agent.builders import UPSTREAMS, Sim, frr_in_sync, make_config, observe
from routeragent.apply import ApplyReport, TxReport
from routeragent.bgp_policy import Announcement
from routeragent.logs import JsonLines, emit
from routeragent.metrics import Metrics


def test_metrics_follow_the_pass() -> None:
    cfg = make_config()
    sim = Sim(cfg)
    sim.down = {UPSTREAMS[0]}
    d = sim.run(5)
    obs = observe(
        cfg,
        sim.now,
        frr_in_sync(cfg, Announcement(True, cfg.policy.ingress.equal), sim.down),
        holds=True,
    )
    m = Metrics()
    m.observe_pass(obs, d, 0.07)
    m.count_apply(
        ApplyReport(
            [TxReport("vrrp", ["x"]), TxReport("frr", [], error="boom"), TxReport("keepalived")]
        )
    )
    text = generate_latest(m.registry).decode()
    for line in (
        'routeragent_vrrp_priority{instance="lan"} 200.0',
        'routeragent_vrrp_master{instance="lan"} 1.0',
        'routeragent_check_up{check="bgp"} 1.0',
        f'routeragent_bgp_session_established{{neighbor="{UPSTREAMS[0]}"}} 0.0',
        f'routeragent_bgp_prefixes_received{{neighbor="{UPSTREAMS[1]}"}} 2.0',
        'routeragent_gateway{routeragent_gateway="eligible"} 1.0',
        'routeragent_ingress{routeragent_ingress="equal"} 1.0',
        'routeragent_drain_phase{routeragent_drain_phase="none"} 1.0',
        "routeragent_frr_observable 1.0",
        'routeragent_apply_total{result="ok",transaction="vrrp"} 1.0',
        'routeragent_apply_total{result="failed",transaction="frr"} 1.0',
        "routeragent_pass_seconds_count 1.0",
    ):
        assert line in text, line
    assert 'transaction="keepalived"' not in text  # nothing to do is not an apply


def test_log_lines_are_json_with_fields() -> None:
    buf = io.StringIO()
    logger = logging.getLogger("routeragent.test")
    handler = logging.StreamHandler(buf)
    handler.setFormatter(JsonLines("r9"))
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    emit(logger, "decision", subject="priority lan", **{"from": 200, "to": 50}, reason="bgp down")
    try:
        raise ValueError("bad")
    except ValueError:
        logger.exception("pass-failed")
    first, second = (json.loads(line) for line in buf.getvalue().splitlines())
    assert first["router"] == "r9" and first["event"] == "decision" and first["level"] == "info"
    assert (first["from"], first["to"], first["reason"]) == (200, 50, "bgp down")
    assert second["level"] == "error" and "ValueError: bad" in second["exception"]
