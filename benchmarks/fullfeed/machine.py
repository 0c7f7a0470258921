"""Where and with what the numbers were taken: versions, CPU, load, git commit."""

from __future__ import annotations

import os
import platform
import subprocess
import time
from pathlib import Path
from typing import Any

from . import ROOT


def _out(argv: list[str]) -> str:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return "?"
    return (done.stdout or done.stderr).strip()


def _cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "?"


def commit() -> str:
    """The checkout's commit, with ``+`` when files differ from it."""
    head = _out(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"])
    dirty = _out(["git", "-C", str(ROOT), "status", "--porcelain", "--", "bgpspeak"])
    return head + ("+" if dirty and dirty != "?" else "")


def describe() -> dict[str, Any]:
    from .senders import exabgp_version

    frr = _out(["/usr/lib/frr/bgpd", "--version"]).splitlines()
    bird = _out(["/usr/sbin/bird", "--version"])
    gobgp = _out(["/usr/bin/gobgpd", "--version"])
    return {
        "when_utc": time.strftime("%Y-%m-%d %H:%M", time.gmtime()),
        "bgpspeak_commit": commit(),
        "python": platform.python_version(),
        "cpu": _cpu_model(),
        "cpus": os.cpu_count(),
        "kernel": platform.release(),
        "frr": frr[0] if frr else "?",
        "bird": bird.splitlines()[-1] if bird else "?",
        "gobgp": gobgp,
        "exabgp": exabgp_version(),
    }
