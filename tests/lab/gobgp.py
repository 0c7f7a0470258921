"""GoBGP instances inside a lab namespace, driven through the ``gobgp`` CLI's JSON output.

The gRPC API listens on a unix socket in the instance's directory, so instances never clash on
TCP port 50051 and the CLI needs no ``ip netns exec``; pprof is off for the same reason (it
would bind localhost:6060). gobgpd's own first dial comes 5-9 s after start (measured in
/work/shared/lab/README.md), so the generated config makes GoBGP passive: the FRR side, with
``timers connect 1``, dials it within a second.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .netns import Namespace
from .procs import CommandError, Daemon, run
from .wait import wait_until

GOBGPD = "/usr/bin/gobgpd"
GOBGP = "/usr/bin/gobgp"


@dataclass(frozen=True)
class GobgpNeighbor:
    address: str
    peer_as: int
    families: tuple[str, ...] = ()  # e.g. ("ipv4-unicast",); default: the transport's family
    local_address: str | None = None
    passive: bool = True
    hold_time: int = 9
    keepalive: int = 3

    def afi_safis(self) -> tuple[str, ...]:
        if self.families:
            return self.families
        return ("ipv6-unicast",) if ":" in self.address else ("ipv4-unicast",)


def gobgp_config(
    asn: int, router_id: str, neighbors: Sequence[GobgpNeighbor], *, port: int = 179
) -> str:
    """A gobgpd TOML config; ``port=-1`` means "do not listen" (dial only)."""
    out = ["[global.config]", f"  as = {asn}", f'  router-id = "{router_id}"', f"  port = {port}"]
    for nb in neighbors:
        out += ["", "[[neighbors]]", "  [neighbors.config]"]
        out += [f'    neighbor-address = "{nb.address}"', f"    peer-as = {nb.peer_as}"]
        out += ["  [neighbors.transport.config]", f"    passive-mode = {str(nb.passive).lower()}"]
        if nb.local_address:
            out.append(f'    local-address = "{nb.local_address}"')
        out += ["  [neighbors.timers.config]", f"    hold-time = {nb.hold_time}"]
        out += [f"    keepalive-interval = {nb.keepalive}", "    connect-retry = 1"]
        for family in nb.afi_safis():
            out += ["  [[neighbors.afi-safis]]", "    [neighbors.afi-safis.config]"]
            out.append(f'      afi-safi-name = "{family}"')
    return "\n".join(out) + "\n"


class GobgpInstance:
    """A running gobgpd (our child). Create through ``Lab.gobgp``."""

    def __init__(self, ns: Namespace, directory: Path, config: str, *, name: str) -> None:
        self.ns = ns
        self.dir = directory
        self.name = name
        self.config = config
        self.socket = directory / "gobgp.sock"
        self.daemon: Daemon | None = None

    def start(self, *, timeout: float = 10.0) -> GobgpInstance:
        self.dir.mkdir(parents=True, exist_ok=True)
        conf = self.dir / "gobgpd.toml"
        conf.write_text(self.config)
        check = run([GOBGPD, "-d", "-f", str(conf)], check=False)
        if check.returncode != 0:
            raise ValueError(f"{self.name}: gobgpd rejected its config:\n{check.stdout}")
        argv = ["ip", "netns", "exec", self.ns.name, GOBGPD, "-f", str(conf), "-p"]
        argv += ["-l", "debug", "--api-hosts", f"unix://{self.socket}", "--pprof-disable"]
        proc = Daemon(
            f"{self.name}/gobgpd",
            argv,
            output=self.dir / "gobgpd.log",
            pid_file=self.dir / "gobgpd.pid",
            own_pid_file=True,
        )
        self.daemon = proc

        def ready() -> bool:
            if not proc.alive():
                raise RuntimeError(f"{proc.name} exited {proc.exit_status()}: {proc.output_tail()}")
            return self.socket.is_socket() and bool(self.cli("global"))

        wait_until(ready, timeout=timeout, what=f"{self.name} API socket", interval=0.05)
        return self

    def stop(self, *, timeout: float = 5.0) -> None:
        if self.daemon is not None:
            self.daemon.stop(timeout=timeout)
        self.socket.unlink(missing_ok=True)

    def pids(self) -> list[int]:
        return [] if self.daemon is None else [self.daemon.pid]

    def log_files(self) -> list[Path]:
        return [p for p in (self.dir / "gobgpd.log",) if p.exists()]

    # --- gobgp CLI ----------------------------------------------------------------------
    def cli(self, *args: str, timeout: float = 10.0) -> Any:
        """``gobgp -j ARGS`` against this instance; the parsed JSON (None for no output)."""
        argv = [GOBGP, "--target", f"unix://{self.socket}", "-j", *args]
        done = run(argv, timeout=timeout, check=False)
        if done.returncode != 0:
            raise CommandError(argv, f"exit {done.returncode}\n{done.stdout}{done.stderr}")
        text = done.stdout.strip()
        if not text:
            return None
        try:
            return json.loads(text)
        except ValueError:
            raise CommandError(argv, f"not JSON: {text[:500]!r}") from None

    def command(self, *args: str, timeout: float = 10.0) -> str:
        """``gobgp ARGS`` (text): for changes, e.g. ``global rib -a ipv4 add 10.9.0.0/24``."""
        argv = [GOBGP, "--target", f"unix://{self.socket}", *args]
        return run(argv, timeout=timeout).stdout

    def neighbors(self) -> dict[str, dict[str, Any]]:
        """neighbor address -> gobgp's neighbor record."""
        return {n["state"]["neighbor_address"]: n for n in self.cli("neighbor") or []}

    def session_state(self, address: str) -> Any:
        record = self.neighbors().get(address)
        return None if record is None else record["state"].get("session_state")

    def wait_established(self, *addresses: str, timeout: float = 30.0) -> None:
        # gobgp's JSON carries the protobuf enum value: ESTABLISHED is 6
        def probe() -> bool:
            return all(self.session_state(a) in (6, "ESTABLISHED") for a in addresses)

        wait_until(
            probe,
            timeout=timeout,
            what=f"{self.name}: {', '.join(addresses)} Established",
            interval=0.2,
            describe=lambda: "; ".join(f"{a}: {self.session_state(a)}" for a in addresses),
        )

    def rib(self, family: str = "ipv4") -> dict[str, list[dict[str, Any]]]:
        """Global RIB (``gobgp -j global rib -a FAMILY``): prefix -> paths."""
        return dict(self.cli("global", "rib", "-a", family) or {})

    def add_route(self, prefix: str, *attrs: str) -> None:
        """Originate a route, e.g. ``add_route("10.9.0.0/24", "nexthop", "10.1.0.2")``."""
        family = "ipv6" if ":" in prefix else "ipv4"
        self.command("global", "rib", "-a", family, "add", prefix, *attrs)

    def wait_route(self, prefix: str, *, present: bool = True, timeout: float = 30.0) -> Any:
        family = "ipv6" if ":" in prefix else "ipv4"

        def probe() -> Any:
            paths = self.rib(family).get(prefix)
            return paths if present else not paths

        return wait_until(probe, timeout=timeout, what=f"{self.name}: {prefix}", interval=0.2)


def gobgp_available() -> bool:
    return all(shutil.which(b) for b in (GOBGPD, GOBGP))
