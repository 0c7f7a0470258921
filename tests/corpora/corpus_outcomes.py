"""What the codec makes of every corpus message, computed once per capture and shared by the
tests (decoding all 17,000 lines takes about a second; the comparisons against other tools'
decodes reuse the same results instead of decoding again)."""

from __future__ import annotations

import functools
from dataclasses import dataclass

from corpus_context import Resolution, resolve
from corpus_files import Meta, load

from bgpspeak.wire import DecodeError, Message, Update, decode_message


@dataclass(frozen=True)
class Outcome:
    """One message: its context, and either the decoded message (with its re-encoding), a
    :class:`DecodeError`, or the text of any other exception (a codec bug)."""

    line: int
    meta: Meta
    data: bytes
    resolution: Resolution
    message: Message | None = None
    reencoded: bytes | None = None
    error: DecodeError | None = None
    crash: str | None = None

    @property
    def update(self) -> Update | None:
        """The UPDATE as decoded, or as far as a treat-as-withdraw/attribute-discard error
        could read it (``error.update``)."""
        if isinstance(self.message, Update):
            return self.message
        if self.error is not None:
            return self.error.update
        return None

    @property
    def extracted(self) -> bool:
        """False for the blank lines the extractor left for unframeable MRT records."""
        return bool(self.data)


def run_one(line: int, meta: Meta, data: bytes, res: Resolution) -> Outcome:
    try:
        msg = decode_message(data, res.ctx)
    except DecodeError as e:
        return Outcome(line, meta, data, res, error=e)
    except Exception as e:  # any other exception is the bug these tests look for
        return Outcome(line, meta, data, res, crash=f"{type(e).__name__}: {e}")
    try:
        again = msg.encode(res.ctx)
    except Exception as e:
        return Outcome(line, meta, data, res, message=msg, crash=f"encode: {type(e).__name__}: {e}")
    return Outcome(line, meta, data, res, message=msg, reencoded=again)


@functools.cache
def outcomes(rel: str) -> tuple[Outcome, ...]:
    cap = load(rel)
    resolutions = resolve(cap)
    return tuple(
        run_one(i + 1, meta, data, res)
        for i, (meta, data, res) in enumerate(
            zip(cap.metas, cap.messages, resolutions, strict=True)
        )
        if data
    )
