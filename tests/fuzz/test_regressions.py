"""Every crash or broken invariant the fuzzers found, as a test (docs/reliability.md lists them).

Each input is also kept in ``tests/fuzz/regressions/<target>-<name>`` so the replay test runs
it through the whole target, not only the narrow check below.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bgpspeak.session import Send
from bgpspeak.wire import Context, DecodeError, Notification, decode_message
from bgpspeak.wire.message import MARKER
from bgpspeak.wire.simple_messages import MAX_NOTIFICATION_DATA

from .targets import TARGETS, feed_stream, session_up

REGRESSIONS = Path(__file__).parent / "regressions"


def _refresh(length: int, subtype: int = 1) -> bytes:
    """A ROUTE-REFRESH of ``length`` octets: Begin/End-of-RIB-refresh must be exactly 23."""
    return (
        MARKER
        + length.to_bytes(2, "big")
        + b"\x05\x00\x01"
        + bytes((subtype, 1))
        + bytes(length - 23)
    )


@pytest.mark.parametrize("ext", [False, True])
def test_route_refresh_invalid_length_notification_fits(ext: bool) -> None:
    """RFC 7313 section 5 puts the whole malformed ROUTE-REFRESH in the NOTIFICATION's data:
    a 4096-octet (or, with extended messages, 65535-octet) one made a NOTIFICATION too long to
    encode, and the ValueError escaped Session.handle. The data is now cut to fit."""
    length = 65535 if ext else 4096
    ctx = Context(extended_message=ext)
    with pytest.raises(DecodeError) as info:
        decode_message(_refresh(length), ctx)
    assert (info.value.code, info.value.subcode) == (7, 1)
    note = Notification.from_error(info.value)
    assert len(note.data) == MAX_NOTIFICATION_DATA
    assert len(note.encode(Context())) == 4096
    assert note.data == _refresh(length)[:MAX_NOTIFICATION_DATA]
    assert len(note.hard_reset().encode(Context())) == 4096


def test_route_refresh_invalid_length_session() -> None:
    """The same on a live session: NOTIFICATION 7/1 on the wire, the session closes cleanly."""
    mon = session_up()
    out = feed_stream(mon, _refresh(4096), 4096)
    sent = [decode_message(o.data, Context()) for o in out if isinstance(o, Send)]
    assert any(isinstance(m, Notification) and (m.code, m.subcode) == (7, 1) for m in sent)
    assert not mon.session.connected


def test_regression_inputs_pass_their_targets() -> None:
    files = sorted(REGRESSIONS.iterdir())
    assert files, "the regression inputs are missing"
    for f in files:
        TARGETS[f.name.split("-", 1)[0]](f.read_bytes())
