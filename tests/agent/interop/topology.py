"""The routeragent interop topology: real FRR and keepalived in network namespaces.

    ra<pid>-p1, -p2  provider core routers, AS 64500, eBGP multipath toward us, default route
                   and 198.51.100.0/24 / 2001:db8:200::/48 announced to us
    ra<pid>-r1..r3 our routers, AS 65010, one veth to each core (v4 + v6 sessions), lan0 on the
                   shared bridge, keepalived (VRRPv3, 100 ms adverts) and routeragent each
    ra<pid>-lan    holds the bridge br0 the three lan0 ports hang on

Names carry the pid of the test process, so two runs on one machine (a developer's and CI's)
never touch each other's namespaces or files. Everything lives under ``ROOT``
(/tmp/ra-lab-<pid>): FRR instance dirs, keepalived files, agent config
and state, logs and one pid file per process we start. Teardown kills by pid file, then every
process still inside an ``ra-`` namespace (``ip netns pids``), then deletes the namespaces, so a
run that crashed half-way is cleaned up by the next one (:func:`cleanup_stale`).

Run by hand for exploration (root): ``cd tests && python -m agent.interop.topology up|down``.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from routeragent.lab import configs
from routeragent.lab.topology import PROVIDER_PREFIXES, Uplink

RUN = os.getpid()
ROOT = Path(os.environ.get("RA_LAB_DIR", f"/tmp/ra-lab-{RUN}"))
NS_PREFIX = f"ra{RUN}-"
_RUN_NS = re.compile(r"^ra(\d+)-")
_RUN_DIR = re.compile(r"^ra-lab-(\d+)$")
PROVIDERS = ("p1", "p2")
ROUTERS = ("r1", "r2", "r3")
PROVIDER_AS = 64500
OUR_AS = 65010
OUR_V4 = "203.0.113.0/24"
OUR_V6 = "2001:db8:100::/48"
PROVIDER_V4, PROVIDER_V6 = PROVIDER_PREFIXES  # what core_bgpd announces
VIP4 = "10.50.0.1"
VIP6 = "2001:db8:50::1"
VRID = 51
ROLES = {"r1": "primary", "r2": "secondary", "r3": "tertiary"}
FRR_DAEMONS = ("zebra", "bgpd")
VENV_BIN = Path(sys.executable).parent


def ns(node: str) -> str:
    return NS_PREFIX + node


def idx(node: str) -> int:
    return int(node[1:])


@dataclass(frozen=True)
class Link:
    """The point-to-point link between provider ``p`` and our router ``r``."""

    p: str
    r: str

    @property
    def p_if(self) -> str:
        return self.r  # provider side is named after the router

    @property
    def r_if(self) -> str:
        return "up" + self.p[1:]

    @property
    def p4(self) -> str:
        return f"10.{idx(self.p)}.{idx(self.r)}.1"

    @property
    def r4(self) -> str:
        return f"10.{idx(self.p)}.{idx(self.r)}.2"

    @property
    def p6(self) -> str:
        return f"2001:db8:{idx(self.p)}:{idx(self.r)}::1"

    @property
    def r6(self) -> str:
        return f"2001:db8:{idx(self.p)}:{idx(self.r)}::2"


LINKS = tuple(Link(p, r) for p in PROVIDERS for r in ROUTERS)


def lan4(router: str) -> str:
    return f"10.50.0.{10 + idx(router)}"


def lan6(router: str) -> str:
    return f"2001:db8:50::{10 + idx(router)}"


def sh(
    *args: str, check: bool = True, timeout: float = 30.0, input: str | None = None
) -> subprocess.CompletedProcess[str]:
    r = subprocess.run(
        list(args), capture_output=True, text=True, timeout=timeout, input=input, check=False
    )
    if check and r.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} -> {r.returncode}: {r.stderr.strip()}")
    return r


def in_ns(node: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return sh("ip", "netns", "exec", ns(node), *args, check=check)


# --------------------------------------------------------------------------- cleanup


def _kill_pid(pid: int, sig: int = signal.SIGKILL) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, sig)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie child of ours counts as gone
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _namespaces(prefix: str) -> list[str]:
    out = sh("ip", "netns", "list", check=False).stdout
    return [line.split()[0] for line in out.splitlines() if line.startswith(prefix)]


def our_namespaces() -> list[str]:
    return _namespaces(NS_PREFIX)


def _dead_runs() -> set[int]:
    """Pids of earlier runs whose test process is gone (their namespaces or directories are
    left over from a crash); a live run's are never touched."""
    runs = set()
    for line in sh("ip", "netns", "list", check=False).stdout.splitlines():
        if m := _RUN_NS.match(line):
            runs.add(int(m.group(1)))
    for p in Path("/tmp").glob("ra-lab-*"):
        if m := _RUN_DIR.match(p.name):
            runs.add(int(m.group(1)))
    return {pid for pid in runs - {RUN} if not _alive(pid)}


