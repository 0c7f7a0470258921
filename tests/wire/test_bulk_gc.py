"""bulk_receive_gc: the collector setting for bulk decoding is explicit and always undone."""

from __future__ import annotations

import gc
import subprocess
import sys
from collections.abc import Iterator

import pytest

from bgpspeak.wire import BULK_GC_THRESHOLD, bulk_receive_gc


@pytest.fixture(autouse=True)
def _restore_thresholds() -> Iterator[None]:
    before = gc.get_threshold()
    yield
    gc.set_threshold(*before)


def test_raises_young_threshold_inside_and_restores_after() -> None:
    gc.set_threshold(700, 10, 10)
    with bulk_receive_gc():
        assert gc.get_threshold() == (BULK_GC_THRESHOLD, 10, 10)
        assert gc.isenabled()
    assert gc.get_threshold() == (700, 10, 10)


def test_restores_after_an_exception() -> None:
    gc.set_threshold(500, 7, 3)
    with pytest.raises(RuntimeError), bulk_receive_gc(50_000):
        assert gc.get_threshold() == (50_000, 7, 3)
        raise RuntimeError("boom")
    assert gc.get_threshold() == (500, 7, 3)


def test_never_lowers_a_higher_threshold() -> None:
    gc.set_threshold(1_000_000, 10, 10)
    with bulk_receive_gc(1000):
        assert gc.get_threshold() == (1_000_000, 10, 10)
    assert gc.get_threshold() == (1_000_000, 10, 10)


def test_import_changes_nothing() -> None:
    """The library never touches the collector by itself, importing it included."""
    code = (
        "import gc; t = gc.get_threshold(); import bgpspeak.wire, bgpspeak.speaker;"
        " assert gc.get_threshold() == t and gc.isenabled() and not gc.get_freeze_count()"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
