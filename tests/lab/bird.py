"""BIRD 2 instances inside a lab namespace, and birdc views parsed into Python values.

BIRD has no JSON output, so the views here parse birdc's text: ``show protocols all NAME`` for
session state and ``show route all`` for routes. Facts from /work/shared/lab/README.md: BIRD
follows RFC 8212 for eBGP (without ``import all; export all;`` in a channel nothing is
exchanged) and a BGP session waits for ``protocol device``.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

from .netns import Namespace
from .procs import CommandError, Daemon, run
from .wait import wait_until

BIRD = "/usr/sbin/bird"
BIRDC = "/usr/sbin/birdc"

_ROUTE_HEAD = re.compile(r"^(?P<prefix>[0-9a-fA-F.:]+/\d+)?\s+(?P<kind>\w+)\s+\[(?P<proto>\S+)")


class BirdInstance:
    """A running ``bird -f`` (our child). Create through ``Lab.bird``."""

    def __init__(self, ns: Namespace, directory: Path, config: str, *, name: str) -> None:
        self.ns = ns
        self.dir = directory
        self.name = name
        self.config = config
        self.socket = directory / "bird.ctl"
        self.log = directory / "bird.log"
        self.daemon: Daemon | None = None

    def start(self, *, timeout: float = 10.0) -> BirdInstance:
        self.dir.mkdir(parents=True, exist_ok=True)
        conf = self.dir / "bird.conf"
        text = self.config
        if not re.search(r"^\s*log\s", text, re.MULTILINE):
            text = f'log "{self.log}" all;\n{text}'
        conf.write_text(text)
        check = run([BIRD, "-p", "-c", str(conf)], check=False)
        if check.returncode != 0:
            raise ValueError(
                f"{self.name}: BIRD rejected its config:\n{check.stderr}{check.stdout}"
            )
        argv = ["ip", "netns", "exec", self.ns.name, BIRD, "-f", "-c", str(conf)]
        argv += ["-s", str(self.socket), "-P", str(self.dir / "bird.pid")]
        proc = Daemon(
            f"{self.name}/bird",
            argv,
            output=self.dir / "bird.out",
            pid_file=self.dir / "bird.pid",
            own_pid_file=False,
        )
        self.daemon = proc

        def ready() -> bool:
            if not proc.alive():
                raise RuntimeError(f"{proc.name} exited {proc.exit_status()}: {proc.output_tail()}")
            return self.socket.is_socket()

        wait_until(ready, timeout=timeout, what=f"{self.name} control socket", interval=0.02)
        return self

    def stop(self, *, timeout: float = 5.0) -> None:
        if self.daemon is not None:
            self.daemon.stop(timeout=timeout)
        self.socket.unlink(missing_ok=True)

    def pids(self) -> list[int]:
        return [] if self.daemon is None else [self.daemon.pid]

    def log_files(self) -> list[Path]:
        return [p for p in (self.log, self.dir / "bird.out") if p.exists()]

    # --- birdc --------------------------------------------------------------------------
    def birdc(self, *command: str, timeout: float = 10.0) -> str:
        argv = [BIRDC, "-s", str(self.socket), *command]
        done = run(argv, timeout=timeout, check=False)
        if done.returncode != 0 or "syntax error" in done.stdout:
            raise CommandError(argv, f"exit {done.returncode}\n{done.stdout}{done.stderr}")
        return done.stdout

    def protocol(self, name: str) -> dict[str, str]:
        """``show protocols all NAME`` as ``key -> value`` (``BGP state``, ``Neighbor address``,
        ``Routes`` ...), plus ``state`` from the table header row."""
        out: dict[str, str] = {}
        for line in self.birdc("show", "protocols", "all", name).splitlines():
            cols = line.split()
            if cols and cols[0] == name and len(cols) >= 4:
                out["state"] = cols[3]
            elif ":" in line and line.startswith((" ", "\t")):
                key, _, value = line.strip().partition(":")
                out.setdefault(key.strip(), value.strip())
        return out

    def wait_established(self, *protocols: str, timeout: float = 30.0) -> None:
        def probe() -> bool:
            return all(self.protocol(p).get("BGP state") == "Established" for p in protocols)

        wait_until(
            probe,
            timeout=timeout,
            what=f"{self.name}: {', '.join(protocols)} Established",
            interval=0.2,
            describe=lambda: "; ".join(f"{p}: {self.protocol(p)}" for p in protocols),
        )

    def routes(self, *selector: str) -> dict[str, list[dict[str, Any]]]:
        """``show route all [SELECTOR...]``: prefix -> routes, each with ``protocol``,
        ``kind`` (unicast, blackhole ...), ``via`` and the ``BGP.*`` attributes as text."""
        table: dict[str, list[dict[str, Any]]] = {}
        current: dict[str, Any] | None = None
        prefix = ""
        for line in self.birdc("show", "route", "all", *selector).splitlines():
            head = _ROUTE_HEAD.match(line)
            if head and not line.startswith("\t"):
                prefix = head.group("prefix") or prefix
                current = {"protocol": head.group("proto"), "kind": head.group("kind")}
                table.setdefault(prefix, []).append(current)
            elif current is not None and line.strip().startswith("via "):
                current["via"] = line.split()[1]
            elif current is not None and ":" in line and line.startswith("\t"):
                key, _, value = line.strip().partition(":")
                current[key.strip()] = value.strip()
        return table

    def wait_route(self, prefix: str, *, present: bool = True, timeout: float = 30.0) -> Any:
        def probe() -> Any:
            routes = self.routes(prefix) if present else self.routes()
            if present:
                return routes.get(prefix)
            return prefix not in routes

        return wait_until(probe, timeout=timeout, what=f"{self.name}: {prefix}", interval=0.2)


def bird_available() -> bool:
    return all(shutil.which(b) for b in (BIRD, BIRDC))
