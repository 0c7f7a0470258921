"""TOML to :class:`DaemonConfig`, with every problem reported at once.

Each problem names the file, the key path and the reason (``speaker.toml: peers[2].asn:
4294967296 is not a valid AS number``), so an operator fixes a file in one pass. Unknown keys
are errors too: a misspelt ``hold_tme`` silently ignored would be worse than a refusal.
The only I/O is reading the file and password files, through ``read_text`` so tests can
validate without touching the disk.
"""

from __future__ import annotations

import ipaddress
import shlex
import tomllib
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

from ..bfd.config import BfdConfig
from ..neighbor import Neighbor
from ..routes import Route
from ..wire.communities import parse_community, parse_ext_community, parse_large_community
from ..wire.family import Family
from ..wire.prefix import Prefix
from .config_model import (
    DEFAULT_SOCKET,
    Check,
    CommandCheck,
    ControlConfig,
    DaemonConfig,
    Damping,
    HttpCheck,
    ProcessConfig,
    ServiceConfig,
    TcpCheck,
)

T = TypeVar("T")

EVENT_KINDS = ("state", "update", "eor")


class ConfigError(Exception):
    """The configuration cannot be used; ``problems`` holds one ``file: key: reason`` each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


class _Problems:
    def __init__(self, source: str) -> None:
        self.source = source
        self.items: list[str] = []

    def add(self, path: str, reason: str) -> None:
        parts = [x for x in (self.source, path, reason) if x]
        self.items.append(": ".join(parts))


class _Table:
    """One TOML table being read: typed getters that record problems instead of raising, and
    a final check that every key was understood."""

    def __init__(self, data: dict[str, Any], path: str, problems: _Problems) -> None:
        self.data = data
        self.path = path
        self.problems = problems
        self.seen: set[str] = set()

    def key(self, name: str) -> str:
        return f"{self.path}.{name}" if self.path else name

    def bad(self, name: str, reason: str) -> None:
        self.problems.add(self.key(name), reason)

    def has(self, name: str) -> bool:
        return name in self.data

    def raw(self, name: str) -> Any:
        self.seen.add(name)
        return self.data.get(name)

    def _typed(self, name: str, kinds: tuple[type, ...], what: str, default: Any) -> Any:
        self.seen.add(name)
        if name not in self.data:
            return default
        value = self.data[name]
        if isinstance(value, bool) and bool not in kinds:
            self.bad(name, f"{value!r} is not {what}")
            return default
        if not isinstance(value, kinds):
            self.bad(name, f"{value!r} is not {what}")
            return default
        return value

    def string(self, name: str, default: str | None = None) -> str | None:
        v: str | None = self._typed(name, (str,), "a string", default)
        return v

    def integer(
        self, name: str, default: int | None = None, lo: int | None = None, hi: int | None = None
    ) -> int | None:
        v: int | None = self._typed(name, (int,), "an integer", default)
        out_of_range = v is not None and (
            (lo is not None and v < lo) or (hi is not None and v > hi)
        )
        if out_of_range and name in self.data:
            self.bad(name, f"{v} is not {lo}..{hi}")
            return default
        return v

    def number(self, name: str, default: float) -> float:
        """A positive number (seconds, penalties)."""
        v = self._typed(name, (int, float), "a number", default)
        if float(v) <= 0:
            self.bad(name, f"{v} must be greater than 0")
            return default
        return float(v)

    def boolean(self, name: str, default: bool) -> bool:
        v: bool = self._typed(name, (bool,), "true or false", default)
        return v

    def strings(self, name: str, default: tuple[str, ...] = ()) -> tuple[str, ...]:
        v = self._typed(name, (list,), "a list of strings", None)
        if v is None:
            return default
        out = []
        for i, item in enumerate(v):
            if not isinstance(item, str):
                self.problems.add(f"{self.key(name)}[{i}]", f"{item!r} is not a string")
            else:
                out.append(item)
        return tuple(out)

    def table(self, name: str) -> _Table | None:
        v = self._typed(name, (dict,), "a table", None)
        return None if v is None else _Table(v, self.key(name), self.problems)

    def tables(self, name: str) -> list[_Table]:
        self.seen.add(name)
        v = self.data.get(name)
        if v is None:
            return []
        if not isinstance(v, list) or not all(isinstance(t, dict) for t in v):
            self.bad(name, f"must be an array of tables ([[{name}]])")
            return []
        return [_Table(t, f"{self.key(name)}[{i}]", self.problems) for i, t in enumerate(v)]

    def finish(self) -> None:
        for name in self.data:
            if name not in self.seen:
                self.bad(name, "unknown key")


# --- small value parsers ------------------------------------------------------------------------


def parse_endpoint(text: str, default_port: int) -> tuple[str, int]:
    """``10.0.0.1``, ``10.0.0.1:179``, ``::``, ``[::]:179`` -> (address, port)."""
    t = text.strip()
    host, port = t, default_port
    if t.startswith("["):
        end = t.find("]")
        if end < 0:
            raise ValueError(f"{text!r}: '[' without ']'")
        host, rest = t[1:end], t[end + 1 :]
        if rest:
            if not rest.startswith(":"):
                raise ValueError(f"{text!r} is not [ADDRESS]:PORT")
            port = _port(rest[1:], text)
    elif t.count(":") == 1:
        host, p = t.split(":")
        port = _port(p, text)
    ipaddress.ip_address(host)  # raises ValueError naming the text
    return host, port


def _port(text: str, whole: str) -> int:
    if not text.isdigit() or not 0 <= int(text) <= 65535:
        raise ValueError(f"{whole!r}: port {text!r} is not 0..65535")
    return int(text)


def _valid_asn(v: int) -> bool:
    return 1 <= v <= 0xFFFFFFFF


# --- routes (static routes and services share the attribute keys) --------------------------------

ROUTE_ATTRIBUTE_KEYS = (
    "next_hop",
    "as_path",
    "origin",
    "med",
    "local_pref",
    "communities",
    "large_communities",
    "extended_communities",
    "link_local",
)


def _route_attributes(t: _Table) -> dict[str, Any] | None:
    """The keyword arguments of ``Route.make`` found in ``t``; None after a problem."""
    ok = True
    out: dict[str, Any] = {}
    nh = t.string("next_hop", "self")
    if nh is not None and nh != "self":
        try:
            ipaddress.ip_address(nh)
        except ValueError:
            t.bad("next_hop", f"{nh!r} is neither an address nor 'self'")
            ok = False
    out["next_hop"] = nh
    path = t.raw("as_path")
    if path is not None:
        if isinstance(path, str):
            path = path.split()
        if not isinstance(path, list) or not all(
            (isinstance(a, int) and not isinstance(a, bool)) or (isinstance(a, str) and a.isdigit())
            for a in path
        ):
            t.bad("as_path", f"{path!r} is not a list of AS numbers")
            ok = False
        else:
            asns = [int(a) for a in path]
            bad = [a for a in asns if not _valid_asn(a)]
            if bad:
                t.bad("as_path", f"{bad[0]} is not a valid AS number")
                ok = False
            out["as_path"] = asns
    origin = t.string("origin", "igp")
    if origin not in ("igp", "egp", "incomplete"):
        t.bad("origin", f"{origin!r} is not igp, egp or incomplete")
        ok = False
    out["origin"] = origin
    for name in ("med", "local_pref"):
        if t.has(name):
            v = t.integer(name, None, 0, 0xFFFFFFFF)
            if v is None:
                ok = False
            out[name] = v
    parsers: dict[str, Callable[[str], object]] = {
        "communities": parse_community,
        "large_communities": parse_large_community,
        "extended_communities": parse_ext_community,
    }
    for name, parse in parsers.items():
        values = t.strings(name)
        for i, text in enumerate(values):
            try:
                parse(text)
            except ValueError as e:
                t.problems.add(f"{t.key(name)}[{i}]", str(e))
                ok = False
        out[name] = values
    ll = t.string("link_local")
    if ll is not None:
        try:
            if not ipaddress.IPv6Address(ll).is_link_local:
                raise ValueError
        except ValueError:
            t.bad("link_local", f"{ll!r} is not an IPv6 link-local address")
            ok = False
        out["link_local"] = ll
    return out if ok else None


def _make_route(t: _Table, prefix: str, attrs: dict[str, Any], key: str) -> Route | None:
    try:
        Prefix.parse(prefix)
    except ValueError:
        t.bad(key, f"{prefix!r} is not a prefix (host bits must be zero)")
        return None
    try:
        route = Route.make(prefix, **attrs)
    except ValueError as e:
        t.bad(key, str(e))
        return None
    if route.prefix.afi == 1 and isinstance(route.next_hop, ipaddress.IPv6Address):
        return route  # RFC 8950 next hop: allowed
    if route.prefix.afi == 2 and isinstance(route.next_hop, ipaddress.IPv4Address):
        t.bad("next_hop", f"IPv6 prefix {prefix} with IPv4 next hop {route.next_hop}")
        return None
    return route


def _static_route(t: _Table) -> Route | None:
    prefix = t.string("prefix")
    path_id = t.integer("path_id", None, 0, 0xFFFFFFFF)
    attrs = _route_attributes(t)
    t.finish()
    if prefix is None:
        if not t.has("prefix"):
            t.bad("prefix", "missing")
        return None
    if attrs is None:
        return None
    if path_id is not None:
        attrs["path_id"] = path_id
    return _make_route(t, prefix, attrs, "prefix")


def route_from_mapping(data: dict[str, Any], path: str = "") -> Route:
    """A route given as a mapping with the keys of a ``[[routes]]`` table (the control socket
    uses this); raises :class:`ConfigError` naming the bad keys."""
    problems = _Problems("")
    route = _static_route(_Table(data, path, problems))
    if problems.items or route is None:
        raise ConfigError(problems.items or [f"{path or 'route'}: invalid"])
    return route


# --- peers --------------------------------------------------------------------------------------


def _peer(t: _Table, base: Path, read_text: Callable[[Path], str]) -> Neighbor | None:
    start = len(t.problems.items)
    address = t.string("address")
    if address is None and not t.has("address"):
        t.bad("address", "missing")
    elif address is not None:
        try:
            ipaddress.ip_address(address)
        except ValueError:
            t.bad("address", f"{address!r} is not an IP address")
    asn = t.raw("asn")
    if asn is None:
        t.bad("asn", "missing (the neighbor's AS number)")
    elif isinstance(asn, bool) or not isinstance(asn, int) or not _valid_asn(asn):
        t.bad("asn", f"{asn!r} is not a valid AS number")
    kw: dict[str, Any] = {}
    kw["port"] = t.integer("port", 179, 1, 65535)
    kw["passive"] = t.boolean("passive", False)
    local = t.string("local_address")
    if local is not None:
        try:
            ipaddress.ip_address(local)
        except ValueError:
            t.bad("local_address", f"{local!r} is not an IP address")
    kw["local_address"] = local
    password = t.string("password")
    pfile = t.string("password_file")
    if password is not None and pfile is not None:
        t.bad("password_file", "give password or password_file, not both")
    elif pfile is not None:
        path = (base / pfile) if not Path(pfile).is_absolute() else Path(pfile)
        try:
            password = read_text(path).rstrip("\r\n")
        except OSError as e:
            t.bad("password_file", f"cannot read {path}: {e.strerror or e}")
    if password is not None and len(password.encode()) > 80:
        t.bad("password" if pfile is None else "password_file", "longer than 80 octets")
    kw["md5_password"] = password or None
    kw["ttl_security"] = t.integer("ttl_security", None, 1, 254)
    hold = t.integer("hold_time", 90, 0, 65535)
    if hold is not None and hold in (1, 2):
        t.bad("hold_time", f"{hold} must be 0 or 3..65535 (RFC 4271)")
    kw["hold_time"] = hold
    if t.has("keepalive_time"):
        kw["keepalive_time"] = t.integer("keepalive_time", None, 0, 21845)
    kw["connect_retry_time"] = t.integer("connect_retry_time", 5, 1, 65535)
    families = t.strings("families", ("ipv4/unicast", "ipv6/unicast"))
    for i, f in enumerate(families):
        try:
            Family.parse(f)
        except ValueError as e:
            t.problems.add(f"{t.key('families')}[{i}]", str(e))
    kw["families"] = families
    ap = t.table("add_path")
    pairs: list[tuple[str, str]] = []
    if ap is not None:
        for fam, mode in ap.data.items():
            ap.seen.add(fam)
            try:
                Family.parse(fam)
            except ValueError as e:
                ap.bad(fam, str(e))
                continue
            if mode not in ("receive", "send", "both"):
                ap.bad(fam, f"{mode!r} is not receive, send or both")
                continue
            pairs.append((fam, mode))
    kw["add_path"] = tuple(pairs)
    kw["graceful_restart"] = t.boolean("graceful_restart", True)
    kw["restart_time"] = t.integer("restart_time", 120, 0, 4095)
    kw["max_prefixes"] = t.integer("max_prefixes", None, 1, 0xFFFFFFFF)
    for name in ("next_hop_self_v4", "next_hop_self_v6", "link_local"):
        v = t.string(name)
        if v is not None:
            try:
                ipaddress.ip_address(v)
            except ValueError:
                t.bad(name, f"{v!r} is not an IP address")
        kw[name] = v
    kw["description"] = t.string("description", "") or ""
    bfd = t.table("bfd")
    if bfd is not None:
        kw["bfd"] = _bfd(bfd)
    t.finish()
    if len(t.problems.items) > start or address is None or not isinstance(asn, int):
        return None
    try:
        return Neighbor(address, remote_as=asn, **kw)
    except ValueError as e:  # a rule Neighbor knows and we did not check above
        t.problems.add(t.path, str(e))
        return None


def _bfd(t: _Table) -> BfdConfig | None:
    """``[peers.bfd]``: the fields of :class:`BfdConfig`; its own checks (the measured interval
    floor among them) report under this table's key."""
    kw: dict[str, Any] = {
        "min_tx_ms": t.integer("min_tx_ms", 300),
        "min_rx_ms": t.integer("min_rx_ms", 300),
        "multiplier": t.integer("multiplier", 3, 1, 255),
        "multihop": t.boolean("multihop", False),
        "strict": t.boolean("strict", False),
        "passive": t.boolean("passive", False),
        "shutdown": t.boolean("shutdown", False),
    }
    if t.has("min_ttl"):
        kw["min_ttl"] = t.integer("min_ttl", None, 1, 255)
    local = t.string("local_address")
    if local is not None:
        kw["local_address"] = local
    interface = t.string("interface")
    if interface is not None:
        kw["interface"] = interface
    t.finish()
    try:
        return BfdConfig(**kw)
    except (ValueError, TypeError) as e:
        t.problems.add(t.path, str(e))
        return None


