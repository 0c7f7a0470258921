"""Polling with deadlines: the only way the lab waits for daemons.

Real daemons converge asynchronously (a session comes up, a route crosses, a process exits), so
tests poll their views. Every wait here has a hard deadline and, when it expires, an error that
says what was awaited and what was last seen: a timed-out interop test must explain itself
without a rerun.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class WaitTimeout(AssertionError):
    """A condition did not hold before its deadline (an AssertionError so pytest shows it as a
    test failure, not an internal error)."""


class Deadline:
    """A point in monotonic time; lets several steps share one time budget."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.end = time.monotonic() + seconds

    def remaining(self) -> float:
        return max(0.0, self.end - time.monotonic())

    def expired(self) -> bool:
        return time.monotonic() >= self.end


def wait_until(
    probe: Callable[[], T | None],
    *,
    timeout: float,
    what: str,
    interval: float = 0.1,
    describe: Callable[[], str] | None = None,
) -> T:
    """Call ``probe`` until it returns a truthy value and return that value.

    ``probe`` may raise: the exception counts as "not yet" (a daemon's socket may not exist
    yet), and the last one is reported if the deadline passes. ``describe`` is called once on
    timeout to add context (e.g. the daemon's current view) to the error.
    """
    deadline = Deadline(timeout)
    last: object = None
    while True:
        try:
            value = probe()
        except Exception as exc:  # any failure of a probe means "not yet"
            last = exc
        else:
            if value:
                return value
            last = value
        if deadline.expired():
            extra = ""
            if describe is not None:
                try:
                    extra = "\n" + describe()
                except Exception as exc:  # the timeout error matters more
                    extra = f"\n(describe failed: {exc!r})"
            raise WaitTimeout(
                f"timed out after {timeout:.1f}s waiting for {what}; last probe: {last!r}{extra}"
            )
        time.sleep(min(interval, max(0.0, deadline.remaining())))
