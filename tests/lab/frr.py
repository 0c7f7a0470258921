"""FRR instances (zebra + bgpd, optionally staticd and bfdd) inside a lab namespace.

Each instance is self-contained in its own directory: configs, pid files, the vty sockets
vtysh talks to, zebra's zserv socket and the logs. Nothing under /etc/frr or /var/run/frr is
used, so any number of instances run side by side (recipe: /work/shared/lab/README.md, "way A").
Facts that shape this code, all measured there:

* every daemon needs ``-f``: without it Debian's /etc/frr/frr.conf suppresses the per-daemon
  config and bgpd comes up empty;
* ``-P 0``: no TCP vty, whose fixed ports clash between instances;
* the daemons drop to user ``frr``: the directory must be theirs;
* FRR's connect-retry is 120 s by default: a neighbor that was not yet listening at FRR's first
  dial is retried two minutes later, hence ``timers connect 1`` in every generated neighbor;
* ``no bgp ebgp-requires-policy``: otherwise eBGP routes are neither accepted nor sent.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from ipaddress import ip_address, ip_network
from pathlib import Path
from typing import Any

from .netns import Namespace
from .procs import CommandError, Daemon, run
from .wait import wait_until

FRR_SBIN = Path("/usr/lib/frr")
VTYSH = "vtysh"
FRR_CRASHLOG_DIR = Path("/var/tmp/frr")
DAEMON_ORDER = ("zebra", "staticd", "bfdd", "bgpd")


def _remove_crashlog_dir(daemon: str, pid: int) -> None:
    """Each FRR process keeps /var/tmp/frr/<daemon>.<pid>/ for crash logs and removes it on a
    clean exit only; dry runs and SIGKILLed daemons would leave one behind per start."""
    shutil.rmtree(FRR_CRASHLOG_DIR / f"{daemon}.{pid}", ignore_errors=True)


class FrrConfigError(ValueError):
    """FRR rejected a line of a config: found by a dry run before the daemon starts, because a
    running daemon only logs it and the test would time out waiting for a session instead."""


@dataclass(frozen=True)
class FrrNeighbor:
    """One neighbor for ``bgpd_config``.

    ``families`` defaults to the transport's own family (ipv4 or ipv6 unicast). ``lines`` are
    extra ``neighbor ADDR ...`` arguments under ``router bgp`` (e.g. ``"timers 3 9"``,
    ``"password secret"``); ``af_lines`` go into each activated address family (e.g.
    ``"route-map RM in"``, ``"addpath-tx-all-paths"``).
    """

    address: str
    remote_as: int | str
    families: tuple[str, ...] = ()
    lines: tuple[str, ...] = ()
    af_lines: tuple[str, ...] = ()

    def activated(self) -> tuple[str, ...]:
        if self.families:
            return self.families
        return ("ipv6",) if ":" in self.address else ("ipv4",)


def bgpd_config(
    asn: int,
    router_id: str,
    neighbors: Sequence[FrrNeighbor] = (),
    *,
    networks: Iterable[str] = (),
    router_lines: Iterable[str] = (),
    family_lines: Mapping[str, Iterable[str]] | None = None,
    before: str = "",
    after: str = "",
    coalesce_ms: int | None = 0,
) -> str:
    """A bgpd config with the lab's defaults (see module docstring); ``networks`` are
    originated without needing a RIB entry (``no bgp network import-check``).
    ``router_lines`` go under ``router bgp``, ``family_lines`` under an address family
    (``{"ipv4": ["redistribute static"]}``), ``before``/``after`` around the whole block.
    ``coalesce_ms``: FRR holds a new peer's first UPDATEs for its update-group coalesce time
    (1 s by default); 0 sends them at once (measured: first route 0.03 s after Established
    instead of 1.2 s). None keeps FRR's default."""
    out = [before.rstrip("\n")] if before else []
    out += [
        f"router bgp {asn}",
        f" bgp router-id {router_id}",
        " no bgp ebgp-requires-policy",
        " no bgp default ipv4-unicast",
        " no bgp network import-check",
        " bgp log-neighbor-changes",
    ]
    if coalesce_ms is not None:
        out.append(f" coalesce-time {coalesce_ms}")
    out += [f" {line}" for line in router_lines]
    for nb in neighbors:
        out.append(f" neighbor {nb.address} remote-as {nb.remote_as}")
        out.append(f" neighbor {nb.address} timers connect 1")
        out += [f" neighbor {nb.address} {line}" for line in nb.lines]
    nets = [ip_network(n) for n in networks]
    for family in ("ipv4", "ipv6"):
        version = 4 if family == "ipv4" else 6
        own = [n for n in nets if n.version == version]
        members = [nb for nb in neighbors if family in nb.activated()]
        extra = list((family_lines or {}).get(family, ()))
        if not own and not members and not extra:
            continue
        out.append(f" address-family {family} unicast")
        out += [f"  network {n}" for n in own]
        out += [f"  {line}" for line in extra]
        for nb in members:
            out.append(f"  neighbor {nb.address} activate")
            out += [f"  neighbor {nb.address} {line}" for line in nb.af_lines]
        out.append(" exit-address-family")
    out.append("exit")
    if after:
        out.append(after.rstrip("\n"))
    return "\n".join(out) + "\n"


