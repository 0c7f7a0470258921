"""Rise/fall hysteresis for health checks (pure).

A check flips to *up* only after ``rise`` consecutive successes and to *down* only after
``fall`` consecutive failures, so one lost probe or one slow vtysh answer does not move a
gateway. A check starts *down*: after a reboot the router has to prove itself before it may
become the gateway.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CheckMemory:
    up: bool = False
    #: consecutive results that contradict ``up``
    streak: int = 0
    #: when ``up`` last changed (None: not since the agent's state was created)
    since: float | None = None


def step(mem: CheckMemory, ok: bool, rise: int, fall: int, now: float) -> CheckMemory:
    if ok == mem.up:
        return CheckMemory(mem.up, 0, mem.since)
    streak = mem.streak + 1
    if streak >= (rise if ok else fall):
        return CheckMemory(ok, 0, now)
    return CheckMemory(mem.up, streak, mem.since)
