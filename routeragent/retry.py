"""Backing off from a change that keeps failing (pure; the agent owns one per process).

A keepalived.conf that ``keepalived -t`` rejects, or an FRR change that vtysh refuses, fails
the same way on every pass: retrying it four times a second floods the logs and FRR for
nothing. After a failure the *same* transaction (same actions, same text) waits
``base * 2**(failures-1)`` seconds (capped) before it is tried again; a different plan for it
(the config was fixed, the desired state moved on) is tried at once, and a success forgets
the failures. The track files (the VRRP priorities) are never held back: a failover must not
wait, and writing two small files is cheap.

The waiting is reported: the transaction shows in the plan as ``blocked`` with the time left
and the last error, so ``status`` and the logs say why nothing happens.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace

from routeragent.apply import ApplyReport
from routeragent.plan import Plan

#: transactions that back off (``vrrp`` never does)
GATED = ("keepalived", "frr")


@dataclass(frozen=True)
class Failure:
    signature: str
    failures: int
    retry_at: float
    error: str


@dataclass
class RetryGate:
    base: float = 1.0
    cap: float = 30.0
    failed: dict[str, Failure] = field(default_factory=dict)

    @staticmethod
    def signature(plan: Plan, tx: str) -> str:
        """What makes two attempts "the same": for keepalived the files' text (not whether
        a reload is wanted: a config that keepalived died on when reloaded must not be
        written again at once just because keepalived is now down), for FRR the actions."""
        if tx == "keepalived":
            key = repr([(str(a.path), a.text) for a in plan.keepalived])
        else:
            key = repr(plan.frr)
        return hashlib.sha256(key.encode()).hexdigest()[:16]

    def filter(self, plan: Plan, now: float) -> Plan:
        """``plan`` without the transactions that must still wait (listed as blocked)."""
        blocked = list(plan.blocked)
        keepalived, frr = plan.keepalived, plan.frr
        for tx in GATED:
            if not (plan.keepalived if tx == "keepalived" else plan.frr):
                self.failed.pop(tx, None)  # nothing left to do: the fault went away
                continue
            f = self.failed.get(tx)
            if f is None or f.signature != self.signature(plan, tx) or now >= f.retry_at:
                continue
            wait = min(self.cap, self.base * 2 ** (f.failures - 1))
            blocked.append(
                f"{tx}: failed {f.failures} time(s), retrying every {wait:g} s "
                f"until it works or the change is different (last error: {f.error})"
            )
            if tx == "keepalived":
                keepalived = ()
            else:
                frr = ()
        if len(blocked) == len(plan.blocked):
            return plan
        return replace(plan, keepalived=keepalived, frr=frr, blocked=tuple(blocked))

    def record(self, plan: Plan, report: ApplyReport, now: float) -> None:
        """Remember the outcome of applying ``plan`` (the filtered one)."""
        for tx in report.transactions:
            if tx.name not in GATED:
                continue
            if tx.ok:
                if tx.applied:
                    self.failed.pop(tx.name, None)
                continue
            sig = self.signature(plan, tx.name)
            prev = self.failed.get(tx.name)
            n = prev.failures + 1 if prev is not None and prev.signature == sig else 1
            delay = min(self.cap, self.base * 2 ** (n - 1))
            self.failed[tx.name] = Failure(sig, n, now + delay, tx.error or "")
