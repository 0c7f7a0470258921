"""``routeragent announce-lxd``: the announcer as a command.

    routeragent announce-lxd -c lxd.toml              run (SIGTERM/SIGINT stop it)
    routeragent announce-lxd -c lxd.toml --dry-run    read LXD once, print what would be
                                                      announced as a table, exit
    ... --dry-run --record snap.json                  also save LXD's raw answers
    ... --dry-run --replay snap.json                  the table from a saved read (no LXD)

Exit status: 0 ok, 1 LXD could not be read (dry run), 2 bad config or usage.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
from pathlib import Path
from typing import cast

from routeragent import logs
from routeragent.config_load import ConfigError
from routeragent.lxd.config_load import load_lxd_config
from routeragent.lxd.config_model import LxdConfig
from routeragent.lxd.lxd_objects import RawSnapshot, parse_snapshot
from routeragent.lxd.lxd_reader import LxdReader, LxdUnavailable
from routeragent.lxd.metrics import AnnouncerMetrics
from routeragent.lxd.model import desired
from routeragent.lxd.service import Announcer
from routeragent.lxd.table import render_table

DEFAULT_CONFIG = Path("/etc/routeragent/lxd.toml")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("-c", "--config", type=Path, default=DEFAULT_CONFIG, help="TOML config")
    p.add_argument(
        "--dry-run", action="store_true", help="print what would be announced, then exit"
    )
    p.add_argument("--record", type=Path, metavar="FILE", help="with --dry-run: save LXD's answers")
    p.add_argument(
        "--replay", type=Path, metavar="FILE", help="with --dry-run: use saved answers, not LXD"
    )


def dry_run(args: argparse.Namespace, config: LxdConfig) -> int:
    if args.replay is not None:
        raw = cast(RawSnapshot, json.loads(args.replay.read_text()))
    else:
        try:
            raw = LxdReader(config.lxd).read()
        except LxdUnavailable as e:
            print(f"routeragent: {e}", file=sys.stderr)
            return 1
    if args.record is not None:
        args.record.write_text(json.dumps(raw, indent=1, sort_keys=True) + "\n")
    sys.stdout.write(render_table(desired(parse_snapshot(raw), config.lxd), config))
    return 0


async def _serve(config: LxdConfig) -> int:
    logger = logs.setup(config.announcer.name, config.announcer.log_file)
    metrics = AnnouncerMetrics()
    if config.announcer.metrics_listen is not None:
        host, port = config.announcer.metrics_listen
        try:
            metrics.serve(host, port)
        except OSError as e:
            logs.emit(logger, "metrics-unavailable", 30, listen=f"{host}:{port}", error=str(e))
    announcer = Announcer(config, LxdReader(config.lxd), LxdReader(config.lxd), logger, metrics)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, announcer.request_stop)
    return await announcer.run()


def announce_lxd(args: argparse.Namespace) -> int:
    if (args.record or args.replay) and not args.dry_run:
        print("routeragent: --record and --replay need --dry-run", file=sys.stderr)
        return 2
    try:
        config = load_lxd_config(args.config)
    except ConfigError as e:
        print(f"routeragent: {e}", file=sys.stderr)
        return 2
    if args.dry_run:
        return dry_run(args, config)
    return asyncio.run(_serve(config))
