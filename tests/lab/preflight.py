"""Can this machine run the lab? If not: a failure in CI, a skip with the reason elsewhere.

A green CI run must mean the interop tests ran, so in CI (``CI`` set) a missing daemon or
missing root is a failure; on a developer's machine it is a skip that says what is missing.
"""

from __future__ import annotations

import os
import shutil

import pytest

from .bird import bird_available
from .frr import frr_available
from .gobgp import gobgp_available

_CHECKS = {
    "frr": (frr_available, "FRR (zebra, bgpd, vtysh; Debian package frr)"),
    "bird": (bird_available, "BIRD 2 (bird, birdc; Debian package bird2)"),
    "gobgp": (gobgp_available, "GoBGP (gobgpd, gobgp; Debian package gobgpd)"),
}


def missing(*needs: str) -> list[str]:
    """Human-readable list of what is missing for ``needs`` (keys of the table above)."""
    out = []
    if os.geteuid() != 0:
        out.append("root (network namespaces)")
    if shutil.which("ip") is None:
        out.append("ip (Debian package iproute2)")
    for need in needs:
        available, what = _CHECKS[need]
        if not available():
            out.append(what)
    return out


def require(*needs: str) -> None:
    """Skip (or, in CI, fail) the calling test unless root and the named daemons are here."""
    lack = missing(*needs)
    if not lack:
        return
    reason = "interop lab needs " + ", ".join(lack)
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set: a skip would hide it)", pytrace=False)
    pytest.skip(reason)
