"""The shared fuzzing corpora through the whole receiving path of a session, not only the codec.

``tests/corpora/test_corpus_malformed.py`` already replays them through ``StreamDecoder``. Here
each input is what a hostile peer sends on a live session: FRR's AFL corpus (generated against
an Established bgpd) into an Established session, BIRD's (OpenSent) into an OpenSent session,
GoBGP's ``bad-len`` inputs and the truncated-capture messages into both. The session monitor of
``targets.py`` checks every output (NOTIFICATIONs well formed, no UPDATE delivered outside
Established, state changes consistent) and nothing but a NOTIFICATION and a close may follow.
"""

from __future__ import annotations

import json
import tarfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from corpora_path import corpora_dir

from bgpspeak.session import Output, ProtocolError, Send, State, UpdateReceived
from bgpspeak.wire import Context, Notification, decode_message

from .targets import feed_stream, session_up


def _members(archive: Path) -> Iterator[tuple[str, bytes]]:
    with tarfile.open(archive) as tf:
        for m in tf.getmembers():
            fh = tf.extractfile(m) if m.isfile() else None
            if fh is not None:
                yield m.name, fh.read()


def _tally(out: list[Output], tally: Counter[str]) -> None:
    for o in out:
        if isinstance(o, Send):
            msg = decode_message(o.data, Context(extended_message=True))
            if isinstance(msg, Notification):
                tally[f"notification {msg.code}/{msg.subcode}"] += 1
        elif isinstance(o, UpdateReceived):
            tally["update treat-as-withdraw" if o.error else "update"] += 1
        elif isinstance(o, ProtocolError) and o.error is not None:
            tally["errors"] += 1


@pytest.mark.parametrize(
    ("archive", "state", "read"),
    [
        ("corpi/bgpd/bgpd-gen.tar.gz", State.ESTABLISHED, 4096),
        ("corpi/bgpd/bgpd-gen.tar.gz", State.ESTABLISHED, 7),
        ("corpi/bird/bird-gen.tar.gz", State.OPEN_SENT, 4096),
    ],
    ids=["frr-established", "frr-established-7-octet-reads", "bird-opensent"],
)
def test_afl_corpora_into_a_session(archive: str, state: State, read: int) -> None:
    tally: Counter[str] = Counter()
    n = 0
    for i, (_name, data) in enumerate(_members(corpora_dir() / archive)):
        if read < 100 and i % 8:
            continue  # small reads are slow: every eighth input
        mon = session_up(i % 64 & ~(1 | 2 | 32 | 64 | 128) | (i % 2) << 5, stop_in=state)
        _tally(feed_stream(mon, data, read), tally)
        n += 1
    assert n > 300
    # the corpora are mostly garbage: a session must have refused most with a NOTIFICATION
    assert sum(v for k, v in tally.items() if k.startswith("notification")) > n // 2, tally


def test_gobgp_bad_len_and_truncated_into_a_session() -> None:
    root = corpora_dir()
    inputs: list[bytes] = []
    for path in sorted((root / "gobgp" / "testdata" / "bad-len").iterdir()):
        raw = path.read_bytes()
        inputs += [raw, b"\xff" * 16 + raw[16:]]
    for path in sorted(root.rglob("*.truncated.jsonl")):
        for line in path.read_text().splitlines():
            rec = json.loads(line)
            hexdata = rec.get("hex") or rec.get("data_hex") or ""
            if hexdata:
                inputs.append(bytes.fromhex(hexdata))
    assert len(inputs) > 20
    tally: Counter[str] = Counter()
    for data in inputs:
        for state in (State.OPEN_SENT, State.ESTABLISHED):
            mon = session_up(0, stop_in=state)
            _tally(feed_stream(mon, data, 5), tally)
    assert tally["notification 1/1"] > 0, tally
