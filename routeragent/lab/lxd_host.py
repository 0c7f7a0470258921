"""A lab host that is a real LXD 5.0 with OVN (``routeragent lab up --lxd``).

Inside the host's own namespace run, as children of nobody but the lab (no systemd): an OVS
ovsdb-server and ovs-vswitchd with the userspace datapath (this kernel has no openvswitch
module), OVN's NB/SB databases, ovn-northd and ovn-controller, and LXD itself. LXD's physical
network ``UPLINK`` sits on the OVS bridge ``br-uplink``, whose port ``upl0`` is a veth into the
lab's LAN switch: the OVN router takes the host's usual OVN router address (10.50.0.10N) from
a one-address range, so its subnet and next hop are exactly those the bgpspeak hosts
announce. One OVN network carries the host's subnets, one busybox container runs on it with a
fixed address and an external /32 route, and ``routeragent announce-lxd`` (from the host's
LAN address, as the host's speaker would) announces them to the three routers.

Pitfalls (measured, /work/shared/lab/lxd/README.md): without ``datapath_type=netdev`` on the
uplink bridge no packet flows, without ``userspace-tso-enable`` TCP does not; LXD must never
choose a subnet itself (it pings random 10.x hosts), so every network gets explicit addresses,
and its startup download goes to a closed loopback port. ``ip netns exec`` would hide the
cgroup mounts from LXD, so it runs under nsenter + unshare with sysfs and cgroups mounted again.

``LxdStack`` (OVS, OVN and LXD in a namespace) is shared with the LXD interop tests
(tests/lxd/interop/bed.py), which start it as their own children and add their own networks.

Everything lives in the host's directory of the run directory; every process names it on its
command line, so ``down`` finds them (and the containers, their descendants) from any process.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from routeragent.lab import system
from routeragent.lab.lxd_image import BUSYBOX, build_busybox_image
from routeragent.lab.system import LabError
from routeragent.lab.topology import (
    HOSTS_AS,
    OUR_AS,
    ROUTERS,
    VIP4,
    VIP6,
    host_lan4,
    host_subnets,
    ovn_router4,
    ovn_router6,
    router_id,
    router_lan4,
)

PROGRAMS = (
    "lxd", "lxc", "ovsdb-server", "ovs-vswitchd", "ovs-vsctl", "ovsdb-tool", "ovn-northd",
    "ovn-controller", "nsenter", "unshare", "dnsmasq",
)  # fmt: skip
SCHEMAS = (
    Path("/usr/share/openvswitch/vswitch.ovsschema"),
    Path("/usr/share/ovn/ovn-nb.ovsschema"),
    Path("/usr/share/ovn/ovn-sb.ovsschema"),
)
CLOSED_PROXY = "http://127.0.0.1:9"
#: the switch port of the OVN uplink, in the lab's LAN namespace
UPLINK_PORT = "u-{host}"
NETWORK = "ovn1"
INSTANCE_FILE = "instance"
#: an external route on the container's NIC (outside every host's /27, inside our space)
INSTANCE_ROUTE = "203.0.113.129/32"


def missing() -> list[str]:
    """What ``--lxd`` needs and this machine lacks (empty: it can run)."""
    out = [p for p in PROGRAMS if shutil.which(p) is None]
    out += [str(s) for s in (*SCHEMAS, BUSYBOX) if not s.exists()]
    if not Path("/dev/net/tun").exists():
        out.append("/dev/net/tun")
    return out


def instance_address(host: str) -> str:
    """The container's fixed IPv4 address: the 10th of the host's subnet."""
    net = host_subnets(host)[0].split("/")[0].rsplit(".", 1)
    return f"{net[0]}.{int(net[1]) + 10}"


def _cgroup_mounts() -> list[tuple[str, str, str]]:
    out = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        pre, _, post = line.partition(" - ")
        mount_point = pre.split()[4]
        if mount_point == "/sys/fs/cgroup" or mount_point.startswith("/sys/fs/cgroup/"):
            fstype, _source, opts = post.split()[:3]
            out.append((mount_point, fstype, opts))
    return out


def private_sysfs_script() -> str:
    """Shell that LXD's wrapper runs in its own mount namespace: a fresh sysfs (the host
    namespace's interfaces) with the machine's cgroup hierarchies mounted on it again."""
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


class LxdStack:
    """OVS, OVN and LXD of one LXD host, inside network namespace ``ns``, with all their state in
    ``node_dir`` (nothing of the machine's own LXD, OVS or OVN is touched): the lab's LXD host
    and the LXD interop tests' bed both run this. ``start`` needs the uplink port ``upl0`` in
    ``ns`` and leaves LXD initialised, with the busybox image and no network."""

    def __init__(self, name: str, ns: str, node_dir: Path, system_id: str) -> None:
        self.host = name
        self.ns = ns
        self.dir = node_dir
        self.system_id = system_id
        self.ovs = node_dir / "ovs"
        self.ovn = node_dir / "ovn"
        self.lxd_dir = node_dir / "lxd"
        self.logs = node_dir / "log"
        self.timings: dict[str, float] = {}

    # ---- environment and commands

    @property
    def socket(self) -> Path:
        return self.lxd_dir / "unix.socket"

    def env(self) -> dict[str, str]:
        return env_for(self.dir)

    def run(self, argv: Sequence[str], timeout: float = 60.0, stdin: str | None = None) -> str:
        env = [f"{k}={v}" for k, v in self.env().items()]
        return system.run(["env", *env, *argv], timeout=timeout, input=stdin).stdout

    def lxc(self, *args: str, timeout: float = 60.0, stdin: str | None = None) -> str:
        return self.run(["lxc", *args], timeout=timeout, stdin=stdin)

    def query(self, path: str) -> Any:
        """``lxc query PATH``: LXD's REST answer, decoded."""
        return json.loads(self.lxc("query", path))

    def vsctl(self, *args: str) -> str:
        return self.run(["ovs-vsctl", f"--db=unix:{self.ovs}/db.sock", *args])

    def spawn(self, name: str, argv: Sequence[str], in_ns: bool = True) -> int:
        """Start daemon ``name`` detached (it outlives the lab command), with this host's
        environment, output to its log and its pid in ``name.pid``; returns the pid."""
        env = [f"{k}={v}" for k, v in self.env().items()]
        inner = ["ip", "netns", "exec", self.ns, *argv] if in_ns else list(argv)
        with open(self.logs / f"{name}.out", "ab") as out:
            proc = subprocess.Popen(
                ["env", *env, *inner],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        (self.dir / f"{name}.pid").write_text(f"{proc.pid}\n")
        system._detached.append(proc)
        return proc.pid

    def _wait_file(self, path: Path, pid: int, what: str, timeout: float = 20.0) -> None:
        def ready() -> bool:
            if not system.alive(pid):
                raise LabError(f"{self.host}: {what} exited (see {self.logs})")
            return path.exists()

        system.wait_for(ready, timeout, f"{self.host}: {what}", step=0.02)

    def _lap(self, what: str, t0: float) -> float:
        now = time.monotonic()
        self.timings[what] = round(now - t0, 2)
        return now

    # ---- bring-up

    def start(self) -> float:
        """OVS, OVN, LXD (initialised, the busybox image imported); returns when it finished
        (``time.monotonic``), for the caller's next lap."""
        t = time.monotonic()
        for d in (self.ovs, self.ovn, self.lxd_dir, self.logs):
            d.mkdir(mode=0o755, parents=True, exist_ok=True)
        self.lxd_dir.chmod(0o711)
        self._start_ovs()
        self._start_ovn()
        t = self._lap("OVS + OVN", t)
        self.start_lxd()
        t = self._lap("LXD start", t)
        self.run(["lxd", "init", "--preseed"], stdin=self._preseed())
        image = build_busybox_image(self.dir / "busybox.tar.gz")
        self.lxc("image", "import", str(image), "--alias", "busybox")
        return self._lap("LXD init + image", t)

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
        pid = self.spawn(
            name,
            [
                "ovsdb-server", str(db), f"--remote=punix:{sock}",
                f"--unixctl={self.dir}/{name}.ctl", f"--log-file={self.logs}/{name}.log",
            ],
        )  # fmt: skip
        self._wait_file(sock, pid, name)

    def _start_ovs(self) -> None:
        self._ovsdb("ovsdb-server", self.ovs / "conf.db", SCHEMAS[0], self.ovs / "db.sock")
        self.vsctl("--no-wait", "init")
        self.vsctl(
            "--no-wait", "set", "open_vswitch", ".",
            f"external_ids:system-id={self.system_id}",
            "other_config:userspace-tso-enable=true",
        )  # fmt: skip
        pid = self.spawn(
            "ovs-vswitchd",
            [
                "ovs-vswitchd", f"unix:{self.ovs}/db.sock",
                f"--unixctl={self.ovs}/ovs-vswitchd.ctl",
                f"--log-file={self.logs}/ovs-vswitchd.log",
            ],
        )  # fmt: skip
        self._wait_file(self.ovs / "ovs-vswitchd.ctl", pid, "ovs-vswitchd")

    def _start_ovn(self) -> None:
        self._ovsdb("ovn-nb", self.ovn / "nb.db", SCHEMAS[1], self.ovn / "nb.sock")
        self._ovsdb("ovn-sb", self.ovn / "sb.db", SCHEMAS[2], self.ovn / "sb.sock")
        self.spawn(
            "ovn-northd",
            [
                "ovn-northd", f"--ovnnb-db=unix:{self.ovn}/nb.sock",
                f"--ovnsb-db=unix:{self.ovn}/sb.sock",
                f"--unixctl={self.ovn}/ovn-northd.ctl", f"--log-file={self.logs}/ovn-northd.log",
            ],
        )  # fmt: skip
        self.vsctl(
            "set", "open_vswitch", ".",
            f"external_ids:ovn-remote=unix:{self.ovn}/sb.sock",
            "external_ids:ovn-encap-type=geneve", "external_ids:ovn-encap-ip=127.0.0.1",
            "external_ids:ovn-bridge-datapath-type=netdev",
        )  # fmt: skip
        pid = self.spawn(
            "ovn-controller",
            [
                "ovn-controller", f"unix:{self.ovs}/db.sock",
                f"--pidfile={self.ovn}/ovn-controller.pid",
                f"--log-file={self.logs}/ovn-controller.log",
            ],
        )  # fmt: skip
        # its control socket is OVN_RUNDIR/ovn-controller.<pid>.ctl; the pid file comes last
        self._wait_file(self.ovn / "ovn-controller.pid", pid, "ovn-controller")
        # the uplink bridge is ours, so that it gets the userspace datapath
        self.vsctl(
            "add-br", "br-uplink", "--", "set", "bridge", "br-uplink", "datapath_type=netdev"
        )
        self.vsctl("add-port", "br-uplink", "upl0")
        system.ip("-n", self.ns, "link", "set", "br-uplink", "up")

    def start_lxd(self) -> None:
        """Start (or restart) the LXD daemon and wait until it answers."""
        argv = [
            "nsenter", f"--net=/run/netns/{self.ns}",
            "unshare", "--mount", "--propagation", "slave",
            "sh", "-c", private_sysfs_script(), "lxd-in-ns",
            "lxd", f"--logfile={self.logs}/lxd.log",
        ]  # fmt: skip
        self.spawn("lxd", argv, in_ns=False)
        self.run(["lxd", "waitready", "--timeout=60"], timeout=70)


class LxdHost(LxdStack):
    """The LXD + OVN installation of one lab host; ``up`` builds it, ``stop`` (module level,
    from any process) removes it."""

    def __init__(self, host: str, ns: str, lan_ns: str, node_dir: Path, python: str) -> None:
        super().__init__(host, ns, node_dir, f"lab-{host}-{os.getpid()}")
        self.lan_ns = lan_ns
        self.python = python

    def up(self) -> None:
        name = f"web-{self.host}-{os.getpid()}"
        (self.dir / INSTANCE_FILE).write_text(name + "\n")
        port = UPLINK_PORT.format(host=self.host)
        system.veth(self.ns, "upl0", self.lan_ns, port)
        system.ip("-n", self.lan_ns, "link", "set", port, "master", "br0", "up")
        system.ip("-n", self.ns, "link", "set", "upl0", "up")
        t = self.start()
        sub4, sub6 = host_subnets(self.host)
        self.lxc(
            "network", "create", "UPLINK", "--type=physical", "parent=br-uplink",
            f"ipv4.gateway={VIP4}/24", f"ipv6.gateway={VIP6}/64",
            f"ipv4.ovn.ranges={ovn_router4(self.host)}-{ovn_router4(self.host)}",
            f"ipv6.ovn.ranges={ovn_router6(self.host)}-{ovn_router6(self.host)}",
            "ipv4.routes=203.0.113.0/24", "ipv6.routes=2001:db8:100::/48",
            "ovn.ingress_mode=routed", f"dns.nameservers={VIP4}",
        )  # fmt: skip
        gw4 = sub4.split("/")[0].rsplit(".", 1)
        self.lxc(
            "network", "create", NETWORK, "--type=ovn", "network=UPLINK",
            f"ipv4.address={gw4[0]}.{int(gw4[1]) + 1}/27",
            f"ipv6.address={sub6.split('/')[0]}1/64",
            "ipv4.nat=false", "ipv6.nat=false", "ipv6.dhcp.stateful=true",
        )  # fmt: skip
        self.lxc("init", "busybox", name, "-n", NETWORK, "-q")
        self.lxc(
            "config", "device", "set", name, "eth0",
            f"ipv4.address={instance_address(self.host)}",
            f"ipv4.routes.external={INSTANCE_ROUTE}",
        )  # fmt: skip
        self.lxc("start", name)
        self._lap("OVN network + container", t)
        conf = self.dir / "announcer.toml"
        conf.write_text(announcer_toml(self.host, self.dir, self.socket))
        system.spawn(
            self.ns,
            [self.python, "-m", "routeragent.cli", "announce-lxd", "-c", str(conf)],
            self.dir / "announcer.log",
            self.dir / "announcer.pid",
        )


def env_for(node_dir: Path) -> dict[str, str]:
    """Where LXD, OVS and OVN tools find this host's daemons (and nothing of the machine's)."""
    return dict(
        LXD_DIR=str(node_dir / "lxd"),
        OVS_RUNDIR=str(node_dir / "ovs"),
        OVS_DBDIR=str(node_dir / "ovs"),
        OVS_LOGDIR=str(node_dir / "log"),
        OVN_RUNDIR=str(node_dir / "ovn"),
        OVN_DBDIR=str(node_dir / "ovn"),
        OVN_LOGDIR=str(node_dir / "log"),
        # LXD's startup task fetches instance types from the internet: a closed port
        http_proxy=CLOSED_PROXY,
        https_proxy=CLOSED_PROXY,
        HTTP_PROXY=CLOSED_PROXY,
        HTTPS_PROXY=CLOSED_PROXY,
        no_proxy="",
        NO_PROXY="",
    )


def announcer_toml(host: str, node_dir: Path, socket: Path) -> str:
    """``routeragent announce-lxd`` as the host's operator would configure it: sessions from
    the host's LAN address to the three routers, in the hosts' AS."""
    return announcer_config(
        name=f"lab-{host}",
        state_dir=node_dir / "announcer-state",
        socket=socket,
        asn=HOSTS_AS,
        router_id=router_id(host),
        neighbors=[
            {
                "address": router_lan4(r),
                "remote_as": OUR_AS,
                "local_address": host_lan4(host),
                "hold_time": 9,
                "description": r,
            }
            for r in ROUTERS
        ],
        header=f"# routeragent announce-lxd for {host} (written by `routeragent lab up --lxd`)\n",
    )


def announcer_config(
    *,
    name: str,
    state_dir: Path,
    socket: Path,
    asn: int,
    router_id: str,
    neighbors: Sequence[Mapping[str, str | int]],
    metrics_listen: str | None = None,
    header: str = "",
    tail: str = "",
) -> str:
    """An announce-lxd config with the lab's quick timers (also the LXD interop tests'):
    ``neighbors`` are the ``[[neighbor]]`` tables, ``tail`` more TOML at the end."""
    metrics = "" if metrics_listen is None else f'metrics_listen = "{metrics_listen}"\n'
    tables = "".join(
        "\n[[neighbor]]\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in n.items())
        for n in neighbors
    )
    return f"""{header}[announcer]
name = "{name}"
state_dir = "{state_dir}"
{metrics}debounce = 0.05
resync_interval = 30
reconnect_min = 0.1
reconnect_max = 1.0

[lxd]
socket = "{socket}"
uplinks = ["UPLINK"]

[bgp]
asn = {asn}
router_id = "{router_id}"
restart_time = 60
{tables}{tail}"""


# --------------------------------------------------------------------------- removal


def stop_instances(node_dir: Path) -> list[str]:
    """First step of ``down`` for an LXD host: stop its containers and LXD cleanly (the other
    daemons go with the lab's pid files). Returns problems (never raises)."""
    problems: list[str] = []
    pid = system.read_pid(node_dir / "lxd.pid")
    if pid is None or not system.alive(pid):
        return problems
    env = [f"{k}={v}" for k, v in env_for(node_dir).items()]
    for argv, timeout in (
        (["lxc", "stop", "--all", "--force"], 60.0),
        (["lxd", "shutdown", "--timeout=30"], 40.0),
    ):
        try:
            system.run(["env", *env, *argv], timeout=timeout)
        except LabError as e:
            problems.append(str(e))
    return problems


def _parents() -> dict[int, int]:
    out = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, ValueError, IndexError):
                raw = (entry / "stat").read_text()
                out[int(entry.name)] = int(raw[raw.rindex(")") + 2 :].split()[1])
    return out


def run_processes(run_dir: Path) -> list[int]:
    """Every live process naming ``run_dir/`` on its command line, and their descendants
    (a container's init once its monitor is gone), but never us or our ancestors."""
    parents = _parents()
    mark = f"{run_dir}/"
    found = {p for p in parents if mark in system.cmdline(p)}
    changed = True
    while changed:
        changed = False
        for pid, ppid in parents.items():
            if ppid in found and pid not in found:
                found.add(pid)
                changed = True
    protected, pid = set(), os.getpid()
    while pid > 1 and pid not in protected:
        protected.add(pid)
        pid = parents.get(pid, 1)
    return sorted(p for p in found - protected if system.alive(p))


def kill_run_processes(run_dir: Path) -> list[int]:
    """SIGKILL every process of :func:`run_processes` (all collected first, then killed, as a
    container's init is reparented once its monitor dies); waits up to 5 s until they are gone
    and returns them."""
    pids = run_processes(run_dir)
    for p in pids:
        system.signal_pid(p, signal.SIGKILL)
    deadline = time.monotonic() + 5.0
    while any(system.alive(p) for p in pids) and time.monotonic() < deadline:
        system.reap()
        time.sleep(0.05)
    return pids


def remove_cgroup(cgroup: Path) -> None:
    """Remove an instance's cgroup and its children, deepest first; one still in use stays
    (rmdir refuses it)."""
    subs = sorted((p for p in cgroup.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts))
    for sub in [*subs, cgroup]:
        with contextlib.suppress(OSError):
            sub.rmdir()


def sweep(run_dir: Path, instances: list[str]) -> list[int]:
    """Last step of ``down``: SIGKILL whatever of the LXD hosts still runs, then remove the
    cgroups LXD made for ``instances``."""
    pids = kill_run_processes(run_dir)
    for name in instances:
        for d in Path("/sys/fs/cgroup").glob(f"*/lxc.*.{name}"):
            remove_cgroup(d)
    return pids


def instances_in(run_dir: Path) -> list[str]:
    if not run_dir.is_dir():
        return []
    out = []
    for f in run_dir.glob(f"*/{INSTANCE_FILE}"):
        with contextlib.suppress(OSError):
            out += f.read_text().split()
    return out


def leftover_cgroups(names: list[str]) -> list[Path]:
    return [d for n in names for d in Path("/sys/fs/cgroup").glob(f"*/lxc.*.{n}")]
