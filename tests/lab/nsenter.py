"""Running our own Python code inside a network namespace.

Three ways, for three needs (tests/lab/README.md explains when to use which):

* ``entered(name)``: switch the *calling thread* into the namespace and back. Linux keeps the
  network namespace per thread and sockets keep the namespace they were created in, so an
  asyncio test whose body runs inside ``with entered(...)`` creates every socket (listeners,
  outgoing connections, reconnects) inside the namespace while the test keeps direct access to
  the Python objects. Threads started while inside inherit the namespace.
* ``NsProcess``: a forked child that enters the namespace and runs a callable; a separate
  process the test can SIGKILL (a speaker "crash") and start again.
* ``ip netns exec`` (see ``netns.Namespace.popen``): any program, e.g. ``python -c``.

Python 3.11 has no ``os.setns`` (3.12 adds it), hence ctypes.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import ctypes
import multiprocessing
import multiprocessing.connection
import os
import signal
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

CLONE_NEWNET = 0x40000000
NETNS_DIR = Path("/run/netns")

_libc = ctypes.CDLL(None, use_errno=True)


def setns(fd: int) -> None:
    """Move the calling thread into the network namespace behind ``fd``."""
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"setns: {os.strerror(err)}")


def _enter(name: str) -> None:
    fd = os.open(NETNS_DIR / name, os.O_RDONLY | os.O_CLOEXEC)
    try:
        setns(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def entered(name: str) -> Iterator[None]:
    """Run the body with the calling thread inside namespace ``name``; always switch back.

    Called from a coroutine, it also gives the running loop a fresh default executor for the
    body: asyncio resolves anything that is not a plain IP literal (``fe80::1%eth0``, host
    names) with ``getaddrinfo`` in that executor's threads, and threads created earlier would
    look interface names up in the host namespace. The previous executor is put back after.
    """
    try:
        loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
    except RuntimeError:
        loop = None
    home = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    try:
        _enter(name)
        try:
            if loop is None:
                yield
            else:
                with _namespace_executor(loop, name):
                    yield
        finally:
            setns(home)
    finally:
        os.close(home)


@contextlib.contextmanager
def _namespace_executor(loop: asyncio.AbstractEventLoop, name: str) -> Iterator[None]:
    # ThreadPoolExecutor starts its threads lazily, from the submitting thread (this one, now
    # inside the namespace), and new threads inherit the creator's namespace.
    previous = getattr(loop, "_default_executor", None)  # CPython keeps it there; no public getter
    inside = concurrent.futures.ThreadPoolExecutor(thread_name_prefix=f"netns-{name}")
    loop.set_default_executor(inside)
    try:
        yield
    finally:
        loop._default_executor = previous  # type: ignore[attr-defined]
        inside.shutdown(wait=False)


def current_netns_inode() -> int:
    """Identity of the calling thread's network namespace (for tests of this module)."""
    return os.stat("/proc/thread-self/ns/net").st_ino


def _exit_on_signal(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


def _child_main(
    name: str,
    fn: Callable[..., Any],
    args: tuple[Any, ...],
    conn: multiprocessing.connection.Connection,
) -> None:
    # SIGTERM from NsProcess.stop must end the child through Python so finally blocks and
    # asyncio shutdown code in fn run (default SIGTERM would skip them).
    signal.signal(signal.SIGTERM, _exit_on_signal)
    try:
        _enter(name)
        result = fn(*args)
    except BaseException:
        conn.send(("error", traceback.format_exc()))
        raise
    conn.send(("ok", result))


class NsProcess:
    """A forked child running ``fn(*args)`` inside a namespace; its return value (picklable)
    comes back through a pipe. Fork, not spawn: closures and fixtures' objects work as
    arguments without pickling."""

    def __init__(self, name: str, fn: Callable[..., Any], *args: Any) -> None:
        ctx = multiprocessing.get_context("fork")
        self._recv, send = ctx.Pipe(duplex=False)
        self.process = ctx.Process(target=_child_main, args=(name, fn, args, send), daemon=True)
        self.process.start()
        send.close()
        self._outcome: tuple[str, Any] | None = None

    @property
    def pid(self) -> int:
        pid = self.process.pid
        assert pid is not None
        return pid

    def alive(self) -> bool:
        return self.process.is_alive()

    def result(self, timeout: float) -> Any:
        """Wait for ``fn`` to return and give its value; raise if it failed or timed out."""
        if self._outcome is None:
            if not self._recv.poll(timeout):
                raise TimeoutError(f"namespace child {self.pid} gave no result in {timeout}s")
            try:
                self._outcome = self._recv.recv()
            except EOFError:
                self.process.join(1.0)
                raise RuntimeError(
                    f"namespace child {self.pid} died (exit {self.process.exitcode})"
                ) from None
        kind, value = self._outcome
        if kind == "error":
            raise RuntimeError(f"namespace child failed:\n{value}")
        return value

    def stop(self, timeout: float = 5.0) -> None:
        """SIGTERM (runs the child's cleanup), SIGKILL after ``timeout``."""
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(timeout)
        self.kill()

    def kill(self) -> None:
        if self.process.is_alive():
            self.process.kill()
        self.process.join(5.0)
        self._recv.close()


def call_in(name: str, fn: Callable[..., Any], *args: Any, timeout: float = 30.0) -> Any:
    """Run ``fn(*args)`` in a forked child inside namespace ``name`` and return its value."""
    child = NsProcess(name, fn, *args)
    try:
        return child.result(timeout)
    finally:
        child.stop()
