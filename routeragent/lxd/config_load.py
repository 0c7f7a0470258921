"""TOML -> :class:`LxdConfig`, with the agent's loader helpers: every problem at once, each as
``key.path: reason``, unknown keys are errors (a typo must not fall back to a default).

    [announcer]  name, state_dir, metrics_listen, log_file, debounce, resync_interval,
                 reconnect_min, reconnect_max, graceful_stop
    [lxd]        socket | endpoint (+ client_cert, client_key, server_cert, verify), timeout,
                 uplinks, projects, member, announce_router_address
    [bgp]        asn, router_id, listen, restart_time
    [[neighbor]] address, remote_as, port, passive, local_address, md5_password, hold_time,
                 families, add_path, description
    [kinds.<subnet|nat|forward|load-balancer|instance>]  communities, large_communities, med
"""

from __future__ import annotations

import re
from ipaddress import IPv4Address, ip_address
from pathlib import Path
from typing import Any

from routeragent.config_load import (
    MAX_MED,
    MISSING,
    ConfigError,
    ConfigIssue,
    _address,
    _name,
    _range,
    _Table,
    community_problem,
    read_toml,
)
from routeragent.lxd.config_model import (
    KINDS,
    AnnouncerSettings,
    BgpSettings,
    Kind,
    KindAttributes,
    LxdConfig,
    LxdSettings,
    NeighborSettings,
)

_LARGE = re.compile(r"^(\d{1,10}):(\d{1,10}):(\d{1,10})$")
_FAMILIES = ("ipv4/unicast", "ipv6/unicast")
# LXD object names: what `lxc network create` and `lxc project create` accept, roughly
_LXD_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")


def _listen(t: _Table, name: str, text: str) -> tuple[str, int] | None:
    host, _, port = text.rpartition(":")
    host = host.strip("[]")
    if not host or not port.isdigit() or not 0 <= int(port) < 65536:
        t.problem(name, f"must be HOST:PORT, got {text!r}")
        return None
    try:
        ip_address(host)
    except ValueError:
        t.problem(name, f"{host!r} is not an IP address")
        return None
    return host, int(port)


def _path(t: _Table, name: str) -> Path | None:
    text = t.optional(name, str)
    return Path(text) if text else None


def _lxd_names(t: _Table, name: str, default: tuple[str, ...] | None) -> tuple[str, ...]:
    values = t.strings(name, default)
    for i, v in enumerate(values):
        if not _LXD_NAME.match(v):
            t.problem(f"{name}[{i}]", f"{v!r} is not an LXD name")
    return values


def _announcer(t: _Table) -> AnnouncerSettings:
    d = AnnouncerSettings(name="")
    name = t.get("name", str, check=_name)
    state_dir = t.get("state_dir", str, str(d.state_dir))
    listen = t.optional("metrics_listen", str)
    metrics = _listen(t, "metrics_listen", listen) if listen else None
    log_file = _path(t, "log_file")
    debounce = t.get("debounce", float, d.debounce, _range(0, 10))
    resync = t.get("resync_interval", float, d.resync_interval, _range(1, 86400))
    rmin = t.get("reconnect_min", float, d.reconnect_min, _range(0.01, 60))
    rmax = t.get("reconnect_max", float, d.reconnect_max, _range(0.01, 600))
    if rmax < rmin:
        t.problem("reconnect_max", f"must be >= reconnect_min ({rmin})")
    graceful = t.get("graceful_stop", bool, d.graceful_stop)
    t.finish()
    return AnnouncerSettings(
        name=name,
        state_dir=Path(state_dir),
        metrics_listen=metrics,
        log_file=log_file,
        debounce=debounce,
        resync_interval=resync,
        reconnect_min=rmin,
        reconnect_max=rmax,
        graceful_stop=graceful,
    )


def _lxd(t: _Table) -> LxdSettings:
    d = LxdSettings()
    socket = _path(t, "socket")
    endpoint = t.optional("endpoint", str)
    cert = _path(t, "client_cert")
    key = _path(t, "client_key")
    server_cert = _path(t, "server_cert")
    verify = t.get("verify", bool, True)
    if socket and endpoint:
        t.problem("endpoint", "set either socket or endpoint, not both")
    if endpoint is not None:
        if not endpoint.startswith("https://"):
            t.problem("endpoint", f"must be an https:// URL, got {endpoint!r}")
        if cert is None or key is None:
            t.problem("client_cert", "a remote endpoint needs client_cert and client_key")
    elif cert or key or server_cert:
        t.problem("endpoint", "client_cert, client_key and server_cert need an endpoint")
    if socket is None and endpoint is None:
        socket = Path("/var/lib/lxd/unix.socket")
    timeout = t.get("timeout", float, d.timeout, _range(0.5, 300))
    uplinks = _lxd_names(t, "uplinks", d.uplinks)
    if not uplinks and t.raw("uplinks") is not MISSING:
        t.problem("uplinks", "needs at least one uplink network")
    projects: tuple[str, ...] | None = None
    if t.raw("projects") == ["*"]:
        t.used.add("projects")
    elif t.raw("projects") is not MISSING:
        projects = _lxd_names(t, "projects", ())
        if not projects:
            t.problem("projects", 'needs at least one project (or ["*"] for all)')
    member = t.optional("member", str)
    router_addr = t.get("announce_router_address", bool, d.announce_router_address)
    t.finish()
    return LxdSettings(
        socket=socket,
        endpoint=endpoint,
        client_cert=cert,
        client_key=key,
        server_cert=server_cert,
        verify=verify,
        timeout=timeout,
        uplinks=uplinks,
        projects=projects,
        member=member,
        announce_router_address=router_addr,
    )


