"""The health of one service: check results in, "announce healthy or failed routes" out.

Rise and fall keep one slow or lost probe from moving traffic: the service turns healthy after
``rise`` consecutive passes and failed after ``fall`` consecutive failures. Flap damping keeps a
service that keeps bouncing from dragging traffic back and forth: each healthy->failed change
adds a penalty that decays exponentially; above the suppress threshold the service is held in
its failed form until the penalty has decayed below the reuse threshold (RFC 2439's scheme,
applied to our own announcements). An operator can force a state for maintenance.

Pure: time comes in as an argument, so tests drive it without sleeping.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .config_model import Damping


@dataclass(frozen=True)
class HealthView:
    """A snapshot for ``show services`` and metrics."""

    state: str  # "starting", "healthy", "failed"
    announced_healthy: bool
    suppressed: bool
    penalty: float
    forced: str | None  # "up", "down" or None
    passes: int
    failures: int
    flaps: int
    last_result: str


class Health:
    def __init__(self, rise: int, fall: int, damping: Damping | None) -> None:
        if rise < 1 or fall < 1:
            raise ValueError("rise and fall must be at least 1")
        self.rise = rise
        self.fall = fall
        self.damping = damping
        self.healthy: bool | None = None  # None until the first verdict
        self._passes = 0
        self._failures = 0
        self._penalty = 0.0
        self._penalty_at = 0.0
        self.suppressed = False
        self.forced: str | None = None
        self.flaps = 0
        self.last_result = ""

    # --- inputs -------------------------------------------------------------------------------

    def observe(self, ok: bool, now: float, detail: str = "") -> bool:
        """Record one check result; True when :attr:`announce_healthy` changed."""
        before = self.announce_healthy
        self.last_result = detail or ("pass" if ok else "fail")
        if ok:
            self._passes += 1
            self._failures = 0
            if not self.healthy and self._passes >= self.rise:
                self.healthy = True
        else:
            self._failures += 1
            self._passes = 0
            if self.healthy is not False and self._failures >= self.fall:
                if self.healthy:
                    self._flap(now)
                self.healthy = False
        self._update_suppression(now)
        return self.announce_healthy != before

    def tick(self, now: float) -> bool:
        """Let the penalty decay; True when that lifted a suppression."""
        before = self.announce_healthy
        self._update_suppression(now)
        return self.announce_healthy != before

    def force(self, state: str | None) -> bool:
        """``"up"``, ``"down"`` or None (follow the checks again)."""
        if state not in ("up", "down", None):
            raise ValueError(f"{state!r} is not up, down or auto")
        before = self.announce_healthy
        self.forced = state
        return self.announce_healthy != before

    # --- outputs ------------------------------------------------------------------------------

    @property
    def announce_healthy(self) -> bool:
        """Whether the healthy form of the routes should be announced."""
        if self.forced is not None:
            return self.forced == "up"
        return bool(self.healthy) and not self.suppressed

    def penalty(self, now: float) -> float:
        if self.damping is None or self._penalty == 0.0:
            return 0.0
        elapsed = max(0.0, now - self._penalty_at)
        return self._penalty * math.pow(0.5, elapsed / self.damping.half_life)

    def reuse_in(self, now: float) -> float | None:
        """Seconds until a suppressed service may come back (for the timer that re-checks)."""
        d = self.damping
        if d is None or not self.suppressed:
            return None
        p = self.penalty(now)
        if p <= d.reuse:
            return 0.0
        return d.half_life * math.log2(p / d.reuse)

    def view(self, now: float) -> HealthView:
        state = "starting" if self.healthy is None else ("healthy" if self.healthy else "failed")
        return HealthView(
            state=state,
            announced_healthy=self.announce_healthy,
            suppressed=self.suppressed,
            penalty=round(self.penalty(now), 1),
            forced=self.forced,
            passes=self._passes,
            failures=self._failures,
            flaps=self.flaps,
            last_result=self.last_result,
        )

    # --- damping ------------------------------------------------------------------------------

    def _flap(self, now: float) -> None:
        self.flaps += 1
        d = self.damping
        if d is None:
            return
        # the ceiling keeps a long flapping spree from suppressing for more than max_suppress
        ceiling = d.reuse * math.pow(2.0, d.max_suppress / d.half_life)
        self._penalty = min(self.penalty(now) + d.penalty, ceiling)
        self._penalty_at = now

    def _update_suppression(self, now: float) -> None:
        d = self.damping
        if d is None:
            self.suppressed = False
            return
        p = self.penalty(now)
        if not self.suppressed and p >= d.suppress:
            self.suppressed = True
        elif self.suppressed and p < d.reuse:
            self.suppressed = False
