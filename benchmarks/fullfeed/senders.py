"""The four senders, each in its fastest honest configuration (see formats.py for inputs).

A sender is prepared before the clock starts (input files written), then started inside the
sender namespace at t=0; whatever it does before the session comes up (parsing its config,
loading its RIB) counts toward its time and CPU, as it would for an operator.

* ``bgpspeak``: ``bgpspeak mrt replay TABLE.mrt`` (the project's own command: reads the dump,
  announces it through ``Speaker``), with the project's interpreter.
* ``exabgp``: ExaBGP 5 from PyPI (benchmarks/.venv-exabgp), routes as static config lines.
* ``gobgp``: gobgpd with the neighbor configured administratively down, the table loaded with
  ``gobgp mrt inject global`` first, then ``gobgp neighbor ADDR enable``: the initial transfer
  is then sent packed (injecting into a live session sends one prefix per UPDATE, 6x the
  receiver's CPU, measured in the lab notes). The CLI's CPU is added to the sender's.
* ``bird``: BIRD 2 (``bird -f``, so the measured process is the one that parses the config),
  static protocol, BGP export with ``next hop self``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lab import Lab, Namespace

from . import formats
from .table import Table

ROOT = Path(__file__).resolve().parents[2]
EXABGP_VENV = ROOT / "benchmarks" / ".venv-exabgp"
EXABGP_SPEC = "exabgp==5.0.*"
GOBGPD, GOBGP, BIRD = "/usr/bin/gobgpd", "/usr/bin/gobgp", "/usr/sbin/bird"
LOCAL_AS, PEER_AS = 65002, 65001
SENDERS = ("bgpspeak", "exabgp", "gobgp", "bird")


@dataclass
class Session:
    """Addresses of one feed: FRR (``peer``) and the sender (``local``), same family."""

    afi: int
    peer: str
    local: str


@dataclass
class Sender:
    name: str
    work: Path
    files: dict[str, Path] = field(default_factory=dict)
    extra_cpu_s: float = 0.0  # helper commands (gobgp CLI) that ended before the measurement
    notes: dict[str, float] = field(default_factory=dict)

    def prepare(self, table: Table, s: Session) -> None:
        self.work.mkdir(parents=True, exist_ok=True)
        w = self.work
        if self.name == "bgpspeak":
            self.files["mrt"] = w / "table.mrt"
            formats.write_mrt(table, self.files["mrt"], s.local, LOCAL_AS)
        elif self.name == "exabgp":
            ensure_exabgp()
            self.files["conf"] = w / "exabgp.conf"
            formats.write_exabgp(
                table,
                self.files["conf"],
                peer=s.peer,
                local=s.local,
                local_as=LOCAL_AS,
                peer_as=PEER_AS,
                prepend=False,
            )
        elif self.name == "gobgp":
            self.files["mrt"] = w / "table-padded.mrt"
            formats.write_mrt(
                table,
                self.files["mrt"],
                s.local,
                LOCAL_AS,
                pad=min(len(table), max(2000, len(table) // 20)),
                full_mp_reach=True,
            )
            self.files["conf"] = w / "gobgpd.toml"
            fam = "ipv4-unicast" if s.afi == 1 else "ipv6-unicast"
            self.files["conf"].write_text(
                f'[global.config]\n  as = {LOCAL_AS}\n  router-id = "10.255.0.2"\n  port = 179\n'
                f'[[neighbors]]\n  [neighbors.config]\n    neighbor-address = "{s.peer}"\n'
                f"    peer-as = {PEER_AS}\n    admin-down = true\n"
                f"  [neighbors.transport.config]\n    passive-mode = true\n"
                f'    local-address = "{s.local}"\n'
                f"  [[neighbors.afi-safis]]\n    [neighbors.afi-safis.config]\n"
                f'      afi-safi-name = "{fam}"\n'
            )
        elif self.name == "bird":
            self.files["conf"] = w / "bird.conf"
            formats.bird_config(
                table,
                self.files["conf"],
                peer=s.peer,
                local=s.local,
                local_as=LOCAL_AS,
                peer_as=PEER_AS,
            )
        else:
            raise ValueError(f"sender: unknown {self.name!r}, have {SENDERS}")

    def start(self, lab: Lab, ns: Namespace, s: Session) -> int:
        """Start the sender (t=0 is just before this call); returns the pid to measure."""
        log = self.work / f"{self.name}.log"
        if self.name == "bgpspeak":
            argv = [sys.executable, "-m", "bgpspeak.cli", "mrt", "replay", str(self.files["mrt"])]
            argv += ["--peer", s.peer, "--peer-as", str(PEER_AS), "--local-as", str(LOCAL_AS)]
            argv += ["--router-id", "10.255.0.2", "--local-address", s.local]
            argv += ["--family", "ipv4" if s.afi == 1 else "ipv6", "--timeout", "600"]
            return _popen(lab, ns, argv, log, cwd=ROOT).pid
        if self.name == "exabgp":
            env = dict(os.environ)
            env.update(
                {
                    "EXABGP_ENVFILE": os.devnull,
                    "exabgp.daemon.user": "root",
                    "exabgp.daemon.drop": "false",
                    "exabgp.api.cli": "false",
                    "exabgp.log.level": os.environ.get("FULLFEED_EXABGP_LOG", "WARNING"),
                }
            )
            argv = [str(EXABGP_VENV / "bin" / "exabgp"), "server", str(self.files["conf"])]
            return _popen(lab, ns, argv, log, env=env).pid
        if self.name == "gobgp":
            sock = self.work / "gobgp.sock"
            sock.unlink(missing_ok=True)  # left by an earlier run's gobgpd
            argv = [GOBGPD, "-f", str(self.files["conf"]), "-p", "-l", "warn"]
            argv += ["--api-hosts", f"unix://{sock}", "--pprof-disable"]
            pid = _popen(lab, ns, argv, log).pid
            cli = [GOBGP, "--target", f"unix://{sock}"]
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                if (
                    subprocess.run([*cli, "global"], capture_output=True, check=False).returncode
                    == 0
                ):
                    break
                time.sleep(0.05)
            t = time.monotonic()
            inject = subprocess.Popen([*cli, "mrt", "inject", "global", str(self.files["mrt"])])
            _, status, ru = os.wait4(inject.pid, 0)
            inject.returncode = os.waitstatus_to_exitcode(status)
            self.notes["inject_s"] = time.monotonic() - t
            self.extra_cpu_s += ru.ru_utime + ru.ru_stime
            subprocess.run([*cli, "neighbor", s.peer, "enable"], check=True, capture_output=True)
            return pid
        if self.name == "bird":
            argv = [BIRD, "-f", "-c", str(self.files["conf"]), "-s", str(self.work / "bird.ctl")]
            argv += ["-P", str(self.work / "bird.pid")]
            return _popen(lab, ns, argv, log).pid
        raise ValueError(self.name)


def _popen(lab: Lab, ns: Namespace, argv: list[str], log: Path, **kw: Any) -> subprocess.Popen[Any]:
    """Started through the lab (stopped at teardown), output kept in the work directory."""
    with log.open("ab") as out:
        return lab.popen(ns, argv, stdout=out, stderr=subprocess.STDOUT, **kw)


def ensure_exabgp() -> Path:
    """ExaBGP 5 from PyPI in its own virtualenv (shared with the codec benchmark)."""
    python = EXABGP_VENV / "bin" / "python"
    probe = [str(python), "-c", "import importlib.metadata as m; print(m.version('exabgp'))"]
    if python.exists():
        found = subprocess.run(probe, capture_output=True, text=True, check=False)
        if found.returncode == 0 and found.stdout.strip().startswith("5.0."):
            return python
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(EXABGP_VENV)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", EXABGP_SPEC], check=True)
    return python


def exabgp_version() -> str:
    python = EXABGP_VENV / "bin" / "python"
    if not python.exists():
        return "not installed"  # made on first use by an exabgp run
    probe = [str(python), "-c", "import importlib.metadata as m; print(m.version('exabgp'))"]
    done = subprocess.run(probe, capture_output=True, text=True, check=False)
    return done.stdout.strip() or "?"
