#!/usr/bin/env python3
"""An ExaBGP-style helper for bgpspeak's [[process]] section (it runs under ExaBGP unchanged).

Announces the prefixes given as arguments (default 203.0.113.10/32) under one watchdog, and
withdraws them all while a maintenance file exists (MAINTENANCE_FILE, default
/run/bgpspeak/maintenance). With `ack = true` every command is answered on stdin with "done" or
"error"; JSON events (`events = ["state"]`) arrive on the same stdin and are logged to stderr.
The script ends when stdin closes, i.e. when bgpspeak stops it.
"""

from __future__ import annotations

import json
import os
import select
import sys

WATCHDOG = "announcer"
MAINTENANCE = os.environ.get("MAINTENANCE_FILE", "/run/bgpspeak/maintenance")


def send(command: str) -> None:
    sys.stdout.write(command + "\n")
    sys.stdout.flush()


def handle(line: str) -> None:
    text = line.strip()
    if text.startswith("{"):
        event = json.loads(text)
        if event.get("type") == "state":
            nb = event["neighbor"]
            print(f"neighbor {nb['address']['peer']} {nb['state']}", file=sys.stderr)
    elif text == "error":
        print("bgpspeak refused a command (see its log)", file=sys.stderr)


def main() -> int:
    prefixes = sys.argv[1:] or ["203.0.113.10/32"]
    for prefix in prefixes:
        send(f"announce route {prefix} next-hop self community [65010:10] watchdog {WATCHDOG}")
    in_maintenance = None
    pending = b""
    while True:
        now = os.path.exists(MAINTENANCE)
        if now != in_maintenance:
            send(f"{'withdraw' if now else 'announce'} watchdog {WATCHDOG}")
            in_maintenance = now
        # os.read, not sys.stdin.readline: select() cannot see lines Python has buffered
        ready, _, _ = select.select([0], [], [], 2.0)
        if ready:
            chunk = os.read(0, 65536)
            if not chunk:
                return 0  # bgpspeak closed our stdin: it is stopping
            pending += chunk
            *lines, pending = pending.split(b"\n")
            for line in lines:
                handle(line.decode())


if __name__ == "__main__":
    sys.exit(main())
