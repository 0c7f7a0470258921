"""Test traffic during a scenario: HTTP requests from both cores to the anycast address.

A thread per core sends one request every ``interval`` (each from its own short-lived thread
inside the core's namespace, see datapath.py) and records when it was answered, by which
host, or that it failed. That turns "the provider keeps reaching the service" into numbers:
requests lost during a failover, none during a drain.
"""

from __future__ import annotations

import http.client
import threading
import time
from dataclasses import dataclass, field

from routeragent.lab.build import Lab
from routeragent.lab.datapath import anycast_answer
from routeragent.lab.topology import CORES, core_loopback


@dataclass(frozen=True)
class Sample:
    at: float  # seconds since the scenario's t0
    core: str
    answer: str | None  # the answering host, None when the request failed


@dataclass
class Summary:
    sent: int
    failed: int
    #: seconds from t0 until the last failed request was followed by an answer (0: none failed)
    recovered_at: float | None
    answered_by: tuple[str, ...]

    def as_json(self) -> dict[str, object]:
        return {
            "sent": self.sent,
            "failed": self.failed,
            "recovered_at": self.recovered_at,
            "answered_by": list(self.answered_by),
        }

    def describe(self) -> str:
        who = " ".join(self.answered_by) or "nobody"
        return f"{self.sent} requests from the cores, {self.failed} failed, answered by {who}"


def summarize(samples: list[Sample]) -> Summary:
    """Pure: what the samples say (per core, the recovery is after that core's last failure)."""
    recovered: float | None = 0.0
    for core in {s.core for s in samples}:
        mine = sorted((s for s in samples if s.core == core), key=lambda s: s.at)
        last_fail = max((i for i, s in enumerate(mine) if s.answer is None), default=None)
        if last_fail is None:
            continue
        after = [s.at for s in mine[last_fail + 1 :] if s.answer is not None]
        if not after:
            recovered = None
            break
        if recovered is not None:
            recovered = max(recovered, after[0])
    return Summary(
        sent=len(samples),
        failed=sum(1 for s in samples if s.answer is None),
        recovered_at=recovered,
        answered_by=tuple(sorted({s.answer for s in samples if s.answer is not None})),
    )


@dataclass
class Traffic:
    lab: Lab
    t0: float
    interval: float = 0.1
    timeout: float = 1.0
    samples: list[Sample] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._run, args=(c,), daemon=True) for c in CORES]

    def _run(self, core: str) -> None:
        while not self._stop.is_set():
            at = time.monotonic() - self.t0
            try:
                answer: str | None = anycast_answer(
                    self.lab.ns(core), core_loopback(core), self.timeout
                )
            except (OSError, TimeoutError, ValueError, http.client.HTTPException):
                answer = None
            with self._lock:
                self.samples.append(Sample(at, core, answer))
            self._stop.wait(self.interval)

    def start(self) -> Traffic:
        for t in self._threads:
            t.start()
        return self

    def stop(self) -> Summary:
        self._stop.set()
        for t in self._threads:
            t.join(self.timeout + 3)
        with self._lock:
            return summarize(list(self.samples))
