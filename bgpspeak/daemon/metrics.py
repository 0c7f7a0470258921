"""Prometheus text exposition (format 0.0.4) of the daemon's state, served over plain HTTP.

Rendering is a pure function of snapshots; the server is a few lines of asyncio that answer
``GET /metrics`` and close (no keep-alive: Prometheus scrapes every few seconds at most).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from ..speaker import PeerStatus
from .health import HealthView

log = logging.getLogger("bgpspeak.daemon.metrics")
STATES = ("Idle", "Connect", "Active", "OpenSent", "OpenConfirm", "Established")


@dataclass(frozen=True)
class Snapshot:
    peers: tuple[PeerStatus, ...]
    errors: Mapping[str, int]  # peer -> PeerError events
    services: Mapping[str, HealthView]
    routes: int  # routes in the table (all sources, all scopes)
    control_requests: int
    process_commands: Mapping[str, int]
    uptime: float


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


class _Writer:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def family(self, name: str, kind: str, help_text: str) -> None:
        self.lines.append(f"# HELP {name} {help_text}")
        self.lines.append(f"# TYPE {name} {kind}")

    def sample(self, name: str, labels: Iterable[tuple[str, str]], value: float) -> None:
        lab = ",".join(f'{k}="{_label(v)}"' for k, v in labels)
        text = repr(float(value)) if isinstance(value, float) else str(value)
        self.lines.append(f"{name}{{{lab}}} {text}" if lab else f"{name} {text}")


def render(s: Snapshot) -> str:
    w = _Writer()
    w.family("bgpspeak_peer_up", "gauge", "1 when the session is Established")
    for p in s.peers:
        w.sample("bgpspeak_peer_up", [("peer", str(p.address))], int(p.state == "Established"))
    w.family("bgpspeak_peer_state", "gauge", "1 for the session's current FSM state")
    for p in s.peers:
        for st in STATES:
            w.sample(
                "bgpspeak_peer_state", [("peer", str(p.address)), ("state", st)], int(p.state == st)
            )
    w.family("bgpspeak_peer_uptime_seconds", "gauge", "seconds since the session came up")
    for p in s.peers:
        w.sample("bgpspeak_peer_uptime_seconds", [("peer", str(p.address))], p.uptime or 0.0)
    w.family("bgpspeak_prefixes_received", "gauge", "routes in the Adj-RIB-In")
    for p in s.peers:
        w.sample("bgpspeak_prefixes_received", [("peer", str(p.address))], p.received)
    w.family("bgpspeak_prefixes_advertised", "gauge", "routes in the Adj-RIB-Out")
    for p in s.peers:
        w.sample("bgpspeak_prefixes_advertised", [("peer", str(p.address))], p.advertised)
    for direction, attr in (("received", "messages_in"), ("sent", "messages_out")):
        name = f"bgpspeak_messages_{direction}_total"
        w.family(name, "counter", f"BGP messages {direction} in the current session, by type")
        for p in s.peers:
            for kind, n in sorted(getattr(p, attr).items()):
                w.sample(name, [("peer", str(p.address)), ("type", kind)], n)
    w.family("bgpspeak_peer_errors_total", "counter", "malformed input and protocol errors")
    for p in s.peers:
        w.sample(
            "bgpspeak_peer_errors_total",
            [("peer", str(p.address))],
            s.errors.get(str(p.address), 0),
        )
    w.family("bgpspeak_service_healthy", "gauge", "1 while the service's healthy routes are out")
    for name, v in sorted(s.services.items()):
        w.sample("bgpspeak_service_healthy", [("service", name)], int(v.announced_healthy))
    w.family("bgpspeak_service_suppressed", "gauge", "1 while flap damping holds the service")
    for name, v in sorted(s.services.items()):
        w.sample("bgpspeak_service_suppressed", [("service", name)], int(v.suppressed))
    w.family("bgpspeak_service_flaps_total", "counter", "healthy->failed transitions")
    for name, v in sorted(s.services.items()):
        w.sample("bgpspeak_service_flaps_total", [("service", name)], v.flaps)
    w.family("bgpspeak_routes", "gauge", "routes held for announcement (all sources)")
    w.sample("bgpspeak_routes", [], s.routes)
    w.family("bgpspeak_control_requests_total", "counter", "control socket requests")
    w.sample("bgpspeak_control_requests_total", [], s.control_requests)
    w.family("bgpspeak_process_commands_total", "counter", "API commands read from processes")
    for name, n in sorted(s.process_commands.items()):
        w.sample("bgpspeak_process_commands_total", [("process", name)], n)
    w.family("bgpspeak_uptime_seconds", "gauge", "seconds since the daemon started")
    w.sample("bgpspeak_uptime_seconds", [], round(s.uptime, 3))
    return "\n".join(w.lines) + "\n"


async def serve_metrics(host: str, port: int, snapshot: Callable[[], Snapshot]) -> asyncio.Server:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = await asyncio.wait_for(reader.readline(), 5)
            while True:  # the headers, up to the blank line
                line = await asyncio.wait_for(reader.readline(), 5)
                if line in (b"\r\n", b"\n", b""):
                    break
            parts = request.decode("latin-1").split()
            if len(parts) < 2 or parts[0] not in ("GET", "HEAD"):
                status, body = "405 Method Not Allowed", "GET /metrics\n"
            elif parts[1].split("?")[0] not in ("/metrics", "/"):
                status, body = "404 Not Found", "GET /metrics\n"
            else:
                status, body = "200 OK", render(snapshot())
            data = body.encode()
            head = (
                f"HTTP/1.0 {status}\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
                f"Content-Length: {len(data)}\r\nConnection: close\r\n\r\n"
            )
            writer.write(head.encode() + (data if parts and parts[0] != "HEAD" else b""))
            await writer.drain()
        except (TimeoutError, ConnectionError, UnicodeDecodeError) as e:
            log.debug("metrics request failed: %s", e)
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    return await asyncio.start_server(handle, host, port)
