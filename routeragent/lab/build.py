"""Building and removing the lab: namespaces, links, daemons, all recorded under one run directory.

``lab.json`` in the run directory is written before anything is created and names the
namespaces, so ``down`` (or the next ``up``, after a crash) finds everything from a new process:
it stops what the pid files name (only processes whose command line mentions the run
directory, so a recycled pid is never hit), then kills whatever still runs inside the lab's
namespaces, deletes them and the run directory.
"""

from __future__ import annotations

import functools
import ipaddress
import json
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from routeragent.lab import configs, lxd_host, system
from routeragent.lab.system import LabError
from routeragent.lab.topology import (
    ANYCAST4,
    ANYCAST6,
    ANYCAST_PORT,
    CORES,
    GUEST,
    GUEST4,
    GUEST6,
    HOSTS,
    NODES,
    PROVIDER_PREFIXES,
    ROUTERS,
    SWITCH,
    UPLINKS,
    VIP4,
    VIP6,
    Names,
    core_loopback,
    host_lan4,
    host_lan6,
    host_subnets,
    ovn_router4,
    ovn_router6,
    router_lan4,
    router_lan6,
)

FRR_BIN = Path("/usr/lib/frr")
FRR_DAEMONS = ("zebra", "bgpd")
STATE_FILE = "lab.json"
NEEDED = ("ip", "vtysh", "keepalived", str(FRR_BIN / "zebra"), str(FRR_BIN / "bgpd"))


def missing_programs() -> list[str]:
    return [p for p in NEEDED if shutil.which(p) is None]


