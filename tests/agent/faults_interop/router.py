"""One router for the fault tests, real daemons in namespaces (tests/lab):

    p   provider FRR (AS 64500): default route and 198.51.100.0/24 to us
    r   our router: FRR (AS 65010), keepalived (one VRRPv3 instance on the LAN link, alone,
        so it is master whenever it runs) and routeragent (interval 0.25 s)
    h   a host on the LAN link

routeragent's state directory and keepalived.conf live on a small tmpfs of their own (filled
up by the disk-full test); vtysh is reached through a wrapper that hangs (``exec sleep``)
while a flag file exists, for every command or only for configuration commands.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lab import FrrInstance, FrrNeighbor, Lab, Link, Namespace, bgpd_config, wait_until

VENV_BIN = Path(sys.executable).parent
VIP = "10.250.0.1"
TMPFS_SIZE = "512k"


def _wrapper(path: Path, hang_all: Path, hang_config: Path, hung: Path) -> None:
    """vtysh, or (while a flag file exists) a vtysh that never answers: the shell records its
    pid in ``hung`` and becomes ``sleep``, so the agent's timeout kills the sleeper itself."""
    hang = f"echo $$ >> {hung}; exec sleep 30"
    path.write_text(
        "#!/bin/sh\n"
        f"[ -e {hang_all} ] && {{ {hang}; }}\n"
        f'case "$*" in *"configure terminal"*) [ -e {hang_config} ] && {{ {hang}; }};; esac\n'
        'exec vtysh "$@"\n'
    )
    path.chmod(0o755)


