"""Network namespaces, veth links and bridged LANs, addressed for tests.

Addressing plan (documentation and private ranges only, never fd00::/64, which the host's own
uplink uses): link or LAN number ``k`` gets ``10.k.0.0/24`` and ``2001:db8:k::/64``; the hosts
on it are 1, 2, ... in the order given. Global IPv6 addresses are added with ``nodad`` and DAD
is off for link-locals too (``accept_dad=0`` in every namespace), because a tentative address
cannot be bound for 1-2 s and a BGP session started at once would fail.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from . import nsenter
from .procs import kill_pid, run
from .wait import wait_until


class Namespace:
    """A named network namespace with ``lo`` up. Create through ``Lab.namespace``."""

    def __init__(self, name: str, role: str = "") -> None:
        self.name = name
        self.role = role or name
        self._ifindex = 0
        run(["ip", "netns", "add", name])
        try:
            self.ip("link", "set", "lo", "up")
            for scope in ("all", "default"):
                self.sysctl(f"net.ipv6.conf.{scope}.accept_dad", "0")
        except BaseException:
            delete_namespace(name)
            raise

    def __repr__(self) -> str:
        return f"Namespace({self.name!r}, role={self.role!r})"

    def next_ifname(self) -> str:
        name = f"eth{self._ifindex}"
        self._ifindex += 1
        return name

    # --- commands -----------------------------------------------------------------------
    def ip(self, *args: str, timeout: float = 10.0) -> str:
        """``ip -n NS ARGS``; returns stdout, raises CommandError on failure."""
        return run(["ip", "-n", self.name, *args], timeout=timeout).stdout

    def ip_json(self, *args: str, timeout: float = 10.0) -> Any:
        out = run(["ip", "-j", "-n", self.name, *args], timeout=timeout).stdout
        return json.loads(out) if out.strip() else []

    def exec(
        self, argv: Sequence[str], *, timeout: float = 10.0, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        """Run a program inside the namespace to completion (``ip netns exec``)."""
        return run(["ip", "netns", "exec", self.name, *argv], timeout=timeout, check=check)

    def popen(
        self, argv: Sequence[str], *, stdout: IO[Any] | int | None = None, **kw: Any
    ) -> subprocess.Popen[Any]:
        """Start a program inside the namespace. ``ip netns exec`` execs it in place, so the
        Popen pid is the program's pid. The caller owns the process (``Lab.popen`` registers it
        for teardown instead)."""
        return subprocess.Popen(
            ["ip", "netns", "exec", self.name, *argv],
            stdin=subprocess.DEVNULL,
            stdout=stdout,
            **kw,
        )

    def sysctl(self, key: str, value: str) -> None:
        """Set a per-namespace sysctl (``net.*``). Written from this thread while inside the
        namespace: /proc/sys/net shows the writer's namespace, and no procps is needed."""
        path = Path("/proc/sys") / key.replace(".", "/")
        with self.entered():
            path.write_text(f"{value}\n")

    def read_sysctl(self, key: str) -> str:
        with self.entered():
            return (Path("/proc/sys") / key.replace(".", "/")).read_text().strip()

    def enable_forwarding(self) -> None:
        self.sysctl("net.ipv4.ip_forward", "1")
        self.sysctl("net.ipv6.conf.all.forwarding", "1")

    # --- our own Python inside --------------------------------------------------------------
    def entered(self) -> AbstractContextManager[None]:
        """Switch the calling thread into this namespace for a ``with`` body (see nsenter)."""
        return nsenter.entered(self.name)

    def call(self, fn: Callable[..., Any], *args: Any, timeout: float = 30.0) -> Any:
        """Run ``fn(*args)`` in a forked child inside this namespace; return its value."""
        return nsenter.call_in(self.name, fn, *args, timeout=timeout)

    # --- views --------------------------------------------------------------------------
    def pids(self) -> list[int]:
        """Processes whose network namespace is this one (``ip netns pids``)."""
        out = run(["ip", "netns", "pids", self.name], check=False).stdout
        return [int(p) for p in out.split() if p.isdigit()]

    def addresses(self, ifname: str) -> list[dict[str, Any]]:
        info = self.ip_json("addr", "show", "dev", ifname)
        return list(info[0].get("addr_info", [])) if info else []

    def link_local(self, ifname: str, *, timeout: float = 5.0) -> str:
        """The interface's IPv6 link-local address once it is usable (not tentative)."""

        def probe() -> str | None:
            for addr in self.addresses(ifname):
                if (
                    addr.get("family") == "inet6"
                    and addr.get("scope") == "link"
                    and not addr.get("tentative")
                ):
                    return str(addr["local"])
            return None

        return wait_until(probe, timeout=timeout, what=f"link-local on {self.name}/{ifname}")

    def routes(self, family: int = 4) -> list[dict[str, Any]]:
        """Kernel routes (``ip -j route``): what zebra installed, for FIB assertions."""
        return list(self.ip_json(f"-{family}", "route", "show"))