def _unique(
    tables: list[_Table],
    parse: Callable[[_Table], T | None],
    key: Callable[[T], object],
    field: str,
    show: Callable[[object], str],
) -> list[T]:
    """Parse each table; a second entry with the same key is reported at its ``field`` and
    left out, naming the entry that had it first."""
    out: list[T] = []
    first: dict[object, str] = {}
    for t in tables:
        item = parse(t)
        if item is None:
            continue
        k = key(item)
        if k in first:
            t.problems.add(f"{t.path}.{field}", f"{show(k)} is already {first[k]}")
            continue
        first[k] = t.path
        out.append(item)
    return out


# --- services -----------------------------------------------------------------------------------


def _check(t: _Table) -> Check | None:
    kinds = [k for k in ("command", "tcp", "http") if t.has(k)]
    if len(kinds) != 1:
        t.problems.add(
            t.path, 'needs exactly one of command = [...], tcp = "HOST:PORT" or http = "URL"'
        )
        for k in ("command", "tcp", "http", "expect"):
            t.raw(k)
        t.finish()
        return None
    kind = kinds[0]
    result: Check | None = None
    if kind == "command":
        raw = t.raw("command")
        argv: list[str] | None = None
        if isinstance(raw, str):
            argv = shlex.split(raw)
        elif isinstance(raw, list) and all(isinstance(a, str) for a in raw):
            argv = list(raw)
        if not argv:
            t.bad("command", f"{raw!r} is not a command (a list of arguments or a string)")
        else:
            result = CommandCheck(tuple(argv))
    elif kind == "tcp":
        text = t.string("tcp")
        if text is not None:
            try:
                host, port = parse_endpoint(text, 0)
                if port == 0:
                    raise ValueError("a port is required")
                result = TcpCheck(host, port)
            except ValueError as e:
                t.bad("tcp", f"{text!r}: {e}")
    else:
        url = t.string("http")
        expect = t.raw("expect")
        codes: tuple[int, ...] = (200,)
        if expect is not None:
            if not isinstance(expect, list) or not all(
                isinstance(c, int) and 100 <= c <= 599 for c in expect
            ):
                t.bad("expect", f"{expect!r} is not a list of HTTP status codes")
            else:
                codes = tuple(expect)
        if url is not None:
            parts = urlsplit(url)
            try:
                if parts.scheme != "http":
                    raise ValueError(
                        "only http:// is supported (no TLS in the standard library "
                        "check; put a local plain-HTTP health port in front)"
                    )
                host = parts.hostname or ""
                ipaddress.ip_address(host)
                port = parts.port or 80
                path = parts.path or "/"
                if parts.query:
                    path += "?" + parts.query
                result = HttpCheck(host, port, path, parts.netloc, codes)
            except ValueError as e:
                t.bad("http", f"{url!r}: {e}")
    t.finish()
    return result