def _neighbor(t: _Table) -> NeighborSettings:
    address = _address(t, "address")
    remote_as = t.get("remote_as", int, check=_range(1, 4294967295))
    port = t.get("port", int, 179, _range(1, 65535))
    passive = t.get("passive", bool, False)
    local = _address(t, "local_address", required=False)
    md5 = t.optional("md5_password", str)
    if md5 is not None and len(md5.encode()) > 80:
        t.problem("md5_password", "longer than 80 octets (the Linux TCP_MD5SIG limit)")
    hold = t.get(
        "hold_time", int, 90, lambda v: None if v == 0 or 3 <= v <= 65535 else "0 or 3..65535"
    )
    families = t.strings("families", _FAMILIES)
    for i, f in enumerate(families):
        if f not in _FAMILIES:
            t.problem(f"families[{i}]", f"must be one of {', '.join(_FAMILIES)}, got {f!r}")
    add_path = t.get("add_path", bool, True)
    description = t.get("description", str, "")
    t.finish()
    return NeighborSettings(
        address=address or ip_address("0.0.0.0"),
        remote_as=remote_as,
        port=port,
        passive=passive,
        local_address=local,
        md5_password=md5,
        hold_time=hold,
        families=families,
        add_path=add_path,
        description=description,
    )


def _bgp(t: _Table, neighbors: tuple[NeighborSettings, ...]) -> BgpSettings:
    asn = t.get("asn", int, check=_range(1, 4294967295))
    router_id = t.get("router_id", str)
    if router_id is not None:
        try:
            if int(IPv4Address(router_id)) == 0:
                t.problem("router_id", "0.0.0.0 is not a valid BGP identifier")
        except ValueError:
            t.problem("router_id", f"must be an IPv4 address, got {router_id!r}")
    listen: list[tuple[str, int]] = []
    for i, text in enumerate(t.strings("listen", ())):
        item = _listen(t, f"listen[{i}]", text)
        if item is not None:
            listen.append(item)
    restart = t.get("restart_time", int, 120, _range(1, 4095))
    t.finish()
    return BgpSettings(
        asn=asn,
        router_id=router_id,
        listen=tuple(listen),
        restart_time=restart,
        neighbors=neighbors,
    )


def _kind(t: _Table) -> KindAttributes:
    comms = t.strings("communities", ())
    for i, c in enumerate(comms):
        problem = community_problem(c)
        if problem:
            t.problem(f"communities[{i}]", problem)
    large = t.strings("large_communities", ())
    for i, c in enumerate(large):
        m = _LARGE.match(c)
        if not m or any(int(g) > 4294967295 for g in m.groups()):
            t.problem(f"large_communities[{i}]", f"{c!r} is not ASN:VALUE:VALUE (0..2^32-1 each)")
    med = t.optional("med", int, _range(0, MAX_MED))
    t.finish()
    return KindAttributes(communities=comms, large_communities=large, med=med)


def parse_lxd_config(data: dict[str, Any], source: str = "config") -> LxdConfig:
    """Validate a decoded TOML document; raises :class:`ConfigError` listing every problem."""
    issues: list[ConfigIssue] = []
    top = _Table(data, "", issues)
    announcer = _announcer(top.table("announcer", required=True))
    lxd = _lxd(top.table("lxd"))
    neighbors = tuple(_neighbor(t) for t in top.tables("neighbor"))
    bgp = _bgp(top.table("bgp", required=True), neighbors)
    kt = top.table("kinds")
    kinds: dict[Kind, KindAttributes] = {}
    for kind in KINDS:
        if kt.raw(kind) is not MISSING:
            kinds[kind] = _kind(kt.table(kind))
    kt.finish()
    top.finish()
    seen: set[object] = set()
    for i, n in enumerate(neighbors):
        if n.address in seen:
            issues.append(ConfigIssue(f"neighbor[{i}].address", f"duplicate neighbor {n.address}"))
        seen.add(n.address)
    if not neighbors and not issues:
        issues.append(ConfigIssue("neighbor", "at least one [[neighbor]] is required"))
    if issues:
        raise ConfigError(issues, source)
    return LxdConfig(announcer=announcer, lxd=lxd, bgp=bgp, kinds=kinds)


def load_lxd_config(path: Path) -> LxdConfig:
    return parse_lxd_config(read_toml(path), str(path))
