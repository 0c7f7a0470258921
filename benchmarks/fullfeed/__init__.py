"""Full-table benchmark: bgpspeak, ExaBGP, GoBGP and BIRD feeding FRR side by side.

``python -m benchmarks.fullfeed --help``; see benchmarks/README.md. The lab layer of the tests
(tests/lab: namespaces, FRR instances, teardown) is reused, so ``tests`` goes on the path.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT / "tests") not in sys.path:
    sys.path.insert(0, str(ROOT / "tests"))
