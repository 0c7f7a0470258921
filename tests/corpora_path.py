"""Where the shared BGP corpora are (../shared/corpora from the project root).

They are large third-party captures that are not ours to commit; developers' machines and CI
have them next to the checkout. In CI (``CI`` set) their absence is a failure, not a skip, so a
green run always means the codec met the real bytes.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _candidates() -> list[Path]:
    env = os.environ.get("BGPSPEAK_CORPORA")
    out = [Path(env)] if env else []
    out += [ROOT.parent / "shared" / "corpora", Path("/work/shared/corpora")]
    return out


def corpora_dir() -> Path:
    for c in _candidates():
        if (c / "MANIFEST.tsv").is_file():
            return c
    where = ", ".join(str(c) for c in _candidates())
    if os.environ.get("CI"):
        pytest.fail(f"BGP corpora not found (looked in {where}); set BGPSPEAK_CORPORA")
    pytest.skip(f"BGP corpora not found (looked in {where}); set BGPSPEAK_CORPORA")
