"""TOML -> :class:`routeragent.config_model.Config`, with errors that name the key.

Every problem is collected (not just the first) and reported as ``key.path: reason``, e.g.
``vrrp[0].vrid: must be an integer in 1..255, got 300``. Unknown keys are errors too: a typo
such as ``advert_intervall`` must not silently fall back to a default on a production router.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from ipaddress import ip_address, ip_interface, ip_network
from pathlib import Path
from typing import Any, TypeVar, cast

from routeragent.config_model import (
    EGRESS_ROLES,
    INGRESS_MODES,
    Affects,
    AgentSettings,
    Attributes,
    BgpProbe,
    Check,
    CommandProbe,
    Config,
    DrainSettings,
    EgressRole,
    FailureAction,
    FrrSettings,
    IngressAttributes,
    IngressMode,
    InterfaceProbe,
    IPAddress,
    IPInterface,
    IPNetwork,
    KeepalivedSettings,
    PingProbe,
    Policy,
    Probe,
    RouteProbe,
    TcpProbe,
    Upstream,
    VrrpInstance,
)

T = TypeVar("T")

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$")
_IFNAME = re.compile(r"^[A-Za-z0-9_.:@-]{1,15}$")
_WELL_KNOWN_COMMUNITIES = (
    "graceful-shutdown",
    "no-export",
    "no-advertise",
    "local-AS",
    "no-peer",
    "blackhole",
    "accept-own",
    "internet",
)
_COMMUNITY = re.compile(r"^(\d{1,5}):(\d{1,5})$")
MAX_MED = 4294967295


@dataclass(frozen=True)
class ConfigIssue:
    path: str
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


class ConfigError(Exception):
    """The config is unusable; ``issues`` lists every problem found, each naming its key."""

    def __init__(self, issues: list[ConfigIssue], source: str = "config") -> None:
        self.issues = issues
        self.source = source
        lines = "\n".join(f"  {i}" for i in issues)
        super().__init__(f"{source}: {len(issues)} problem(s):\n{lines}")


class _Missing:
    pass


MISSING = _Missing()


class _Table:
    """A view on one TOML table that records problems instead of raising, so one pass reports
    everything. Each getter returns ``default`` after recording a problem."""

    def __init__(self, data: dict[str, Any], path: str, issues: list[ConfigIssue]) -> None:
        self.data = data
        self.path = path
        self.issues = issues
        self.used: set[str] = set()

    def key(self, name: str) -> str:
        return f"{self.path}.{name}" if self.path else name

    def problem(self, name: str, reason: str) -> None:
        self.issues.append(ConfigIssue(self.key(name), reason))

    def raw(self, name: str) -> Any:
        self.used.add(name)
        return self.data.get(name, MISSING)

    def get(
        self,
        name: str,
        kind: type[T],
        default: T | _Missing = MISSING,
        check: Callable[[T], str | None] | None = None,
    ) -> T:
        value = self.raw(name)
        if value is MISSING:
            if isinstance(default, _Missing):
                self.problem(name, "required key is missing")
                return cast(T, None)
            return default
        ok = isinstance(value, kind)
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value, ok = float(value), True
        if kind is int and isinstance(value, bool):
            ok = False
        if not ok:
            self.problem(name, f"must be {_kind_name(kind)}, got {value!r}")
            return cast(T, None if isinstance(default, _Missing) else default)
        if check is not None:
            reason = check(cast(T, value))
            if reason is not None:
                self.problem(name, f"{reason}, got {value!r}")
                return cast(T, None if isinstance(default, _Missing) else default)
        return cast(T, value)

    def optional(
        self, name: str, kind: type[T], check: Callable[[T], str | None] | None = None
    ) -> T | None:
        if self.raw(name) is MISSING:
            return None
        return self.get(name, kind, check=check)

    def table(self, name: str, required: bool = False) -> _Table:
        value = self.raw(name)
        if value is MISSING:
            if required:
                self.problem(name, "required table is missing")
            value = {}
        elif not isinstance(value, dict):
            self.problem(name, f"must be a table, got {value!r}")
            value = {}
        return _Table(value, self.key(name), self.issues)

    def tables(self, name: str) -> Iterator[_Table]:
        value = self.raw(name)
        if value is MISSING:
            return
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            self.problem(name, "must be an array of tables ([[" + name + "]])")
            return
        for i, v in enumerate(value):
            yield _Table(v, f"{self.key(name)}[{i}]", self.issues)

    def strings(self, name: str, default: tuple[str, ...] | None = None) -> tuple[str, ...]:
        value = self.raw(name)
        if value is MISSING:
            if default is None:
                self.problem(name, "required key is missing")
                return ()
            return default
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.problem(name, f"must be a list of strings, got {value!r}")
            return ()
        return tuple(value)

    def finish(self) -> None:
        for k in sorted(set(self.data) - self.used):
            self.problem(k, "unknown key")


def _kind_name(kind: type) -> str:
    return {
        str: "a string",
        int: "an integer",
        float: "a number",
        bool: "true or false",
        list: "a list",
        dict: "a table",
    }.get(kind, kind.__name__)


def _range(lo: float, hi: float) -> Callable[[Any], str | None]:
    def check(v: Any) -> str | None:
        return None if lo <= v <= hi else f"must be in {lo}..{hi}"

    return check


def _one_of(options: tuple[str, ...]) -> Callable[[str], str | None]:
    def check(v: str) -> str | None:
        return None if v in options else f"must be one of {', '.join(options)}"

    return check


def _name(v: str) -> str | None:
    return None if _NAME.match(v) else "must be 1-32 letters, digits, '_', '-', '.'"


def _ifname(v: str) -> str | None:
    return None if _IFNAME.match(v) else "must be a Linux interface name (1-15 chars)"


def _parse(t: _Table, name: str, text: str | None, fn: Callable[[str], T]) -> T | None:
    if text is None:
        return None
    try:
        return fn(text)
    except ValueError as e:
        t.problem(name, str(e))
        return None


def _address(t: _Table, name: str, required: bool = True) -> IPAddress | None:
    text = t.get(name, str) if required else t.optional(name, str)
    return _parse(t, name, text, ip_address)


def community_problem(c: str) -> str | None:
    if c in _WELL_KNOWN_COMMUNITIES:
        return None
    m = _COMMUNITY.match(c)
    if m and int(m.group(1)) <= 65535 and int(m.group(2)) <= 65535:
        return None
    return f"community {c!r} is neither ASN:VALUE (0..65535 each) nor one of " + ", ".join(
        _WELL_KNOWN_COMMUNITIES
    )


# --------------------------------------------------------------------------- sections


def _agent(t: _Table) -> AgentSettings:
    router = t.get("router", str, check=_name)
    state_dir = t.get("state_dir", str, "/run/routeragent")
    interval = t.get("interval", float, 1.0, _range(0.05, 60))
    listen = t.optional("metrics_listen", str)
    metrics: tuple[str, int] | None = None
    if listen:
        host, _, port = listen.rpartition(":")
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            t.problem("metrics_listen", f"must be HOST:PORT, got {listen!r}")
        else:
            metrics = (host.strip("[]"), int(port))
    log_file = t.optional("log_file", str)
    t.finish()
    return AgentSettings(
        router=router,
        state_dir=Path(state_dir),
        interval=interval,
        metrics_listen=metrics,
        log_file=Path(log_file) if log_file else None,
    )


def _frr(t: _Table) -> FrrSettings:
    asn = t.get("asn", int, check=_range(1, 4294967295))
    vtysh = t.get("vtysh", str, "vtysh")
    sock = t.optional("vty_socket", str)
    pathspace = t.optional("pathspace", str, check=_name)
    timeout = t.get("timeout", float, 5.0, _range(0.5, 120))
    if sock and pathspace:
        t.problem("pathspace", "set either vty_socket or pathspace, not both")
    t.finish()
    return FrrSettings(
        asn=asn,
        vtysh=vtysh,
        vty_socket=Path(sock) if sock else None,
        pathspace=pathspace,
        timeout=timeout,
    )


def _keepalived(t: _Table) -> KeepalivedSettings:
    conf = t.get("config_file", str, "/etc/keepalived/keepalived.conf")
    binary = t.get("binary", str, "keepalived")
    pid = t.get("pid_file", str, "/run/keepalived.pid")
    fifo = t.optional("notify_fifo", str)
    t.finish()
    return KeepalivedSettings(
        config_file=Path(conf),
        binary=binary,
        pid_file=Path(pid) if pid else None,
        notify_fifo=Path(fifo) if fifo else None,
    )


def _vrrp(t: _Table) -> VrrpInstance:
    name = t.get("name", str, check=_name)
    interface = t.get("interface", str, check=_ifname)
    vrid = t.get("vrid", int, check=_range(1, 255))
    addresses: list[IPInterface] = []
    for i, text in enumerate(t.strings("addresses")):
        try:
            addresses.append(ip_interface(text))
        except ValueError as e:
            t.problem(f"addresses[{i}]", str(e))
    if not addresses and t.raw("addresses") is not MISSING:
        t.problem("addresses", "needs at least one virtual address")
    priority = t.optional("priority", int, _range(10, 254))
    version = t.get("version", int, 3, lambda v: None if v in (2, 3) else "must be 2 or 3")
    advert = t.get("advert_interval", float, 1.0, _range(0.01, 255))
    if version == 2 and advert != int(advert):
        t.problem("advert_interval", f"VRRPv2 takes whole seconds, got {advert}")
    if version == 3 and advert > 40.95:
        t.problem("advert_interval", f"VRRPv3 allows at most 40.95 s, got {advert}")
    if version == 2 and addresses and all(a.version == 6 for a in addresses):
        t.problem("version", "IPv6-only instances need VRRP version 3")
    source = _address(t, "unicast_source", required=False)
    peers: list[IPAddress] = []
    for i, text in enumerate(t.strings("unicast_peers", ())):
        try:
            peers.append(ip_address(text))
        except ValueError as e:
            t.problem(f"unicast_peers[{i}]", str(e))
    t.finish()
    return VrrpInstance(
        name=name,
        interface=interface,
        vrid=vrid,
        addresses=tuple(addresses),
        priority=priority,
        advert_interval=advert,
        version=version,
        unicast_source=source,
        unicast_peers=tuple(peers),
    )


def _upstream(t: _Table) -> Upstream:
    name = t.get("name", str, check=_name)
    neighbor = _address(t, "neighbor")
    lp = t.get("local_preference", int, 100, _range(0, 4294967295))
    t.finish()
    return Upstream(name=name, neighbor=neighbor or ip_address("0.0.0.0"), local_preference=lp)


def _attributes(t: _Table, default: Attributes) -> Attributes:
    med = t.optional("med", int, _range(0, MAX_MED))
    prepend = t.get("prepend", int, default.prepend, _range(0, 10))
    comms = t.strings("communities", default.communities)
    for i, c in enumerate(comms):
        problem = community_problem(c)
        if problem:
            t.problem(f"communities[{i}]", problem)
    t.finish()
    return Attributes(
        med=med if t.raw("med") is not MISSING else default.med,
        prepend=prepend,
        communities=comms,
    )


def _policy(t: _Table) -> Policy:
    d = Policy()
    role = t.get("egress_role", str, d.egress_role, _one_of(EGRESS_ROLES))
    mode = t.get("ingress_mode", str, d.ingress_mode, _one_of(INGRESS_MODES))
    on_fail = t.get(
        "ingress_on_failure", str, d.ingress_on_failure, _one_of(("depref", "withdraw"))
    )
    takeback = t.get("takeback_delay", float, d.takeback_delay, _range(0, 3600))
    max_takeback = t.get("max_takeback_delay", float, d.max_takeback_delay, _range(0, 86400))
    if max_takeback < takeback:
        t.problem("max_takeback_delay", f"must be >= takeback_delay ({takeback})")
    window = t.get("flap_window", float, d.flap_window, _range(0, 86400))
    drained = t.get("drained_priority", int, d.drained_priority, _range(1, 9))
    it = t.table("ingress")
    di = IngressAttributes()
    ingress = IngressAttributes(
        equal=_attributes(it.table("equal"), di.equal),
        prefer=_attributes(it.table("prefer"), di.prefer),
        depref=_attributes(it.table("depref"), di.depref),
        drain=_attributes(it.table("drain"), di.drain),
    )
    it.finish()
    t.finish()
    return Policy(
        # the three are checked against their Literal values by _one_of above
        egress_role=cast(EgressRole, role),
        ingress_mode=cast(IngressMode, mode),
        ingress_on_failure=cast(FailureAction, on_fail),
        takeback_delay=takeback,
        max_takeback_delay=max_takeback,
        flap_window=window,
        drained_priority=drained,
        ingress=ingress,
    )


def _drain(t: _Table) -> DrainSettings:
    withdraw = t.get("withdraw", bool, True)
    ifaces = t.strings("quiet_interfaces", ())
    for i, name in enumerate(ifaces):
        problem = _ifname(name)
        if problem:
            t.problem(f"quiet_interfaces[{i}]", problem)
    pps = t.get("quiet_pps", float, 50.0, _range(0, 1e9))
    secs = t.get("quiet_seconds", float, 3.0, _range(0, 3600))
    t.finish()
    return DrainSettings(
        withdraw=withdraw, quiet_interfaces=ifaces, quiet_pps=pps, quiet_seconds=secs
    )


CHECK_TYPES = ("bgp", "route", "interface", "tcp", "ping", "command")


def _check(t: _Table, upstreams: tuple[Upstream, ...]) -> Check | None:
    name = t.get("name", str, check=_name)
    kind = t.get("type", str, check=_one_of(CHECK_TYPES))
    rise = t.get("rise", int, 3, _range(1, 100))
    fall = t.get("fall", int, 2, _range(1, 100))
    affects = t.get("affects", str, "gateway", _one_of(("gateway", "ingress", "both")))
    timeout = t.get("timeout", float, 1.0, _range(0.05, 60))
    probe: Probe | None = None
    if kind == "bgp":
        known = {u.neighbor for u in upstreams}
        texts = t.strings("neighbors", tuple(str(u.neighbor) for u in upstreams))
        neighbors: list[IPAddress] = []
        for i, text in enumerate(texts):
            addr = _parse(t, f"neighbors[{i}]", text, ip_address)
            if addr is not None and addr not in known:
                t.problem(f"neighbors[{i}]", f"{addr} is not an [[upstream]] neighbor")
            elif addr is not None:
                neighbors.append(addr)
        if not texts:
            t.problem("neighbors", "no upstream neighbors to check (add [[upstream]] tables)")
        min_est = t.get("min_established", int, 1, _range(1, 1000))
        if texts and min_est > len(texts):
            t.problem("min_established", f"only {len(texts)} neighbor(s) are checked")
        min_pfx = t.get("min_prefixes", int, 1, _range(0, 10**9))
        probe = BgpProbe(tuple(neighbors), min_est, min_pfx)
    elif kind == "route":
        net = _parse(t, "prefix", t.get("prefix", str), lambda s: ip_network(s, strict=True))
        probe = RouteProbe(net) if net is not None else None
    elif kind == "interface":
        probe = InterfaceProbe(t.get("interface", str, check=_ifname))
    elif kind == "tcp":
        host = _address(t, "host")
        port = t.get("port", int, check=_range(1, 65535))
        probe = TcpProbe(host, port) if host is not None else None
    elif kind == "ping":
        host = _address(t, "host")
        probe = PingProbe(host) if host is not None else None
    elif kind == "command":
        argv = t.strings("command")
        if t.raw("command") is not MISSING and not argv:
            t.problem("command", "must not be empty")
        probe = CommandProbe(argv)
    t.finish()
    if probe is None or name is None:
        return None
    return Check(
        name=name,
        probe=probe,
        rise=rise,
        fall=fall,
        affects=cast(Affects, affects),
        timeout=timeout,
    )


# --------------------------------------------------------------------------- entry points


def _unique(issues: list[ConfigIssue], key: str, values: list[Any], what: str) -> None:
    seen: set[Any] = set()
    for i, v in enumerate(values):
        if v in seen:
            issues.append(ConfigIssue(f"{key}[{i}]", f"duplicate {what} {v}"))
        seen.add(v)


def parse_config(data: dict[str, Any], source: str = "config") -> Config:
    """Validate a decoded TOML document; raises :class:`ConfigError` listing every problem."""
    issues: list[ConfigIssue] = []
    top = _Table(data, "", issues)
    agent = _agent(top.table("agent", required=True))
    frr = _frr(top.table("frr", required=True))
    keepalived = _keepalived(top.table("keepalived"))
    vrrp = tuple(_vrrp(t) for t in top.tables("vrrp"))
    upstreams = tuple(_upstream(t) for t in top.tables("upstream"))
    at = top.table("announce")
    prefixes: list[IPNetwork] = []
    for i, text in enumerate(at.strings("prefixes", ())):
        net = _parse(at, f"prefixes[{i}]", text, lambda s: ip_network(s, strict=True))
        if net is not None:
            prefixes.append(net)
    at.finish()
    policy = _policy(top.table("policy"))
    drain = _drain(top.table("drain"))
    check_tables = list(top.tables("check"))
    checks = tuple(c for t in check_tables if (c := _check(t, upstreams)) is not None)
    top.finish()

    _unique(issues, "vrrp", [v.name for v in vrrp], "VRRP instance name")
    _unique(issues, "vrrp", [f"{v.interface} VRID {v.vrid}" for v in vrrp], "VRRP router on")
    _unique(issues, "upstream", [u.name for u in upstreams], "upstream name")
    _unique(issues, "upstream", [u.neighbor for u in upstreams], "upstream neighbor")
    _unique(issues, "check", [t.data.get("name") for t in check_tables], "check name")
    _unique(issues, "announce.prefixes", prefixes, "prefix")
    if not vrrp and not issues:
        issues.append(ConfigIssue("vrrp", "at least one [[vrrp]] instance is required"))
    if issues:
        raise ConfigError(issues, source)
    return Config(
        agent=agent,
        frr=frr,
        keepalived=keepalived,
        vrrp=vrrp,
        upstreams=upstreams,
        prefixes=tuple(prefixes),
        policy=policy,
        drain=drain,
        checks=checks,
    )


def read_toml(path: Path) -> dict[str, Any]:
    """The TOML document at ``path``; unreadable files and syntax errors become ConfigError."""
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise ConfigError(
            [ConfigIssue("(file)", f"cannot read {path}: {e.strerror}")], str(path)
        ) from e
    try:
        return tomllib.loads(raw.decode())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise ConfigError([ConfigIssue("(syntax)", str(e))], str(path)) from e


def load_config(path: Path) -> Config:
    return parse_config(read_toml(path), str(path))
