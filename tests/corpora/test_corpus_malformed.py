"""Inputs built to break parsers: they must give a sensible DecodeError or a clean decode, never
another exception and never a hang.

* ``corpi``: AFL corpora from fuzzing FRR's bgpd (Established) and BIRD (OpenSent): raw byte
  streams fed to a StreamDecoder whole and in 7-octet reads, under three contexts. A decoded
  message must re-encode to its octets, or differ only in prefix bits beyond the prefix length
  (RFC 4271: irrelevant; the decode clears them) and then decode to the same message again.
* GoBGP's ``bad-len`` inputs (they once made GoBGP panic): as they are (ASCII '0' markers) and
  with a valid marker, so that the length and body checks they aim at are reached.
* ``*.truncated.jsonl``: messages whose declared length runs past the capture. A stream waits
  for the rest (or rejects a header that could never be valid); a one-shot decode rejects them.
"""

from __future__ import annotations

import tarfile
from collections import Counter
from collections.abc import Iterator

import pytest
from corpus_files import read_jsonl, root
from corpus_sanity import error_problems

from bgpspeak.wire import (
    IPV4_UNICAST,
    IPV6_UNICAST,
    Context,
    DecodeError,
    ErrorCode,
    HeaderSubcode,
    Message,
    StreamDecoder,
    Update,
    decode_message,
)
from bgpspeak.wire.codec import decode_body

ARCHIVES = {
    "corpi/bgpd/bgpd-gen.tar.gz": "FRR bgpd, Established",
    "corpi/bird/bird-gen.tar.gz": "BIRD, OpenSent",
}
CONTEXTS = (
    Context(),
    Context(asn4=False, add_path=frozenset({IPV4_UNICAST, IPV6_UNICAST})),
    Context(extended_message=True, ibgp=True),
)
HEADER = 19
MARKER = b"\xff" * 16


def _members(archive: str) -> Iterator[tuple[str, bytes]]:
    with tarfile.open(root() / archive) as tf:
        for m in tf.getmembers():
            fh = tf.extractfile(m) if m.isfile() else None
            if fh is not None:
                yield m.name, fh.read()


def _update_sections(body: bytes) -> tuple[bytes, int, int]:
    """(attribute section, withdrawn length, NLRI length) of a well-framed UPDATE body."""
    wlen = int.from_bytes(body[:2], "big")
    alen = int.from_bytes(body[2 + wlen : 4 + wlen], "big")
    attrs = body[4 + wlen : 4 + wlen + alen]
    return attrs, wlen, len(body) - 4 - wlen - alen


def reencode_problem(mtype: int, body: bytes, msg: Message, ctx: Context) -> str | None:
    """None when ``msg`` re-encodes to ``body`` or differs only in host bits of prefixes."""
    again = msg.encode_body(ctx)
    if again == body:
        return None
    if not isinstance(msg, Update):
        return f"{type(msg).__name__} re-encodes differently"
    if _update_sections(body) != _update_sections(again):
        return "UPDATE re-encodes differently outside its prefixes"
    if decode_body(mtype, again, ctx) != msg:
        return "re-encoded UPDATE decodes to another message"
    return None


def run_stream(data: bytes, ctx: Context, read: int, tally: Counter[str]) -> list[str]:
    """Feed ``data`` in reads of ``read`` octets; decode every frame; return the problems."""
    problems: list[str] = []
    decoder = StreamDecoder(ctx)
    budget = len(data) // HEADER + 2  # a frame is at least 19 octets: more means a loop
    for pos in range(0, len(data), read):
        decoder.feed(data[pos : pos + read])
        while True:
            try:
                frame = decoder.next_frame()
            except DecodeError as e:
                tally[f"framing error {e.code}/{e.subcode}"] += 1
                return problems + error_problems(e, b"")
            if frame is None:
                break
            budget -= 1
            if budget < 0:
                return [*problems, "more frames than the input can hold"]
            mtype, body = frame
            raw = MARKER + (HEADER + len(body)).to_bytes(2, "big") + bytes((mtype,)) + body
            try:
                msg = decode_body(mtype, body, ctx)
            except DecodeError as e:
                tally[f"{ErrorCode(e.code).name}/{e.subcode} {e.action.name.lower()}"] += 1
                problems += error_problems(e, raw)
                continue
            except Exception as e:
                problems.append(f"{type(e).__name__}: {e} on {raw.hex()}")
                continue
            tally[f"decoded {type(msg).__name__}"] += 1
            why = reencode_problem(mtype, body, msg, ctx)
            if why is None and msg.encode_body(ctx) != body:
                tally["decoded, prefix host bits cleared"] += 1
            elif why is not None:
                problems.append(f"{why}: {raw.hex()}")
    return problems


