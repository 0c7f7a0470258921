"""The control socket: a unix stream socket speaking JSON lines (docs/daemon.md).

Requests on one connection are answered in order, one line each. Clients may pipeline (send
many requests before reading answers); the server reads on while the client keeps reading, and
pauses reading only while the client leaves more than :data:`ANSWER_BACKLOG` octets of answers
unread, so a client that never reads stalls itself, not the daemon.
"""

from __future__ import annotations

import asyncio
import contextlib
import grp
import logging
import os
import socket
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from .config_model import ControlConfig
from .control_protocol import RequestError, decode_request, encode

log = logging.getLogger("bgpspeak.daemon.control")
LINE_LIMIT = 16 * 1024 * 1024
ANSWER_BACKLOG = 1024 * 1024

Handler = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]


class ControlSocketError(Exception):
    """The socket cannot be created (in use by a running daemon, no permission...)."""


class ControlServer:
    def __init__(self, config: ControlConfig, handler: Handler) -> None:
        self.config = config
        self.path = Path(config.socket)
        self._handler = handler
        self._server: asyncio.base_events.Server | None = None
        self.requests = 0

    async def start(self) -> None:
        path = self.path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise ControlSocketError(f"control socket {path}: {e.strerror or e}") from None
        if path.exists() or path.is_symlink():
            if _in_use(path):
                raise ControlSocketError(
                    f"control socket {path} is in use: is another bgpspeak running?"
                )
            path.unlink()  # left by a daemon that did not exit cleanly
        gid = -1
        if self.config.group:
            try:
                gid = grp.getgrnam(self.config.group).gr_gid
            except KeyError:
                raise ControlSocketError(f"control.group: no group {self.config.group!r}") from None
        old_umask = os.umask(0o077)  # never world-accessible, not even for an instant
        try:
            self._server = await asyncio.start_unix_server(
                self._client, path=str(path), limit=LINE_LIMIT
            )
        except OSError as e:
            raise ControlSocketError(f"control socket {path}: {e.strerror or e}") from None
        finally:
            os.umask(old_umask)
        try:
            if gid != -1:
                os.chown(path, -1, gid)
            os.chmod(path, self.config.mode)
        except OSError as e:
            await self.close()
            raise ControlSocketError(f"control socket {path}: {e.strerror or e}") from None

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 1)
            self._server = None
            with contextlib.suppress(OSError):
                self.path.unlink()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                try:
                    line = await reader.readline()
                except ValueError:
                    writer.write(encode({"ok": False, "error": "request line too long"}))
                    break
                if not line:
                    break
                if not line.strip():
                    continue
                self.requests += 1
                writer.write(encode(await self._answer(line)))
                if writer.transport.get_write_buffer_size() > ANSWER_BACKLOG:
                    await writer.drain()
            await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    async def _answer(self, line: bytes) -> dict[str, Any]:
        req_id: Any = None
        try:
            req = decode_request(line)
            req_id = req.get("id")
            answer = await self._handler(req)
            answer.setdefault("ok", True)
        except RequestError as e:
            answer = {"ok": False, "error": str(e)}
        except Exception as e:  # a bug must not kill the connection or the daemon
            log.exception("control request failed: %r", line[:200])
            answer = {"ok": False, "error": f"internal error: {e}"}
        if req_id is not None:
            answer["id"] = req_id
        return answer


def _in_use(path: Path) -> bool:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.settimeout(1)
        s.connect(str(path))
        return True
    except OSError:
        return False
    finally:
        s.close()
