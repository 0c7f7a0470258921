"""Every message of every capture in shared/corpora, through the codec.

Per capture (the test id is its path): each well-formed message decodes and re-encodes to the
same octets; each malformed one raises a sensible :class:`DecodeError` that is listed, with its
exact error, in ``corpus_expectations``; nothing raises anything else. The same messages also go
through :class:`StreamDecoder` with an attribute cache, the way a session decodes them, and must
come out equal to the one-shot decode.
"""

from __future__ import annotations

from collections import Counter

import pytest
from corpus_expectations import FUZZED, MALFORMED, NON_CANONICAL, Signature
from corpus_files import capture_names, load, root
from corpus_outcomes import Outcome, outcomes
from corpus_sanity import error_problems

from bgpspeak.wire import (
    AttributeCache,
    DecodeError,
    ErrorCode,
    Message,
    StreamDecoder,
    decode_message,
)

CAPTURES = capture_names()


def test_corpora_are_present() -> None:
    """Fails in CI (skips elsewhere) when the corpora are missing, instead of a green run that
    decoded nothing."""
    assert (root() / "MANIFEST.tsv").is_file()
    assert len(CAPTURES) >= 180


def test_expectations_name_real_captures() -> None:
    names = set(CAPTURES)
    listed = {rel for m in MALFORMED for rel in m.counts} | set(FUZZED)
    listed |= {rel for n in NON_CANONICAL for rel in n.counts}
    assert listed <= names, sorted(listed - names)
    assert not set(FUZZED) & {rel for m in MALFORMED for rel in m.counts}


def _describe(o: Outcome) -> str:
    return f"line {o.line} ({o.resolution.basis})"


@pytest.mark.parametrize("rel", CAPTURES)
def test_capture(rel: str) -> None:
    problems: list[str] = []
    found: Counter[str] = Counter()
    fuzz: Counter[Signature] = Counter()
    differ: list[Outcome] = []
    for o in outcomes(rel):
        if o.crash is not None:
            problems.append(f"{_describe(o)}: {o.crash}")
            continue
        if o.error is not None:
            problems += [
                f"{_describe(o)}: {p} [{o.error}]" for p in error_problems(o.error, o.data)
            ]
            if rel in FUZZED:
                fuzz[(o.error.code, o.error.subcode, o.error.action)] += 1
                continue
            cls = next((m for m in MALFORMED if m.matches(rel, o.error)), None)
            if cls is None:
                problems.append(f"{_describe(o)}: unexpected error {o.error}")
            else:
                found[cls.name] += 1
            continue
        if o.reencoded != o.data:
            differ.append(o)
    for m in MALFORMED:
        want = m.counts.get(rel, 0)
        if found[m.name] != want:
            problems.append(f"{m.name}: {found[m.name]} messages, expected {want}")
    if rel in FUZZED and dict(fuzz) != FUZZED[rel]:
        problems.append(f"fuzzed errors {dict(fuzz)} != expected {FUZZED[rel]}")
    allowed = sum(n.counts.get(rel, 0) for n in NON_CANONICAL)
    if len(differ) != allowed:
        problems += [
            f"{_describe(o)}: re-encodes differently\n  got  {(o.reencoded or b'').hex()}"
            f"\n  want {o.data.hex()}"
            for o in differ[:5]
        ]
        problems.append(f"{len(differ)} messages re-encode differently, {allowed} allowed")
    assert not problems, f"{rel}:\n" + "\n".join(problems[:25])


def _chunks(data: bytes) -> list[bytes]:
    """Cut a stream into reads of varying size (1 octet up to about 1 KiB) so that headers and
    bodies are split at every kind of place."""
    out = []
    pos, step = 0, 1
    while pos < len(data):
        out.append(data[pos : pos + step])
        pos += step
        step = step * 7 % 1021 + 1
    return out


@pytest.mark.parametrize("rel", CAPTURES)
def test_capture_as_a_stream(rel: str) -> None:
    """The messages of each TCP direction, concatenated and fed to a StreamDecoder in reads of
    varying size with an attribute cache, decode to what the one-shot decode gave. A header
    error ends the comparison of its flow: after one, a real stream has lost its framing."""
    flows: dict[object, list[Outcome]] = {}
    for o in outcomes(rel):
        flows.setdefault((o.meta.get("tcp_stream"), o.meta.get("direction")), []).append(o)
    cache = AttributeCache()
    for flow in flows.values():
        decoder = StreamDecoder(flow[0].resolution.ctx, cache)
        results: list[Message | DecodeError] = []
        framing_lost = False
        for chunk in _chunks(b"".join(o.data for o in flow)):
            decoder.feed(chunk)
            while len(results) < len(flow) and not framing_lost:
                decoder.ctx = flow[len(results)].resolution.ctx
                try:
                    msg = decoder.next_message()
                except DecodeError as e:
                    results.append(e)
                    framing_lost = e.code == ErrorCode.MESSAGE_HEADER
                    continue
                if msg is None:
                    break
                results.append(msg)
            if framing_lost:
                break
        if not framing_lost:
            assert len(results) == len(flow) and decoder.buffered == 0
        for o, got in zip(flow, results, strict=False):
            if isinstance(got, DecodeError):
                assert o.error is not None, f"line {o.line}: stream gave {got}"
                assert (got.code, got.subcode, got.action) == (
                    o.error.code,
                    o.error.subcode,
                    o.error.action,
                ), f"line {o.line}"
            else:
                assert got == o.message, f"line {o.line}: stream decode differs"


def test_attribute_cache_gives_the_uncached_decode() -> None:
    """Decoding the captures twice through one shared cache (the second pass answered from it)
    gives the same messages and errors as decoding without one."""
    cache = AttributeCache()
    for rel in CAPTURES:
        for _ in range(2):
            for o in outcomes(rel):
                try:
                    msg = decode_message(o.data, o.resolution.ctx, cache)
                except DecodeError as e:
                    assert o.error is not None, f"{rel} line {o.line}: {e}"
                    assert (e.code, e.subcode, e.action) == (
                        o.error.code,
                        o.error.subcode,
                        o.error.action,
                    )
                    continue
                assert msg == o.message, f"{rel} line {o.line}"


def test_every_capture_has_messages() -> None:
    empty = [rel for rel in CAPTURES if not load(rel).messages]
    # BMP initiation / a Loc-RIB peer-down without reason data: no BGP message in them
    assert empty == [
        "pmacct/208-BMP-mem-leak-test/bmp-multi-sources-init.pcap.bgphex",
        "traffic-reproducer/examples/pcaps/ipfix-bmp-scenario-PART3-bmp-loc-rib-peer-down.pcap.bgphex",
    ]