def _damping(t: _Table, name: str) -> Damping | None:
    raw = t.raw(name)
    if raw is None or raw is True:
        return Damping()
    if raw is False:
        return None
    if not isinstance(raw, dict):
        t.bad(name, f"{raw!r} is not true, false or a table")
        return Damping()
    d = _Table(raw, t.key(name), t.problems)
    dflt = Damping()
    result = Damping(
        half_life=d.number("half_life", dflt.half_life),
        penalty=d.number("penalty", dflt.penalty),
        suppress=d.number("suppress", dflt.suppress),
        reuse=d.number("reuse", dflt.reuse),
        max_suppress=d.number("max_suppress", dflt.max_suppress),
    )
    if result.reuse >= result.suppress:
        d.bad("reuse", f"{result.reuse:g} must be below suppress ({result.suppress:g})")
    d.finish()
    return result


def _service(t: _Table) -> ServiceConfig | None:
    start = len(t.problems.items)
    name = t.string("name")
    if name is None and not t.has("name"):
        t.bad("name", "missing")
    prefixes = t.strings("prefixes")
    if not prefixes and not t.has("prefixes"):
        t.bad("prefixes", "missing (the prefixes this service announces)")
    attrs = _route_attributes(t)
    routes: list[Route] = []
    if attrs is not None:
        for i, p in enumerate(prefixes):
            r = _make_route(t, p, attrs, f"prefixes[{i}]")
            if r is not None:
                routes.append(r)
    ct = t.table("check")
    check = _check(ct) if ct is not None else None
    if ct is None and not t.has("check"):
        t.bad("check", "missing (command, tcp or http)")
    interval = t.number("interval", 5.0)
    timeout = t.number("timeout", min(2.0, interval))
    rise = t.integer("rise", 2, 1, 1000) or 2
    fall = t.integer("fall", 2, 1, 1000) or 2
    on_failure = t.string("on_failure", "withdraw") or "withdraw"
    if on_failure not in ("withdraw", "degrade"):
        t.bad("on_failure", f"{on_failure!r} is not withdraw or degrade")
    med = t.integer("degraded_med", None, 0, 0xFFFFFFFF)
    prepend = t.integer("degraded_prepend", 0, 0, 32) or 0
    if on_failure == "degrade" and med is None and not prepend:
        t.bad("on_failure", "degrade needs degraded_med and/or degraded_prepend")
    damping = _damping(t, "damping")
    t.finish()
    if len(t.problems.items) > start or name is None or check is None:
        return None
    return ServiceConfig(
        name=name,
        routes=tuple(routes),
        check=check,
        interval=interval,
        timeout=timeout,
        rise=rise,
        fall=fall,
        on_failure=on_failure,
        degraded_med=med,
        degraded_prepend=prepend,
        damping=damping,
    )


