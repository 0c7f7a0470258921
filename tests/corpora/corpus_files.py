"""The extracted corpora: every ``.bgphex`` capture with its per-line metadata.

One place knows the file layout of ``shared/corpora`` (see its README): the other helpers only
ask for a capture by its path relative to the corpora root, which is also the name the tests use
as their parameter id, so a failure names the file.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from corpora_path import corpora_dir

Meta = dict[str, Any]


@dataclass(frozen=True)
class Capture:
    """One ``.bgphex`` file: whole messages (marker included) and their metadata, line by line.

    An empty message is a line the extractor left blank (see :func:`load`)."""

    rel: str
    messages: tuple[bytes, ...]
    metas: tuple[Meta, ...]

    @property
    def source(self) -> str:
        """The top-level corpus directory (``tcpdump``, ``pmacct``...)."""
        return self.rel.split("/", 1)[0]

    @property
    def is_mrt_sample(self) -> bool:
        return bool(self.metas) and "mrt_type" in self.metas[0]

    @property
    def is_bmp(self) -> bool:
        return any(m.get("transport") == "bmp" for m in self.metas)


def root() -> Path:
    return corpora_dir()


@functools.cache
def _listing(base: str) -> tuple[str, ...]:
    top = Path(base)
    return tuple(sorted(str(p.relative_to(top)) for p in top.rglob("*.bgphex")))


def capture_names() -> tuple[str, ...]:
    """Every ``.bgphex`` path, relative to the corpora root; () when the corpora are absent
    (collection then yields no parameters and :func:`root` skips or fails the run)."""
    try:
        return _listing(str(root()))
    except (pytest.skip.Exception, pytest.fail.Exception):
        return ()


def read_jsonl(path: Path) -> list[Meta]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


@functools.cache
def load(rel: str) -> Capture:
    path = root() / rel
    # Line N of the metadata describes line N of the hex file. A blank line stands for an MRT
    # record whose embedded message the extractor could not frame (no marker): it stays as b""
    # to keep the two files aligned.
    with path.open(encoding="ascii") as fh:
        messages = [bytes.fromhex(line.strip()) for line in fh if not line.startswith("#")]
    meta_path = path.with_name(path.name + ".meta.jsonl")
    metas = read_jsonl(meta_path) if meta_path.is_file() else []
    if metas and len(metas) != len(messages):
        raise AssertionError(f"{rel}: {len(messages)} messages but {len(metas)} metadata lines")
    if not metas:
        metas = [{"line": i + 1} for i in range(len(messages))]
    return Capture(rel, tuple(messages), tuple(metas))
