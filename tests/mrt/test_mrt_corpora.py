"""Every MRT file of the shared corpora, read end to end: record counts by type and subtype and
embedded message counts must match the corpora's summaries, every framed message must decode
(except the documented few), and damage must be reported where it is."""

from __future__ import annotations

import functools
from collections import Counter
from dataclasses import dataclass, field

import pytest
from mrt_corpus import (
    ADD_PATH_WITHOUT_SUBTYPE,
    FATAL_DAMAGE,
    UNDECODABLE_MESSAGES,
    expected_message_types,
    expected_record_types,
    mrt_files,
    path,
    summary,
)

from bgpspeak.mrt import (
    Bgp4mpMessage,
    CorruptRecord,
    LegacyBgpMessage,
    MrtError,
    RibRecord,
    TableDumpRecord,
    message_context,
    read_mrt,
)
from bgpspeak.wire import AttributeCache, DecodeError, Update, decode_message

FILES = mrt_files()
# deprecated BGP (type 5) subtypes that hold a message -> its BGP type
_LEGACY_MESSAGE_TYPES = {1: 2, 5: 1, 6: 3, 7: 4}


@dataclass
class Walk:
    records: Counter[tuple[int, int]] = field(default_factory=Counter)
    corrupt: list[MrtError] = field(default_factory=list)
    fatal: MrtError | None = None
    messages: Counter[int] = field(default_factory=Counter)
    undecodable: list[Bgp4mpMessage | LegacyBgpMessage] = field(default_factory=list)
    prefixes: int = 0  # announced + withdrawn in UPDATEs, plus RIB entries
    rib_entries: int = 0


@functools.cache
def walk(rel: str) -> Walk:
    out = Walk()
    cache = AttributeCache()
    for record in read_mrt(path(rel), errors="report"):
        if isinstance(record, CorruptRecord):
            if record.error.fatal:
                out.fatal = record.error
                continue
            out.corrupt.append(record.error)
        out.records[(record.type, record.subtype)] += 1
        if isinstance(record, Bgp4mpMessage | LegacyBgpMessage):
            out.messages[record.msg_type] += 1
            try:
                message = record.decode(cache)
            except DecodeError:
                out.undecodable.append(record)
                continue
            if isinstance(message, Update):
                out.prefixes += sum(1 for _ in message.announced())
                out.prefixes += sum(1 for _ in message.withdrawals())
        elif isinstance(record, RibRecord | TableDumpRecord):
            out.rib_entries += len(record.entries)
            out.prefixes += len(record.entries)
    return out


def test_corpora_have_mrt_files() -> None:
    path("")  # skips (or fails in CI) when the corpora are not there
    assert len(FILES) == 43, FILES


@pytest.mark.parametrize("rel", FILES)
def test_record_counts_match_summary(rel: str) -> None:
    got = walk(rel)
    assert got.records == expected_record_types(rel)
    assert sum(got.records.values()) == summary(rel)["records"]


@pytest.mark.parametrize("rel", FILES)
def test_damage_is_found_where_it_is(rel: str) -> None:
    got = walk(rel)
    assert got.corrupt == []
    offset = FATAL_DAMAGE.get(rel)
    if offset is None:
        assert got.fatal is None
    else:
        assert got.fatal is not None and got.fatal.offset == offset


@pytest.mark.parametrize("rel", FILES)
def test_message_counts_match_summary(rel: str) -> None:
    want = expected_message_types(rel)
    for (rtype, subtype), count in expected_record_types(rel).items():
        if rtype == 5 and subtype in _LEGACY_MESSAGE_TYPES:
            want[_LEGACY_MESSAGE_TYPES[subtype]] += count  # the summary does not count these
    assert walk(rel).messages == want


@pytest.mark.parametrize("rel", FILES)
def test_framed_messages_decode(rel: str) -> None:
    bad = walk(rel).undecodable
    assert len(bad) == UNDECODABLE_MESSAGES.get(rel, 0), [r.data.hex() for r in bad[:3]]
    if rel in ADD_PATH_WITHOUT_SUBTYPE:
        for record in bad:
            assert isinstance(record, Bgp4mpMessage)
            decode_message(record.data, message_context(record.as4, True))


def test_corpus_totals() -> None:
    """What the corpora exercise in all (the per-file tests check the detail); a reader that
    silently dropped records or prefixes would fail here."""
    walks = [walk(rel) for rel in FILES]
    assert sum(sum(w.records.values()) for w in walks) == sum(
        summary(rel)["records"] for rel in FILES
    )
    assert sum(sum(w.messages.values()) for w in walks) >= 254_579
    assert sum(w.rib_entries for w in walks) >= 115_794
    assert sum(w.prefixes for w in walks) >= 1_181_154
