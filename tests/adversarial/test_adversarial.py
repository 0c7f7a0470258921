"""Every attack of ``cases.py`` against a bgpspeak speaker, with its RFC answer checked on the
wire, the bystander session untouched and the memory bounded (about 40 s; ``run.py --full``
for the big floods by hand)."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
from lab import Lab

from .cases import CASES
from .rawpeer import RawPeer
from .run import BYSTANDER_PREFIX, neighbor_specs, run_cases, topology
from .targets import BgpspeakTarget

MiB = 1 << 20


@pytest.fixture
def report(lab: Lab) -> Any:
    import asyncio

    tgt, atk = topology(lab)
    RawPeer.socket_context = atk.entered
    try:
        with tgt.entered():
            return asyncio.run(run_cases(BgpspeakTarget(neighbor_specs(CASES)), CASES))
    finally:
        RawPeer.socket_context = contextlib.nullcontext


def test_every_attack_gets_its_rfc_answer(report: Any) -> None:
    wrong = [f"{r.case}: got {r.got}, expected {r.expect} {r.notes}" for r in report.results]
    wrong = [w for r, w in zip(report.results, wrong, strict=True) if not r.ok]
    assert not wrong, "\n".join(wrong)
    assert report.loop_errors == [], report.loop_errors[:5]
    # and the bystander came through every attack
    assert report.bystander["established"], report.bystander
    assert report.bystander["route"], f"{BYSTANDER_PREFIX} lost: {report.bystander}"
    assert report.bystander["trouble"] == [], report.bystander
    assert report.bystander["messages"] > 0  # it kept receiving keepalives
    by_name = {r.case: r for r in report.results}
    # no memory growth from what should leave nothing behind
    for name in ("withdrawals of routes never announced", "connect/close storm"):
        grown = by_name[name].memory
        assert grown["traced"] < 2 * MiB, (name, grown)
        assert grown["fds"] <= 2, (name, grown)
    assert report.memory_after["fds"] - report.memory_before["fds"] <= 2