@dataclass
class Router:
    lab: Lab
    r: Namespace
    p: Namespace
    uplink: Link
    lan: Link
    frr: FrrInstance
    provider: FrrInstance
    dir: Path
    tmpfs: Path
    keepalived: subprocess.Popen[Any] | None = None
    agent: subprocess.Popen[Any] | None = None

    # ---- files

    @property
    def config(self) -> Path:
        return self.dir / "agent.toml"

    @property
    def log(self) -> Path:
        return self.dir / "agent.log"

    @property
    def state(self) -> Path:
        return self.tmpfs / "state"

    @property
    def track(self) -> Path:
        return self.state / "keepalived" / "lan.track"

    @property
    def keepalived_conf(self) -> Path:
        return self.tmpfs / "keepalived.conf"

    @property
    def hang_all(self) -> Path:
        return self.dir / "vtysh-hangs"

    @property
    def hang_config(self) -> Path:
        return self.dir / "vtysh-config-hangs"

    @property
    def hung_pids(self) -> Path:
        return self.dir / "vtysh-hung.pids"

    def hung_alive(self) -> int:
        """How many of the hung vtysh processes are still there."""
        text = self.hung_pids.read_text() if self.hung_pids.exists() else ""
        return sum(1 for p in text.split() if Path(f"/proc/{p}").exists())

    def clear_faults(self) -> None:
        self.hang_all.unlink(missing_ok=True)
        self.hang_config.unlink(missing_ok=True)
        (self.tmpfs / "filler").unlink(missing_ok=True)
        self.r.ip("link", "set", "probe0", "up")
        self.p.ip("link", "set", self.uplink.a.ifname, "up")
        good = self.toml()
        if self.config.read_text() != good:
            self.config.write_text(good)
            if self.agent is not None:
                self.agent.send_signal(signal.SIGHUP)

    def toml(self, interface: str | None = None) -> str:
        return f"""
[agent]
router = "r"
state_dir = "{self.state}"
interval = 0.25
metrics_listen = "127.0.0.1:9108"
log_file = "{self.log}"

[frr]
asn = 65010
vtysh = "{self.dir / "vtysh"}"
vty_socket = "{self.frr.dir}"
timeout = 1.0

[keepalived]
config_file = "{self.keepalived_conf}"
pid_file = "{self.dir / "keepalived.pid"}"

[[vrrp]]
name = "lan"
interface = "{interface or self.lan.a.ifname}"
vrid = 51
addresses = ["{VIP}/24"]
advert_interval = 0.1

[[upstream]]
name = "core"
neighbor = "{self.uplink.a.ipv4}"

[announce]
prefixes = ["203.0.113.0/24"]

[policy]
egress_role = "primary"
takeback_delay = 1.0

[[check]]
name = "bgp"
type = "bgp"
rise = 2
fall = 1

[[check]]
name = "ingress-probe"
type = "interface"
interface = "probe0"
rise = 1
fall = 1
affects = "ingress"
"""

    # ---- processes

    def run_agent(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        argv = [str(VENV_BIN / "routeragent"), *args, "-c", str(self.config)]
        return self.r.exec(argv, check=False, timeout=timeout)

    def start_keepalived(self) -> None:
        d = self.dir
        for f in ("keepalived.pid", "vrrp.pid"):
            (d / f).unlink(missing_ok=True)
        argv = ["keepalived", "-n", "-l", "-D", "-G", "-P", "-f", str(self.keepalived_conf)]
        for opt, name in (("-p", "keepalived"), ("-r", "vrrp"), ("-c", "checkers")):
            argv += [opt, str(d / f"{name}.pid")]
        self.keepalived = self.lab.popen(self.r, argv, log="keepalived.log")
        wait_until(lambda: (d / "vrrp.pid").exists(), timeout=10, what="keepalived's vrrp child")

    def kill_keepalived(self) -> None:
        assert self.keepalived is not None
        self.keepalived.send_signal(signal.SIGKILL)
        self.keepalived.wait(5)
        # its VRRP child follows its parent (keepalived watches it); make sure
        with contextlib.suppress(OSError, ValueError):
            os.kill(int((self.dir / "vrrp.pid").read_text()), signal.SIGKILL)
        self.keepalived = None

    def start_agent(self) -> None:
        argv = [str(VENV_BIN / "routeragent"), "run", "-c", str(self.config)]
        self.agent = self.lab.popen(self.r, argv, log="agent.out")

    def sighup_agent(self) -> float:
        assert self.agent is not None
        t0 = time.time()
        self.agent.send_signal(signal.SIGHUP)
        return t0

    # ---- looking

    def events(self, event: str, since: float = 0.0) -> list[dict[str, Any]]:
        out = []
        if not self.log.exists():
            return out
        for line in self.log.read_text().splitlines():
            with contextlib.suppress(ValueError):
                e = json.loads(line)
                if e.get("event") == event and e.get("ts", 0) >= since:
                    out.append(e)
        return out

    def wait_event(self, event: str, since: float, timeout: float = 15) -> dict[str, Any]:
        got: dict[str, Any] = wait_until(
            lambda: (self.events(event, since) or [None])[0], timeout=timeout, what=event
        )
        return got

    def status(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads((self.state / "status.json").read_text())
        return data

    def priority(self) -> int | None:
        text = self.track.read_text().strip() if self.track.exists() else ""
        return 200 + int(text) if text else None

    def metrics(self) -> dict[str, float]:
        text: str = self.r.call(_fetch_metrics)
        out = {}
        for line in text.splitlines():
            if line and not line.startswith("#"):
                name, _, value = line.rpartition(" ")
                out[name] = float(value)
        return out

    def has_vip(self) -> bool:
        return f" {VIP}/" in self.r.ip("-o", "addr", "show", "dev", self.lan.a.ifname)

    def out_maps(self) -> set[str]:
        nbs = self.frr.show_json("show bgp neighbors")
        return {
            af.get("routeMapForOutgoingAdvertisements")
            for nb in nbs.values()
            for af in nb.get("addressFamilyInfo", {}).values()
        }

    def running_maps(self) -> list[str]:
        text = self.frr.vtysh("show running-config", daemon="bgpd")
        return [ln for ln in text.splitlines() if ln.startswith("route-map RA-")]

    def wait_healthy(self, timeout: float = 30) -> None:
        wait_until(
            lambda: (
                self.priority() == 200 and self.has_vip() and self.status()["gateway"] == "eligible"
            ),
            timeout=timeout,
            what="router healthy: priority 200, VIP here",
        )

    def ingress_probe(self, state: str) -> None:
        """The ingress check's interface: down depreferences our announcement (an FRR
        policy change: a new outbound route-map, the neighbor switched to it)."""
        self.r.ip("link", "set", "probe0", state)

    def uplink_state(self, state: str) -> None:
        self.p.ip("link", "set", self.uplink.a.ifname, state)


def _fetch_metrics() -> str:
    with urllib.request.urlopen("http://127.0.0.1:9108/metrics", timeout=5) as resp:
        return str(resp.read().decode())


@contextlib.contextmanager
def router(lab: Lab) -> Iterator[Router]:
    p, r, h = lab.namespace("p"), lab.namespace("r"), lab.namespace("h")
    uplink = lab.link(p, r)
    lan = lab.link(r, h)
    provider = lab.frr(
        p,
        bgpd_config(
            64500,
            uplink.a.ipv4,
            [FrrNeighbor(uplink.b.ipv4, 65010, af_lines=("default-originate",))],
            networks=["198.51.100.0/24"],
        ),
    )
    frr = lab.frr(
        r,
        bgpd_config(65010, uplink.b.ipv4, [FrrNeighbor(uplink.a.ipv4, 64500)],
                    networks=["203.0.113.0/24"]),
    )  # fmt: skip
    d = lab.dir / "router"
    d.mkdir()
    tmpfs = d / "tmpfs"
    tmpfs.mkdir()
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={TMPFS_SIZE},mode=0755", "tmpfs", str(tmpfs)],
        check=True,
    )
    it = Router(lab, r, p, uplink, lan, frr, provider, d, tmpfs)
    try:
        r.ip("link", "add", "probe0", "type", "veth", "peer", "name", "probe1")  # no dummy
        r.ip("link", "set", "probe1", "up")
        r.ip("link", "set", "probe0", "up")
        _wrapper(d / "vtysh", it.hang_all, it.hang_config, it.hung_pids)
        it.config.write_text(it.toml())
        once = it.run_agent("run", "--once")
        assert it.keepalived_conf.exists(), once.stdout + once.stderr
        it.start_keepalived()
        it.start_agent()
        it.wait_healthy()
        yield it
    finally:
        for proc in (it.agent, it.keepalived):
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait(5)
        subprocess.run(["umount", "-l", str(tmpfs)], check=False)


def fill(path: Path) -> Path:
    """Fill the file system of ``path`` up to the last byte; returns the filler file."""
    filler = path / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        chunk = b"\0" * 4096
        with contextlib.suppress(OSError):
            while True:
                os.write(fd, chunk)
        with contextlib.suppress(OSError):
            while True:
                os.write(fd, b"\0")  # the last partial page
    finally:
        os.close(fd)
    return filler


def until(pred: Callable[[], Any], what: str, timeout: float = 15) -> Any:
    return wait_until(pred, timeout=timeout, what=what)
