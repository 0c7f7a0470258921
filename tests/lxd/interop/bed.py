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

Pitfalls handled here (each measured, see /work/shared/lab/lxd/README.md):
- the kernel has no openvswitch module: OVS runs with the netdev datapath, and the uplink bridge
  is created by us with ``datapath_type=netdev`` (LXD would create a "system" one);
- without ``userspace-tso-enable`` ICMP passes but TCP does not;
- ``ip netns exec`` hides the host's cgroup mounts from LXD: it runs in a private mount
  namespace with a fresh sysfs and the same cgroup hierarchies mounted again;
- LXD must never choose subnets itself (it pings random 10.x hosts): every network gets
  explicit addresses, and its startup download is sent to a closed loopback port.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from lab.netns import Namespace, delete_namespace
from lab.procs import Daemon, pid_alive, start_time
from lab.wait import wait_until

from .image import build_busybox_image

LXD_BINARIES = ("lxd", "lxc", "ovsdb-server", "ovs-vswitchd", "ovs-vsctl", "ovsdb-tool")
OVN_BINARIES = ("ovn-northd", "ovn-controller", "ovn-nbctl")
OTHER_BINARIES = ("nsenter", "unshare", "busybox", "nft", "dnsmasq")
OVS_SCHEMA = Path("/usr/share/openvswitch/vswitch.ovsschema")
OVN_NB_SCHEMA = Path("/usr/share/ovn/ovn-nb.ovsschema")
OVN_SB_SCHEMA = Path("/usr/share/ovn/ovn-sb.ovsschema")

NS_PREFIX = "bsl-"
CLOSED_PROXY = "http://127.0.0.1:9"


def bed_base() -> Path:
    import tempfile

    return Path(os.environ.get("BS_LXD_BASE") or Path(tempfile.gettempdir()) / "bs-lxd")


def missing_prerequisites() -> list[str]:
    out = []
    if os.geteuid() != 0:
        out.append("root")
    for b in (*LXD_BINARIES, *OVN_BINARIES, *OTHER_BINARIES):
        if shutil.which(b) is None:
            out.append(b)
    for schema in (OVS_SCHEMA, OVN_NB_SCHEMA, OVN_SB_SCHEMA):
        if not schema.exists():
            out.append(str(schema))
    if not Path("/dev/net/tun").exists():
        out.append("/dev/net/tun")
    return out


# The cgroup mounts LXD needs to see, from our own mount table.
def _cgroup_mounts() -> list[tuple[str, str, str]]:
    out = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        pre, _, post = line.partition(" - ")
        fields = pre.split()
        mount_point = fields[4]
        if not (mount_point == "/sys/fs/cgroup" or mount_point.startswith("/sys/fs/cgroup/")):
            continue
        fstype, _source, super_opts = post.split()[:3]
        out.append((mount_point, fstype, super_opts))
    return out


def private_sysfs_script() -> str:
    """Shell run by LXD's wrapper: fresh sysfs (the namespace's interfaces) with the host's
    cgroup hierarchies mounted again on it (mounting an existing v1 hierarchy with the same
    controllers attaches to it)."""
    lines = ["set -e", "umount -l /sys", "mount -t sysfs sysfs /sys"]
    for mount_point, fstype, super_opts in _cgroup_mounts():
        if fstype == "tmpfs":
            lines.append(f"mount -t tmpfs -o mode=755 tmpfs {mount_point}")
        elif fstype == "cgroup":
            opts = ",".join(o for o in super_opts.split(",") if o not in ("rw", "ro"))
            if opts.startswith("name="):
                opts = "none," + opts
            lines.append(f"mkdir -p {mount_point}; mount -t cgroup -o {opts} cgroup {mount_point}")
        elif fstype == "cgroup2":
            lines.append(f"mkdir -p {mount_point}; mount -t cgroup2 cgroup2 {mount_point}")
    lines.append('exec "$@"')
    return "\n".join(lines)


