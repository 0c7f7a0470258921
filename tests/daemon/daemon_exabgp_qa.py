"""Reading ExaBGP's own qa files (``qa/api/*.ci``, ``qa/encoding/*.ci`` in the shared corpora):
``N:cmd:<API command>``, ``N:raw:<MARKER>:<LEN>:<TYPE>:<BODY>`` (the UPDATE ExaBGP sent for it)
and ``N:json:<ExaBGP's JSON of that message>`` lines, paired up in file order."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass
class Step:
    file: str
    line: int
    command: str | None  # the command that produced ``raw`` (None: from the configuration)
    raw: bytes
    json: dict[str, Any] | None


def _raw(text: str) -> bytes | None:
    hexdigits = text.replace(":", "")
    try:
        data = bytes.fromhex(hexdigits)
    except ValueError:
        return None
    if len(data) < 19 or int.from_bytes(data[16:18], "big") != len(data):
        return None  # a few qa lines are not whole messages
    return data


def steps(path: Path) -> Iterator[Step]:
    command: str | None = None
    current: Step | None = None
    for number, line in enumerate(path.read_text().splitlines(), 1):
        parts = line.split(":", 2)
        if len(parts) < 3 or not parts[0].isdigit():
            continue
        kind, rest = parts[1], parts[2]
        if kind == "cmd":
            if current is not None:
                yield current
                current = None
            command = rest
        elif kind == "raw":
            if current is not None:
                yield current
            data = _raw(rest)
            current = None if data is None else Step(path.name, number, command, data, None)
            command = None  # only the first message after a command is its result
        elif kind == "json" and current is not None and current.json is None:
            current.json = json.loads(rest)
    if current is not None:
        yield current
