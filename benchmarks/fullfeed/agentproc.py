"""Start ``agent.py`` in a namespace and follow the events it prints."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from lab import Lab, Namespace

from . import ROOT


class AgentProcess:
    def __init__(self, lab: Lab, ns: Namespace, args: list[str], log: Path) -> None:
        self.log = log
        argv = [sys.executable, "-m", "benchmarks.fullfeed.agent", *args]
        with log.open("wb") as out:
            self.popen = lab.popen(ns, argv, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
        self.pid = self.popen.pid
        self.events: list[dict[str, Any]] = []
        self._offset = 0

    def poll(self) -> list[dict[str, Any]]:
        """New events since the last call (lines that are not JSON are the agent's stderr)."""
        try:
            with self.log.open("rb") as f:
                f.seek(self._offset)
                data = f.read()
        except OSError:
            return []
        cut = data.rfind(b"\n") + 1
        self._offset += cut
        new = []
        for line in data[:cut].splitlines():
            try:
                ev = json.loads(line)
            except ValueError:
                continue
            if isinstance(ev, dict) and "event" in ev:
                new.append(ev)
        self.events += new
        return new

    def wait(self, *names: str, timeout: float) -> dict[str, Any]:
        """The first event named one of ``names`` (already seen or new)."""
        deadline = time.monotonic() + timeout
        while True:
            for ev in self.events:
                if ev["event"] in names:
                    return ev
            if self.popen.poll() is not None and not self.poll():
                raise RuntimeError(f"agent exited ({self.popen.returncode}): {self.tail()}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"agent: no {names} within {timeout:.0f} s: {self.tail()}")
            self.poll()
            time.sleep(0.02)

    def find(self, name: str) -> dict[str, Any] | None:
        self.poll()
        return next((ev for ev in self.events if ev["event"] == name), None)

    def tail(self, n: int = 15) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""
