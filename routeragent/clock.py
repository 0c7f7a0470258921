"""The agent's two clocks, and why timers never use the wall clock.

Every timer the decisions depend on (rise/fall streaks, the take-back delay, the flap window,
drain's quiet period and receive rates) runs on ``CLOCK_MONOTONIC``: an NTP step, a hand-set
date or a VM resumed with a stale clock moves the wall clock by hours in either direction, and
a take-back delay computed from it would either never end (clock set back) or end at once
(clock set forward, which would also forget recent demotions and let a flapping router grab
the gateway). CLOCK_MONOTONIC is one clock for every process on a boot, so the memory a
stopped agent left behind stays valid for the next agent on the same boot; the boot id that
goes with it tells a memory file from an earlier boot (state directory on persistent
storage), whose timers mean nothing any more. The wall clock is only for people: log and
status timestamps.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

BOOT_ID = Path("/proc/sys/kernel/random/boot_id")


def boot_id(path: Path = BOOT_ID) -> str:
    """This boot's id (empty when unknown: then no stored timer is trusted)."""
    try:
        return path.read_text().strip()
    except OSError:
        return ""


@dataclass(frozen=True)
class Clock:
    """``mono`` for timers, ``wall`` for timestamps shown to people (tests inject both)."""

    mono: Callable[[], float] = time.monotonic
    wall: Callable[[], float] = time.time