def _cleanup_run(root: Path, prefix: str) -> None:
    if root.is_dir():
        for pf in root.rglob("*.pid"):
            try:
                pid = int(pf.read_text().split()[0])
            except (OSError, ValueError, IndexError):
                continue
            if str(root) in _cmdline(pid):
                _kill_pid(pid)
    for name in _namespaces(prefix):
        for line in sh("ip", "netns", "pids", name, check=False).stdout.split():
            with contextlib.suppress(ValueError):
                _kill_pid(int(line))
    deadline = time.monotonic() + 5
    for name in _namespaces(prefix):
        while time.monotonic() < deadline and sh("ip", "netns", "pids", name, check=False).stdout:
            time.sleep(0.05)
        sh("ip", "netns", "del", name, check=False)
    shutil.rmtree(root, ignore_errors=True)


def cleanup_stale() -> None:
    """Remove this run's topology and whatever earlier, crashed runs left: processes named by
    their pid files (only if their command line mentions that run's root, so a recycled pid is
    never hit), every process inside their namespaces, the namespaces, the directories."""
    _cleanup_run(ROOT, NS_PREFIX)
    for pid in _dead_runs():
        _cleanup_run(Path(f"/tmp/ra-lab-{pid}"), f"ra{pid}-")


# --------------------------------------------------------------------------- configs
# routeragent lab's builders (routeragent/lab/configs.py), with this topology's settings: the
# routers originate our prefixes themselves (no hosts), the agent runs faster and reports
# metrics. The lab calls the cores core1/core2: the agent's upstream names say so here too.


def _uplinks(node: str) -> list[Uplink]:
    return [Uplink(f"core{idx(lk.p)}", lk.r) for lk in LINKS if node in (lk.p, lk.r)]


def provider_bgpd(p: str, d: Path) -> str:
    return configs.core_bgpd(
        p, d, rid=f"10.255.0.{idx(p)}", uplinks=_uplinks(p), loopback=False, import_check=True
    )


def router_bgpd(r: str, d: Path) -> str:
    """Our router's base config, as an operator would write it. ``bgp ebgp-requires-policy``
    stays on (FRR's default): nothing is exchanged with the cores until routeragent has attached
    its route-maps, so a freshly booted router attracts no traffic before the agent decided."""
    return configs.router_bgpd(
        r,
        d,
        rid=f"10.255.1.{idx(r)}",
        uplinks=_uplinks(r),
        networks=(OUR_V4, OUR_V6),
        maximum_paths=2,
        hosts=False,
    )


def agent_toml(r: str, **policy: Any) -> str:
    pol = {"egress_role": ROLES[r], "ingress_mode": "equal", "takeback_delay": 1.0, **policy}
    return configs.agent_toml(
        r,
        ROOT / r,
        configs.Timers(agent_interval=0.25),
        uplinks=_uplinks(r),
        prefixes=(OUR_V4, OUR_V6),
        policy=pol,
        vtysh_timeout=2.0,
        quiet_pps=30.0,
        metrics_listen="127.0.0.1:9108",
        written_by="tests/agent/interop/topology.py",
    )


# --------------------------------------------------------------------------- the lab