@dataclass
class Lab:
    """One lab instance: where its files are and what its namespaces are called."""

    run_dir: Path
    names: Names = field(default_factory=Names)
    timers: configs.Timers = field(default_factory=configs.Timers)
    python: str = sys.executable
    #: hosts that are a real LXD + OVN with ``routeragent announce-lxd`` (``up --lxd``)
    lxd_hosts: tuple[str, ...] = ()
    #: seconds per step of each LXD host's bring-up (``up`` reports them)
    lxd_timings: dict[str, dict[str, float]] = field(default_factory=dict)

    # ---- loading an existing lab (any later command)

    @classmethod
    def load(cls, run_dir: Path) -> Lab:
        state = read_state(run_dir)
        if state is None:
            raise LabError(f"no lab in {run_dir} (start one with `routeragent lab up`)")
        t = state.get("timers", {})
        return cls(
            run_dir,
            Names(str(state["prefix"])),
            configs.Timers(**{k: float(v) for k, v in t.items()}),
            str(state.get("python", sys.executable)),
            tuple(str(h) for h in state.get("lxd_hosts", [])),
        )

    def node_dir(self, node: str) -> Path:
        return self.run_dir / node

    def frr_dir(self, node: str) -> Path:
        return self.node_dir(node) / "frr"

    def ns(self, node: str) -> str:
        return self.names.ns(node)

    # ---- up

    def up(self) -> list[str]:
        """Clean leftovers, then build everything. Returns what was cleaned (for the user)."""
        check_reachable_by_frr(self.run_dir)
        missing = missing_programs()
        if missing:
            raise LabError(
                f"missing programs: {', '.join(missing)} (Debian packages: iproute2, frr, "
                "keepalived; ./scripts/bootstrap installs them)"
            )
        if self.lxd_hosts:
            lacking = lxd_host.missing()
            if lacking:
                raise LabError(
                    f"--lxd needs {', '.join(lacking)} (Debian packages: lxd, lxd-client, "
                    "openvswitch-switch, ovn-central, ovn-host, busybox-static, dnsmasq-base)"
                )
        cleaned = clean(self.run_dir)
        taken = sorted(system.namespaces() & set(self.names.namespaces))
        if taken:
            raise LabError(
                f"namespaces {', '.join(taken)} exist but no lab in {self.run_dir} recorded "
                "them (another lab with the same prefix? use its --run-dir, or --prefix)"
            )
        self.run_dir.mkdir(parents=True)
        self.run_dir.chmod(0o755)  # FRR drops to user frr and must reach its directory
        state = {
            "prefix": self.names.prefix,
            "namespaces": list(self.names.namespaces),
            "created": time.time(),
            "python": self.python,
            "lxd_hosts": list(self.lxd_hosts),
            "timers": {
                "agent_interval": self.timers.agent_interval,
                "check_interval": self.timers.check_interval,
                "takeback_delay": self.timers.takeback_delay,
            },
        }
        (self.run_dir / STATE_FILE).write_text(json.dumps(state, indent=1) + "\n")
        for node in NODES:
            self.node_dir(node).mkdir()
        self._network()
        for node in (*CORES, *ROUTERS):
            self.start_frr(node)
        for node in (*CORES, *ROUTERS):
            self.wait_frr(node)
        for h in HOSTS:
            if h in self.lxd_hosts:
                lxd = self.lxd_host(h)
                lxd.up()
                self.lxd_timings[h] = lxd.timings
            else:
                self.start_service(h)
                self.start_speaker(h)
        self.start_routers(ROUTERS)
        return cleaned

    def _network(self) -> None:
        for node in NODES:
            system.add_namespace(self.ns(node), forwarding=node in (*CORES, *ROUTERS))
        for u in UPLINKS:
            c, r = self.ns(u.core), self.ns(u.router)
            system.veth(c, u.core_if, r, u.router_if)
            for n, ifname, a4, a6 in (
                (c, u.core_if, u.core4, u.core6),
                (r, u.router_if, u.router4, u.router6),
            ):
                system.ip("-n", n, "addr", "add", f"{a4}/24", "dev", ifname)
                system.ip("-n", n, "addr", "add", f"{a6}/64", "dev", ifname, "nodad")
                system.ip("-n", n, "link", "set", ifname, "up")
        sw = self.ns(SWITCH)
        system.ip("-n", sw, "link", "add", "br0", "type", "bridge")
        system.ip("-n", sw, "link", "set", "br0", "up")
        for node in (*ROUTERS, *HOSTS, GUEST):
            n = self.ns(node)
            system.veth(n, "lan0", sw, f"p-{node}")
            system.ip("-n", sw, "link", "set", f"p-{node}", "master", "br0", "up")
            if node in ROUTERS:
                addrs = [(router_lan4(node), 24), (router_lan6(node), 64)]
            elif node == GUEST:
                addrs = [(GUEST4, 24), (GUEST6, 64)]
            elif node in self.lxd_hosts:
                # its OVN router is a real one, on the OVN uplink port (lxd_host.py)
                addrs = [(host_lan4(node), 24), (host_lan6(node), 64)]
            else:
                # the host itself, then its OVN router's uplink address (next hop of its routes)
                addrs = [
                    (host_lan4(node), 24),
                    (host_lan6(node), 64),
                    (ovn_router4(node), 24),
                    (ovn_router6(node), 64),
                ]
            for a, plen in addrs:
                extra = ["nodad"] if ":" in a else []
                system.ip("-n", n, "addr", "add", f"{a}/{plen}", "dev", "lan0", *extra)
            system.ip("-n", n, "link", "set", "lan0", "up")
        for node in (*HOSTS, GUEST):
            system.ip("-n", self.ns(node), "route", "add", "default", "via", VIP4)
            system.ip("-n", self.ns(node), "-6", "route", "add", "default", "via", VIP6)
        for h in HOSTS:
            if h in self.lxd_hosts:
                continue
            n = self.ns(h)
            # "instances" behind the OVN router: the first address of each subnet, and the
            # anycast service address, on lo
            s4, s6 = host_subnets(h)
            first4, first6 = ipaddress.ip_network(s4)[1], ipaddress.ip_network(s6)[1]
            for a in (f"{first4}/32", f"{first6}/128", ANYCAST4, ANYCAST6):
                system.ip("-n", n, "addr", "add", a, "dev", "lo")
        for c in CORES:
            system.ip("-n", self.ns(c), "addr", "add", f"{core_loopback(c)}/32", "dev", "lo")
            for p in PROVIDER_PREFIXES:
                fam = "-6" if ":" in p else "-4"
                system.ip("-n", self.ns(c), fam, "route", "add", "blackhole", p)

    # ---- FRR

    def start_frr(self, node: str) -> None:
        d = self.frr_dir(node)
        d.mkdir(parents=True, exist_ok=True)
        bgpd = configs.core_bgpd(node, d) if node in CORES else configs.router_bgpd(node, d)
        (d / "bgpd.conf").write_text(bgpd)
        (d / "zebra.conf").write_text(configs.zebra_conf(node, d))
        (d / "vtysh.conf").write_text("")
        for name in ("zebra.pid", "bgpd.pid", "zebra.vty", "bgpd.vty", "zserv.api"):
            (d / name).unlink(missing_ok=True)
        shutil.chown(d, "frr", "frr")
        d.chmod(0o750)
        for f in d.iterdir():
            shutil.chown(f, "frr", "frr")
        for daemon in FRR_DAEMONS:
            extra = ["-s", "90000000"] if daemon == "zebra" else []
            system.run(
                [
                    "ip", "netns", "exec", self.ns(node),
                    str(FRR_BIN / daemon), "-d", "-P", "0",
                    "-f", str(d / f"{daemon}.conf"),
                    "-i", str(d / f"{daemon}.pid"),
                    "-z", str(d / "zserv.api"),
                    "--vty_socket", str(d),
                    *extra,
                ]
            )  # fmt: skip
            if daemon == "zebra":
                # bgpd connects to zebra's socket at start; give zebra the moment it needs
                system.wait_for(lambda: (d / "zserv.api").exists(), 10, f"{node} zebra socket")

    def wait_frr(self, node: str) -> None:
        d = self.frr_dir(node)
        for daemon in FRR_DAEMONS:
            system.wait_for((d / f"{daemon}.vty").exists, 15, f"{node} {daemon}")

    def frr_running(self, node: str) -> bool:
        return all(system.pid_alive(self.frr_dir(node) / f"{d}.pid") for d in FRR_DAEMONS)

    # ---- hosts

    def start_service(self, host: str) -> None:
        """The anycast service instance on ``host``: an HTTP server answering with its name."""
        system.spawn(
            self.ns(host),
            [
                self.python, "-m", "routeragent.lab.anycast_service",
                "--bind", ANYCAST4.split("/")[0], "--port", str(ANYCAST_PORT), "--name", host,
                "--run-dir", str(self.run_dir),
            ],
            self.node_dir(host) / "service.log",
            self.node_dir(host) / "service.pid",
        )  # fmt: skip

    def lxd_host(self, host: str) -> lxd_host.LxdHost:
        return lxd_host.LxdHost(
            host, self.ns(host), self.ns(SWITCH), self.node_dir(host), self.python
        )

    def service_running(self, host: str) -> bool:
        return system.pid_alive(self.node_dir(host) / "service.pid")

    def stop_service(self, host: str) -> None:
        pid = system.read_pid(self.node_dir(host) / "service.pid")
        if pid is not None:
            system.stop_pid(pid)

    def start_speaker(self, host: str) -> None:
        d = self.node_dir(host)
        conf = d / "speaker.toml"
        conf.write_text(configs.speaker_toml(host, d, self.timers))
        system.spawn(
            self.ns(host),
            [self.python, "-m", "bgpspeak.cli", "run", str(conf)],
            d / "speaker.log",
            d / "speaker.pid",
        )

    # ---- routers

    def agent_config(self, router: str) -> Path:
        return self.node_dir(router) / "agent.toml"

    def agent_argv(self, router: str, *args: str) -> list[str]:
        return [self.python, "-m", "routeragent.cli", *args, "-c", str(self.agent_config(router))]

    def start_routers(self, routers: tuple[str, ...] | list[str]) -> None:
        """The boot order of docs/agent.md: FRR (already up), ``routeragent run --once``
        (renders keepalived.conf and the track files), keepalived, ``routeragent run``."""
        for r in routers:
            self.agent_config(r).write_text(configs.agent_toml(r, self.node_dir(r), self.timers))
        once = {
            r: system.spawn(
                self.ns(r), self.agent_argv(r, "run", "--once"), self.node_dir(r) / "agent.log"
            )
            for r in routers
        }
        for r, pid in once.items():
            system.wait_for(functools.partial(system.exited, pid), 60, f"{r}: routeragent --once")
        for r in routers:
            if not (self.node_dir(r) / "keepalived.conf").exists():
                raise LabError(
                    f"{r}: routeragent run --once wrote no keepalived.conf "
                    f"(see {self.node_dir(r) / 'agent.log'})"
                )
            self.start_keepalived(r)
            system.spawn(
                self.ns(r),
                self.agent_argv(r, "run"),
                self.node_dir(r) / "agent.log",
                self.node_dir(r) / "agent.pid",
            )

    def start_keepalived(self, r: str) -> None:
        d = self.node_dir(r)
        for f in ("keepalived.pid", "vrrp.pid", "checkers.pid", "bfd.pid"):
            (d / f).unlink(missing_ok=True)
        system.spawn(
            self.ns(r),
            [
                "keepalived", "-n", "-l", "-D", "-G", "-P",
                "-f", str(d / "keepalived.conf"),
                "-p", str(d / "keepalived.pid"),
                "-r", str(d / "vrrp.pid"),
                "-c", str(d / "checkers.pid"),
                "-b", str(d / "bfd.pid"),
            ],
            d / "keepalived.log",
        )  # fmt: skip
        system.wait_for(lambda: (d / "vrrp.pid").exists(), 10, f"{r}: keepalived's VRRP process")

    def router_running(self, r: str) -> bool:
        return self.frr_running(r)

    def kill_router(self, r: str) -> None:
        """A power cut: every process of the router dies at once, its links lose carrier."""
        system.kill_namespace(self.ns(r))
        for ifname in ("lan0", *(u.router_if for u in UPLINKS if u.router == r)):
            system.ip("-n", self.ns(r), "link", "set", ifname, "down")

    def boot_routers(self, routers: list[str]) -> None:
        """Power back on: links up, FRR, then the agent and keepalived in boot order."""
        for r in routers:
            for vip, plen in ((VIP4, 24), (VIP6, 64)):
                # a power cut loses what keepalived had added: a rebooted router starts clean
                system.ip(
                    "-n", self.ns(r), "addr", "del", f"{vip}/{plen}", "dev", "lan0", check=False
                )
            for ifname in ("lan0", *(u.router_if for u in UPLINKS if u.router == r)):
                system.ip("-n", self.ns(r), "link", "set", ifname, "up")
            remove_frr_crash_dirs(self.frr_dir(r))
            self.start_frr(r)
        for r in routers:
            self.wait_frr(r)
        self.start_routers(routers)

    # ---- down

    def down(self) -> list[str]:
        return clean(self.run_dir)


