"""A stand-in for vtysh at the process boundary, for CLI tests without FRR.

Answers show commands from a recording made against real FRR 8.4 (tests/agent/data/frr-8.4),
appends configuration commands to a log, and can be told to hang or to fail. Standard library
only: it runs as a separate process, like vtysh.

Environment: FAKE_VTYSH_RECORDING (recording file), FAKE_VTYSH_LOG (config log, optional),
FAKE_VTYSH_HANG=1 (sleep instead of answering).
"""

from __future__ import annotations

import json
import os
import sys
import time


def main(argv: list[str]) -> int:
    if os.environ.get("FAKE_VTYSH_HANG"):
        time.sleep(60)
    commands, daemon, dry_run, i = [], None, False, 0
    while i < len(argv):
        a = argv[i]
        if a == "-c":
            commands.append(argv[i + 1])
            i += 2
        elif a in ("-d", "--vty_socket", "-N", "-f"):
            if a == "-d":
                daemon = argv[i + 1]
            i += 2
        elif a == "-C":
            dry_run = True
            i += 1
        else:
            i += 1
    if dry_run:
        return 0
    log = os.environ.get("FAKE_VTYSH_LOG")
    if commands and commands[0] == "configure terminal":
        if log:
            with open(log, "a") as f:
                f.write(json.dumps(commands[1:]) + "\n")
        return 0
    with open(os.environ["FAKE_VTYSH_RECORDING"]) as f:
        rec = json.load(f)
    answers = {}
    for section in ("bgpd", "zebra", "extra"):
        for cmd, text in rec.get(section, []):
            answers[(section if section != "extra" else None, cmd)] = text
    for cmd in commands:
        if cmd == "show running-config":
            print("frr version 8.4.4\n!\nend")
            continue
        text = answers.get((daemon, cmd), answers.get((None, cmd)))
        if text is None:
            print(f"% Unknown command: {cmd}")
            return 1
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
