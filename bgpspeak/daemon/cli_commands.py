"""The daemon's subcommands of ``bgpspeak``: ``run``, and the control-socket clients ``show``,
``announce``, ``withdraw``, ``peer``, ``service``, ``reload``, ``api``; plus ``mrt replay``.

Exit codes (docs/daemon.md): 0 done; 1 the daemon refused the request (or failed at run time);
2 bad arguments; 69 no daemon at the socket; 78 the configuration is invalid.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from . import cli_tables, mrt_replay
from .config_load import ConfigError, load_config, parse_endpoint
from .config_model import EXIT_CONFIG
from .control_client import ControlClient, ControlError, default_socket
from .control_server import ControlSocketError

EXIT_REFUSED = 1
EXIT_NO_DAEMON = 69  # sysexits EX_UNAVAILABLE


def _socket_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--socket",
        default=None,
        help=f"control socket (default $BGPSPEAK_SOCKET or {default_socket()})",
    )


def _json_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print the daemon's JSON answer")


def register(sub: Any) -> None:
    """Add the subcommands to ``bgpspeak``'s subparsers."""
    run = sub.add_parser("run", help="run the speaker from a TOML configuration file")
    run.add_argument("config", help="the TOML file (docs/daemon.md)")
    run.add_argument("--metrics", metavar="HOST:PORT", help="serve Prometheus metrics here")
    run.add_argument("--check", action="store_true", help="validate the file and exit")
    run.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    run.set_defaults(func=cmd_run)

    show = sub.add_parser("show", help="show peers, routes, rib-in PEER or services")
    show.add_argument("what", choices=["peers", "routes", "rib-in", "services", "bfd"])
    show.add_argument("peer", nargs="?", help="the neighbor (rib-in; optional for routes)")
    _socket_arg(show)
    _json_arg(show)
    show.set_defaults(func=cmd_show)

    ann = sub.add_parser("announce", help="announce a route through the running daemon")
    ann.add_argument("prefix")
    ann.add_argument("--next-hop", default="self")
    ann.add_argument("--as-path", default="", help='ASes after ours, e.g. "65001 65002"')
    ann.add_argument("--origin", default="igp", choices=["igp", "egp", "incomplete"])
    ann.add_argument("--med", type=int)
    ann.add_argument("--local-pref", type=int)
    ann.add_argument("--community", action="append", default=[], help="repeatable")
    ann.add_argument("--large-community", action="append", default=[], help="repeatable")
    ann.add_argument("--extended-community", action="append", default=[], help="repeatable")
    ann.add_argument("--path-id", type=int)
    ann.add_argument("--peer", help="to this neighbor only (default: every neighbor)")
    _socket_arg(ann)
    _json_arg(ann)
    ann.set_defaults(func=cmd_announce)

    wd = sub.add_parser("withdraw", help="withdraw routes announced through the control socket")
    wd.add_argument("prefixes", nargs="+")
    wd.add_argument("--path-id", type=int)
    wd.add_argument("--peer", help="the neighbor-specific route (default: the global one)")
    _socket_arg(wd)
    _json_arg(wd)
    wd.set_defaults(func=cmd_withdraw)

    peer = sub.add_parser("peer", help="shutdown, enable, reset or refresh one neighbor")
    peer.add_argument("address")
    peer.add_argument("action", choices=["shutdown", "enable", "reset", "refresh"])
    peer.add_argument("--message", default="", help="shutdown message (RFC 9003)")
    _socket_arg(peer)
    _json_arg(peer)
    peer.set_defaults(func=cmd_peer)

    svc = sub.add_parser("service", help="force a service up or down, or back to its checks")
    svc.add_argument("name")
    svc.add_argument("action", choices=["up", "down", "auto"])
    _socket_arg(svc)
    _json_arg(svc)
    svc.set_defaults(func=cmd_service)

    rl = sub.add_parser("reload", help="re-read the configuration (like SIGHUP)")
    _socket_arg(rl)
    _json_arg(rl)
    rl.set_defaults(func=cmd_reload)

    api = sub.add_parser(
        "api",
        help="send ExaBGP text commands (one per line) with an acknowledgement each",
        description="Reads ExaBGP API lines (announce route ..., withdraw route ...) from FILE "
        "or stdin and sends each as one request; prints failures with their line numbers.",
    )
    api.add_argument("file", nargs="?", default="-")
    api.add_argument("--window", type=int, default=256, help="requests in flight (256)")
    api.add_argument("--stats", action="store_true", help="print commands per second")
    _socket_arg(api)
    api.set_defaults(func=cmd_api)

    mrt = sub.add_parser("mrt", help="MRT tools")
    mrt_sub = mrt.add_subparsers(dest="mrt_command", required=True)
    replay = mrt_sub.add_parser(
        "replay",
        help="announce a table dump's routes to a neighbor",
        description=mrt_replay.__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    mrt_replay.add_arguments(replay)
    replay.set_defaults(func=mrt_replay.run)


# --- run ----------------------------------------------------------------------------------------


def cmd_run(args: argparse.Namespace) -> int:
    from .runtime import Daemon  # imports the speaker stack only when running it

    try:
        config = load_config(args.config)
    except ConfigError as e:
        for problem in e.problems:
            print(problem, file=sys.stderr)
        return EXIT_CONFIG
    metrics = None
    if args.metrics:
        try:
            metrics = parse_endpoint(args.metrics, 9179)
        except ValueError as e:
            print(f"--metrics: {e}", file=sys.stderr)
            return 2
    if args.check:
        print(f"{args.config}: OK ({len(config.peers)} peers, {len(config.routes)} routes)")
        return 0
    logging.basicConfig(
        level=getattr(logging, args.log_level.upper()),
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )

    async def main() -> int:
        daemon = Daemon(config, Path(args.config), metrics)
        try:
            return await daemon.run()
        except ControlSocketError as e:
            logging.getLogger("bgpspeak.daemon").error("%s", e)
            return 1

    return asyncio.run(main())


# --- clients ------------------------------------------------------------------------------------


def _client(args: argparse.Namespace) -> ControlClient:
    return ControlClient(args.socket)


def _call(args: argparse.Namespace, command: str, **fields: Any) -> tuple[int, dict[str, Any]]:
    try:
        with _client(args) as c:
            answer = c.request(command, **fields)
    except ControlError as e:
        print(f"bgpspeak: {e}", file=sys.stderr)
        return EXIT_NO_DAEMON, {}
    if not answer.get("ok"):
        if getattr(args, "json", False):
            print(json.dumps(answer))
        else:
            print(f"bgpspeak: {answer.get('error', 'refused')}", file=sys.stderr)
        return EXIT_REFUSED, answer
    return 0, answer


def _print(args: argparse.Namespace, answer: dict[str, Any], text: str) -> None:
    if args.json:
        print(json.dumps(answer, indent=1))
    elif text:
        print(text)


def cmd_show(args: argparse.Namespace) -> int:
    if args.what == "rib-in" and not args.peer:
        print("bgpspeak show rib-in: which neighbor?", file=sys.stderr)
        return 2
    fields = {"peer": args.peer} if args.peer else {}
    code, answer = _call(args, f"show-{args.what}", **fields)
    if code:
        return code
    key = args.what if args.what in ("peers", "services", "bfd") else "routes"
    rows: list[dict[str, Any]] = answer.get(key, [])
    renderers = {
        "peers": cli_tables.peers_table,
        "routes": cli_tables.routes_table,
        "rib-in": cli_tables.rib_in_table,
        "services": cli_tables.services_table,
        "bfd": cli_tables.bfd_table,
    }
    text = renderers[args.what](rows)
    _print(args, answer, text)
    return 0


def cmd_announce(args: argparse.Namespace) -> int:
    route: dict[str, Any] = {"prefix": args.prefix, "next_hop": args.next_hop}
    if args.as_path.strip():
        route["as_path"] = args.as_path.split()
    if args.origin != "igp":
        route["origin"] = args.origin
    for key in ("med", "local_pref", "path_id"):
        if getattr(args, key) is not None:
            route[key] = getattr(args, key)
    for key, values in (
        ("communities", args.community),
        ("large_communities", args.large_community),
        ("extended_communities", args.extended_community),
    ):
        if values:
            route[key] = values
    fields: dict[str, Any] = {"routes": [route]}
    if args.peer:
        fields["peer"] = args.peer
    code, answer = _call(args, "announce", **fields)
    if not code:
        _print(args, answer, "")
    return code


def cmd_withdraw(args: argparse.Namespace) -> int:
    prefixes = [{"prefix": p, "path_id": args.path_id} for p in args.prefixes]
    fields: dict[str, Any] = {"prefixes": prefixes}
    if args.peer:
        fields["peer"] = args.peer
    code, answer = _call(args, "withdraw", **fields)
    if not code:
        _print(args, answer, "")
    return code


def cmd_peer(args: argparse.Namespace) -> int:
    code, answer = _call(args, "peer", peer=args.address, action=args.action, message=args.message)
    if not code:
        _print(args, answer, answer.get("result", ""))
    return code


def cmd_service(args: argparse.Namespace) -> int:
    code, answer = _call(args, "service", name=args.name, action=args.action)
    if not code:
        _print(args, answer, answer.get("result", ""))
    return code


def cmd_reload(args: argparse.Namespace) -> int:
    code, answer = _call(args, "reload")
    if not code:
        _print(args, answer, "\n".join(answer.get("changes", [])))
    return code


def _api_lines(stream: IO[str]) -> Iterator[tuple[int, str]]:
    for number, line in enumerate(stream, 1):
        text = line.strip()
        if text and not text.startswith("#"):
            yield number, text


def cmd_api(args: argparse.Namespace) -> int:
    stream: IO[str] = sys.stdin if args.file == "-" else open(args.file, encoding="utf-8")  # noqa: SIM115
    numbers: list[int] = []

    def requests() -> Iterator[dict[str, Any]]:
        for number, text in _api_lines(stream):
            numbers.append(number)
            yield {"command": "exabgp", "line": text}

    failures = 0
    done = 0
    t0 = time.monotonic()
    try:
        with _client(args) as c:
            for i, answer in enumerate(c.pipeline(requests(), window=max(1, args.window))):
                done += 1
                if not answer.get("ok"):
                    failures += 1
                    print(f"line {numbers[i]}: {answer.get('error')}", file=sys.stderr)
                for out in answer.get("output", []):
                    print(out)
    except ControlError as e:
        print(f"bgpspeak: {e}", file=sys.stderr)
        return EXIT_NO_DAEMON
    finally:
        if stream is not sys.stdin:
            stream.close()
    elapsed = time.monotonic() - t0
    if args.stats:
        rate = done / elapsed if elapsed > 0 else 0.0
        print(
            f"{done} commands, {failures} refused, {elapsed:.3f} s, {rate:.0f} commands/s",
            file=sys.stderr,
        )
    return EXIT_REFUSED if failures else 0
