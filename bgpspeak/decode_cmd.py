"""``bgpspeak decode``: turn captured BGP messages into one JSON object per message.

Input is hex lines (one whole message per line, marker included; blank lines and ``#`` comments
skipped) or, with ``--raw``, the raw octets of a session's byte stream. A malformed message
prints ``{"error": {...}}`` in its place so a pipeline sees every message in order; the exit
status says whether everything decoded.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from typing import IO, Any

from .wire import AttributeCache, Context, DecodeError, Family, StreamDecoder, decode_message


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", nargs="?", default="-", help="input file, '-' for stdin (default)")
    p.add_argument("--raw", action="store_true", help="input is a raw byte stream, not hex lines")
    p.add_argument("--as2", action="store_true", help="2-octet AS paths (default: 4-octet)")
    p.add_argument(
        "--add-path",
        action="append",
        default=[],
        metavar="AFI/SAFI",
        help="NLRI of this family carry ADD-PATH path ids (repeatable), e.g. ipv4/unicast",
    )
    p.add_argument(
        "--extended-message",
        action="store_true",
        help="allow messages up to 65535 octets (RFC 8654)",
    )
    p.add_argument("--ibgp", action="store_true", help="decode as an internal (iBGP) session")


def context_from_args(args: argparse.Namespace) -> Context:
    families = set()
    for text in args.add_path:
        try:
            families.add(Family.parse(text))
        except ValueError as e:
            raise SystemExit(f"bgpspeak decode: --add-path: {e}") from None
    return Context(
        asn4=not args.as2,
        add_path=frozenset(families),
        extended_message=args.extended_message,
        ibgp=args.ibgp,
    )


def _hex_lines(stream: IO[str]) -> Iterator[tuple[int, str]]:
    for number, line in enumerate(stream, 1):
        text = line.strip()
        if text and not text.startswith("#"):
            yield number, text


def _error_object(err: DecodeError, line: int | None) -> dict[str, Any]:
    out: dict[str, Any] = {"error": err.to_json()}
    if line is not None:
        out["line"] = line
    return out


def decode_hex(stream: IO[str], ctx: Context, out: IO[str]) -> bool:
    ok = True
    cache = AttributeCache()
    for number, text in _hex_lines(stream):
        try:
            data = bytes.fromhex(text)
        except ValueError:
            err = DecodeError(1, 0, "line is not hexadecimal", field="input")
            print(json.dumps(_error_object(err, number)), file=out)
            ok = False
            continue
        try:
            msg = decode_message(data, ctx, cache)
        except DecodeError as err:
            print(json.dumps(_error_object(err, number)), file=out)
            ok = False
            continue
        print(json.dumps(msg.to_json()), file=out)
    return ok


def decode_raw(stream: IO[bytes], ctx: Context, out: IO[str]) -> bool:
    decoder = StreamDecoder(ctx)
    while True:
        chunk = stream.read(65536)
        if chunk:
            decoder.feed(chunk)
        while True:
            try:
                msg = decoder.next_message()
            except DecodeError as err:
                print(json.dumps(_error_object(err, None)), file=out)
                if err.code == 1:  # framing lost: nothing after this can be found
                    return False
                continue
            if msg is None:
                break
            print(json.dumps(msg.to_json()), file=out)
        if not chunk:
            break
    if decoder.buffered:
        tail = DecodeError(
            1, 2, f"stream ends inside a message ({decoder.buffered} octets left)", field="input"
        )
        print(json.dumps(_error_object(tail, None)), file=out)
        return False
    return True


def run(args: argparse.Namespace) -> int:
    ctx = context_from_args(args)
    try:
        if args.raw:
            if args.file == "-":
                ok = decode_raw(sys.stdin.buffer, ctx, sys.stdout)
            else:
                with open(args.file, "rb") as fb:
                    ok = decode_raw(fb, ctx, sys.stdout)
        elif args.file == "-":
            ok = decode_hex(sys.stdin, ctx, sys.stdout)
        else:
            with open(args.file, encoding="ascii", errors="replace") as ft:
                ok = decode_hex(ft, ctx, sys.stdout)
    except OSError as e:
        print(f"bgpspeak decode: {e}", file=sys.stderr)
        return 2
    return 0 if ok else 1
