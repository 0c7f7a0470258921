"""Real traffic through the lab: an HTTP request from inside a core to the anycast address.

The request runs in a thread of its own that moves itself into the core's network namespace
(``setns``; Linux keeps the namespace per thread, and a socket stays in the namespace it was
created in). The thread ends right after, so no other thread ever runs in the wrong namespace.
Python 3.11 has no ``os.setns``, hence ctypes.
"""

from __future__ import annotations

import ctypes
import http.client
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from routeragent.lab.topology import ANYCAST4, ANYCAST_PORT

CLONE_NEWNET = 0x40000000
NETNS_DIR = Path("/run/netns")
T = TypeVar("T")


def in_namespace(ns: str, fn: Callable[[], T], timeout: float = 5.0) -> T:
    """``fn()`` run by a fresh thread inside network namespace ``ns``."""
    box: dict[str, object] = {}

    def run() -> None:
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            fd = os.open(NETNS_DIR / ns, os.O_RDONLY | os.O_CLOEXEC)
            try:
                if libc.setns(fd, CLONE_NEWNET) != 0:
                    err = ctypes.get_errno()
                    raise OSError(err, f"setns {ns}: {os.strerror(err)}")
            finally:
                os.close(fd)
            box["value"] = fn()
        except BaseException as e:  # handed to the caller's thread
            box["error"] = e

    t = threading.Thread(target=run, name=f"netns-{ns}", daemon=True)
    t.start()
    t.join(timeout)
    if t.is_alive():
        raise TimeoutError(f"no answer within {timeout:g} s in namespace {ns}")
    if "error" in box:
        raise box["error"]  # type: ignore[misc]
    return box["value"]  # type: ignore[return-value]


def anycast_answer(ns: str, source: str, timeout: float = 1.0) -> str:
    """Which host's instance answers the anycast address, asked from ``source`` (an address
    the lab routes back to) inside namespace ``ns``."""

    def get() -> str:
        conn = http.client.HTTPConnection(
            ANYCAST4.split("/")[0], ANYCAST_PORT, timeout=timeout, source_address=(source, 0)
        )
        try:
            conn.request("GET", "/")
            r = conn.getresponse()
            if r.status != 200:
                raise ValueError(f"HTTP {r.status}")
            return r.read().decode().strip()
        finally:
            conn.close()

    return in_namespace(ns, get, timeout + 1.0)
