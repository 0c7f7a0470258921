"""One measurement of a bgpspeak-only case (peers, churn) in a lab of its own.

A case that fails (a timeout, a daemon that died) records its error in its result and the
series of repeats goes on; the lab is torn down whatever happened, so the next repeat starts
on a clean machine.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lab import Lab
from lab.runs import Run


def measure_in_lab(
    run: Run, label: str, res: dict[str, Any], body: Callable[[Lab], dict[str, Any]]
) -> dict[str, Any]:
    """``res`` (the case's parameters) with what ``body`` measured in a fresh lab ``label``, or
    with ``error`` if it raised."""
    lab = Lab(run, label)
    try:
        res.update(body(lab))
    except Exception as exc:
        res["error"] = f"{type(exc).__name__}: {exc}"
    finally:
        lab.close()
    return res
