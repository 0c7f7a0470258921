"""Whole messages: the type-code table, one-shot decode, and framing of a TCP byte stream.

:class:`StreamDecoder` is sans-I/O: feed it whatever ``recv`` returned (partial messages, several
messages, a message split across reads) and pull messages out one at a time. The caller may
change ``ctx`` between messages, which is exactly what a session does after the OPENs.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

from .errors import DecodeError
from .family import DEFAULT_CONTEXT, Context
from .message import HEADER_LENGTH, MARKER, Message, check_header
from .open import Open
from .simple_messages import Keepalive, Notification, RouteRefresh
from .update import AttributeCache, Update, _decode_update, decode_update

MESSAGE_CLASSES: dict[int, type[Message]] = {
    1: Open,
    2: Update,
    3: Notification,
    4: Keepalive,
    5: RouteRefresh,
}


def decode_body(
    msg_type: int, body: bytes, ctx: Context = DEFAULT_CONTEXT, cache: AttributeCache | None = None
) -> Message:
    """Decode a message body of a type already checked by :func:`check_header`."""
    if msg_type == 2:
        return decode_update(body, ctx, cache)
    return MESSAGE_CLASSES[msg_type].decode_body(body, ctx)


def decode_message(
    data: bytes, ctx: Context = DEFAULT_CONTEXT, cache: AttributeCache | None = None
) -> Message:
    """Decode exactly one whole message (header included); extra or missing octets are errors."""
    if type(data) is not bytes:
        data = bytes(data)  # the decoded message keeps slices of it: never a mutable buffer
    n = len(data)
    # an UPDATE whose header is good (the checks of check_header and the length match, in
    # one expression): the common case of a table transfer, straight to the UPDATE decoder
    if (
        n >= 23
        and data[18] == 2
        and n == (data[16] << 8) | data[17]
        and (n <= 4096 or ctx.extended_message)
        and data[:16] == MARKER
    ):
        return _decode_update(data, HEADER_LENGTH, ctx, cache, True)
    if len(data) < HEADER_LENGTH:
        raise DecodeError(
            1, 2, f"{len(data)} octets is shorter than the 19-octet header", field="header"
        )
    msg_type, length = check_header(data[:HEADER_LENGTH], ctx)
    if length != len(data):
        raise DecodeError(
            1,
            2,
            f"header length {length} does not match the {len(data)} octets given",
            field="header.length",
            data=data[16:18],
        )
    return decode_body(msg_type, data[HEADER_LENGTH:], ctx, cache)


class StreamDecoder:
    """Frames and decodes the messages of one direction of a BGP session.

    A framing error (bad marker, bad length, unknown type) is fatal to the stream: the error is
    raised and every later call raises it again, because there is no way to find the next
    message boundary. A decode error of one message is raised once; its octets are consumed and
    the stream can go on (the session decides whether it does, from ``error.action``).
    """

    def __init__(self, ctx: Context = DEFAULT_CONTEXT, cache: AttributeCache | None = None) -> None:
        self.ctx = ctx
        self.cache = cache if cache is not None else AttributeCache()
        self._buf = bytearray()
        self._pos = 0
        self._broken: DecodeError | None = None

    def feed(self, data: bytes) -> None:
        """Append bytes as they came off the socket (any chunking); take messages out with
        :meth:`next_message`."""
        if self._pos and self._pos > len(self._buf) // 2:
            del self._buf[: self._pos]
            self._pos = 0
        self._buf += data

    @property
    def buffered(self) -> int:
        """Octets received but not yet returned as messages."""
        return len(self._buf) - self._pos

    def next_frame(self) -> tuple[int, bytes] | None:
        """The next whole message as (type, body), header validated, body not decoded."""
        if self._broken is not None:
            raise self._broken
        buf = self._buf
        pos = self._pos
        if len(buf) - pos < HEADER_LENGTH:
            return None
        try:
            msg_type, length = check_header(bytes(buf[pos : pos + HEADER_LENGTH]), self.ctx)
        except DecodeError as e:
            self._broken = e
            raise
        if len(buf) - pos < length:
            return None
        body = bytes(buf[pos + HEADER_LENGTH : pos + length])
        self._pos = pos + length
        return msg_type, body

    def next_message(self) -> Message | None:
        """The next decoded message, or None until more octets arrive."""
        frame = self.next_frame()
        if frame is None:
            return None
        return decode_body(frame[0], frame[1], self.ctx, self.cache)

    def __iter__(self) -> Iterator[Message]:
        while (msg := self.next_message()) is not None:
            yield msg


#: The young-generation threshold :func:`bulk_receive_gc` uses (CPython's default is 700).
BULK_GC_THRESHOLD = 100_000


@contextmanager
def bulk_receive_gc(threshold0: int = BULK_GC_THRESHOLD) -> Iterator[None]:
    """A garbage collector setting for bulk work, such as decoding a whole table transfer:
    the young-generation threshold raised to ``threshold0`` inside the ``with`` block, and put
    back as it was on the way out (exceptions included).

    Why: a table transfer makes objects that all live on (decoded UPDATEs, attributes), so the
    collector's frequent young collections find nothing to free; with CPython's default of
    700 they cost a large part of a bulk decode (measured on the corpora's update traces: about
    a fifth less CPU with 100,000; see docs/performance.md). The collector still runs, so
    garbage cycles are still freed, and nothing is frozen. The library never changes collector
    settings by itself: call this where the bulk work is, e.g.::

        with bulk_receive_gc():
            updates = [decode_message(m, ctx, cache) for m in messages]

    Not thread-aware: the threshold is interpreter-wide while the block runs.
    """
    old = gc.get_threshold()
    gc.set_threshold(max(threshold0, old[0]), *old[1:])
    try:
        yield
    finally:
        gc.set_threshold(*old)
