"""The agent's files in its state directory (put it on tmpfs, e.g. /run/routeragent, so a
reboot starts from scratch: pessimistic checks, demoted priority until proven healthy):

    intent          "drain" while the operator wants the router drained (absent: normal)
    memory.json     :class:`routeragent.decide.Memory`, so a restarted agent continues where
                    it stopped instead of demoting a healthy router while it re-proves health
    status.json     what ``routeragent status`` shows, written after every pass
    keepalived/     the track files keepalived watches (one per VRRP instance)

All writes are atomic.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, cast

from routeragent.decide import Memory
from routeragent.drain_phases import DRAIN_PHASES, DrainPhase
from routeragent.files import read_text, write_atomic
from routeragent.hysteresis import CheckMemory
from routeragent.observations import Intent

MEMORY_VERSION = 1


class StateDir:
    def __init__(self, path: Path) -> None:
        self.path = path

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
            return memory_from_json(json.loads(text))
        except (ValueError, KeyError, TypeError):
            return None

    def save_memory(self, mem: Memory) -> None:
        write_atomic(self.memory_file, json.dumps(memory_to_json(mem), sort_keys=True) + "\n")

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


def memory_to_json(mem: Memory) -> dict[str, Any]:
    return {
        "version": MEMORY_VERSION,
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


def memory_from_json(d: Mapping[str, Any]) -> Memory:
    if d.get("version") != MEMORY_VERSION:
        raise ValueError("memory version")
    phase = d["drain_phase"]
    if phase not in DRAIN_PHASES:
        raise ValueError(f"drain phase {phase!r}")
    last_rx = d.get("last_rx")
    return Memory(
        checks={
            str(name): CheckMemory(bool(m["up"]), int(m["streak"]), _opt_float(m["since"]))
            for name, m in d["checks"].items()
        },
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
