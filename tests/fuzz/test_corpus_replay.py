"""CI side of the fuzzing: the kept corpus replayed through every target, and short
hypothesis runs of the same targets (the long runs are ``scripts/fuzz``, by hand)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bgpspeak.session import Session, SessionUp, State, StateChanged

from . import targets
from .run import CORPUS, NAMES, corpus_files, replay
from .targets import Finding

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.parametrize("name", NAMES)
def test_corpus_replays_clean(name: str) -> None:
    files = corpus_files(CORPUS / name)
    assert len(files) >= 10, f"the {name} corpus is missing"
    report = replay(name, CORPUS / name, coverage=False)
    assert report["failures"] == 0, report


def _seeds(name: str) -> list[bytes]:
    return [p.read_bytes() for p in corpus_files(CORPUS / name)][:200]


def _mutated(name: str) -> st.SearchStrategy[bytes]:
    """A corpus input with a few octets overwritten, or plain random bytes."""
    seeds = _seeds(name)

    @st.composite
    def build(draw: st.DrawFn) -> bytes:
        data = bytearray(draw(st.sampled_from(seeds)))
        for _ in range(draw(st.integers(0, 4))):
            if not data:
                break
            pos = draw(st.integers(0, len(data) - 1))
            data[pos] = draw(st.integers(0, 255))
        return bytes(data)

    return st.one_of(build(), st.binary(max_size=300))


@FAST
@given(data=st.data())
def test_decode_target_mutations(data: st.DataObject) -> None:
    targets.target_decode(data.draw(_mutated("decode")))


@FAST
@given(data=st.data())
def test_mrt_target_mutations(data: st.DataObject) -> None:
    targets.target_mrt(data.draw(_mutated("mrt")))


@FAST
@given(data=st.data())
def test_fsm_target_mutations(data: st.DataObject) -> None:
    targets.target_fsm(data.draw(_mutated("fsm")))


@FAST
@given(data=st.data())
def test_peer_target_mutations(data: st.DataObject) -> None:
    targets.target_peer(data.draw(_mutated("peer")))


# --- the targets catch what they claim to catch ---------------------------------------------------


def test_fsm_monitor_catches_established_without_exchange(monkeypatch: pytest.MonkeyPatch) -> None:
    """A machine that jumps to Established on the first Start is reported."""

    def broken(self: Session, event: object, now: int) -> list[object]:
        self.state = State.ESTABLISHED
        return [StateChanged(State.IDLE, State.ESTABLISHED), SessionUp(None)]  # type: ignore[arg-type]

    monkeypatch.setattr(Session, "handle", broken)
    with pytest.raises(Finding, match="Established"):
        targets.target_fsm(bytes([0, 0x00]))


def test_decode_target_catches_untyped_exception(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object, **kw: object) -> None:
        raise IndexError("index out of range")

    monkeypatch.setattr(targets, "decode_message", broken)
    with pytest.raises(IndexError):
        targets.target_decode(bytes([0, 0]) + b"\xff" * 16 + b"\x00\x13\x04")


def test_decode_target_catches_unsendable_notification(monkeypatch: pytest.MonkeyPatch) -> None:
    """Before the fix, Notification.from_error kept all of RFC 7313's data."""
    from bgpspeak.wire import Notification

    monkeypatch.setattr(
        Notification, "from_error", classmethod(lambda cls, e: cls(e.code, e.subcode, e.data))
    )
    blob = (Path(__file__).parent / "regressions" / "decode-route-refresh-4096").read_bytes()
    with pytest.raises(ValueError, match="exceeds the maximum"):
        targets.target_decode(blob)


def test_peer_target_catches_a_rib_out_of_step(monkeypatch: pytest.MonkeyPatch) -> None:
    """A route withdrawn from the Adj-RIB-In without its RouteWithdrawn event is reported."""
    from bgpspeak.rib import AdjRibIn

    original = AdjRibIn.remove_key

    def silent_remove(self: AdjRibIn, family: Any, key: int) -> bool:
        original(self, family, key)
        return False  # removed, but the peer is told nothing was there: no event

    monkeypatch.setattr(AdjRibIn, "remove_key", silent_remove)
    seeds = [p.read_bytes() for p in corpus_files(CORPUS / "peer")]
    with pytest.raises(Finding, match="Adj-RIB-In"):
        for blob in seeds:
            targets.target_peer(blob)


def test_mrt_target_flags_the_safety_net() -> None:
    """A decoder that raises IndexError is caught by read_mrt's safety net as
    "malformed record": the target reports it as a missed check."""
    from bgpspeak.mrt import reader

    def boom(*args: object) -> object:
        raise IndexError("x")

    saved = reader.DECODERS[16]
    reader.DECODERS[16] = boom  # type: ignore[assignment]
    try:
        record = (0).to_bytes(4, "big") + (16).to_bytes(2, "big") + (4).to_bytes(2, "big")
        with pytest.raises(Finding, match="missed a check"):
            targets.target_mrt(record + (0).to_bytes(4, "big"))
    finally:
        reader.DECODERS[16] = saved


# --- the command ----------------------------------------------------------------------------------


def test_random_engine_runs_without_atheris(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from .run import main

    assert main(["fsm", "--engine", "random", "--time", "1", "--workdir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert '"engine": "random"' in out and '"crashes": 0' in out
    assert not list(tmp_path.glob("crash-*"))


def test_libfuzzer_statistics_are_read() -> None:
    from .run import parse_libfuzzer

    log = (
        "#4096\tpulse  cov: 600 ft: 2000 corp: 300/40Kb exec/s: 1365 rss: 55Mb\n"
        "#95130\tDONE   cov: 687 ft: 1943 corp: 321/52Kb lim: 4200 exec/s: 1559 rss: 55Mb\n"
        "stat::number_of_executed_units: 95130\nstat::average_exec_per_sec:     1559\n"
    )
    stats = parse_libfuzzer(log)
    assert stats["execs"] == 95130 and stats["edges"] == 687 and stats["features"] == 1943
    assert stats["number_of_executed_units"] == 95130 and stats["average_exec_per_sec"] == 1559
