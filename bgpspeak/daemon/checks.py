"""Running one health check: a command, a TCP connect or an HTTP GET, bounded by a timeout.

Each returns (passed, detail) and never raises for a failing service: a check that cannot even
start (missing program, refused connection) is a failure like any other, with the reason in
the detail for ``show services``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os

from .config_model import Check, CommandCheck, HttpCheck, TcpCheck

Result = tuple[bool, str]


async def run_check(check: Check, timeout: float) -> Result:
    try:
        if isinstance(check, CommandCheck):
            return await _command(check, timeout)
        if isinstance(check, TcpCheck):
            return await asyncio.wait_for(_tcp(check), timeout)
        return await asyncio.wait_for(_http(check), timeout)
    except TimeoutError:
        return False, f"timeout after {timeout:g} s"
    except OSError as e:
        return False, e.strerror or str(e)


async def _command(check: CommandCheck, timeout: float) -> Result:
    proc = await asyncio.create_subprocess_exec(
        *check.argv,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
        start_new_session=True,  # a timeout kills the whole group, not just the shell
    )
    try:
        _, err = await asyncio.wait_for(proc.communicate(), timeout)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, 9)
        await proc.wait()
        raise
    if proc.returncode == 0:
        return True, "exit 0"
    tail = err.decode(errors="replace").strip().splitlines()[-1:] if err else []
    return False, f"exit {proc.returncode}" + (f": {tail[0][:200]}" if tail else "")


async def _tcp(check: TcpCheck) -> Result:
    _, writer = await asyncio.open_connection(check.host, check.port)
    writer.close()
    with contextlib.suppress(ConnectionError):
        await writer.wait_closed()
    return True, f"connected to {check.host}:{check.port}"


async def _http(check: HttpCheck) -> Result:
    reader, writer = await asyncio.open_connection(check.host, check.port)
    try:
        writer.write(
            f"GET {check.path} HTTP/1.0\r\nHost: {check.host_header}\r\n"
            "User-Agent: bgpspeak-healthcheck\r\nConnection: close\r\n\r\n".encode()
        )
        await writer.drain()
        status = await reader.readline()
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()
    parts = status.decode("latin-1").split(None, 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
        return False, f"not an HTTP answer: {status[:60]!r}"
    code = int(parts[1])
    return code in check.expect, f"HTTP {code}"
