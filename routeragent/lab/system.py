"""The lab's contact with the machine: commands, network namespaces, processes, pid files.

Every process the lab starts runs inside one of its namespaces, so ``ip netns pids`` finds all
of them even when the pid files are gone (a crashed ``up``). Pid files still come first when
stopping, because FRR and keepalived clean up after a SIGTERM.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path


class LabError(Exception):
    """Something the lab needed did not happen; the message says what."""


def run(
    argv: Sequence[str], *, check: bool = True, timeout: float = 30.0, input: str | None = None
) -> subprocess.CompletedProcess[str]:
    try:
        r = subprocess.run(
            list(argv), capture_output=True, text=True, timeout=timeout, input=input, check=False
        )
    except subprocess.TimeoutExpired as e:
        raise LabError(f"{' '.join(argv)}: no answer within {timeout:g} s") from e
    except FileNotFoundError as e:
        raise LabError(f"{argv[0]}: not installed ({e})") from e
    if check and r.returncode != 0:
        raise LabError(f"{' '.join(argv)} -> exit {r.returncode}: {r.stderr.strip()}")
    return r


def ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return run(["ip", *args], check=check)


# --------------------------------------------------------------------------- namespaces


def namespaces() -> set[str]:
    out = run(["ip", "netns", "list"], check=False).stdout
    return {line.split()[0] for line in out.splitlines() if line.strip()}


def add_namespace(name: str, forwarding: bool) -> None:
    ip("netns", "add", name)
    ip("-n", name, "link", "set", "lo", "up")
    keys = ["net.ipv6.conf.all.keep_addr_on_down=1", "net.ipv6.conf.default.keep_addr_on_down=1"]
    if forwarding:
        keys += ["net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1"]
    # keep_addr_on_down: a link taken down (router "power cut") keeps its IPv6 addresses, so
    # restore only needs to bring it up again
    run(["ip", "netns", "exec", name, "sysctl", "-qw", *keys])


def veth(ns_a: str, if_a: str, ns_b: str, if_b: str) -> None:
    """A veth pair created directly inside the two namespaces (never in the root namespace,
    so parallel labs cannot collide on interface names)."""
    ip("link", "add", if_a, "netns", ns_a, "type", "veth", "peer", "name", if_b, "netns", ns_b)


def pids_in(ns: str) -> list[int]:
    out = run(["ip", "netns", "pids", ns], check=False).stdout
    return [int(x) for x in out.split() if x.isdigit()]


def delete_namespace(ns: str) -> None:
    kill_namespace(ns)
    ip("netns", "del", ns, check=False)


def kill_namespace(ns: str, timeout: float = 5.0) -> None:
    """SIGKILL every process inside ``ns`` and wait until none is left."""
    deadline = time.monotonic() + timeout
    while True:
        pids = [p for p in pids_in(ns) if alive(p)]
        if not pids:
            return
        for p in pids:
            signal_pid(p, signal.SIGKILL)
        if time.monotonic() > deadline:
            raise LabError(f"processes {pids} in namespace {ns} survive SIGKILL")
        time.sleep(0.05)


# --------------------------------------------------------------------------- processes


def signal_pid(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, sig)


def alive(pid: int) -> bool:
    """Running (a zombie is not: it has exited and only waits to be reaped)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def exited(pid: int) -> bool:
    reap()
    return not alive(pid)


def read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def pid_alive(path: Path) -> bool:
    pid = read_pid(path)
    return pid is not None and alive(pid)


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def spawn(ns: str, argv: Sequence[str], log: Path, pid_file: Path | None = None) -> int:
    """Start ``argv`` inside ``ns``, detached (own session, output to ``log``), so it outlives
    the ``routeragent lab`` command that started it. ``ip netns exec`` execs in place: the pid
    is the program's own."""
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            ["ip", "netns", "exec", ns, *argv],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    if pid_file is not None:
        pid_file.write_text(f"{proc.pid}\n")
    # the lab command may run a while longer; it must not collect zombies of its daemons
    # (and the daemons must not die with it): forget the Popen object, reap in the background
    _detached.append(proc)
    return proc.pid


_detached: list[subprocess.Popen[bytes]] = []


def reap() -> None:
    """Collect children of ours that exited (only matters within one long lab command)."""
    for proc in list(_detached):
        if proc.poll() is not None:
            _detached.remove(proc)


def stop_pid(pid: int, timeout: float = 3.0) -> None:
    """SIGTERM, then SIGKILL once ``timeout`` has passed."""
    signal_pid(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while alive(pid):
        reap()
        if time.monotonic() > deadline:
            signal_pid(pid, signal.SIGKILL)
            deadline = time.monotonic() + timeout
        time.sleep(0.03)


def wait_for(probe: Callable[[], object], timeout: float, what: str, step: float = 0.05) -> float:
    """Poll until ``probe()`` is true; returns the seconds it took. LabError names ``what``."""
    t0 = time.monotonic()
    while True:
        if probe():
            return time.monotonic() - t0
        if time.monotonic() - t0 > timeout:
            raise LabError(f"timed out after {timeout:g} s waiting for {what}")
        reap()
        time.sleep(step)
