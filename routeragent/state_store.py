"""The agent's files in its state directory (put it on tmpfs, e.g. /run/routeragent, so a
reboot starts from scratch: pessimistic checks, demoted priority until proven healthy):

    intent          "drain" while the operator wants the router drained (absent: normal)
    memory.json     :class:`routeragent.decide.Memory`, so a restarted agent continues where
                    it stopped instead of demoting a healthy router while it re-proves health;
                    its timers are CLOCK_MONOTONIC seconds, kept only on the boot (boot id)
                    that wrote them (:mod:`routeragent.clock`)
    status.json     what ``routeragent status`` shows, written after every pass
    keepalived/     the track files keepalived watches (one per VRRP instance)

All writes are atomic: a full disk leaves the previous file intact (the write fails and is
reported, see :mod:`routeragent.files`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, cast

from routeragent.clock import boot_id
from routeragent.decide import Memory
from routeragent.drain_phases import DRAIN_PHASES, DrainPhase
from routeragent.files import read_text, write_atomic
from routeragent.hysteresis import CheckMemory
from routeragent.observations import Intent

#: 2: timers on CLOCK_MONOTONIC with the boot id (1: wall-clock timers, read without them)
MEMORY_VERSION = 2


class StateDir:
    def __init__(self, path: Path, boot: str | None = None) -> None:
        self.path = path
        self.boot = boot_id() if boot is None else boot

    @property
    def intent_file(self) -> Path:
        return self.path / "intent"

    @property
    def memory_file(self) -> Path:
        return self.path / "memory.json"

    @property
    def status_file(self) -> Path:
        return self.path / "status.json"

    def ensure(self) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        (self.path / "keepalived").mkdir(exist_ok=True)

    # ---- intent

    def intent(self) -> Intent:
        text = read_text(self.intent_file)
        return "drain" if text is not None and text.strip() == "drain" else "normal"

    def set_intent(self, intent: Intent) -> None:
        if intent == "drain":
            write_atomic(self.intent_file, "drain\n")
        else:
            self.intent_file.unlink(missing_ok=True)

    # ---- memory

    def load_memory(self) -> Memory | None:
        text = read_text(self.memory_file)
        if text is None:
            return None
        try:
            return memory_from_json(json.loads(text), self.boot)
        except (ValueError, KeyError, TypeError, AttributeError):
            return None

    def save_memory(self, mem: Memory) -> None:
        data = memory_to_json(mem, self.boot)
        write_atomic(self.memory_file, json.dumps(data, sort_keys=True) + "\n")

    # ---- status

    def save_status(self, status: Mapping[str, Any]) -> None:
        write_atomic(self.status_file, json.dumps(status, sort_keys=True, indent=1) + "\n")

    def load_status(self) -> dict[str, Any] | None:
        text = read_text(self.status_file)
        if text is None:
            return None
        try:
            data = json.loads(text)
        except ValueError:
            return None
        return cast(dict[str, Any], data) if isinstance(data, dict) else None


def memory_to_json(mem: Memory, boot: str | None = None) -> dict[str, Any]:
    return {
        "version": MEMORY_VERSION,
        "boot_id": boot_id() if boot is None else boot,
        "checks": {
            name: {"up": m.up, "streak": m.streak, "since": m.since}
            for name, m in mem.checks.items()
        },
        "gateway_ok": mem.gateway_ok,
        "ready_since": mem.ready_since,
        "demotions": list(mem.demotions),
        "drain_phase": mem.drain_phase,
        "phase_since": mem.phase_since,
        "quiet_since": mem.quiet_since,
        "last_rx": None if mem.last_rx is None else [mem.last_rx[0], dict(mem.last_rx[1])],
    }


def _opt_float(v: Any) -> float | None:
    return None if v is None else float(v)


def memory_from_json(d: Mapping[str, Any], boot: str | None = None) -> Memory:
    """The saved memory. Its timers count only on the boot that wrote them (and only since
    version 2, before which they were wall-clock times): otherwise the states are kept (checks
    up or down, gateway eligible or not, the drain phase) and every timer starts again, which
    errs on the side of waiting (a take-back delay runs once more in full)."""
    version = d.get("version")
    if version not in (1, MEMORY_VERSION):
        raise ValueError("memory version")
    here = boot_id() if boot is None else boot
    timers_valid = version == MEMORY_VERSION and bool(here) and d.get("boot_id") == here
    phase = d["drain_phase"]
    if phase not in DRAIN_PHASES:
        raise ValueError(f"drain phase {phase!r}")
    last_rx = d.get("last_rx")
    checks = {
        str(name): CheckMemory(
            bool(m["up"]), int(m["streak"]), _opt_float(m["since"]) if timers_valid else None
        )
        for name, m in d["checks"].items()
    }
    if not timers_valid:
        return Memory(
            checks=checks,
            gateway_ok=bool(d["gateway_ok"]),
            drain_phase=cast(DrainPhase, phase),
        )
    return Memory(
        checks=checks,
        gateway_ok=bool(d["gateway_ok"]),
        ready_since=_opt_float(d["ready_since"]),
        demotions=tuple(float(t) for t in d["demotions"]),
        drain_phase=cast(DrainPhase, phase),
        phase_since=float(d["phase_since"]),
        quiet_since=_opt_float(d["quiet_since"]),
        last_rx=None
        if last_rx is None
        else (float(last_rx[0]), {str(k): int(v) for k, v in last_rx[1].items()}),
    )
