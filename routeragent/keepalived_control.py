"""keepalived from the outside: is it running, config test, reload, which virtual addresses
are on the interface, the track files, and the notify FIFO.

The virtual address on the interface is the truth about mastership (it is what hosts on the
LAN use); the FIFO only wakes the agent up early and is shown in status as a hint.
"""

from __future__ import annotations

import json
import os
import re
import signal
import stat
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from routeragent.config_model import VrrpInstance
from routeragent.files import read_text, write_atomic


class KeepalivedError(Exception):
    pass


def read_pid(pid_file: Path | None) -> int | None:
    if pid_file is None:
        return None
    text = read_text(pid_file)
    try:
        return int(text.split()[0]) if text else None
    except ValueError:
        return None


def running_pid(pid_file: Path | None, proc: Path = Path("/proc")) -> int | None:
    """The pid in ``pid_file`` if that process is a live keepalived. A stale pid file whose
    number now belongs to another process must never get our SIGHUP."""
    pid = read_pid(pid_file)
    if pid is None:
        return None
    try:
        comm = (proc / str(pid) / "comm").read_text().strip()
        state = (proc / str(pid) / "stat").read_text().rsplit(") ", 1)[1][:1]
    except (OSError, IndexError):
        return None
    if comm != "keepalived" or state in ("Z", "X"):
        return None
    return pid


def check_config(binary: str, text: str, timeout: float = 10.0) -> None:
    """``keepalived -t``: raises with keepalived's own words when it rejects the file. Run in
    the router's network namespace: keepalived rejects interfaces that do not exist."""
    with tempfile.NamedTemporaryFile("w", suffix=".conf", prefix="routeragent-keepalived-") as f:
        f.write(text)
        f.flush()
        try:
            r = subprocess.run(
                [binary, "-t", "-f", f.name],
                capture_output=True,
                text=True,
                timeout=timeout,
                stdin=subprocess.DEVNULL,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise KeepalivedError("keepalived -t timed out") from None
        except OSError as e:
            raise KeepalivedError(f"cannot run {binary}: {e.strerror}") from None
    if r.returncode != 0:
        lines = [ln.strip() for ln in (r.stdout + r.stderr).splitlines() if ln.strip()]
        lines = [ln.replace(f.name, "<rendered>") for ln in dict.fromkeys(lines)]
        raise KeepalivedError(
            f"keepalived -t rejected the rendered config (exit {r.returncode}): "
            + " | ".join(lines)
        )


def reload(pid_file: Path | None) -> None:
    pid = running_pid(pid_file)
    if pid is None:
        raise KeepalivedError(f"keepalived not running (pid file {pid_file})")
    os.kill(pid, signal.SIGHUP)


# --------------------------------------------------------------------------- addresses


def interface_addresses(interface: str) -> set[str] | None:
    """The addresses on ``interface`` (None if it does not exist)."""
    try:
        r = subprocess.run(
            ["ip", "-j", "addr", "show", "dev", interface],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if r.returncode != 0:
        return None
    out: set[str] = set()
    try:
        for link in json.loads(r.stdout or "[]"):
            for a in link.get("addr_info", []):
                if "local" in a:
                    out.add(str(a["local"]))
    except (ValueError, TypeError, AttributeError):
        return None  # unreadable: "not known to hold" rather than a crashed pass
    return out


def vip_presence(inst: VrrpInstance, present: set[str] | None) -> tuple[bool, bool]:
    """(holds, partial): ``holds`` when every advertised virtual address is on the interface;
    ``partial`` when some of the instance's addresses are there and some are not."""
    if present is None:
        return False, False
    have = [str(a.ip) in present for a in inst.addresses]
    adv = [str(a.ip) in present for a in inst.advertised]
    holds = all(adv)
    return holds, any(have) and not all(have)


# --------------------------------------------------------------------------- track files


def track_read(path: Path) -> int | None:
    text = read_text(path)
    if text is None:
        return None
    try:
        return int(text.strip())
    except ValueError:
        return None


def track_write(path: Path, value: int) -> None:
    # keepalived watches the directory with inotify and re-reads on the rename
    write_atomic(path, f"{value}\n")


# --------------------------------------------------------------------------- notify FIFO

_FIFO_LINE = re.compile(r'^(INSTANCE|GROUP)\s+"?([^"\s]+)"?\s+(\S+)\s+(\d+)\s*$')


@dataclass(frozen=True)
class FifoEvent:
    kind: str
    name: str
    state: str
    priority: int


def parse_fifo_line(line: str) -> FifoEvent | None:
    """``INSTANCE "lan" MASTER 200`` (state changes) and ``INSTANCE "lan" MASTER_PRIORITY 50``
    (priority changes, with ``vrrp_notify_priority_changes``)."""
    m = _FIFO_LINE.match(line.strip())
    if not m:
        return None
    return FifoEvent(m.group(1), m.group(2), m.group(3), int(m.group(4)))


class NotifyFifo:
    """Non-blocking reader of keepalived's notify FIFO. Opened read-write so it never sees
    end-of-file when keepalived restarts, and so keepalived's writes never fail for want of a
    reader while the agent runs."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.fd: int | None = None
        self._buf = b""

    def open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            st = self.path.stat()
            if not stat.S_ISFIFO(st.st_mode):
                raise KeepalivedError(f"{self.path} exists and is not a FIFO")
        except FileNotFoundError:
            os.mkfifo(self.path, 0o600)
        self.fd = os.open(self.path, os.O_RDWR | os.O_NONBLOCK | os.O_CLOEXEC)

    def fileno(self) -> int:
        if self.fd is None:
            raise KeepalivedError("FIFO not open")
        return self.fd

    def read_events(self) -> list[FifoEvent]:
        if self.fd is None:
            return []
        while True:
            try:
                chunk = os.read(self.fd, 65536)
            except BlockingIOError:
                break
            if not chunk:
                break
            self._buf += chunk
        *lines, self._buf = self._buf.split(b"\n")
        events = [parse_fifo_line(ln.decode(errors="replace")) for ln in lines]
        return [e for e in events if e is not None]

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None
