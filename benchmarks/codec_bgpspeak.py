"""Codec benchmark worker for bgpspeak (run by ``codec.py`` with the project's interpreter).

Decoding goes through the public entry point, :func:`bgpspeak.wire.decode_message`, on the
whole message (header checked). That is the library's default decode: every attribute and NLRI
field validated completely (a malformed one raises then, RFC 7606 action included), the
attribute objects and the :class:`~bgpspeak.wire.PrefixRun` of the IPv4 fields made on first
access, :class:`~bgpspeak.wire.Prefix` objects when a run is iterated. So there are three decode
variants: ``decode-*`` (the decode alone), ``decode-attributes`` (the same, then every
attribute object of every message made and visited inside the clock) and ``decode-iterate``
(the same, then every prefix of every message iterated as a ``Prefix``, which makes the
attributes too: MP_REACH/MP_UNREACH carry routes). Encoding re-encodes the decoded
:class:`~bgpspeak.wire.Update` objects with :meth:`~bgpspeak.wire.Message.encode`, their objects
made before the clock starts.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version

from codec_harness import ContextSpec, Pack, Prepare, TimedPass, Variant, worker_main

from bgpspeak.wire import (
    AttributeCache,
    Context,
    DecodeError,
    Family,
    MpReachNlri,
    MpUnreachNlri,
    Prefix,
    Update,
    bulk_receive_gc,
    decode_message,
)

REENCODED_DIFFERENTLY = "re-encoded to different bytes"
RAW_NLRI = "NLRI kept raw (not counted):"


def to_context(spec: ContextSpec) -> Context:
    return Context(
        asn4=spec.asn4,
        add_path=frozenset(Family(a, s) for a, s in spec.add_path),
        extended_message=spec.extended_message,
        ibgp=spec.ibgp,
    )


def prefix_count(update: Update) -> int:
    """Announced plus withdrawn prefixes, IPv4 fields and MP_REACH/MP_UNREACH; proves on the way
    that each is a materialized :class:`Prefix` (raw NLRI of other families count nothing)."""
    groups: list[Sequence[Prefix] | bytes] = [update.withdrawn, update.nlri]
    for a in update.attributes:
        if isinstance(a, MpReachNlri):
            groups.append(a.nlri)
        elif isinstance(a, MpUnreachNlri):
            groups.append(a.withdrawn)
    n = 0
    for g in groups:
        if isinstance(g, bytes):
            continue
        for p in g:
            if type(p) is not Prefix:
                raise TypeError(f"NLRI decoded to {type(p).__name__}, not Prefix")
        n += len(g)
    return n


def check(pack: Pack) -> list[tuple[int | None, str]]:
    contexts = [to_context(c) for c in pack.contexts]
    out: list[tuple[int | None, str]] = []
    for data, ci in pack.messages:
        try:
            msg = decode_message(data, contexts[ci])
        except DecodeError as e:
            out.append((None, f"DecodeError: {e}"))
            continue
        if not isinstance(msg, Update):
            out.append((None, f"not an UPDATE: {type(msg).__name__}"))
            continue
        notes = [f"{RAW_NLRI} {a.family}" for a in msg.attributes if _raw_nlri(a)]
        # the encode pass must be worth timing: note messages that do not re-encode identically
        try:
            if msg.encode(contexts[ci]) != data:
                notes.append(REENCODED_DIFFERENTLY)
        except ValueError as e:
            notes.append(f"encode failed: {e}")
        out.append((prefix_count(msg), "; ".join(notes)))
    return out


def _raw_nlri(a: object) -> bool:
    """An MP attribute whose NLRI bgpspeak keeps as bytes (a family it does not interpret)."""
    if isinstance(a, MpReachNlri):
        return isinstance(a.nlri, bytes) and bool(a.nlri)
    if isinstance(a, MpUnreachNlri):
        return isinstance(a.withdrawn, bytes) and bool(a.withdrawn)
    return False


def _decode(pack: Pack, cached: bool) -> Prepare:
    contexts = [to_context(c) for c in pack.contexts]
    messages = [(data, contexts[ci]) for data, ci in pack.messages]

    def prepare() -> TimedPass:
        def run() -> object:
            # a fresh cache per pass, filled inside the clock: one pass is one table transfer
            cache = AttributeCache() if cached else None
            return [decode_message(data, ctx, cache) for data, ctx in messages]

        return run

    return prepare


def iterate_all(decoded: list[object]) -> int:
    """Iterate every prefix of every decoded message (each a Prefix made from its PrefixRun)."""
    n = 0
    for u in decoded:
        if not isinstance(u, Update):
            continue
        for _ in u.withdrawn:
            n += 1
        for _ in u.nlri:
            n += 1
        for a in u.attributes:
            if isinstance(a, MpReachNlri) and not isinstance(a.nlri, bytes):
                for _ in a.nlri:
                    n += 1
            elif isinstance(a, MpUnreachNlri) and not isinstance(a.withdrawn, bytes):
                for _ in a.withdrawn:
                    n += 1
    return n


def access_attributes(decoded: list[object]) -> int:
    """Make and visit every attribute object of every decoded message."""
    n = 0
    for u in decoded:
        if isinstance(u, Update):
            for _ in u.attributes:
                n += 1
    return n


def decode_attributes(pack: Pack) -> Prepare:
    contexts = [to_context(c) for c in pack.contexts]
    messages = [(data, contexts[ci]) for data, ci in pack.messages]

    def prepare() -> TimedPass:
        def run() -> object:
            cache = AttributeCache()
            decoded: list[object] = [decode_message(data, ctx, cache) for data, ctx in messages]
            access_attributes(decoded)
            return decoded

        return run

    return prepare


def decode_iterate(pack: Pack) -> Prepare:
    contexts = [to_context(c) for c in pack.contexts]
    messages = [(data, contexts[ci]) for data, ci in pack.messages]

    def prepare() -> TimedPass:
        def run() -> object:
            cache = AttributeCache()
            decoded: list[object] = [decode_message(data, ctx, cache) for data, ctx in messages]
            iterate_all(decoded)
            return decoded

        return run

    return prepare


def decode_cached(pack: Pack) -> Prepare:
    return _decode(pack, True)


def decode_uncached(pack: Pack) -> Prepare:
    return _decode(pack, False)


def encode(pack: Pack) -> Prepare:
    contexts = [to_context(c) for c in pack.contexts]
    decoded = [(decode_message(data, contexts[ci]), contexts[ci]) for data, ci in pack.messages]
    # the objects exist before the clock starts: encode is timed on its own
    access_attributes([msg for msg, _ in decoded])
    iterate_all([msg for msg, _ in decoded])

    def prepare() -> TimedPass:
        def run() -> object:
            return [msg.encode(ctx) for msg, ctx in decoded]

        return run

    return prepare


def _version() -> str:
    try:
        return version("bgpspeak")
    except PackageNotFoundError:
        return "unknown"


VARIANTS: dict[str, Variant] = {
    "decode-cache": decode_cached,
    "decode-attributes": decode_attributes,
    "decode-iterate": decode_iterate,
    "decode-nocache": decode_uncached,
    "encode": encode,
}

if __name__ == "__main__":
    sys.exit(worker_main("bgpspeak", check, VARIANTS, _version, bulk_gc=bulk_receive_gc))
