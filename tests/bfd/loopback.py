"""Two BFD systems on one host for tests: 127.0.0.1 and 127.0.0.2 share a free UDP port, each
listening on its own address. The remote one can run in a child process, so a test can
SIGKILL it like a crashed router."""

from __future__ import annotations

import ipaddress
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from bgpspeak.bfd import BfdService, SessionKey, SessionParams

LOCAL = ipaddress.IPv4Address("127.0.0.1")
REMOTE = ipaddress.IPv4Address("127.0.0.2")
MS = 1000
ROOT = Path(__file__).resolve().parents[2]


def free_udp_port() -> int:
    """A port free on both loopback addresses (so both services can bind it)."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as t:
                t.bind(("127.0.0.2", port))
            return port
        except OSError:
            continue
    raise RuntimeError("no free UDP port on 127.0.0.1 and 127.0.0.2")


def local_service(port: int, **kw: object) -> BfdService:
    return BfdService(single_hop_port=port, listen_v4=str(LOCAL), **kw)  # type: ignore[arg-type]


def remote_service(port: int, **kw: object) -> BfdService:
    return BfdService(single_hop_port=port, listen_v4=str(REMOTE), **kw)  # type: ignore[arg-type]


LOCAL_KEY = SessionKey(REMOTE, local=LOCAL)  # our session, toward the remote
REMOTE_KEY = SessionKey(LOCAL, local=REMOTE)

_CHILD = """
import asyncio, sys
from bgpspeak.bfd import BfdService, SessionKey, SessionParams
import ipaddress
port, tx, rx, mult = (int(a) for a in sys.argv[1:5])
async def main():
    svc = BfdService(single_hop_port=port, listen_v4="127.0.0.2", dedicated_thread=False)
    svc.add(SessionKey(ipaddress.ip_address("127.0.0.1"), local=ipaddress.ip_address("127.0.0.2")),
            SessionParams(tx, rx, mult))
    await svc.start()
    print("started", flush=True)
    await asyncio.Event().wait()
asyncio.run(main())
"""


class RemoteProcess:
    """The remote BFD system in a child process."""

    def __init__(self, port: int, params: SessionParams) -> None:
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-c",
                _CHILD,
                str(port),
                str(params.desired_min_tx),
                str(params.required_min_rx),
                str(params.detect_mult),
            ],
            stdout=subprocess.PIPE,
            env=env,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if b"started" not in line:
            self.kill()
            raise RuntimeError(f"remote BFD did not start: {line!r}")

    def kill(self) -> float:
        """SIGKILL; returns time.monotonic() of the kill."""
        at = time.monotonic()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(5)
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        return at
