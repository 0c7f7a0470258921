"""Helper programs that speak ExaBGP's API: commands from their stdout, answers and JSON events
to their stdin.

Two rules keep a misbehaving helper from hurting the daemon:

* nothing here ever waits on a helper's stdin. Acknowledgements and events are written without
  ``drain()``; when a helper stops reading and its pipe holds more than :data:`STDIN_BACKLOG`
  octets, further output to it is dropped (and logged once) instead of wedging the event loop;
* a helper's routes live and die with it: when it exits they are withdrawn (a dead health-check
  script can no longer withdraw anything itself), and it is started again with a backoff.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
from collections.abc import Callable

from ..speaker_events import Event
from .config_model import ProcessConfig
from .exabgp_apply import ExaSource, Request
from .exabgp_json import Header, NeighborInfo, event_json, event_kind
from .exabgp_text import ExaParseError, parse_line
from .route_table import IPAddress, Op

log = logging.getLogger("bgpspeak.daemon.processes")
STDIN_BACKLOG = 4 * 1024 * 1024
LINE_LIMIT = 16 * 1024 * 1024  # `announce attributes ... nlri` lines can be long
BACKOFF_MAX = 60.0
STOP_GRACE = 5.0

# answers lines for a request, or raises ExaParseError
RequestHandler = Callable[[Request], list[str]]


class ProcessRunner:
    def __init__(
        self,
        config: ProcessConfig,
        exa: ExaSource,
        apply: Callable[[list[Op]], None],
        requests: RequestHandler,
        neighbor_info: Callable[[IPAddress], NeighborInfo],
        hostname: str,
    ) -> None:
        self.config = config
        self.exa = exa
        self._apply = apply
        self._requests = requests
        self._neighbor_info = neighbor_info
        self._hostname = hostname
        self._proc: asyncio.subprocess.Process | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._dropping = False
        self.commands = 0
        self.errors = 0
        self.starts = 0
        self._counter = 0

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(
            self._supervise(), name=f"process:{self.config.name}"
        )

    async def stop(self) -> None:
        self._stopping = True
        proc = self._proc
        if proc is not None and proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), STOP_GRACE)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                await proc.wait()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self._apply(self.exa.clear())

    # --- events to the helper -------------------------------------------------------------------

    def on_event(self, event: Event) -> None:
        kind = event_kind(event)
        if kind is None or kind not in self.config.events:
            return
        self._counter += 1
        loop = asyncio.get_running_loop()
        header = Header(
            time=round(loop.time(), 6),
            host=self._hostname,
            pid=os.getpid(),
            ppid=os.getppid(),
            counter=self._counter,
        )
        msg = event_json(event, self._neighbor_info(event.peer), header)
        if msg is not None:
            self._write(json.dumps(msg, separators=(", ", ": ")) + "\n")

    def _write(self, text: str) -> None:
        proc = self._proc
        if proc is None or proc.stdin is None or proc.stdin.is_closing():
            return
        transport = proc.stdin.transport
        if transport.get_write_buffer_size() > STDIN_BACKLOG:
            if not self._dropping:
                log.warning(
                    "process %s does not read its stdin: dropping acknowledgements and events "
                    "for it (set ack = false if it never reads)",
                    self.config.name,
                )
                self._dropping = True
            return
        self._dropping = False
        with contextlib.suppress(ConnectionError, RuntimeError):
            proc.stdin.write(text.encode())

    # --- commands from the helper -----------------------------------------------------------

    def handle_line(self, line: str) -> None:
        text = line.strip()
        if not text or text.startswith("#"):
            return
        self.commands += 1
        answer: list[str] = []
        try:
            ops, requests = self.exa.apply(parse_line(text))
            self._apply(ops)
            for r in requests:
                answer += self._requests(r)
        except ExaParseError as e:
            self.errors += 1
            log.warning("process %s: %s: %s", self.config.name, text[:200], e)
            if self.config.ack:
                self._write("error\n")
            return
        if self.config.ack:
            self._write("".join(f"{a}\n" for a in answer) + "done\n")

    async def _supervise(self) -> None:
        backoff = 1.0
        loop = asyncio.get_running_loop()
        while not self._stopping:
            started = loop.time()
            try:
                await self._run_once()
            except OSError as e:
                log.error(
                    "process %s: cannot start %s: %s", self.config.name, self.config.run[0], e
                )
            self._apply(self.exa.clear())
            if self._stopping or not self.config.respawn:
                return
            if loop.time() - started > BACKOFF_MAX:
                backoff = 1.0
            log.warning("process %s: starting again in %.0f s", self.config.name, backoff)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, BACKOFF_MAX)

    async def _run_once(self) -> None:
        env = dict(os.environ, BGPSPEAK_PROCESS=self.config.name)
        proc = await asyncio.create_subprocess_exec(
            *self.config.run,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            limit=LINE_LIMIT,
            env=env,
        )
        self._proc = proc
        self._dropping = False
        self.starts += 1
        log.info("process %s started (pid %d)", self.config.name, proc.pid)
        assert proc.stdout is not None
        try:
            while True:
                try:
                    raw = await proc.stdout.readline()
                except ValueError:  # a line beyond LINE_LIMIT
                    log.error(
                        "process %s: line longer than %d octets", self.config.name, LINE_LIMIT
                    )
                    self.errors += 1
                    break
                if not raw:
                    break
                self.handle_line(raw.decode(errors="replace"))
        finally:
            code = await proc.wait()
            self._proc = None
            if not self._stopping:
                log.warning("process %s (pid %d) exited with %s", self.config.name, proc.pid, code)
