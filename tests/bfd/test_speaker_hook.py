"""The Speaker hook of docs/bfd-speaker-hook.diff (``Neighbor(bfd=...)``, ``Peer.drop/hold/
release``): its scenarios run in this tree once the hook is applied; until then in a copy of
``bgpspeak`` with the diff applied, so the diff is known to apply, type-check and work."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bgpspeak.peer import Peer

from . import hooked_scenarios

pytestmark = pytest.mark.timeout(120)
ROOT = Path(__file__).resolve().parents[2]
DIFF = ROOT / "docs" / "bfd-speaker-hook.diff"
HOOKED = hasattr(Peer, "hold")


@pytest.fixture(scope="module")
def patched_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the package (and these tests) with the hook applied."""
    root = tmp_path_factory.mktemp("hooked")
    shutil.copytree(ROOT / "bgpspeak", root / "bgpspeak")
    (root / "tests").mkdir()
    shutil.copytree(Path(__file__).parent, root / "tests" / "bfd")
    (root / "tests" / "__init__.py").touch()
    done = subprocess.run(
        ["git", "apply", "-C1", str(DIFF)], cwd=root, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        # the files it patches moved on: the diff needs regenerating, not this tree fixing
        pytest.skip(f"docs/bfd-speaker-hook.diff is stale, regenerate it:\n{done.stderr}")
    return root


@pytest.mark.parametrize("scenario", sorted(hooked_scenarios.SCENARIOS))
def test_scenario_through_the_speaker(scenario: str, request: pytest.FixtureRequest) -> None:
    if HOOKED:
        asyncio.run(hooked_scenarios.SCENARIOS[scenario]())
        return
    root: Path = request.getfixturevalue("patched_tree")
    env = dict(os.environ, PYTHONPATH=str(root))
    done = subprocess.run(
        [sys.executable, "-m", "tests.bfd.hooked_scenarios", scenario],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=100,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
