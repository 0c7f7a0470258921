"""The ``routeragent`` command.

    routeragent run [--once]          the reconcile loop (--once: one pass, e.g. before
                                      keepalived starts, so its config and track files exist)
    routeragent plan                  dry run: what a pass would change now, and why
    routeragent status [--json]       sessions, VRRP, roles, checks, last decisions
    routeragent drain [--wait S]      make-before-break drain; waits until ready for reboot
    routeragent undrain [--wait S]
    routeragent check-config          validate the config (exit 2 on problems)
    routeragent render-keepalived     print the keepalived.conf the config renders to
    routeragent announce-lxd [--dry-run]
                                      announce LXD's OVN networks and instance routes over BGP
                                      (its own config, default /etc/routeragent/lxd.toml;
                                      see docs/lxd.md)
    routeragent lab up|status|failover|drain|anycast-stop|restore|down
                                      the seed topology as a live lab (docs/lab.md)

Exit status: 0 ok, 1 failure (apply failed, drain not confirmed in time, agent not running),
2 bad config or usage.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from routeragent import logs
from routeragent.agent import Agent
from routeragent.config_load import ConfigError, load_config
from routeragent.config_model import Config
from routeragent.keepalived_render import render_keepalived
from routeragent.lab import command as lab_command
from routeragent.lxd import command as lxd_command
from routeragent.metrics import Metrics
from routeragent.state_store import StateDir
from routeragent.status_table import render_status, stale, status_now

DEFAULT_CONFIG = Path("/etc/routeragent/routeragent.toml")


def _load(path: Path) -> Config | None:
    try:
        return load_config(path)
    except ConfigError as e:
        print(f"routeragent: {e}", file=sys.stderr)
        return None


def cmd_run(args: argparse.Namespace, config: Config) -> int:
    logger = logs.setup(config.agent.router, config.agent.log_file)
    metrics = Metrics()
    if config.agent.metrics_listen and not args.once:
        host, port = config.agent.metrics_listen
        try:
            metrics.serve(host, port)
        except OSError as e:
            logs.emit(logger, "metrics-unavailable", 30, listen=f"{host}:{port}", error=str(e))
    agent = Agent(args.config, config, logger, metrics)
    return agent.run(once=args.once)


def cmd_plan(args: argparse.Namespace, config: Config) -> int:
    logger = logs.setup(config.agent.router, None, level=40)
    agent = Agent(args.config, config, logger, apply_changes=False)
    agent.restore_memory()
    result = agent.run_pass()
    d = result.desired
    print(f"router {config.agent.router}: gateway {d.gateway}, ingress {d.ingress}")
    print(f"  drain phase {d.drain_phase}")
    for subject in sorted(d.reasons):
        print(f"  {subject}: {d.reasons[subject]}")
    for c in d.checks:
        now = "ok" if c.ok_now else "fail"
        print(f"  check {c.name}: {'up' if c.up else 'DOWN'} (now {now}: {c.detail})")
    lines = result.plan.describe()
    print("plan: nothing to change" if not lines else "plan:")
    for line in lines:
        print(f"  {line}")
    return 0


def cmd_status(args: argparse.Namespace, config: Config) -> int:
    status = StateDir(config.agent.state_dir).load_status()
    if status is None:
        print(
            f"routeragent: no status in {config.agent.state_dir} (agent never ran?)",
            file=sys.stderr,
        )
        return 1
    if args.json:
        print(json.dumps(status, indent=1, sort_keys=True))
    else:
        sys.stdout.write(render_status(status))
    return 1 if stale(status, status_now(status)) else 0


def _wait_phase(config: Config, want: str, timeout: float) -> int:
    state = StateDir(config.agent.state_dir)
    deadline = time.monotonic() + timeout
    last = ""
    while True:
        status = state.load_status()
        if status is None or stale(status, status_now(status)):
            print(
                "routeragent: the agent is not running; the intent is recorded "
                "and takes effect when it runs"
            )
            return 1
        phase = status.get("drain_phase")
        reason = status.get("reasons", {}).get("drain", "")
        line = f"{phase}: {reason}"
        if line != last:
            print(f"  {time.strftime('%H:%M:%S')} {line}", flush=True)
            last = line
        if phase == want:
            return 0
        if time.monotonic() > deadline:
            print(f"routeragent: not {want} after {timeout:g} s (now {line})")
            return 1
        time.sleep(min(0.2, config.agent.interval))


def cmd_drain(args: argparse.Namespace, config: Config) -> int:
    state = StateDir(config.agent.state_dir)
    state.ensure()
    state.set_intent("drain")
    print(f"drain requested for {config.agent.router}")
    if args.wait <= 0:
        return 0
    rc = _wait_phase(config, "drained", args.wait)
    if rc == 0:
        print(f"{config.agent.router} is drained: ready for reboot")
    return rc


def cmd_undrain(args: argparse.Namespace, config: Config) -> int:
    state = StateDir(config.agent.state_dir)
    state.set_intent("normal")
    print(f"undrain requested for {config.agent.router}")
    if args.wait <= 0:
        return 0
    rc = _wait_phase(config, "none", args.wait)
    if rc == 0:
        print(f"{config.agent.router} is back in service")
    return rc


def cmd_check_config(args: argparse.Namespace, config: Config) -> int:
    print(
        f"{args.config}: OK (router {config.agent.router}, {len(config.vrrp)} VRRP instance(s), "
        f"{len(config.upstreams)} upstream(s), {len(config.checks)} check(s))"
    )
    return 0


def cmd_render(args: argparse.Namespace, config: Config) -> int:
    sys.stdout.write(render_keepalived(config, str(args.config)))
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="routeragent", description="Keeps FRR routers highly available."
    )
    sub = p.add_subparsers(dest="command", required=True)

    def add(name: str, help: str) -> argparse.ArgumentParser:
        sp = sub.add_parser(name, help=help)
        sp.add_argument("-c", "--config", type=Path, default=DEFAULT_CONFIG, help="TOML config")
        return sp

    add("run", "run the reconcile loop").add_argument(
        "--once", action="store_true", help="one pass, then exit"
    )
    add("plan", "show what would change now, and why (changes nothing)")
    add("status", "show the running agent's view").add_argument("--json", action="store_true")
    add("drain", "drain this router (gateway, then ingress)").add_argument(
        "--wait",
        type=float,
        default=120.0,
        metavar="S",
        help="seconds to wait for drained (0: don't)",
    )
    add("undrain", "put the router back in service").add_argument(
        "--wait", type=float, default=120.0, metavar="S", help="seconds to wait (0: don't)"
    )
    add("check-config", "validate the config")
    add("render-keepalived", "print the rendered keepalived.conf")
    lxd_command.add_arguments(
        sub.add_parser("announce-lxd", help="announce LXD's OVN networks and instance routes")
    )
    lab_command.add_arguments(sub.add_parser("lab", help="the seed topology as a live lab"))
    return p


COMMANDS = {
    "run": cmd_run,
    "plan": cmd_plan,
    "status": cmd_status,
    "drain": cmd_drain,
    "undrain": cmd_undrain,
    "check-config": cmd_check_config,
    "render-keepalived": cmd_render,
}


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.command == "announce-lxd":
        return lxd_command.announce_lxd(args)
    if args.command == "lab":
        return lab_command.main(args)
    config = _load(args.config)
    if config is None:
        return 2
    return COMMANDS[args.command](args, config)


if __name__ == "__main__":
    raise SystemExit(main())