class CommandFailed(RuntimeError):
    pass


class LxdBed:
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
        self.dir = self.run_dir / label
        self.UPLINK_V4 = f"10.{uplink}.0.1/24"
        self.UPLINK_V6 = f"2001:db8:{uplink}::1/64"
        self.OVN_RANGE_V4 = f"10.{uplink}.0.100-10.{uplink}.0.199"
        self.OVN_RANGE_V6 = f"2001:db8:{uplink}::100-2001:db8:{uplink}::1ff"
        self._own_up_ns = up_ns is None
        self.ovs = self.dir / "ovs"
        self.ovn = self.dir / "ovn"
        self.lxd_dir = self.dir / "lxd"
        self.logs = self.dir / "log"
        self.daemons: dict[str, Daemon] = {}
        self.lxd_ns: Namespace | None = None
        self.up_ns: Namespace | None = up_ns
        self.lxd: Daemon | None = None
        self.timings: dict[str, float] = {}

    # --- environment ---------------------------------------------------------------------
    @property
    def socket(self) -> Path:
        return self.lxd_dir / "unix.socket"

    def env_overrides(self) -> dict[str, str]:
        return dict(
            LXD_DIR=str(self.lxd_dir),
            OVS_RUNDIR=str(self.ovs),
            OVS_DBDIR=str(self.ovs),
            OVS_LOGDIR=str(self.logs),
            OVN_RUNDIR=str(self.ovn),
            OVN_DBDIR=str(self.ovn),
            OVN_LOGDIR=str(self.logs),
            # LXD's startup task fetches instance types from the internet: a closed port
            http_proxy=CLOSED_PROXY,
            https_proxy=CLOSED_PROXY,
            HTTP_PROXY=CLOSED_PROXY,
            HTTPS_PROXY=CLOSED_PROXY,
            no_proxy="",
            NO_PROXY="",
        )

    def env(self) -> dict[str, str]:
        return {**os.environ, **self.env_overrides()}

    def run(self, argv: Sequence[str], *, timeout: float = 60.0, stdin: str | None = None) -> str:
        try:
            done = subprocess.run(
                list(argv),
                input=stdin,
                capture_output=True,
                text=True,
                timeout=timeout,
                env=self.env(),
                check=False,
            )
        except subprocess.TimeoutExpired as e:
            raise CommandFailed(f"{' '.join(argv)}: no answer within {timeout} s") from e
        if done.returncode != 0:
            raise CommandFailed(
                f"{' '.join(argv)}: exit {done.returncode}: {done.stderr.strip()[-2000:]}"
            )
        return done.stdout

    def lxc(self, *args: str, timeout: float = 60.0, stdin: str | None = None) -> str:
        return self.run(["lxc", *args], timeout=timeout, stdin=stdin)

    def query(self, path: str) -> Any:
        """``lxc query PATH``: the raw REST answer as JSON."""
        return json.loads(self.lxc("query", path))

    def in_ns(self, *argv: str, timeout: float = 30.0) -> str:
        assert self.lxd_ns is not None
        return self.run(["ip", "netns", "exec", self.lxd_ns.name, *argv], timeout=timeout)

    def _daemon(self, name: str, argv: Sequence[str], ns: bool = True) -> Daemon:
        """A daemon in the foreground, as our child, with the run's environment (``env``
        execs in place, so the pid is the daemon's)."""
        assert self.lxd_ns is not None
        inner = ["ip", "netns", "exec", self.lxd_ns.name, *argv] if ns else list(argv)
        full = ["env", *(f"{k}={v}" for k, v in self.env_overrides().items()), *inner]
        d = Daemon(
            name,
            full,
            output=self.logs / f"{name}.out",
            pid_file=self.dir / f"{name}.pid",
            own_pid_file=True,
        )
        self.daemons[name] = d
        return d

    def _wait_socket(self, path: Path, daemon: Daemon, timeout: float = 20.0) -> None:
        def ready() -> bool:
            if not daemon.alive():
                raise CommandFailed(f"{daemon.name} exited: {daemon.output_tail()}")
            return path.exists()

        wait_until(ready, timeout=timeout, what=f"{daemon.name} socket {path}", interval=0.02)

    def _lap(self, what: str, t0: float) -> float:
        now = time.monotonic()
        self.timings[what] = round(now - t0, 3)
        return now

    # --- bring-up ------------------------------------------------------------------------
    def up(self) -> None:
        t = t0 = time.monotonic()
        self.run_dir.mkdir(parents=True, mode=0o755, exist_ok=True)
        self.base.chmod(0o755)
        owner = self.run_dir / "owner.json"
        if not owner.exists():
            owner.write_text(json.dumps({"pid": self.pid, "start_time": start_time(self.pid)}))
        self.dir.mkdir(mode=0o755)
        for d in (self.ovs, self.ovn, self.lxd_dir, self.logs):
            d.mkdir(mode=0o755)
        self.lxd_dir.chmod(0o711)

        prefix = f"{NS_PREFIX}{self.pid}-{self.label}"
        self.lxd_ns = Namespace(f"{prefix}-lxd", f"lxd-{self.label}")
        if self.up_ns is None:
            self.up_ns = Namespace(f"{prefix}-up", f"up-{self.label}")
        gw = f"upl{self.label}p"
        self.lxd_ns.ip("link", "add", "upl0", "type", "veth", "peer", "name", gw)
        self.lxd_ns.ip("link", "set", gw, "netns", self.up_ns.name)
        self.up_ns.ip("addr", "add", self.UPLINK_V4, "dev", gw)
        self.up_ns.ip("addr", "add", self.UPLINK_V6, "dev", gw, "nodad")
        self.up_ns.ip("link", "set", gw, "up")
        self.lxd_ns.ip("link", "set", "upl0", "up")
        t = self._lap("namespaces", t)

        self._start_ovs()
        t = self._lap("openvswitch", t)
        self._start_ovn()
        t = self._lap("ovn", t)
        self.start_lxd()
        t = self._lap("lxd start", t)
        self.run(["lxd", "init", "--preseed"], stdin=self._preseed())
        img = build_busybox_image(self.dir / "busybox.tar.gz")
        self.lxc("image", "import", str(img), "--alias", "busybox")
        t = self._lap("lxd init + image", t)
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

    def _preseed(self) -> str:
        return (
            "config:\n"
            '  images.auto_update_interval: "0"\n'
            f"  network.ovn.northbound_connection: unix:{self.ovn}/nb.sock\n"
            "storage_pools:\n"
            "- name: default\n"
            "  driver: dir\n"
            "profiles:\n"
            "- name: default\n"
            "  devices:\n"
            "    root: {type: disk, path: /, pool: default}\n"
        )

    def _ovsdb(self, name: str, db: Path, schema: Path, sock: Path) -> None:
        self.run(["ovsdb-tool", "create", str(db), str(schema)])
        d = self._daemon(
            name,
            [
                "ovsdb-server",
                str(db),
                f"--remote=punix:{sock}",
                f"--pidfile={self.dir}/{name}.daemon-pid",
                f"--unixctl={self.dir}/{name}.ctl",
                f"--log-file={self.logs}/{name}.log",
            ],
        )
        self._wait_socket(sock, d)

    def _start_ovs(self) -> None:
        self._ovsdb("ovsdb-server", self.ovs / "conf.db", OVS_SCHEMA, self.ovs / "db.sock")
        vsctl = ["ovs-vsctl", f"--db=unix:{self.ovs}/db.sock"]
        self.run([*vsctl, "--no-wait", "init"])
        self.run(
            [
                *vsctl,
                "--no-wait",
                "set",
                "open_vswitch",
                ".",
                f"external_ids:system-id=chassis-{self.tag}-{self.label}",
                "other_config:userspace-tso-enable=true",
            ]
        )
        d = self._daemon(
            "ovs-vswitchd",
            [
                "ovs-vswitchd",
                f"unix:{self.ovs}/db.sock",
                f"--pidfile={self.ovs}/ovs-vswitchd.pid",
                f"--unixctl={self.ovs}/ovs-vswitchd.ctl",
                f"--log-file={self.logs}/ovs-vswitchd.log",
            ],
        )
        self._wait_socket(self.ovs / "ovs-vswitchd.ctl", d)

    def _start_ovn(self) -> None:
        self._ovsdb("ovn-nb", self.ovn / "nb.db", OVN_NB_SCHEMA, self.ovn / "nb.sock")
        self._ovsdb("ovn-sb", self.ovn / "sb.db", OVN_SB_SCHEMA, self.ovn / "sb.sock")
        self._daemon(
            "ovn-northd",
            [
                "ovn-northd",
                f"--ovnnb-db=unix:{self.ovn}/nb.sock",
                f"--ovnsb-db=unix:{self.ovn}/sb.sock",
                f"--pidfile={self.ovn}/ovn-northd.pid",
                f"--unixctl={self.ovn}/ovn-northd.ctl",
                f"--log-file={self.logs}/ovn-northd.log",
            ],
        )
        vsctl = ["ovs-vsctl", f"--db=unix:{self.ovs}/db.sock"]
        self.run(
            [
                *vsctl,
                "set",
                "open_vswitch",
                ".",
                f"external_ids:ovn-remote=unix:{self.ovn}/sb.sock",
                "external_ids:ovn-encap-type=geneve",
                "external_ids:ovn-encap-ip=127.0.0.1",
                "external_ids:ovn-bridge-datapath-type=netdev",
            ]
        )
        d = self._daemon(
            "ovn-controller",
            [
                "ovn-controller",
                f"unix:{self.ovs}/db.sock",
                f"--pidfile={self.ovn}/ovn-controller.pid",
                f"--log-file={self.logs}/ovn-controller.log",
            ],
        )
        # its control socket is OVN_RUNDIR/ovn-controller.<pid>.ctl; the pid file comes last
        self._wait_socket(self.ovn / "ovn-controller.pid", d)
        # the uplink bridge, ours so that it gets the userspace datapath
        self.run(
            [
                *vsctl,
                "add-br",
                "br-uplink",
                "--",
                "set",
                "bridge",
                "br-uplink",
                "datapath_type=netdev",
            ]
        )
        self.run([*vsctl, "add-port", "br-uplink", "upl0"])
        self.in_ns("ip", "link", "set", "br-uplink", "up")

    def start_lxd(self) -> None:
        """Start (or restart) the LXD daemon and wait until it answers."""
        assert self.lxd_ns is not None
        argv = [
            "nsenter",
            f"--net=/run/netns/{self.lxd_ns.name}",
            "unshare",
            "--mount",
            "--propagation",
            "slave",
            "sh",
            "-c",
            private_sysfs_script(),
            "lxd-in-ns",
            "lxd",
            f"--logfile={self.logs}/lxd.log",
        ]
        self.lxd = self._daemon("lxd", argv, ns=False)
        self.run(["lxd", "waitready", "--timeout=60"], timeout=70)

    def stop_lxd(self, timeout: float = 30.0) -> None:
        """Stop the daemon only (instances keep running, as after ``systemctl stop``)."""
        if self.lxd is None:
            return
        self.lxd.stop(timeout=timeout)
        self.lxd = None

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
            except CommandFailed as e:
                problems.append(str(e))
            try:
                self.run(["lxd", "shutdown", "--timeout=30"], timeout=40)
            except CommandFailed as e:
                problems.append(str(e))
        for name in reversed(list(self.daemons)):
            d = self.daemons[name]
            try:
                d.stop(timeout=10)
            except Exception as e:
                problems.append(f"{name}: {e}")
        from .sweep import kill_run_processes, remove_cgroups

        leftovers = kill_run_processes(self.dir)
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
