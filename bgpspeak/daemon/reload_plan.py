"""What a SIGHUP changes: the difference between the running and the new configuration.

Only what differs is touched: a new peer is added without resetting the others, a peer whose
settings changed is re-created (its session alone resets), static routes are replaced as a
set (the speaker sends only the difference), services and processes restart only when their
own section changed. Settings that belong to the process itself (local AS, router id, listen
addresses, control socket, metrics) cannot change under running sessions: the plan lists them
and the daemon keeps the old values until a restart.

Pure.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..neighbor import Neighbor
from ..routes import Route
from .config_model import DaemonConfig, ProcessConfig, ServiceConfig


@dataclass(frozen=True)
class ReloadPlan:
    add_peers: tuple[Neighbor, ...] = ()
    remove_peers: tuple[Neighbor, ...] = ()
    change_peers: tuple[tuple[Neighbor, Neighbor], ...] = ()  # (old, new): that session resets
    routes: tuple[Route, ...] | None = None  # the new static set; None: unchanged
    stop_services: tuple[str, ...] = ()
    start_services: tuple[ServiceConfig, ...] = ()
    stop_processes: tuple[str, ...] = ()
    start_processes: tuple[ProcessConfig, ...] = ()
    needs_restart: tuple[str, ...] = ()  # settings kept at their old value

    @property
    def empty(self) -> bool:
        return self == ReloadPlan()

    def summary(self) -> list[str]:
        """One line per action, for the log and the control reply."""
        out = [f"add peer {n.ip}" for n in self.add_peers]
        out += [f"remove peer {n.ip}" for n in self.remove_peers]
        out += [f"reset peer {new.ip} (settings changed)" for _, new in self.change_peers]
        if self.routes is not None:
            out.append(f"static routes: {len(self.routes)}")
        out += _lifecycle("service", self.stop_services, [s.name for s in self.start_services])
        out += _lifecycle("process", self.stop_processes, [p.name for p in self.start_processes])
        out += [f"{k} changed: restart bgpspeak to apply it" for k in self.needs_restart]
        return out


def _lifecycle(kind: str, stopped: tuple[str, ...], started: list[str]) -> list[str]:
    """A name both stopped and started is restarted."""
    out = [f"{'restart' if n in started else 'stop'} {kind} {n}" for n in stopped]
    return out + [f"start {kind} {n}" for n in started if n not in stopped]


def plan_reload(old: DaemonConfig, new: DaemonConfig) -> ReloadPlan:
    restart = [
        name
        for name in ("local_as", "router_id", "listen", "hostname", "control", "metrics")
        if getattr(old, name) != getattr(new, name)
    ]
    old_peers = {n.ip: n for n in old.peers}
    new_peers = {n.ip: n for n in new.peers}
    add = tuple(n for a, n in new_peers.items() if a not in old_peers)
    remove = tuple(n for a, n in old_peers.items() if a not in new_peers)
    change = tuple(
        (old_peers[a], n) for a, n in new_peers.items() if a in old_peers and old_peers[a] != n
    )
    routes = new.routes if set(new.routes) != set(old.routes) else None
    old_s = {s.name: s for s in old.services}
    new_s = {s.name: s for s in new.services}
    stop_s = tuple(n for n, s in old_s.items() if new_s.get(n) != s)
    start_s = tuple(s for n, s in new_s.items() if old_s.get(n) != s)
    old_p = {p.name: p for p in old.processes}
    new_p = {p.name: p for p in new.processes}
    stop_p = tuple(n for n, p in old_p.items() if new_p.get(n) != p)
    start_p = tuple(p for n, p in new_p.items() if old_p.get(n) != p)
    return ReloadPlan(
        add_peers=add,
        remove_peers=remove,
        change_peers=change,
        routes=routes,
        stop_services=stop_s,
        start_services=start_s,
        stop_processes=stop_p,
        start_processes=start_p,
        needs_restart=tuple(restart),
    )