def run_archive(archive: str) -> tuple[Counter[str], list[str]]:
    tally: Counter[str] = Counter()
    problems: list[str] = []
    for name, data in _members(archive):
        tally["files"] += 1
        for i, ctx in enumerate(CONTEXTS):
            problems += [f"{name}: {p}" for p in run_stream(data, ctx, len(data) or 1, tally)]
            if i == 0:
                chunked = run_stream(data, ctx, 7, Counter())
                problems += [f"{name} (7-octet reads): {p}" for p in chunked]
    return tally, problems


@pytest.mark.parametrize("archive", sorted(ARCHIVES))
def test_fuzzing_corpus(archive: str) -> None:
    tally, problems = run_archive(archive)
    assert not problems, "\n".join(problems[:20])
    assert tally["files"] > 300, tally


def _gobgp() -> list[dict[str, object]]:
    try:
        return read_jsonl(root() / "gobgp" / "testdata" / "bad-len.malformed.jsonl")
    except (pytest.skip.Exception, pytest.fail.Exception):
        return []


GOBGP = _gobgp()


@pytest.mark.parametrize("case", GOBGP, ids=[str(c["file"])[:12] for c in GOBGP])
def test_gobgp_bad_length_inputs(case: dict[str, object]) -> None:
    data = (root() / "gobgp" / "testdata" / "bad-len" / str(case["file"])).read_bytes()
    assert data.hex() == case["hex"]
    # as they are: every marker is wrong, and GoBGP's test accepts only a sync or length error
    with pytest.raises(DecodeError) as info:
        decode_message(data)
    assert (info.value.code, info.value.subcode) in (
        (ErrorCode.MESSAGE_HEADER, HeaderSubcode.CONNECTION_NOT_SYNCHRONIZED),
        (ErrorCode.MESSAGE_HEADER, HeaderSubcode.BAD_MESSAGE_LENGTH),
    )
    # with a valid marker the length fields and bodies are reached
    fixed = MARKER + data[16:]
    tally: Counter[str] = Counter()
    for ctx in CONTEXTS:
        assert not run_stream(fixed, ctx, len(fixed), tally)
        assert not run_stream(fixed, ctx, 1, Counter())
    assert tally


def _truncated() -> list[tuple[str, dict[str, object]]]:
    try:
        base = root()
    except (pytest.skip.Exception, pytest.fail.Exception):
        return []
    return [
        (str(p.relative_to(base)), rec)
        for p in sorted(base.rglob("*.truncated.jsonl"))
        for rec in read_jsonl(p)
    ]


TRUNCATED = _truncated()


@pytest.mark.parametrize(
    ("rel", "record"), TRUNCATED, ids=[f"{r}:{i}" for i, (r, _) in enumerate(TRUNCATED)]
)
def test_truncated_messages(rel: str, record: dict[str, object]) -> None:
    data = bytes.fromhex(str(record["hex"]))
    assert len(data) == record["available"]
    assert len(data) < int(str(record["declared_length"]))
    with pytest.raises(DecodeError) as info:
        decode_message(data)
    assert info.value.code == ErrorCode.MESSAGE_HEADER
    decoder = StreamDecoder(Context())
    decoder.feed(data)
    try:
        assert decoder.next_message() is None  # a stream waits for the rest of the message
        assert decoder.buffered == len(data)
    except DecodeError as e:  # unless the header itself can never be valid
        assert e.code == ErrorCode.MESSAGE_HEADER and not error_problems(e, b"")
        assert e.subcode in (HeaderSubcode.BAD_MESSAGE_LENGTH, HeaderSubcode.BAD_MESSAGE_TYPE)