def _canonical(address: str) -> str:
    """FRR keys neighbors by the address in canonical text form (or by interface name)."""
    try:
        return str(ip_address(address))
    except ValueError:
        return address


def family_of(prefix: str) -> str:
    return "ipv6" if ip_network(prefix, strict=False).version == 6 else "ipv4"


class FrrInstance:
    """A running FRR instance. Create through ``Lab.frr`` so teardown is guaranteed."""

    def __init__(
        self,
        ns: Namespace,
        directory: Path,
        configs: Mapping[str, str],
        *,
        name: str,
        extra_args: Mapping[str, Sequence[str]] | None = None,
    ) -> None:
        unknown = set(configs) - set(DAEMON_ORDER)
        if unknown:
            raise ValueError(f"unsupported FRR daemons {sorted(unknown)}; have {DAEMON_ORDER}")
        self.ns = ns
        self.dir = directory
        self.name = name
        self.configs = {"zebra": f"hostname {name}\n", **configs}
        self.extra_args = dict(extra_args or {})
        self.daemons: dict[str, Daemon] = {}

    # --- lifecycle ----------------------------------------------------------------------
    def start(self, *, timeout: float = 15.0) -> FrrInstance:
        self.dir.mkdir(parents=True, exist_ok=True)
        for daemon, text in self.configs.items():
            (self.dir / f"{daemon}.conf").write_text(text)
        (self.dir / "vtysh.conf").touch()
        shutil.chown(self.dir, "frr", "frr")
        self.dir.chmod(0o750)
        for path in self.dir.iterdir():
            shutil.chown(path, "frr", "frr")
            path.chmod(0o640)
        for daemon in DAEMON_ORDER:
            if daemon in self.configs:
                self._dry_run(daemon)
        for daemon in DAEMON_ORDER:
            if daemon in self.configs:
                self._start_daemon(daemon, timeout)
        return self

    def _paths(self, daemon: str) -> list[str]:
        d = self.dir
        args = ["-f", str(d / f"{daemon}.conf"), "--vty_socket", str(d)]
        args += ["-z", str(d / "zserv.api")]
        if daemon == "bfdd":
            args += ["--bfdctl", str(d / "bfdd.sock")]
        return args

    def _dry_run(self, daemon: str) -> None:
        # inside the namespace: zebra initialises against the kernel even in a dry run
        argv = ["ip", "netns", "exec", self.ns.name, str(FRR_SBIN / daemon), "-C", "-P", "0"]
        argv += self._paths(daemon)
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            output, _ = proc.communicate(timeout=10.0)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            raise CommandError(argv, "dry run gave no answer within 10s") from None
        finally:
            _remove_crashlog_dir(daemon, proc.pid)
        bad = [ln for ln in output.splitlines() if "on config line" in ln or "Error" in ln]
        if bad or proc.returncode != 0:
            raise FrrConfigError(
                f"{self.name}/{daemon}.conf rejected (exit {proc.returncode}):\n"
                + "\n".join(bad or [output])
            )

    def _start_daemon(self, daemon: str, timeout: float) -> None:
        d = self.dir
        argv = ["ip", "netns", "exec", self.ns.name, str(FRR_SBIN / daemon), "-P", "0"]
        argv += [*self._paths(daemon), "-i", str(d / f"{daemon}.pid")]
        argv += ["--log", f"file:{d / daemon}.log", "--log-level", "debug"]
        if daemon == "zebra":
            argv += ["-s", "90000000"]  # big netlink buffer, as Debian's daemons file
        argv += list(self.extra_args.get(daemon, ()))
        proc = Daemon(
            f"{self.name}/{daemon}",
            argv,
            output=d / f"{daemon}.out",
            pid_file=d / f"{daemon}.pid",
            own_pid_file=False,
        )
        self.daemons[daemon] = proc
        sockets = [d / f"{daemon}.vty"] + ([d / "zserv.api"] if daemon == "zebra" else [])

        def ready() -> bool:
            if not proc.alive():
                raise RuntimeError(
                    f"{proc.name} exited with {proc.exit_status()}:\n{proc.output_tail()}"
                )
            return all(s.is_socket() for s in sockets)

        try:
            wait_until(ready, timeout=timeout, what=f"{proc.name} vty socket", interval=0.02)
        except AssertionError as exc:
            raise RuntimeError(f"{exc}\n{proc.output_tail()}") from None

    def stop(self, *, timeout: float = 5.0) -> None:
        """Stop bgpd first (it sends Cease to its peers), zebra last."""
        for daemon in reversed(DAEMON_ORDER):
            proc = self.daemons.get(daemon)
            if proc is not None:
                proc.stop(timeout=timeout)
                _remove_crashlog_dir(daemon, proc.pid)
        for leftover in ("zserv.api", *(f"{d}.vty" for d in DAEMON_ORDER)):
            (self.dir / leftover).unlink(missing_ok=True)

    def pids(self) -> list[int]:
        return [p.pid for p in self.daemons.values()]

    def alive(self) -> bool:
        return bool(self.daemons) and all(p.alive() for p in self.daemons.values())

    def log_files(self) -> list[Path]:
        names = [f"{d}.log" for d in self.daemons] + [f"{d}.out" for d in self.daemons]
        return [self.dir / n for n in names if (self.dir / n).exists()]

    # --- vtysh --------------------------------------------------------------------------
    def vtysh(self, *commands: str, daemon: str | None = "bgpd", timeout: float = 10.0) -> str:
        """Run vtysh commands against this instance only; raises on errors and timeouts."""
        argv = [VTYSH, "--vty_socket", str(self.dir)]
        if daemon is not None:
            argv += ["-d", daemon]
        for cmd in commands:
            argv += ["-c", cmd]
        done = run(argv, timeout=timeout, check=False)
        text = done.stdout
        if done.returncode != 0 or "% Unknown command" in text or "% Command incomplete" in text:
            raise CommandError(argv, f"exit {done.returncode}\n{text}{done.stderr}")
        return text

    def show_json(self, command: str, *, daemon: str = "bgpd", timeout: float = 10.0) -> Any:
        cmd = command if command.rstrip().endswith(" json") else f"{command} json"
        text = self.vtysh(cmd, daemon=daemon, timeout=timeout)
        try:
            return json.loads(text)
        except ValueError:
            raise CommandError([cmd], f"not JSON: {text[:500]!r}") from None

    def configure(self, *lines: str, daemon: str = "bgpd", timeout: float = 10.0) -> str:
        """Apply config lines in one vtysh call (``configure terminal`` + lines), e.g.
        ``configure("router bgp 65001", "neighbor 10.1.0.2 shutdown")``."""
        return self.vtysh("configure terminal", *lines, daemon=daemon, timeout=timeout)

    # --- BGP views ----------------------------------------------------------------------
    def neighbors(self) -> dict[str, Any]:
        """``show bgp neighbors json``: address -> FRR's neighbor record (``bgpState``, ...)."""
        return dict(self.show_json("show bgp neighbors"))

    def neighbor_state(self, address: str) -> str | None:
        record = self.neighbors().get(address)
        return None if record is None else str(record.get("bgpState"))

    def wait_established(self, *addresses: str, timeout: float = 30.0) -> dict[str, Any]:
        """Wait until every named neighbor is Established; return the neighbors view."""
        wanted = [_canonical(a) for a in addresses]

        def probe() -> dict[str, Any] | None:
            view = self.neighbors()
            ok = all(view.get(a, {}).get("bgpState") == "Established" for a in wanted)
            return view if ok else None

        return wait_until(
            probe,
            timeout=timeout,
            what=f"{self.name}: {', '.join(wanted)} Established",
            interval=0.2,
            describe=lambda: self._states(wanted),
        )

    def _states(self, addresses: Sequence[str]) -> str:
        view = self.neighbors()
        return "; ".join(
            f"{a}: {view.get(a, {}).get('bgpState', 'not configured')}"
            f" (last reset: {view.get(a, {}).get('lastResetDueTo', '-')})"
            for a in addresses
        )

    def routes(self, family: str = "ipv4") -> dict[str, list[dict[str, Any]]]:
        """BGP Loc-RIB: prefix -> paths (``show bgp <family> unicast json`` ``routes``)."""
        view = self.show_json(f"show bgp {family} unicast")
        return dict(view.get("routes", {}))

    def route(self, prefix: str) -> dict[str, Any]:
        """Detail of one prefix (``show bgp <family> unicast PREFIX json``): paths with
        communities, AS path, next hops; empty dict when absent."""
        view = self.show_json(f"show bgp {family_of(prefix)} unicast {prefix}")
        return dict(view) if view.get("paths") else {}

    def wait_route(
        self,
        prefix: str,
        *,
        present: bool = True,
        check: Callable[[dict[str, Any]], bool] | None = None,
        timeout: float = 30.0,
    ) -> dict[str, Any]:
        """Wait until ``prefix`` has a best path (or is gone from the BGP table) and, if
        given, ``check`` holds on its detail view; returns that view. A path shows up in the
        table a moment before best-path selection marks it, hence the wait for a best path."""

        def probe() -> dict[str, Any] | None:
            view = self.route(prefix)
            if not present:
                return None if view else {"absent": True}
            if view and best_path(view) and (check is None or check(view)):
                return view
            return None

        return wait_until(
            probe,
            timeout=timeout,
            what=f"{self.name}: {prefix} {'present' if present else 'absent'}",
            interval=0.2,
            describe=lambda: json.dumps(self.route(prefix))[:2000],
        )

    def fib(self, prefix: str) -> list[dict[str, Any]]:
        """zebra's view of ``prefix`` (``show ip[v6] route PREFIX json``), [] when absent."""
        word = "ipv6" if family_of(prefix) == "ipv6" else "ip"
        view = self.show_json(f"show {word} route {prefix}", daemon="zebra")
        return list(view.get(prefix, []))


def best_path(view: dict[str, Any]) -> dict[str, Any] | None:
    """The path FRR selected in a ``route()`` view, or None."""
    for path in view.get("paths", []):
        if path.get("bestpath", {}).get("overall"):
            return dict(path)
    return None


def next_hops(path: dict[str, Any]) -> dict[str, str]:
    """A path's next hops by scope: ``{"global": ..., "link-local": ...}`` (IPv4: global)."""
    return {str(nh.get("scope", "global")): str(nh["ip"]) for nh in path.get("nexthops", [])}


def frr_binaries() -> list[str]:
    return [str(FRR_SBIN / d) for d in ("zebra", "bgpd")] + [VTYSH]


def frr_available() -> bool:
    return all(os.access(p, os.X_OK) or shutil.which(p) for p in frr_binaries())