def _process(t: _Table) -> ProcessConfig | None:
    start = len(t.problems.items)
    name = t.string("name")
    if name is None and not t.has("name"):
        t.bad("name", "missing")
    raw = t.raw("run")
    argv: list[str] = []
    if isinstance(raw, str):
        argv = shlex.split(raw)
    elif isinstance(raw, list) and all(isinstance(a, str) for a in raw):
        argv = list(raw)
    if not argv:
        t.bad("run", f"{raw!r} is not a command (a list of arguments or a string)")
    ack = t.boolean("ack", True)
    events = t.strings("events")
    for i, e in enumerate(events):
        if e not in EVENT_KINDS:
            kinds = ", ".join(EVENT_KINDS)
            t.problems.add(f"{t.key('events')}[{i}]", f"{e!r} is not one of {kinds}")
    respawn = t.boolean("respawn", True)
    t.finish()
    if len(t.problems.items) > start or name is None:
        return None
    return ProcessConfig(name, tuple(argv), ack, events, respawn)


# --- the whole file -----------------------------------------------------------------------------


def parse_config(
    text: str,
    source: str = "<config>",
    *,
    base: Path | None = None,
    read_text: Callable[[Path], str] | None = None,
) -> DaemonConfig:
    """Validate a TOML document; raises :class:`ConfigError` listing every problem."""
    problems = _Problems(source)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError([f"{source}: {e}"]) from None
    reader = read_text or (lambda p: p.read_text(encoding="utf-8"))
    top = _Table(data, "", problems)
    local_as = top.raw("local_as")
    if local_as is None:
        top.bad("local_as", "missing")
    elif isinstance(local_as, bool) or not isinstance(local_as, int) or not _valid_asn(local_as):
        top.bad("local_as", f"{local_as!r} is not a valid AS number")
    router_id = top.string("router_id")
    if router_id is None and not top.has("router_id"):
        top.bad("router_id", "missing")
    elif router_id is not None:
        try:
            if int(ipaddress.IPv4Address(router_id)) == 0:
                top.bad("router_id", "0.0.0.0 is not a valid BGP identifier")
        except ValueError:
            top.bad("router_id", f"{router_id!r} is not an IPv4 address")
    listen: list[tuple[str, int]] = []
    for i, text_ep in enumerate(top.strings("listen", ("[::]:179",))):
        try:
            listen.append(parse_endpoint(text_ep, 179))
        except ValueError as e:
            problems.add(f"listen[{i}]", str(e))
    hostname = top.string("hostname")

    control = ControlConfig()
    ct = top.table("control")
    if ct is not None:
        sock = ct.string("socket", DEFAULT_SOCKET) or DEFAULT_SOCKET
        mode_text = ct.string("mode", "0660") or "0660"
        mode = 0o660
        try:
            mode = int(mode_text, 8)
            if not 0 <= mode <= 0o777:
                raise ValueError
        except ValueError:
            ct.bad("mode", f'{mode_text!r} is not an octal file mode like "0660"')
        control = ControlConfig(sock, mode, ct.string("group"))
        ct.finish()

    metrics = None
    mt = top.table("metrics")
    if mt is not None:
        ep = mt.string("listen")
        if ep is not None:
            try:
                metrics = parse_endpoint(ep, 9179)
            except ValueError as e:
                mt.bad("listen", str(e))
        mt.finish()

    base_dir = base if base is not None else Path(".")
    peers: list[Neighbor] = []
    seen_peer: dict[str, str] = {}
    for pt in top.tables("peers"):
        n = _peer(pt, base_dir, reader)
        if n is None:
            continue
        addr = str(n.ip)
        if addr in seen_peer:
            problems.add(f"{pt.path}.address", f"{addr} is already {seen_peer[addr]}")
            continue
        seen_peer[addr] = pt.path
        peers.append(n)

    routes = _unique(top.tables("routes"), _static_route, lambda r: r.prefix, "prefix", str)
    services = _unique(top.tables("services"), _service, lambda v: v.name, "name", repr)
    processes = _unique(top.tables("process"), _process, lambda v: v.name, "name", repr)
    top.finish()

    if problems.items:
        raise ConfigError(problems.items)
    assert isinstance(local_as, int) and router_id is not None
    return DaemonConfig(
        local_as=local_as,
        router_id=router_id,
        listen=tuple(listen),
        hostname=hostname,
        control=control,
        metrics=metrics,
        peers=tuple(peers),
        routes=tuple(routes),
        services=tuple(services),
        processes=tuple(processes),
        source=source,
    )


def load_config(path: str | Path) -> DaemonConfig:
    """Read and validate a file; password files are relative to its directory."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as e:
        raise ConfigError([f"{p}: cannot read: {e.strerror or e}"]) from None
    except UnicodeDecodeError as e:
        raise ConfigError([f"{p}: not UTF-8 text: {e.reason}"]) from None
    cfg = parse_config(text, str(p), base=p.parent)
    return replace(cfg, source=str(p))
