"""The running daemon: one speaker, the route table, services, helper processes, the control
socket and the metrics endpoint, wired together on one event loop.

Every decision lives in a pure module; this one only connects them. Signals: SIGHUP reloads
the file (only the difference is applied), SIGTERM and SIGINT stop with a Cease to every peer.
With systemd ``Type=notify`` the daemon reports READY/RELOADING/STOPPING.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import os
import signal
import socket
from dataclasses import replace
from pathlib import Path
from typing import Any

from .. import __version__
from ..neighbor import Neighbor
from ..speaker import EventStream, Speaker
from ..speaker_events import PeerDown, PeerError, PeerUp
from ..wire.errors import CeaseSubcode
from ..wire.family import Family
from ..wire.simple_messages import Notification
from . import control_protocol as cp
from .config_load import ConfigError, load_config
from .config_model import DaemonConfig, ProcessConfig, ServiceConfig
from .control_server import ControlServer
from .exabgp_apply import ExaSource, Request
from .exabgp_json import NeighborInfo
from .exabgp_text import ExaParseError, parse_line
from .metrics import Snapshot, serve_metrics
from .processes import ProcessRunner
from .reload_plan import ReloadPlan, plan_reload
from .route_table import Announce, IPAddress, Op, RouteTable
from .services import ServiceRunner

log = logging.getLogger("bgpspeak.daemon")
SHUTDOWN_FLUSH = 0.2  # seconds for the Cease messages to leave before the loop closes


def sd_notify(state: str) -> None:
    """Tell systemd (``Type=notify``) about readiness; a no-op outside systemd."""
    addr = os.environ.get("NOTIFY_SOCKET")
    if not addr:
        return
    if addr.startswith("@"):
        addr = "\0" + addr[1:]
    with contextlib.suppress(OSError), socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
        s.sendto(state.encode(), addr)


class Daemon:
    def __init__(
        self,
        config: DaemonConfig,
        config_path: Path | None = None,
        metrics: tuple[str, int] | None = None,
    ) -> None:
        self.config = config
        self.config_path = config_path
        self.metrics_listen = metrics or config.metrics
        self.speaker = Speaker(
            config.local_as, config.router_id, listen=config.listen, hostname=config.hostname
        )
        self.table = RouteTable()
        self.api = ExaSource("api", self.table, self._neighbor_addresses)
        self.services: dict[str, ServiceRunner] = {}
        self.processes: dict[str, ProcessRunner] = {}
        self.disabled: set[IPAddress] = set()
        self.errors: dict[str, int] = {}
        self.control = ControlServer(config.control, self.handle)
        self._metrics: asyncio.Server | None = None
        self._stop = asyncio.Event()
        self._started = 0.0
        self._events_task: asyncio.Task[None] | None = None
        self._reload_lock = asyncio.Lock()

    # --- wiring -----------------------------------------------------------------------------

    def _neighbor_addresses(self) -> list[IPAddress]:
        return list(self.speaker.peers)

    def apply(self, ops: list[Op]) -> None:
        """Route table operations to speaker calls."""
        known = self.speaker.peers
        for op in ops:
            peers = None if op.neighbors is None else [n for n in op.neighbors if n in known]
            if peers == []:
                continue  # a neighbor being replaced: scoped_ops gives it its routes when added
            if isinstance(op, Announce):
                self.speaker.announce(op.routes, neighbors=peers)
            else:
                self.speaker.withdraw(op.prefixes, neighbors=peers)

    def _add_peer(self, n: Neighbor) -> None:
        self.speaker.add_neighbor(n)
        self.apply(self.table.scoped_ops(n.ip))

    async def _remove_peer(self, n: Neighbor, keep_routes: bool) -> None:
        await self.speaker.remove_neighbor(n.ip, "removed from the configuration")
        self.disabled.discard(n.ip)
        if not keep_routes:
            self.table.drop_scope(n.ip)
            self.api.forget_neighbor(n.ip)
            for p in self.processes.values():
                p.exa.forget_neighbor(n.ip)

    def neighbor_info(self, addr: IPAddress) -> NeighborInfo:
        try:
            n = self.speaker.peer(addr).neighbor
        except KeyError:  # an event from a neighbor a reload just removed
            return NeighborInfo(str(addr), "", None, self.config.local_as)
        local = str(n.local_address) if n.local_address is not None else ""
        return NeighborInfo(str(addr), local, n.remote_as, self.config.local_as)

    def _start_service(self, svc: ServiceConfig) -> None:
        runner = ServiceRunner(svc, self.table, self.apply, self.config.local_as)
        self.services[svc.name] = runner
        runner.start()

    def _start_process(self, pc: ProcessConfig) -> None:
        exa = ExaSource(f"process:{pc.name}", self.table, self._neighbor_addresses)
        runner = ProcessRunner(
            pc,
            exa,
            self.apply,
            self.exa_request,
            self.neighbor_info,
            self.config.hostname or socket.gethostname(),
        )
        self.processes[pc.name] = runner
        runner.start()

    # --- lifecycle --------------------------------------------------------------------------

    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        self._started = loop.time()
        for n in self.config.peers:
            self._add_peer(n)
        self.apply(self.table.replace("static", self.config.routes))
        events = self.speaker.events()
        await self.control.start()
        try:
            await self.speaker.start()
            if self.metrics_listen is not None:
                host, port = self.metrics_listen
                self._metrics = await serve_metrics(host, port, self.snapshot)
        except OSError as e:
            log.error("cannot listen: %s", e)
            await self.control.close()
            await self.speaker.stop()
            return 1
        self._events_task = loop.create_task(self._dispatch(events))
        for svc in self.config.services:
            self._start_service(svc)
        for pc in self.config.processes:
            self._start_process(pc)
        loop.add_signal_handler(signal.SIGHUP, self._on_sighup)
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self._stop.set)
        log.info(
            "bgpspeak %s running: AS %d, router id %s, %d peers, control socket %s",
            __version__,
            self.config.local_as,
            self.config.router_id,
            len(self.config.peers),
            self.control.path,
        )
        sd_notify("READY=1")
        await self._stop.wait()
        sd_notify("STOPPING=1")
        await self.shutdown()
        return 0

    def request_stop(self) -> None:
        self._stop.set()

    async def shutdown(self) -> None:
        log.info("stopping: Cease to every peer")
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGHUP, signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
        for p in list(self.processes.values()):
            await p.stop()
        for s in list(self.services.values()):
            await s.stop()
        await self.control.close()
        if self._metrics is not None:
            self._metrics.close()
        await self.speaker.stop("bgpspeak shutting down")
        await asyncio.sleep(SHUTDOWN_FLUSH)
        if self._events_task is not None:
            self._events_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._events_task

    async def _dispatch(self, events: EventStream) -> None:
        async for ev in events:
            if isinstance(ev, PeerError):
                key = str(ev.peer)
                self.errors[key] = self.errors.get(key, 0) + 1
                log.warning("peer %s: %s", ev.peer, ev.reason)
            elif isinstance(ev, PeerUp):
                log.info("peer %s: session up", ev.peer)
            elif isinstance(ev, PeerDown):
                log.info("peer %s: session down: %s", ev.peer, ev.reason)
            for p in list(self.processes.values()):
                try:
                    p.on_event(ev)
                except Exception:  # one helper's problem must not stop the others' events
                    log.exception("process %s: cannot deliver %s", p.config.name, ev)

    # --- reload -----------------------------------------------------------------------------

    def _on_sighup(self) -> None:
        asyncio.get_running_loop().create_task(self.reload())

    async def reload(self) -> tuple[bool, list[str]]:
        """Re-read the file and apply the difference; a bad file changes nothing."""
        if self.config_path is None:
            return False, ["no configuration file to reload"]
        async with self._reload_lock:
            sd_notify("RELOADING=1")
            try:
                try:
                    new = load_config(self.config_path)
                except ConfigError as e:
                    for p in e.problems:
                        log.error("reload refused: %s", p)
                    return False, e.problems
                plan = plan_reload(self.config, new)
                await self._apply_plan(plan, new)
                lines = plan.summary() or ["no changes"]
                for line in lines:
                    log.info("reload: %s", line)
                return True, lines
            finally:
                sd_notify("READY=1")

    async def _apply_plan(self, plan: ReloadPlan, new: DaemonConfig) -> None:
        kept = {k: getattr(self.config, k) for k in plan.needs_restart}
        self.config = replace(new, **kept)
        for n in plan.remove_peers:
            await self._remove_peer(n, keep_routes=False)
        for old, n in plan.change_peers:
            await self._remove_peer(old, keep_routes=True)
            self._add_peer(n)
        for n in plan.add_peers:
            self._add_peer(n)
        if plan.routes is not None:
            self.apply(self.table.replace("static", plan.routes))
        for name in plan.stop_services:
            runner = self.services.pop(name)
            await runner.stop()
        for svc in plan.start_services:
            self._start_service(svc)
        for name in plan.stop_processes:
            proc = self.processes.pop(name)
            await proc.stop()
        for pc in plan.start_processes:
            self._start_process(pc)

    # --- peers ------------------------------------------------------------------------------

    def _peer(self, text: str) -> IPAddress:
        addr = ipaddress.ip_address(text)
        if addr not in self.speaker.peers:
            raise cp.RequestError(f"no neighbor {addr} is configured")
        return addr

    def peer_action(self, addr: IPAddress, action: str, message: str = "") -> str:
        peer = self.speaker.peer(addr)
        loop = asyncio.get_running_loop()
        if action == "shutdown":
            peer.stop(Notification.cease(CeaseSubcode.ADMINISTRATIVE_SHUTDOWN, message))
            self.disabled.add(addr)
            return f"{addr}: shut down"
        if action == "enable":
            if addr not in self.disabled:
                return f"{addr}: already enabled"
            self.disabled.discard(addr)
            peer.start(loop)
            return f"{addr}: enabled"
        if action == "reset":
            peer.stop(Notification.cease(CeaseSubcode.ADMINISTRATIVE_RESET, message))
            if addr not in self.disabled:
                peer.start(loop)
            return f"{addr}: reset"
        if action == "refresh":
            neg = peer.negotiated
            if neg is None:
                raise cp.RequestError(f"{addr}: session is not Established")
            asked = [str(f) for f in sorted(neg.families) if peer.request_refresh(f)]
            if not asked:
                raise cp.RequestError(f"{addr}: the neighbor does not support route refresh")
            return f"{addr}: route refresh requested for {', '.join(asked)}"
        raise cp.RequestError(f"unknown peer action {action!r}")

    # --- ExaBGP requests (from processes and the control socket) ----------------------------

    def exa_request(self, r: Request) -> list[str]:
        if r.kind == "refresh":
            fam = r.family or Family(1, 1)
            for addr in r.neighbors or self._neighbor_addresses():
                self.speaker.refresh(addr, fam)
            return []
        if r.kind == "teardown":
            for addr in r.neighbors or self._neighbor_addresses():
                self.speaker.peer(addr).stop(Notification.cease(r.code or 2, "teardown"))
                if addr not in self.disabled:
                    self.speaker.peer(addr).start(asyncio.get_running_loop())
            return []
        if r.kind == "version":
            return [f"bgpspeak {__version__}"]
        if r.kind == "shutdown":
            self.request_stop()
            return []
        if r.kind == "reload":
            asyncio.get_running_loop().create_task(self.reload())
            return []
        if r.kind == "show neighbor summary" or r.kind == "show neighbor":
            return [
                f"neighbor {s.address} as {s.remote_as} {s.state.lower()} "
                f"received {s.received} sent {s.advertised}"
                for s in self.speaker.status()
            ]
        raise ExaParseError(f"{r.kind!r} is not supported")

    # --- control socket ---------------------------------------------------------------------

    async def handle(self, req: dict[str, Any]) -> dict[str, Any]:
        cmd = req["command"]
        if cmd == "ping":
            return {"version": __version__, "protocol": cp.PROTOCOL_VERSION}
        if cmd == "announce":
            routes = cp.request_routes(req)
            peer = cp.request_peer(req)
            scope = self._peer(peer) if peer else None
            self.apply(self.table.update("api", announce=routes, scope=scope))
            return {"announced": len(routes)}
        if cmd == "withdraw":
            prefixes = cp.request_prefixes(req)
            peer = cp.request_peer(req)
            scope = self._peer(peer) if peer else None
            self.apply(self.table.update("api", withdraw=prefixes, scope=scope))
            return {"withdrawn": len(prefixes)}
        if cmd == "exabgp":
            line = req.get("line")
            if not isinstance(line, str):
                raise cp.RequestError("'line' must be a string")
            try:
                ops, requests = self.api.apply(parse_line(line))
                self.apply(ops)
                out: list[str] = []
                for r in requests:
                    out += self.exa_request(r)
            except ExaParseError as e:
                raise cp.RequestError(str(e)) from None
            return {"output": out} if out else {}
        if cmd == "show-peers":
            return {
                "peers": [
                    cp.peer_json(s, s.address not in self.disabled) for s in self.speaker.status()
                ]
            }
        if cmd == "show-routes":
            return {"routes": self._show_routes(cp.request_peer(req))}
        if cmd == "show-rib-in":
            addr = self._peer(cp.request_peer(req, required=True) or "")
            rib = self.speaker.peer(addr).rib_in
            return {
                "peer": str(addr),
                "routes": [
                    cp.rib_in_json(fam, prefix, attrs)
                    for fam, table in rib.routes.items()
                    for prefix, attrs in table.items()
                ],
            }
        if cmd == "show-services":
            return {"services": self._show_services()}
        if cmd == "show-bfd":
            bfd = self.speaker.bfd
            return {"bfd": [] if bfd is None else [n.as_dict() for n in bfd.status()]}
        if cmd == "peer":
            addr = self._peer(cp.request_peer(req, required=True) or "")
            action = req.get("action")
            if action not in cp.PEER_ACTIONS:
                raise cp.RequestError(f"action: {action!r} is not one of {cp.PEER_ACTIONS}")
            message = req.get("message") or ""
            return {"result": self.peer_action(addr, action, str(message))}
        if cmd == "service":
            name = req.get("name")
            runner = self.services.get(name) if isinstance(name, str) else None
            if runner is None:
                raise cp.RequestError(f"no service {name!r}")
            action = req.get("action")
            if action not in cp.SERVICE_ACTIONS:
                raise cp.RequestError(f"action: {action!r} is not one of {cp.SERVICE_ACTIONS}")
            runner.force(None if action == "auto" else action)
            return {"result": f"service {name}: {action}"}
        if cmd == "reload":
            ok, lines = await self.reload()
            if not ok:
                return {"ok": False, "error": "\n".join(lines)}
            return {"changes": lines}
        raise cp.RequestError(f"unknown command {cmd!r}")

    def _show_routes(self, peer: str | None) -> list[dict[str, Any]]:
        scopes = self.table.scopes()
        if peer is not None:
            addr = self._peer(peer)
            scopes = [s for s in scopes if s is None or s == addr]
        out = []
        for scope in scopes:
            for _, (source, route) in sorted(
                self.table.best(scope).items(), key=lambda kv: (kv[0][1].afi, kv[0][1])
            ):
                out.append(cp.route_json(route, source, None if scope is None else str(scope)))
        return out

    def _show_services(self) -> list[dict[str, Any]]:
        out = []
        for name, runner in self.services.items():
            v = runner.view()
            out.append(
                {
                    "name": name,
                    "state": v.state,
                    "announced": "healthy" if v.announced_healthy else runner.config.on_failure,
                    "suppressed": v.suppressed,
                    "forced": v.forced,
                    "penalty": v.penalty,
                    "flaps": v.flaps,
                    "last_result": v.last_result,
                    "prefixes": [str(r.prefix) for r in runner.config.routes],
                }
            )
        return out

    def snapshot(self) -> Snapshot:
        loop = asyncio.get_running_loop()
        return Snapshot(
            peers=tuple(self.speaker.status()),
            errors=dict(self.errors),
            services={n: r.view() for n, r in self.services.items()},
            routes=sum(len(self.table.best(s)) for s in self.table.scopes()),
            control_requests=self.control.requests,
            process_commands={n: p.commands for n, p in self.processes.items()},
            uptime=loop.time() - self._started,
        )