# --------------------------------------------------------------------------- state, cleanup


def check_reachable_by_frr(run_dir: Path) -> None:
    """FRR drops to user frr: every existing parent of the run directory must let others
    through, or zebra fails to start with a message about its pid file."""
    for parent in run_dir.absolute().parents:
        if parent.exists() and not parent.stat().st_mode & 0o001:
            raise LabError(
                f"{parent} is mode {parent.stat().st_mode & 0o777:o}: FRR (user frr) could "
                f"not reach {run_dir}; choose another --run-dir"
            )


def read_state(run_dir: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((run_dir / STATE_FILE).read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def remove_frr_crash_dirs(frr_dir: Path) -> None:
    """FRR keeps /var/tmp/frr/<daemon>.<pid>/ per process and removes it only on a clean
    exit; drop the ones of our (killed) daemons."""
    for daemon in FRR_DAEMONS:
        pid = system.read_pid(frr_dir / f"{daemon}.pid")
        if pid is not None and not system.alive(pid):
            shutil.rmtree(f"/var/tmp/frr/{daemon}.{pid}", ignore_errors=True)


def clean(run_dir: Path) -> list[str]:
    """Remove the lab recorded in ``run_dir`` (running, half-built or crashed): its processes,
    namespaces and files. Only what ``lab.json`` names is touched, so another lab with other
    names is safe. Safe to call at any time, any number of times. Returns what it removed."""
    removed: list[str] = []
    state = read_state(run_dir) or {}
    recorded = state.get("namespaces", [])
    ours = {str(n) for n in recorded} if isinstance(recorded, list) else set()
    existing = system.namespaces() & ours
    # an LXD host's containers and LXD first (they live outside the lab's namespaces)
    instances = lxd_host.instances_in(run_dir)
    for host_dir in sorted(run_dir.glob("*/lxd.pid")) if run_dir.is_dir() else []:
        for problem in lxd_host.stop_instances(host_dir.parent):
            print(f"routeragent lab: {problem}", file=sys.stderr)
    # graceful first: speakers send a Cease, FRR and keepalived tidy their files
    pid_files = sorted(run_dir.rglob("*.pid")) if run_dir.is_dir() else []
    stopping = []
    for pf in pid_files:
        pid = system.read_pid(pf)
        if pid is not None and system.alive(pid) and str(run_dir) in system.cmdline(pid):
            system.signal_pid(pid, 15)
            stopping.append((pid, pf))
    deadline = time.monotonic() + 3.0
    while time.monotonic() < deadline and any(system.alive(p) for p, _ in stopping):
        system.reap()
        time.sleep(0.05)
    if stopping:
        removed.append(f"{len(stopping)} processes")
    for ns in sorted(existing):
        system.delete_namespace(ns)
    if existing:
        removed.append(f"{len(existing)} namespaces")
    for node in NODES:
        remove_frr_crash_dirs(run_dir / node / "frr")
    if run_dir.is_dir():
        killed = lxd_host.sweep(run_dir, instances)
        if killed:
            removed.append(f"{len(killed)} LXD processes")
    if run_dir.exists():
        shutil.rmtree(run_dir)
        removed.append(str(run_dir))
    system.reap()
    return removed