class Lab:
    """The whole topology. :meth:`up` builds it (after cleaning a stale one); :meth:`down`
    removes it and is safe to call at any point, any number of times."""

    def __init__(self) -> None:
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    # ---- building

    def up(self, agents: bool = True) -> None:
        cleanup_stale()
        ROOT.mkdir(parents=True)
        self._namespaces()
        for node in (*PROVIDERS, *ROUTERS):
            self.start_frr(node)
        if agents:
            for r in ROUTERS:
                self.start_stack(r)

    def start_stack(self, r: str) -> None:
        """keepalived and routeragent on router ``r``, in the order a boot would start them."""
        self.write_agent_config(r)
        self.agent_once(r)
        self.start_keepalived(r)
        self.start_agent(r)

    def _namespaces(self) -> None:
        for node in (*PROVIDERS, *ROUTERS, "lan"):
            sh("ip", "netns", "add", ns(node))
            sh("ip", "-n", ns(node), "link", "set", "lo", "up")
        for node in (*PROVIDERS, *ROUTERS):
            # keep_addr_on_down: a link that goes down keeps its IPv6 addresses (Linux flushes
            # them by default), so a scenario's link failure can be undone by bringing it up
            for key in (
                "net.ipv4.ip_forward=1",
                "net.ipv6.conf.all.forwarding=1",
                "net.ipv6.conf.all.keep_addr_on_down=1",
                "net.ipv6.conf.default.keep_addr_on_down=1",
            ):
                in_ns(node, "sysctl", "-qw", key)
        for lk in LINKS:
            # created straight inside the namespaces: no name in the host's, no clash
            sh("ip", "link", "add", lk.p_if, "netns", ns(lk.p), "type", "veth",
               "peer", "name", lk.r_if, "netns", ns(lk.r))  # fmt: skip
            for node, ifname, a4, a6 in (
                (lk.p, lk.p_if, lk.p4, lk.p6),
                (lk.r, lk.r_if, lk.r4, lk.r6),
            ):
                sh("ip", "-n", ns(node), "addr", "add", f"{a4}/24", "dev", ifname)
                sh("ip", "-n", ns(node), "addr", "add", f"{a6}/64", "dev", ifname, "nodad")
                sh("ip", "-n", ns(node), "link", "set", ifname, "up")
        lan = ns("lan")
        sh("ip", "-n", lan, "link", "add", "br0", "type", "bridge")
        sh("ip", "-n", lan, "link", "set", "br0", "up")
        for r in ROUTERS:
            sh("ip", "link", "add", "lan0", "netns", ns(r), "type", "veth",
               "peer", "name", f"p-{r}", "netns", lan)  # fmt: skip
            sh("ip", "-n", lan, "link", "set", f"p-{r}", "master", "br0", "up")
            sh("ip", "-n", ns(r), "addr", "add", f"{lan4(r)}/24", "dev", "lan0")
            sh("ip", "-n", ns(r), "addr", "add", f"{lan6(r)}/64", "dev", "lan0", "nodad")
            sh("ip", "-n", ns(r), "link", "set", "lan0", "up")
            # our prefixes are "behind" the router: traffic for them must not loop back upstream
            sh("ip", "-n", ns(r), "route", "add", "blackhole", OUR_V4)
            sh("ip", "-n", ns(r), "-6", "route", "add", "blackhole", OUR_V6)
        for p in PROVIDERS:
            sh("ip", "-n", ns(p), "route", "add", "blackhole", PROVIDER_V4)
            sh("ip", "-n", ns(p), "-6", "route", "add", "blackhole", PROVIDER_V6)

    # ---- FRR

    def frr_dir(self, node: str) -> Path:
        return ROOT / node / "frr"

    def start_frr(self, node: str) -> None:
        d = self.frr_dir(node)
        d.mkdir(parents=True)
        bgpd = provider_bgpd(node, d) if node in PROVIDERS else router_bgpd(node, d)
        (d / "bgpd.conf").write_text(bgpd)
        (d / "zebra.conf").write_text(configs.zebra_conf(node, d))
        (d / "vtysh.conf").write_text("")
        shutil.chown(d, "frr", "frr")
        d.chmod(0o750)
        for f in d.iterdir():
            shutil.chown(f, "frr", "frr")
            f.chmod(0o640)
        for daemon in FRR_DAEMONS:
            extra = ["-s", "90000000"] if daemon == "zebra" else []
            in_ns(
                node,
                f"/usr/lib/frr/{daemon}",
                "-d",
                "-P",
                "0",
                "-f",
                str(d / f"{daemon}.conf"),
                "-i",
                str(d / f"{daemon}.pid"),
                "-z",
                str(d / "zserv.api"),
                "--vty_socket",
                str(d),
                *extra,
            )
            wait_for(lambda daemon=daemon: (d / f"{daemon}.vty").exists(), 10, f"{node} {daemon}")

    def vtysh(self, node: str, *cmds: str, timeout: float = 10.0) -> str:
        args = ["vtysh", "--vty_socket", str(self.frr_dir(node))]
        for c in cmds:
            args += ["-c", c]
        r = sh(*args, check=False, timeout=timeout)
        return r.stdout + r.stderr

    def vtysh_daemon(self, node: str, daemon: str, cmd: str) -> str:
        r = sh(
            "vtysh", "--vty_socket", str(self.frr_dir(node)), "-d", daemon, "-c", cmd, check=False
        )
        return r.stdout + r.stderr

    def vjson(self, node: str, cmd: str) -> Any:
        return json.loads(self.vtysh(node, cmd))

    def frr_pid(self, node: str, daemon: str) -> int:
        return int((self.frr_dir(node) / f"{daemon}.pid").read_text().strip())

    # ---- keepalived

    def start_keepalived(self, r: str) -> None:
        d = ROOT / r
        for f in ("keepalived.pid", "vrrp.pid"):
            (d / f).unlink(missing_ok=True)
        log = open(d / "keepalived.log", "ab")  # noqa: SIM115 - handed to the child
        proc = subprocess.Popen(
            [
                "ip",
                "netns",
                "exec",
                ns(r),
                "keepalived",
                "-n",
                "-l",
                "-D",
                "-G",
                "-P",
                "-f",
                str(d / "keepalived.conf"),
                "-p",
                str(d / "keepalived.pid"),
                "-r",
                str(d / "vrrp.pid"),
                "-c",
                str(d / "checkers.pid"),
                "-b",
                str(d / "bfd.pid"),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        log.close()
        self.procs[f"keepalived-{r}"] = proc
        wait_for(lambda: (d / "vrrp.pid").exists(), 10, f"keepalived {r} vrrp child")

    def keepalived_pid(self, r: str) -> int:
        return int((ROOT / r / "keepalived.pid").read_text().strip())

    def stop_keepalived(self, r: str) -> None:
        proc = self.procs.pop(f"keepalived-{r}", None)
        if proc is not None:
            proc.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(10)
            if proc.poll() is None:
                proc.kill()
                proc.wait(5)

    # ---- routeragent

    def write_agent_config(self, r: str, text: str | None = None, **policy: Any) -> Path:
        path = ROOT / r / "agent.toml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(agent_toml(r, **policy) if text is None else text)
        return path

    def agent_cmd(self, r: str, *args: str) -> list[str]:
        return [
            "ip", "netns", "exec", ns(r),
            str(VENV_BIN / "routeragent"), *args, "-c", str(ROOT / r / "agent.toml"),
        ]  # fmt: skip

    def agent(
        self, r: str, *args: str, timeout: float = 60.0, check: bool = False
    ) -> subprocess.CompletedProcess[str]:
        return sh(*self.agent_cmd(r, *args), check=check, timeout=timeout)

    def agent_once(self, r: str) -> None:
        """One reconcile pass before keepalived starts: renders keepalived.conf and the
        track files (what a systemd ``ExecStartPre=routeragent run --once`` would do)."""
        self.agent(r, "run", "--once", check=True)

    def start_agent(self, r: str) -> None:
        d = ROOT / r
        log = open(d / "agent.log", "ab")  # noqa: SIM115 - handed to the child
        proc = subprocess.Popen(
            self.agent_cmd(r, "run"),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        log.close()
        (d / "agent.pid").write_text(f"{proc.pid}\n")
        self.procs[f"agent-{r}"] = proc

    def stop_agent(self, r: str, sig: int = signal.SIGTERM) -> int | None:
        proc = self.procs.pop(f"agent-{r}", None)
        if proc is None:
            return None
        # ip netns exec execs the agent, so the pid is the agent's own
        proc.send_signal(sig)
        try:
            return proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            return proc.wait(5)

    def agent_running(self, r: str) -> bool:
        proc = self.procs.get(f"agent-{r}")
        return proc is not None and proc.poll() is None

    # ---- observation helpers for the tests

    def has_vip(self, r: str, vip: str = VIP4) -> bool:
        out = sh("ip", "-n", ns(r), "-o", "addr", "show", "dev", "lan0", check=False).stdout
        return f" {vip}/" in out

    def vip_holders(self, vip: str = VIP4) -> list[str]:
        return [r for r in ROUTERS if self.has_vip(r, vip)]

    def sessions_up(self, r: str) -> int:
        n = 0
        for af in ("ipv4", "ipv6"):
            data = self.vjson(r, f"show bgp {af} unicast summary json")
            n += sum(1 for p in data.get("peers", {}).values() if p.get("state") == "Established")
        return n

    def provider_paths(self, p: str, prefix: str = OUR_V4) -> list[dict[str, Any]]:
        af = "ipv6" if ":" in prefix else "ipv4"
        data = self.vjson(p, f"show bgp {af} unicast {prefix} json")
        paths: list[dict[str, Any]] = data.get("paths", [])
        return paths

    def provider_multipath_peers(self, p: str, prefix: str = OUR_V4) -> set[str]:
        """Our routers (by name) whose path the provider uses: best path plus multipath."""
        used = set()
        for path in self.provider_paths(p, prefix):
            if path.get("bestpath", {}).get("overall") or path.get("multipath"):
                used.add(router_of(path["peer"]["peerId"]))
        return used

    def kernel_nexthops(self, p: str, prefix: str = OUR_V4) -> set[str]:
        fam = "-6" if ":" in prefix else "-4"
        out = sh("ip", "-n", ns(p), fam, "-j", "route", "show", prefix, check=False).stdout
        hops: set[str] = set()
        for route in json.loads(out or "[]"):
            if "gateway" in route:
                hops.add(route["gateway"])
            for nh in route.get("nexthops", []):
                if "gateway" in nh:
                    hops.add(nh["gateway"])
        return hops

    # ---- traffic toward our prefixes (so that a drain has counters to watch)

    def start_traffic(self, p: str, pps: int = 400) -> None:
        """UDP from provider ``p`` to 64 addresses in our prefix: the provider's ECMP hash
        spreads them over the routers it uses."""
        code = (
            "import socket,time\n"
            "s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n"
            f"gap=1.0/{pps}\n"
            "i=0\n"
            "while True:\n"
            "    i+=1\n"
            "    try: s.sendto(b'x'*64,('203.0.113.%d'%(1+i%64),9))\n"
            "    except OSError: pass\n"
            "    time.sleep(gap)\n"
        )
        proc = subprocess.Popen(
            ["ip", "netns", "exec", ns(p), sys.executable, "-c", code, str(ROOT)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        (ROOT / f"traffic-{p}.pid").write_text(f"{proc.pid}\n")
        self.procs[f"traffic-{p}"] = proc

    def stop_traffic(self, p: str) -> None:
        proc = self.procs.pop(f"traffic-{p}", None)
        if proc is not None:
            proc.kill()
            proc.wait(5)

    def rx_packets(self, r: str, ifname: str) -> int:
        out = in_ns(r, "cat", f"/sys/class/net/{ifname}/statistics/rx_packets").stdout
        return int(out.strip())

    # ---- teardown

    def down(self) -> None:
        for key in list(self.procs):
            proc = self.procs.pop(key)
            if proc.poll() is None:
                proc.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(5)
        cleanup_stale()


def router_of(address: str) -> str:
    for lk in LINKS:
        if address in (lk.r4, lk.r6):
            return lk.r
    raise KeyError(address)


def wait_for(pred: Any, timeout: float, what: str, step: float = 0.05) -> float:
    """Poll ``pred`` until true; returns the seconds it took (TimeoutError names ``what``)."""
    t0 = time.monotonic()
    while True:
        if pred():
            return time.monotonic() - t0
        if time.monotonic() - t0 > timeout:
            raise TimeoutError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(step)


@contextlib.contextmanager
def lab(agents: bool = True) -> Iterator[Lab]:
    it = Lab()
    try:
        it.up(agents=agents)
        yield it
    finally:
        it.down()


def main(argv: Sequence[str]) -> int:
    cmd = argv[0] if argv else "up"
    if cmd == "down":
        cleanup_stale()
        return 0
    it = Lab()
    it.up(agents=cmd == "up")
    # leave running for exploration; `down` removes it
    for key, proc in it.procs.items():
        print(f"{key}: pid {proc.pid}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
