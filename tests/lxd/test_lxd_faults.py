"""LXD failing in the ways a real one does, seen through the real reader (pylxd over a unix
socket) against a small fake LXD: no socket, HTTP errors, answers that are not JSON or not
LXD's shape, a server that accepts and never answers, one that drops the connection. Each is
:class:`LxdUnavailable` within the configured timeout (never a hang, never another exception:
the announcer keeps what it announces on that, see test_lxd_service.py), and the same reader
reads again once LXD is back."""

from __future__ import annotations

import json
import socketserver
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest

from routeragent.lxd.config_model import LxdSettings
from routeragent.lxd.lxd_reader import LxdReader, LxdUnavailable

pytestmark = pytest.mark.timeout(60)

SERVER = {"auth": "trusted", "api_extensions": [], "environment": {"server_name": "lxd1"}}


class FakeLxd(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, path: Path) -> None:
        self.mode = "ok"
        self.requests: list[str] = []
        self.release = threading.Event()  # ends the "hang" answers at teardown
        super().__init__(str(path), Handler)


class Handler(BaseHTTPRequestHandler):
    server: FakeLxd

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def address_string(self) -> str:  # a unix socket has no client address
        return "unix"

    def _send(self, code: int, body: bytes, ctype: str = "application/json") -> None:
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        self.server.requests.append(self.path)
        mode = self.server.mode
        if mode == "hang":
            self.server.release.wait(30)
            return
        if mode == "drop":
            self.connection.close()
            return
        if mode == "http500":
            body = {"type": "error", "error": "database is locked", "error_code": 500}
            self._send(500, json.dumps(body).encode())
            return
        if mode == "garbage":
            self._send(200, b"<html>502 Bad Gateway</html>", "text/html")
            return
        if mode == "shape":
            self._send(200, json.dumps({"type": "sync", "status_code": 200}).encode())
            return
        path = self.path.split("?")[0].rstrip("/")
        meta: Any = SERVER if path == "/1.0" else []
        body = {"type": "sync", "status": "Success", "status_code": 200, "metadata": meta}
        self._send(200, json.dumps(body).encode())


@pytest.fixture
def lxd(tmp_path: Path) -> Iterator[FakeLxd]:
    server = FakeLxd(tmp_path / "unix.socket")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.release.set()
        server.shutdown()
        server.server_close()


def reader(path: Path, timeout: float = 1.0) -> LxdReader:
    return LxdReader(LxdSettings(socket=path, timeout=timeout))


def test_fake_lxd_reads(lxd: FakeLxd, tmp_path: Path) -> None:
    raw = reader(tmp_path / "unix.socket").read()
    assert raw["server"]["environment"]["server_name"] == "lxd1"
    assert raw["instances"] == [] and raw["networks"] == {"default": []}


def test_no_socket(tmp_path: Path) -> None:
    with pytest.raises(LxdUnavailable, match="no LXD socket at"):
        reader(tmp_path / "missing.socket").read()


@pytest.mark.parametrize(
    ("mode", "message"),
    [
        ("http500", "database is locked"),
        ("garbage", ""),
        ("shape", "metadata"),
        ("drop", ""),
        ("hang", "timed out"),
    ],
)
def test_lxd_faults_are_unavailable_in_time_and_the_reader_recovers(
    lxd: FakeLxd, tmp_path: Path, mode: str, message: str
) -> None:
    r = reader(tmp_path / "unix.socket", timeout=1.0)
    r.read()  # connected and working
    lxd.mode = mode
    t0 = time.monotonic()
    with pytest.raises(LxdUnavailable) as err:
        r.read()
    took = time.monotonic() - t0
    assert took < 5.0, f"{mode}: {took:.1f} s"
    assert message in str(err.value), str(err.value)
    assert str(err.value).startswith(("GET /1.0", "cannot connect to LXD")), str(err.value)
    lxd.release.set()
    lxd.mode = "ok"
    assert r.read()["server"]["auth"] == "trusted"  # the same reader, reconnected


def test_lxd_hanging_at_connect(lxd: FakeLxd, tmp_path: Path) -> None:
    lxd.mode = "hang"
    t0 = time.monotonic()
    with pytest.raises(LxdUnavailable, match="cannot connect to LXD"):
        reader(tmp_path / "unix.socket", timeout=1.0).read()
    assert time.monotonic() - t0 < 5.0
