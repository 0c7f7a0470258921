"""The MRT files of the shared corpora, their collector-made summaries, and the few places where
this reader knowingly differs from those summaries (each with the reason, checked by a test).

A file is an MRT file when its ``.summary.json`` has ``record_types``; the summary's walker is a
plain RFC 6396 walker written by whoever collected the corpora, not ours.
"""

from __future__ import annotations

import functools
import json
from collections import Counter
from pathlib import Path
from typing import Any

from corpora_path import corpora_dir

Summary = dict[str, Any]


@functools.cache
def _summaries(base: str) -> dict[str, Summary]:
    out: dict[str, Summary] = {}
    for path in sorted(Path(base).rglob("*.summary.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        if "record_types" in data:
            out[data["file"]] = data
    return out


def mrt_files() -> tuple[str, ...]:
    """Every MRT file, relative to the corpora root; () when the corpora are absent (the tests
    then get no parameters, and the one test that asks for the directory skips or fails)."""
    try:
        return tuple(_summaries(str(corpora_dir())))
    except BaseException:  # pytest's skip/fail outcomes while collecting parameters
        return ()


def summary(rel: str) -> Summary:
    return _summaries(str(corpora_dir()))[rel]


def path(rel: str) -> Path:
    return corpora_dir() / rel


def expected_record_types(rel: str) -> Counter[tuple[int, int]]:
    """``{(type, subtype): count}`` from keys like ``"16 BGP4MP / 4 MESSAGE_AS4"``."""
    out: Counter[tuple[int, int]] = Counter()
    for key, count in summary(rel)["record_types"].items():
        left, right = key.split("/", 1)
        out[(int(left.split()[0]), int(right.split()[0]))] = count
    return out


def expected_message_types(rel: str) -> Counter[int]:
    """Embedded BGP messages by type code, plus what this reader recovers on top (below)."""
    kinds = summary(rel)["embedded_bgp_and_rib_attributes"]["message_types"]
    out: Counter[int] = Counter({int(k.split()[0]): v for k, v in kinds.items()})
    out.update(RECOVERED_MESSAGES.get(rel, {}))
    return out


RRC00_2000_03 = "bgpkit-parser/tests/fixtures/ripe/rrc00/2000.03/updates.20000325.0345.gz"
RRC01_2000_11 = "bgpkit-parser/tests/fixtures/ripe/rrc01/2000.11/updates.20001104.0124.gz"

#: Messages the summary's walker could not frame but this reader recovers: old Zebra wrote 21
#: OPENs in this file without interface index, AFI and addresses (the walker read the marker's
#: first octets as those fields and called the record "without marker"; bgpdump has the same
#: workaround as bgpspeak.mrt).
RECOVERED_MESSAGES: dict[str, dict[int, int]] = {RRC01_2000_11: {1: 21}}

#: Where the fatal damage is (offset of the record header), by file.
FATAL_DAMAGE = {RRC00_2000_03: 15024}

#: Framed messages the codec rejects, by file, and why.
UNDECODABLE_MESSAGES = {
    # NLRI ends with a length octet (/11) and no prefix octets; bgpdump silently drops the tail
    "bgpdump/test_data/updates.nlri_mask_trailing_bits.gz": 1,
    # the 14556-octet record at offset 188 is part of the damage: its "UPDATE" body is garbage
    RRC00_2000_03: 1,
    # BIRD recorded ADD-PATH sessions with the plain MESSAGE_AS4 subtype; these decode with an
    # ADD-PATH context (test_mrt_corpora checks that)
    "mrtparse/samples-historical/bird_bgp": 33,
    "mrtparse/samples/bird_bgp": 6,
    "mrtparse/samples/bird6_bgp": 6,
}
ADD_PATH_WITHOUT_SUBTYPE = frozenset(
    {
        "mrtparse/samples-historical/bird_bgp",
        "mrtparse/samples/bird_bgp",
        "mrtparse/samples/bird6_bgp",
    }
)