def delete_namespace(name: str) -> list[int]:
    """Kill everything inside ``name`` (never ourselves) and delete it; returns the pids that
    were still inside. Safe to repeat."""
    out = run(["ip", "netns", "pids", name], check=False).stdout
    inside = [int(p) for p in out.split() if p.isdigit() and int(p) != os.getpid()]
    for pid in inside:
        kill_pid(pid, timeout=2.0)
    run(["ip", "netns", "del", name], check=False)
    return inside


def namespace_names() -> list[str]:
    out = run(["ip", "-j", "netns", "list"], check=False).stdout
    try:
        return [str(entry["name"]) for entry in json.loads(out or "[]")]
    except ValueError:
        return [line.split()[0] for line in out.splitlines() if line.strip()]


@dataclass(frozen=True)
class Endpoint:
    """One side of a link: where a daemon binds and what its peers dial."""

    ns: Namespace
    ifname: str
    ipv4: str
    ipv6: str
    prefix4: int = 24
    prefix6: int = 64

    def link_local(self, timeout: float = 5.0) -> str:
        return self.ns.link_local(self.ifname, timeout=timeout)


@dataclass(frozen=True)
class Link:
    """A veth pair between two namespaces, subnet number ``index``."""

    index: int
    a: Endpoint
    b: Endpoint

    def __iter__(self) -> Iterator[Endpoint]:
        return iter((self.a, self.b))


@dataclass(frozen=True)
class Lan:
    """A bridge (in its own switch namespace) with one veth per member, subnet ``index``."""

    index: int
    switch: Namespace
    members: tuple[Endpoint, ...] = field(default=())

    def __getitem__(self, i: int) -> Endpoint:
        return self.members[i]


def subnet_addresses(index: int, host: int) -> tuple[str, str]:
    if not 1 <= index <= 255 or not 1 <= host <= 254:
        raise ValueError(f"subnet {index} host {host} outside the lab's plan")
    return f"10.{index}.0.{host}", f"2001:db8:{index:x}::{host:x}"


def address_endpoint(ns: Namespace, ifname: str, index: int, host: int) -> Endpoint:
    v4, v6 = subnet_addresses(index, host)
    ns.ip("addr", "add", f"{v4}/24", "dev", ifname)
    ns.ip("addr", "add", f"{v6}/64", "dev", ifname, "nodad")
    ns.ip("link", "set", ifname, "up")
    return Endpoint(ns, ifname, v4, v6)


def make_link(index: int, a: Namespace, b: Namespace) -> Link:
    if_a, if_b = a.next_ifname(), b.next_ifname()
    # created directly inside the namespaces: no name clash with the host or other runs
    veth = ["type", "veth", "peer", "name", if_b, "netns", b.name]
    run(["ip", "link", "add", if_a, "netns", a.name, *veth])
    link = Link(index, address_endpoint(a, if_a, index, 1), address_endpoint(b, if_b, index, 2))
    _wait_carrier(link)
    return link


def _wait_carrier(endpoints: Iterable[Endpoint]) -> None:
    """Return once every endpoint has carrier, i.e. its link-local address and the fe80::/64
    route exist. The kernel reports carrier through linkwatch, up to ~1 s after ``link set
    up``; before that link-local traffic fails with "Network is unreachable"."""
    for end in endpoints:
        end.link_local(timeout=5.0)


def make_lan(index: int, switch: Namespace, members: Sequence[Namespace]) -> Lan:
    # STP off: ports forward at once; snooping off: VRRP/ND multicast reaches everyone
    switch.ip("link", "add", "br0", "type", "bridge", "stp_state", "0", "mcast_snooping", "0")
    switch.ip("link", "set", "br0", "up")
    endpoints = []
    for host, ns in enumerate(members, start=1):
        port, ifname = f"p{host}", ns.next_ifname()
        veth = ["type", "veth", "peer", "name", ifname, "netns", ns.name]
        run(["ip", "link", "add", port, "netns", switch.name, *veth])
        switch.ip("link", "set", port, "master", "br0")
        switch.ip("link", "set", port, "up")
        endpoints.append(address_endpoint(ns, ifname, index, host))
    _wait_carrier(endpoints)
    return Lan(index, switch, tuple(endpoints))
