"""The validated daemon configuration: frozen values, so a reload compares old and new with ``==``.

Peers are :class:`~bgpspeak.Neighbor` and static routes :class:`~bgpspeak.Route` values: the
library's own types, already checked, so nothing between the file and the speaker re-interprets
them. :mod:`.config_load` builds these from TOML and is the only place that reports errors.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..neighbor import Neighbor
from ..routes import Route

DEFAULT_SOCKET = "/run/bgpspeak/bgpspeak.sock"
EXIT_CONFIG = 78  # sysexits EX_CONFIG: systemd's RestartPreventExitStatus= can name it
EXIT_RUNTIME = 1


@dataclass(frozen=True)
class ControlConfig:
    socket: str = DEFAULT_SOCKET
    mode: int = 0o660
    group: str | None = None


@dataclass(frozen=True)
class CommandCheck:
    """Healthy when the command exits 0 within the timeout (``argv``, no shell)."""

    argv: tuple[str, ...]


@dataclass(frozen=True)
class TcpCheck:
    """Healthy when a TCP connection to host:port opens within the timeout."""

    host: str
    port: int


@dataclass(frozen=True)
class HttpCheck:
    """Healthy when ``GET path`` on host:port answers with a status in ``expect``."""

    host: str
    port: int
    path: str
    host_header: str
    expect: tuple[int, ...] = (200,)


Check = CommandCheck | TcpCheck | HttpCheck


@dataclass(frozen=True)
class Damping:
    """Flap damping in the manner of RFC 2439: every healthy->failed transition adds
    ``penalty``; the sum decays with ``half_life``; above ``suppress`` the service stays in its
    failed form until the sum falls below ``reuse``. ``max_suppress`` bounds how long."""

    half_life: float = 60.0
    penalty: float = 1000.0
    suppress: float = 2000.0
    reuse: float = 750.0
    max_suppress: float = 600.0


@dataclass(frozen=True)
class ServiceConfig:
    """Prefixes announced while a check passes.

    ``on_failure`` "withdraw" removes the routes; "degrade" keeps them with ``degraded_med``
    and/or ``degraded_prepend`` extra copies of our AS so neighbors prefer another site."""

    name: str
    routes: tuple[Route, ...]
    check: Check
    interval: float = 5.0
    timeout: float = 2.0
    rise: int = 2
    fall: int = 2
    on_failure: str = "withdraw"
    degraded_med: int | None = None
    degraded_prepend: int = 0
    damping: Damping | None = field(default_factory=Damping)


@dataclass(frozen=True)
class ProcessConfig:
    """A helper program speaking ExaBGP's text API on its stdout.

    ``ack``: write ``done`` / ``error`` to its stdin after each command (ExaBGP 4's default).
    ``events``: JSON event kinds written to its stdin ("state", "update", "eor")."""

    name: str
    run: tuple[str, ...]
    ack: bool = True
    events: tuple[str, ...] = ()
    respawn: bool = True


@dataclass(frozen=True)
class DaemonConfig:
    local_as: int
    router_id: str
    listen: tuple[tuple[str, int], ...] = (("::", 179),)
    hostname: str | None = None
    control: ControlConfig = field(default_factory=ControlConfig)
    metrics: tuple[str, int] | None = None
    peers: tuple[Neighbor, ...] = ()
    routes: tuple[Route, ...] = ()
    services: tuple[ServiceConfig, ...] = ()
    processes: tuple[ProcessConfig, ...] = ()
    source: str = "<config>"  # the file name, for messages
