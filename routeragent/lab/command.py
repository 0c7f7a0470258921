"""``routeragent lab``: the seed topology, live, in network namespaces (docs/lab.md).

    routeragent lab up                 clean leftovers, build, wait until steady, show status
    routeragent lab status [--once]    live status (refreshes; plain text, fine over ssh)
    routeragent lab failover [ROUTER]  power cut on router1: time the gateway and provider paths
    routeragent lab drain ROUTER       routeragent drain, timed as the provider sees it
    routeragent lab anycast-stop HOST  stop one anycast instance: its path is withdrawn
    routeragent lab restore            undo all of the above, timed
    routeragent lab down               remove everything the lab created
    routeragent lab exec NODE -- CMD   run CMD in a node's namespace (guest: your own speaker)

Every command takes ``--run-dir`` (default /run/routeragent-lab, or $ROUTERAGENT_LAB_DIR):
everything the lab creates is recorded there, so any later command (or a new shell) finds it.
Exit status: 0 ok, 1 the lab could not do it (message says why), 2 usage.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from pathlib import Path

from routeragent.lab import scenarios, system
from routeragent.lab.build import Lab, clean, read_state
from routeragent.lab.configs import Timers
from routeragent.lab.observe import read_view
from routeragent.lab.render import render
from routeragent.lab.system import LabError
from routeragent.lab.topology import (
    DEFAULT_PREFIX,
    DEFAULT_RUN_DIR,
    HOSTS,
    NODES,
    ROUTERS,
    Names,
)

CLEAR = "\x1b[H\x1b[2J"
#: the hosts `up --lxd` makes real LXD hosts (each costs about 10 s of `up` and 300 MB)
LXD_HOSTS = ("host1",)


def _prefix(text: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,19}", text):
        raise argparse.ArgumentTypeError(
            f"{text!r}: letters, digits, '_', '.', '-' (at most 20, not starting with a sign)"
        )
    return text


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.description = "The seed topology as a live lab in network namespaces (root)."
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--run-dir",
        type=Path,
        default=Path(os.environ.get("ROUTERAGENT_LAB_DIR", DEFAULT_RUN_DIR)),
        help="where the lab keeps everything (default %(default)s)",
    )
    sub = p.add_subparsers(dest="lab_command", required=True)
    up = sub.add_parser("up", parents=[common], help="build the lab (cleans leftovers first)")
    up.add_argument(
        "--prefix",
        type=_prefix,
        default=DEFAULT_PREFIX,
        help="namespace name prefix (default %(default)s)",
    )
    up.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for steady")
    up.add_argument("--quiet", action="store_true", help="no status screen at the end")
    up.add_argument(
        "--lxd",
        action="store_true",
        help="host1 is a real LXD + OVN with a container, announced by routeragent announce-lxd",
    )
    st = sub.add_parser("status", parents=[common], help="live status (Ctrl-C ends it)")
    st.add_argument("--once", action="store_true", help="print one screen and exit")
    st.add_argument("--interval", type=float, default=1.0, help="seconds between screens")
    for name, what, choices, default, help in (
        ("failover", "ROUTER", ROUTERS, "router1", "power cut on a router, timed"),
        ("drain", "ROUTER", ROUTERS, None, "drain a router with routeragent drain, timed"),
        ("anycast-stop", "HOST", HOSTS, None, "stop the anycast service on a host, timed"),
    ):
        sp = sub.add_parser(name, parents=[common], help=help)
        sp.add_argument(
            "target",
            metavar=what,
            choices=choices,
            nargs="?" if default else None,
            default=default,
            help=f"one of {', '.join(choices)}",
        )
        sp.add_argument("--json", action="store_true", help="the timings as JSON on stdout")
    rs = sub.add_parser("restore", parents=[common], help="undo every scenario, timed")
    rs.add_argument("--json", action="store_true", help="the timings as JSON on stdout")
    sub.add_parser("down", parents=[common], help="remove everything the lab created")
    ex = sub.add_parser(
        "exec", parents=[common], help="run a command inside a lab node's namespace"
    )
    ex.add_argument("node", choices=NODES, help="e.g. guest (for your own speaker), core1")
    ex.add_argument("argv", nargs=argparse.REMAINDER, metavar="-- COMMAND ...")


def _say_to(stream: object) -> scenarios.Say:
    def say(line: str) -> None:
        print(line, file=stream, flush=True)  # type: ignore[call-overload]

    return say


def cmd_up(args: argparse.Namespace) -> int:
    lab = Lab(args.run_dir, Names(args.prefix), Timers(), lxd_hosts=LXD_HOSTS if args.lxd else ())
    say = _say_to(sys.stdout)
    t0 = time.monotonic()
    old = read_state(args.run_dir)
    cleaned = lab.up()
    if cleaned:
        was = f" (prefix {old['prefix']})" if old else ""
        say(f"removed leftovers of an earlier lab{was}: {', '.join(cleaned)}")
    for host, steps in lab.lxd_timings.items():
        say(f"{host} (LXD + OVN): " + ", ".join(f"{k} {v:.1f} s" for k, v in steps.items()))
    say(f"lab started in {time.monotonic() - t0:.1f} s; waiting until it is steady ...")
    scenarios.wait_steady(lab, args.timeout, say)
    say(f"steady {time.monotonic() - t0:.1f} s after `up`")
    if not args.quiet:
        say("")
        sys.stdout.write(render(read_view(lab)))
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    lab = Lab.load(args.run_dir)
    if args.once:
        sys.stdout.write(render(read_view(lab)))
        return 0
    tty = sys.stdout.isatty()
    try:
        while True:
            t0 = time.monotonic()
            screen = render(read_view(lab))
            sys.stdout.write((CLEAR if tty else "\n") + screen)
            if tty:
                sys.stdout.write("(Ctrl-C to leave)\n")
            sys.stdout.flush()
            time.sleep(max(0.0, args.interval - (time.monotonic() - t0)))
    except KeyboardInterrupt:
        return 0


def _scenario(args: argparse.Namespace, rep_of: scenarios.Report) -> int:
    if args.json:
        print(json.dumps(rep_of.as_json()))
    return 0 if rep_of.ok else 1


def cmd_scenario(args: argparse.Namespace) -> int:
    lab = Lab.load(args.run_dir)
    say = _say_to(sys.stderr if args.json else sys.stdout)
    if args.lab_command == "failover":
        rep = scenarios.failover(lab, args.target, say)
        say("next: `routeragent lab status`, then `routeragent lab restore`")
    elif args.lab_command == "drain":
        rep = scenarios.drain(lab, args.target, say)
        say("next: `routeragent lab restore` undrains it")
    elif args.lab_command == "anycast-stop":
        rep = scenarios.anycast_stop(lab, args.target, say)
        say("next: `routeragent lab restore` starts it again")
    else:
        rep = scenarios.restore(lab, say)
    return _scenario(args, rep)


def cmd_down(args: argparse.Namespace) -> int:
    removed = clean(args.run_dir)
    print(f"removed {', '.join(removed)}" if removed else "nothing to remove")
    return 0


def cmd_exec(args: argparse.Namespace) -> int:
    lab = Lab.load(args.run_dir)
    argv = args.argv[1:] if args.argv[:1] == ["--"] else args.argv
    if not argv:
        print("routeragent lab exec: which command? (e.g. -- bash)", file=sys.stderr)
        return 2
    if lab.ns(args.node) not in system.namespaces():
        raise LabError(f"namespace {lab.ns(args.node)} does not exist (is the lab up?)")
    os.execvp("ip", ["ip", "netns", "exec", lab.ns(args.node), *argv])


def main(args: argparse.Namespace) -> int:
    if os.geteuid() != 0:
        print("routeragent lab: needs root (network namespaces, FRR, keepalived)", file=sys.stderr)
        return 1
    try:
        if args.lab_command == "up":
            return cmd_up(args)
        if args.lab_command == "status":
            return cmd_status(args)
        if args.lab_command == "down":
            return cmd_down(args)
        if args.lab_command == "exec":
            return cmd_exec(args)
        return cmd_scenario(args)
    except LabError as e:
        print(f"routeragent lab: {e}", file=sys.stderr)
        return 1
