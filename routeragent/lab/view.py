"""What the lab looks like at one moment, and what it should look like (pure).

:func:`problems` compares a view with the state the lab should settle in, given which routers
run, which are drained and which anycast instances are healthy: the status screen prints the
differences, ``up`` and ``restore`` wait until there are none, the scenarios time them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from routeragent.lab.topology import (
    ANYCAST4,
    HOST_PREFIXES,
    HOSTS,
    ROUTERS,
    VIP4,
    VIP6,
    origin_of,
)


@dataclass(frozen=True)
class RouterView:
    name: str
    frr: bool
    keepalived: bool
    agent: bool
    holds: frozenset[str]  # gateway addresses on its lan0
    priority: int | None  # VRRP priority the agent wants (its status file)
    healthy_priority: int | None  # ... and the one it has when all is well
    drain_phase: str | None
    intent: str | None
    agent_updated: float | None
    core_sessions: int | None  # Established, of 4 (2 cores x IPv4 + IPv6)
    host_sessions: int | None  # Established, of 3
    anycast_hosts: frozenset[str]  # hosts whose anycast path this router has
    error: str = ""
    guest_sessions: int = 0  # Established sessions with speakers in the guest namespace

    @property
    def up(self) -> bool:
        return self.frr and self.keepalived and self.agent

    @property
    def serving(self) -> bool:
        """Up and neither drained nor draining: should carry traffic."""
        return self.up and self.intent in (None, "normal") and self.drain_phase in (None, "none")


@dataclass(frozen=True)
class CoreView:
    name: str
    frr: bool
    sessions: int | None  # Established, of 6 (3 routers x IPv4 + IPv6)
    paths: dict[str, tuple[str, ...]] = field(default_factory=dict)  # prefix -> routers used
    error: str = ""
    anycast_answer: str = ""  # the host whose instance answered an HTTP request from here


@dataclass(frozen=True)
class HostView:
    name: str
    speaker: bool
    service: bool  # the anycast service instance (HTTP server) runs
    check: str | None  # the speaker's view of it: starting, healthy, failed
    sessions: int | None  # Established, of 3
    error: str = ""
    #: an LXD host (``up --lxd``): its container's state as LXD reports it ("" otherwise)
    lxd: str = ""


@dataclass(frozen=True)
class LabView:
    taken: float
    created: float
    prefix: str
    run_dir: str
    routers: tuple[RouterView, ...]
    cores: tuple[CoreView, ...]
    hosts: tuple[HostView, ...]

    def router(self, name: str) -> RouterView:
        return next(r for r in self.routers if r.name == name)

    def core(self, name: str) -> CoreView:
        return next(c for c in self.cores if c.name == name)

    def host(self, name: str) -> HostView:
        return next(h for h in self.hosts if h.name == name)

    def gateway(self, vip: str = VIP4) -> tuple[str, ...]:
        """The routers holding ``vip`` (exactly one when all is well)."""
        return tuple(r.name for r in self.routers if vip in r.holds)


def expected_gateway(view: LabView) -> str | None:
    """The first serving router by role (router1 primary, router2 secondary, ...)."""
    for name in ROUTERS:
        if view.router(name).serving:
            return name
    return None


def expected_paths(view: LabView, prefix: str) -> tuple[str, ...]:
    """The routers a core should use for ``prefix``: every serving router, as long as some host
    announces it (its speaker runs; for the anycast address, one instance is healthy)."""
    origin = origin_of(prefix)
    if origin == "anycast":
        announced = any(h.speaker and h.check == "healthy" for h in view.hosts)
    else:
        announced = view.host(origin).speaker
    if not announced:
        return ()
    return tuple(r.name for r in view.routers if r.serving)


def expected_anycast_hosts(view: LabView) -> frozenset[str]:
    return frozenset(h.name for h in view.hosts if h.speaker and h.service)


def problems(view: LabView) -> list[str]:
    """Every way the view differs from where the lab should settle; empty = steady."""
    out: list[str] = []
    for r in view.routers:
        if not r.frr:
            continue  # a router that is off (failover) is expected to be off
        if not r.keepalived or not r.agent:
            missing = [n for n, ok in (("keepalived", r.keepalived), ("agent", r.agent)) if not ok]
            out.append(f"{r.name}: {' and '.join(missing)} not running")
        if r.error:
            out.append(f"{r.name}: {r.error}")
        if r.serving and r.priority != r.healthy_priority:
            out.append(f"{r.name}: priority {r.priority}, {r.healthy_priority} once healthy")
        if r.core_sessions is not None and r.core_sessions < 4:
            out.append(f"{r.name}: {r.core_sessions}/4 core sessions Established")
        speakers = sum(1 for h in view.hosts if h.speaker)
        if r.host_sessions is not None and r.host_sessions < speakers:
            out.append(f"{r.name}: {r.host_sessions}/{speakers} host sessions Established")
        want_any = expected_anycast_hosts(view)
        if r.anycast_hosts != want_any:
            seen = " ".join(sorted(r.anycast_hosts)) or "none"
            out.append(f"{r.name}: anycast paths from {seen} (want {' '.join(sorted(want_any))})")
    gw = expected_gateway(view)
    for vip in (VIP4, VIP6):
        holders = view.gateway(vip)
        if gw is not None and holders != (gw,):
            out.append(f"gateway {vip} on {' '.join(holders) or 'nobody'} (want {gw})")
    for c in view.cores:
        if not c.frr:
            out.append(f"{c.name}: FRR not running")
            continue
        if c.error:
            out.append(f"{c.name}: {c.error}")
            continue
        if expected_paths(view, ANYCAST4) and c.anycast_answer not in HOSTS:
            out.append(f"{c.name}: anycast service {c.anycast_answer or 'not asked'}")
        for prefix in HOST_PREFIXES:
            want = expected_paths(view, prefix)
            have = c.paths.get(prefix, ())
            if have != want:
                out.append(
                    f"{c.name}: {prefix} via {' '.join(have) or 'nothing'} "
                    f"(want {' '.join(want) or 'nothing'})"
                )
    for h in view.hosts:
        if not h.speaker:
            out.append(f"{h.name}: {'announce-lxd' if h.lxd else 'speaker'} not running")
        elif h.error:
            out.append(f"{h.name}: {h.error}")
        elif h.lxd:
            if "RUNNING" not in h.lxd:
                out.append(f"{h.name}: LXD container {h.lxd}")
        elif h.check != ("healthy" if h.service else "failed"):
            out.append(
                f"{h.name}: anycast check {h.check} (service {'up' if h.service else 'down'})"
            )
    return out
