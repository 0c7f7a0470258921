"""The ``bgpspeak`` command. Subcommands live in their own modules; this file only dispatches."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from . import __version__, decode_cmd
from .daemon import cli_commands


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bgpspeak", description="A BGP-4 speaker and toolkit in pure Python."
    )
    parser.add_argument("--version", action="version", version=f"bgpspeak {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    decode = sub.add_parser(
        "decode",
        help="decode BGP messages (hex lines or a raw stream) to JSON lines",
        description=decode_cmd.__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    decode_cmd.add_arguments(decode)
    decode.set_defaults(func=decode_cmd.run)
    cli_commands.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `bgpspeak decode big.hex | head`: the reader went away, which is not an error
        sys.stderr.close()
        return 0


if __name__ == "__main__":
    sys.exit(main())
