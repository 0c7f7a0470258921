"""Shared pytest setup: makes helpers in tests/ (corpora_path, ...) importable from subfolders.

pytest's rootdir import puts ``tests/`` itself on sys.path (it is not a package), so helpers
import as ``corpora_path``. The command-line tools under tests/ (``python -m tests.fuzz.run``)
and benchmarks import them as ``tests.<module>`` from the checkout's root; putting the root on
sys.path too makes both spellings work under ``.venv/bin/pytest`` as they do under
``python -m pytest`` (CI runs the former).
"""

from __future__ import annotations

import sys
from pathlib import Path

_ROOT = str(Path(__file__).resolve().parent.parent)
if _ROOT not in sys.path:
    sys.path.append(_ROOT)
