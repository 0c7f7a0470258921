"""The CLI's side of the control socket: blocking, one request at a time or pipelined.

:meth:`ControlClient.pipeline` keeps up to ``window`` requests in flight and reads answers as it
goes, which is what makes thousands of acknowledged commands per second possible without either
side ever blocking on a full buffer.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Iterable, Iterator
from typing import Any

from .config_model import DEFAULT_SOCKET
from .control_protocol import encode


class ControlError(Exception):
    """No daemon at the socket, or the connection broke."""


def default_socket() -> str:
    return os.environ.get("BGPSPEAK_SOCKET", DEFAULT_SOCKET)


class ControlClient:
    def __init__(self, path: str | None = None, timeout: float = 60.0) -> None:
        self.path = path or default_socket()
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._sock.settimeout(timeout)
        try:
            self._sock.connect(self.path)
        except OSError as e:
            self._sock.close()
            raise ControlError(
                f"cannot connect to {self.path}: {e.strerror or e} (is bgpspeak running?)"
            ) from None
        self._reader = self._sock.makefile("rb")

    def close(self) -> None:
        self._reader.close()
        self._sock.close()

    def __enter__(self) -> ControlClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _read(self) -> dict[str, Any]:
        try:
            line = self._reader.readline()
        except OSError as e:
            raise ControlError(f"reading from {self.path}: {e}") from None
        if not line:
            raise ControlError(f"{self.path}: the daemon closed the connection")
        answer = json.loads(line)
        if not isinstance(answer, dict):
            raise ControlError(f"{self.path}: unexpected answer {line[:100]!r}")
        return answer

    def request(self, command: str, **fields: Any) -> dict[str, Any]:
        try:
            self._sock.sendall(encode({"command": command, **fields}))
        except OSError as e:
            raise ControlError(f"writing to {self.path}: {e}") from None
        return self._read()

    def pipeline(
        self, requests: Iterable[dict[str, Any]], window: int = 256
    ) -> Iterator[dict[str, Any]]:
        """Answers in request order; at most ``window`` requests unanswered at any time."""
        pending = 0
        batch: list[bytes] = []
        try:
            for req in requests:
                batch.append(encode(req))
                pending += 1
                if pending >= window:
                    self._sock.sendall(b"".join(batch))
                    batch.clear()
                    # read half a window back, then send the next half in one write
                    for _ in range(max(1, window // 2)):
                        yield self._read()
                        pending -= 1
            if batch:
                self._sock.sendall(b"".join(batch))
        except OSError as e:
            raise ControlError(f"writing to {self.path}: {e}") from None
        for _ in range(pending):
            yield self._read()
