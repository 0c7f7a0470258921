"""A real LXD 5.0 with OVN, inside network namespaces this test run creates.

Layout (everything below is per run, nothing touches the host's LXD, OVS or OVN state):

    bsl-<pid>-a-lxd the "LXD host": ovsdb-server, ovs-vswitchd (userspace datapath), OVN NB/SB,
                    ovn-northd, ovn-controller, LXD. Its uplink port upl0 is on the OVS bridge
                    br-uplink, which LXD's physical network UPLINK uses as its parent.
    bsl-<pid>-a-up  the "upstream router": uplap with the uplink gateway addresses; FRR runs
                    here (started by the test through tests/lab).

State lives in ``<tmp>/bs-lxd/run-<pid>/a/`` (``b/`` for a second LXD host; the run's
``owner.json`` as in tests/lab, so a crashed run's
leftovers can be told from a live run's; see sweep.py). Each daemon runs in the foreground as
our child, with our environment pointing OVS/OVN tools at the run's sockets, so LXD's own calls
to ``ovs-vsctl`` reach this OVS and nothing else.

OVS, OVN and LXD start as ``routeragent lab up --lxd`` starts them (``LxdStack`` of
routeragent/lab/lxd_host.py, whose docstring lists the pitfalls handled there: netdev datapath,
TSO, cgroup mounts, no subnet or download of LXD's own choosing); the bed adds its namespaces,
keeps the daemons as its children (``Daemon``) and removes every trace in ``down``.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from lab.netns import Namespace, delete_namespace
from lab.procs import Daemon, pid_alive, start_time

from routeragent.lab import lxd_host
from routeragent.lab.lxd_host import LxdStack
from routeragent.lab.system import LabError

#: what LXD needs besides what the lab checks for (``lxd_host.missing``)
MORE_BINARIES = ("ovn-nbctl", "busybox", "nft")

NS_PREFIX = "bsl-"


def bed_base() -> Path:
    import tempfile

    return Path(os.environ.get("BS_LXD_BASE") or Path(tempfile.gettempdir()) / "bs-lxd")


def missing_prerequisites() -> list[str]:
    out = [] if os.geteuid() == 0 else ["root"]
    out += lxd_host.missing()
    out += [b for b in MORE_BINARIES if shutil.which(b) is None]
    return out


class LxdBed(LxdStack):
    """One LXD + OVN installation in two namespaces. ``up()`` builds it, ``down()`` removes
    every trace, also after a partial ``up()``."""

    UPLINK_ROUTES_V4 = "10.211.0.0/16,198.51.100.0/24,203.0.113.0/24"
    UPLINK_ROUTES_V6 = "2001:db8:211::/48,2001:db8:100::/48"

    def __init__(
        self,
        base: Path | None = None,
        *,
        label: str = "a",
        uplink: int = 210,
        up_ns: Namespace | None = None,
    ) -> None:
        """``label`` tells several beds of one run apart (another LXD host); ``uplink`` is the
        uplink subnet's number (10.N.0.0/24, 2001:db8:N::/64); ``up_ns`` puts this bed's uplink
        gateway into another bed's upstream namespace, so one FRR serves both."""
        self.pid = os.getpid()
        self.tag = f"r{self.pid}"
        self.label = label
        self.base = base or bed_base()
        self.run_dir = self.base / f"run-{self.pid}"
        self.prefix = f"{NS_PREFIX}{self.pid}-{label}"
        super().__init__(
            f"bed {label}",
            f"{self.prefix}-lxd",
            self.run_dir / label,
            f"chassis-{self.tag}-{label}",
        )
        self.UPLINK_V4 = f"10.{uplink}.0.1/24"
        self.UPLINK_V6 = f"2001:db8:{uplink}::1/64"
        self.OVN_RANGE_V4 = f"10.{uplink}.0.100-10.{uplink}.0.199"
        self.OVN_RANGE_V6 = f"2001:db8:{uplink}::100-2001:db8:{uplink}::1ff"
        self._own_up_ns = up_ns is None
        self.daemons: dict[str, Daemon] = {}
        self.lxd_ns: Namespace | None = None
        self.up_ns: Namespace | None = up_ns

    @property
    def lxd(self) -> Daemon | None:
        return self.daemons.get("lxd")

    def spawn(self, name: str, argv: Sequence[str], in_ns: bool = True) -> int:
        """The daemon as our child, in the foreground (``env`` and ``ip netns exec`` exec in
        place, so the pid is the daemon's), so that ``down`` can stop it and see it die."""
        inner = ["ip", "netns", "exec", self.ns, *argv] if in_ns else list(argv)
        full = ["env", *(f"{k}={v}" for k, v in self.env().items()), *inner]
        d = Daemon(
            name,
            full,
            output=self.logs / f"{name}.out",
            pid_file=self.dir / f"{name}.pid",
            own_pid_file=True,
        )
        self.daemons[name] = d
        return d.pid

    def stop_lxd(self, timeout: float = 30.0) -> None:
        """Stop the daemon only (instances keep running, as after ``systemctl stop``)."""
        d = self.daemons.pop("lxd", None)
        if d is not None:
            d.stop(timeout=timeout)

    # --- bring-up ------------------------------------------------------------------------
    def up(self) -> None:
        t = t0 = time.monotonic()
        self.run_dir.mkdir(parents=True, mode=0o755, exist_ok=True)
        self.base.chmod(0o755)
        owner = self.run_dir / "owner.json"
        if not owner.exists():
            owner.write_text(json.dumps({"pid": self.pid, "start_time": start_time(self.pid)}))
        self.dir.mkdir(mode=0o755)

        self.lxd_ns = Namespace(self.ns, f"lxd-{self.label}")
        if self.up_ns is None:
            self.up_ns = Namespace(f"{self.prefix}-up", f"up-{self.label}")
        gw = f"upl{self.label}p"
        self.lxd_ns.ip("link", "add", "upl0", "type", "veth", "peer", "name", gw)
        self.lxd_ns.ip("link", "set", gw, "netns", self.up_ns.name)
        self.up_ns.ip("addr", "add", self.UPLINK_V4, "dev", gw)
        self.up_ns.ip("addr", "add", self.UPLINK_V6, "dev", gw, "nodad")
        self.up_ns.ip("link", "set", gw, "up")
        self.lxd_ns.ip("link", "set", "upl0", "up")
        t = self._lap("namespaces", t)

        t = self.start()
        self.lxc(
            "network",
            "create",
            "UPLINK",
            "--type=physical",
            "parent=br-uplink",
            f"ipv4.gateway={self.UPLINK_V4}",
            f"ipv6.gateway={self.UPLINK_V6}",
            f"ipv4.ovn.ranges={self.OVN_RANGE_V4}",
            f"ipv6.ovn.ranges={self.OVN_RANGE_V6}",
            f"ipv4.routes={self.UPLINK_ROUTES_V4}",
            f"ipv6.routes={self.UPLINK_ROUTES_V6}",
            "ovn.ingress_mode=routed",
            "dns.nameservers=10.210.0.1",
        )
        self._lap("uplink network", t)
        self.timings["up total"] = round(time.monotonic() - t0, 3)

    # --- teardown ------------------------------------------------------------------------
    def down(self) -> list[str]:
        """Remove everything ``up`` created, whatever state it is in; returns problems seen
        (also raised by the caller if it wants). Order: instances (so their processes and
        mounts go with them), LXD, OVN, OVS, namespaces, files."""
        problems: list[str] = []
        if self.lxd is not None and self.lxd.alive():
            try:
                names = self.lxc("list", "--format=csv", "-c", "n", "--all-projects", timeout=20)
                if names.strip():
                    self.lxc("stop", "--all", "--force", timeout=60)
            except LabError as e:
                problems.append(str(e))
            try:
                self.run(["lxd", "shutdown", "--timeout=30"], timeout=40)
            except LabError as e:
                problems.append(str(e))
        for name in reversed(list(self.daemons)):
            d = self.daemons[name]
            try:
                d.stop(timeout=10)
            except Exception as e:
                problems.append(f"{name}: {e}")
        from .sweep import remove_cgroups

        leftovers = lxd_host.kill_run_processes(self.dir)
        if leftovers:
            problems.append(f"processes left after the daemons stopped: {leftovers}")
        for ns in (self.up_ns if self._own_up_ns else None, self.lxd_ns):
            if ns is not None:
                delete_namespace(ns.name)
        remove_cgroups(self.tag, self.label)
        shutil.rmtree(self.dir, ignore_errors=True)
        if self.run_dir.is_dir() and not [p for p in self.run_dir.iterdir() if p.is_dir()]:
            shutil.rmtree(self.run_dir, ignore_errors=True)  # the run's last bed
        survivors = [d.pid for d in self.daemons.values() if pid_alive(d.pid)]
        if survivors:
            problems.append(f"daemons survived: {survivors}")
        return problems

    # --- helpers for tests ---------------------------------------------------------------
    def name(self, base: str) -> str:
        """An instance name unique to this run and bed (cgroups are named after instances)."""
        return f"{base}-{self.label}{self.tag}"

    def create_ovn_network(self, name: str, config: Mapping[str, str]) -> None:
        args = [f"{k}={v}" for k, v in config.items()]
        self.lxc("network", "create", name, "--type=ovn", "network=UPLINK", *args)
