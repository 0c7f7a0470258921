"""Processes: bounded command runs and daemons we can always stop.

Every external command gets a timeout (a wedged ``vtysh`` or ``ip`` must fail a test, not hang
CI), and every daemon is started in the foreground as our own child so we know its pid without
trusting it to daemonize correctly, can see it die early, and can reap it. Pid files are still
written (by the daemon, or by us) because the crashed-run sweeper only has the file system to go
on.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path


class CommandError(RuntimeError):
    """A command failed or timed out; carries everything needed to understand why."""

    def __init__(self, argv: Sequence[str], detail: str) -> None:
        super().__init__(f"{' '.join(argv)}: {detail}")
        self.argv = list(argv)


def run(
    argv: Sequence[str],
    *,
    timeout: float = 10.0,
    check: bool = True,
    stdin: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run a command to completion with a hard timeout; ``check`` raises on a non-zero exit."""
    try:
        done = subprocess.run(
            list(argv),
            input=stdin,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise CommandError(argv, f"no answer within {timeout:.1f}s") from exc
    if check and done.returncode != 0:
        raise CommandError(
            argv,
            f"exit {done.returncode}\nstdout: {done.stdout.strip()}\nstderr: {done.stderr.strip()}",
        )
    return done


def _stat_fields(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # comm (field 2) may contain spaces and parentheses: split after its closing ')'.
    return raw[raw.rindex(")") + 2 :].split()


def pid_alive(pid: int) -> bool:
    """True if ``pid`` is a running process (a zombie counts as gone: it cannot do harm)."""
    fields = _stat_fields(pid)
    return fields is not None and fields[0] not in ("Z", "X")


def start_time(pid: int) -> int | None:
    """Kernel start time of ``pid`` in clock ticks: with the pid it identifies a process even
    after pid reuse."""
    fields = _stat_fields(pid)
    return int(fields[19]) if fields is not None else None


def cmdline(pid: int) -> list[str]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def write_pid_file(path: Path, pid: int) -> None:
    """``PID START_TIME``: the start time lets the sweeper trust the file even for processes
    whose command line does not name the run (a forked child, ``sleep``)."""
    path.write_text(f"{pid} {start_time(pid)}\n")


def read_pid_file(path: Path) -> tuple[int, int | None] | None:
    """(pid, start time if recorded) from a daemon's or our own pid file."""
    try:
        fields = path.read_text().split()
    except OSError:
        return None
    if not fields or not fields[0].isdigit():
        return None
    recorded = int(fields[1]) if len(fields) > 1 and fields[1].isdigit() else None
    return int(fields[0]), recorded


def kill_pid(pid: int, *, timeout: float = 5.0) -> None:
    """SIGTERM, wait up to ``timeout``, then SIGKILL: stop a process that is not our child."""
    if pid == os.getpid() or not pid_alive(pid):
        return
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if not pid_alive(pid):
            return
        time.sleep(0.02)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return
    end = time.monotonic() + 2.0
    while pid_alive(pid) and time.monotonic() < end:
        time.sleep(0.02)


class Daemon:
    """One long-running process we started (in the foreground) with its log and pid files."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        *,
        output: Path,
        pid_file: Path,
        own_pid_file: bool,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.output = output
        self.pid_file = pid_file
        with output.open("ab") as out:
            # own session: a Ctrl-C aimed at pytest must not kill daemons behind the teardown's back
            self.popen = subprocess.Popen(
                self.argv,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        if own_pid_file:
            write_pid_file(pid_file, self.popen.pid)

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def exit_status(self) -> int | None:
        return self.popen.poll()

    def stop(self, *, timeout: float = 5.0) -> None:
        """SIGTERM (the daemon's clean shutdown), SIGKILL after ``timeout``; always reaps."""
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(5.0)
        self.pid_file.unlink(missing_ok=True)

    def kill(self) -> None:
        """SIGKILL at once: for tests that need a peer to vanish without a NOTIFICATION."""
        if self.popen.poll() is None:
            self.popen.kill()
            self.popen.wait(5.0)

    def output_tail(self, lines: int = 40) -> str:
        try:
            text = self.output.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])
