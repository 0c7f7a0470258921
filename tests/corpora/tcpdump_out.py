"""A reader for tcpdump's ``-v`` BGP output (the ``*.out`` files of its regression tests).

tcpdump prints each frame under a numbered header line, and each BGP message in it as a block
that starts with ``<Type> Message (<n>), length: <len>`` and continues with deeper-indented
lines. This module turns a file into ``{frame: [Block, ...]}`` and pulls out of a block the
facts the comparison needs; it does not try to understand every line tcpdump can print.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

_FRAME = re.compile(r"^\s{0,6}(\d+)\s+\d{4}-\d\d-\d\d ")
_MESSAGE = re.compile(r"^\t([A-Z][A-Za-z -]*?) Message \((\d+)\), length: (\d+)(.*)$")
_ATTRIBUTE = re.compile(
    r"^\t  ([A-Za-z0-9 ()/_-]+?) \((\d+)\), length: (\d+)(?:, Flags \[(\w*)\])?:? ?(.*)$"
)
_ROUTE = re.compile(r"^\t {4,6}([0-9a-fA-F.:]+/\d+)(?:\s+Path Id: (\d+))?$")
_LABELED = re.compile(
    r"^\t {6}(?:RD: ([0-9.:]+) \(= [0-9.]+\), )?([0-9a-fA-F.:]+/\d+), label:(\d+)"
)


@dataclass
class Attribute:
    name: str
    code: int
    length: int
    flags: str
    value: str  # the rest of the header line
    lines: list[str] = field(default_factory=list)  # the deeper-indented lines under it


@dataclass
class Block:
    """One BGP message as tcpdump printed it."""

    kind: str
    type: int
    length: int
    head: str  # the rest of the ``... Message (n), length: l`` line
    lines: list[str] = field(default_factory=list)

    @property
    def truncated(self) -> bool:
        return any("[|BGP" in ln or "[|bgp" in ln for ln in [self.head, *self.lines])

    def section(self, title: str) -> list[str]:
        """The lines under ``Withdrawn routes:`` / ``Updated routes:``."""
        out: list[str] = []
        inside = False
        for ln in self.lines:
            if ln.startswith("\t  ") and not ln.startswith("\t   "):
                inside = ln.strip() == title
                continue
            if inside:
                out.append(ln)
        return out

    def attributes(self) -> list[Attribute]:
        out: list[Attribute] = []
        current: Attribute | None = None
        for ln in self.lines:
            m = _ATTRIBUTE.match(ln)
            if m and not ln.startswith("\t   "):
                current = Attribute(m[1], int(m[2]), int(m[3]), m[4] or "", m[5].strip())
                out.append(current)
            elif ln.startswith("\t  ") and not ln.startswith("\t   "):
                current = None  # "Updated routes:" and the like
            elif current is not None:
                current.lines.append(ln)
        return out


def routes(lines: list[str]) -> list[tuple[str, int | None]]:
    out = []
    for ln in lines:
        m = _ROUTE.match(ln)
        if m:
            out.append((m[1], int(m[2]) if m[2] else None))
    return out


def labeled(lines: list[str]) -> list[tuple[str | None, str, int]]:
    """(RD, prefix, first label) of ``RD: a:b (= ip), prefix, label:n`` lines."""
    return [(m[1], m[2], int(m[3])) for ln in lines if (m := _LABELED.match(ln))]


def read(path: Path) -> dict[int, list[Block]]:
    frames: dict[int, list[Block]] = {}
    frame = 0
    block: Block | None = None
    for raw in path.read_text(encoding="utf-8", errors="replace").splitlines():
        fm = _FRAME.match(raw)
        if fm:
            frame = int(fm[1])
            block = None
            continue
        mm = _MESSAGE.match(raw)
        if mm:
            block = Block(mm[1], int(mm[2]), int(mm[3]), mm[4])
            frames.setdefault(frame, []).append(block)
            continue
        if block is not None and raw.startswith(("\t ", "\t\t")):
            block.lines.append(raw)
    return frames


def testlist(path: Path) -> list[tuple[str, str, str]]:
    """(pcap, out file, flags) of every entry of ``TESTLIST.bgp-lines.txt``."""
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        words = line.split()
        if len(words) >= 4 and not line.startswith("#"):
            out.append((words[1], words[2], " ".join(words[3:])))
    return out
