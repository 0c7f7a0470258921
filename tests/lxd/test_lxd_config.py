"""The announcer's config: the agent's format and loader rules (every problem at once, each
naming its key; unknown keys are errors)."""

from __future__ import annotations

from ipaddress import ip_address
from pathlib import Path
from typing import Any

import pytest

from routeragent.config_load import ConfigError
from routeragent.lxd.config_load import load_lxd_config, parse_lxd_config

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "lxd" / "lxd.toml"


def minimal() -> dict[str, Any]:
    return {
        "announcer": {"name": "lxd1"},
        "bgp": {"asn": 65010, "router_id": "192.0.2.21"},
        "neighbor": [{"address": "192.0.2.1", "remote_as": 65000}],
    }


def issues(d: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(ConfigError) as e:
        parse_lxd_config(d)
    return {i.path: i.reason for i in e.value.issues}


def test_minimal_config_and_defaults() -> None:
    c = parse_lxd_config(minimal())
    assert c.lxd.socket == Path("/var/lib/lxd/unix.socket") and c.lxd.endpoint is None
    assert c.lxd.uplinks == ("UPLINK",) and c.lxd.projects is None and c.lxd.member is None
    assert c.announcer.graceful_stop and c.announcer.debounce == 0.05
    n = c.bgp.neighbors[0]
    assert n.address == ip_address("192.0.2.1") and n.add_path and n.port == 179
    assert c.bgp.listen == () and c.bgp.restart_time == 120
    assert c.attributes("instance").communities == ()


def test_shipped_example_is_valid() -> None:
    c = load_lxd_config(EXAMPLE)
    assert c.lxd.projects is None  # ["*"]
    assert c.attributes("instance").med == 10
    assert c.attributes("instance").large_communities == ("65010:140:1",)
    assert c.attributes("load-balancer").communities == ("65010:130",)
    assert [str(n.address) for n in c.bgp.neighbors] == ["192.0.2.1", "192.0.2.2"]
    assert c.announcer.metrics_listen == ("127.0.0.1", 9109)


def test_errors_name_the_key_path() -> None:
    d = minimal()
    d["announcer"]["debounce"] = "fast"
    d["lxd"] = {"endpoint": "http://lxd:8443", "projectz": ["a"], "uplinks": ["bad name!"]}
    d["bgp"]["router_id"] = "0.0.0.0"
    d["neighbor"][0]["remote_as"] = 0
    d["neighbor"].append({"address": "192.0.2.1", "remote_as": 65000, "families": ["l2vpn"]})
    d["kinds"] = {"subnet": {"communities": ["65010:99999"], "med": -1}, "vlan": {}}
    got = issues(d)
    assert got["announcer.debounce"] == "must be a number, got 'fast'"
    assert got["lxd.endpoint"] == "must be an https:// URL, got 'http://lxd:8443'"
    assert got["lxd.client_cert"] == "a remote endpoint needs client_cert and client_key"
    assert got["lxd.projectz"] == "unknown key"
    assert got["lxd.uplinks[0]"] == "'bad name!' is not an LXD name"
    assert got["bgp.router_id"] == "0.0.0.0 is not a valid BGP identifier"
    assert got["neighbor[0].remote_as"] == "must be in 1..4294967295, got 0"
    assert got["neighbor[1].families[0]"].startswith("must be one of ipv4/unicast")
    assert got["neighbor[1].address"] == "duplicate neighbor 192.0.2.1"
    assert got["kinds.subnet.communities[0]"].startswith("community '65010:99999' is neither")
    assert got["kinds.subnet.med"] == "must be in 0..4294967295, got -1"
    assert got["kinds.vlan"] == "unknown key"


def test_socket_and_endpoint_exclude_each_other() -> None:
    d = minimal()
    d["lxd"] = {"socket": "/x", "endpoint": "https://a:8443", "client_cert": "c", "client_key": "k"}
    assert issues(d) == {"lxd.endpoint": "set either socket or endpoint, not both"}
    d["lxd"] = {"client_cert": "c"}
    assert issues(d) == {"lxd.endpoint": "client_cert, client_key and server_cert need an endpoint"}


def test_remote_endpoint_config() -> None:
    d = minimal()
    d["lxd"] = {
        "endpoint": "https://10.1.0.2:8443",
        "client_cert": "/etc/c.crt",
        "client_key": "/etc/c.key",
        "server_cert": "/etc/s.crt",
        "projects": ["default", "p2"],
    }
    c = parse_lxd_config(d)
    assert c.lxd.socket is None and c.lxd.server_cert == Path("/etc/s.crt")
    assert c.lxd.projects == ("default", "p2")


def test_required_tables_and_neighbors() -> None:
    assert issues({}) == {
        "announcer": "required table is missing",
        "announcer.name": "required key is missing",
        "bgp": "required table is missing",
        "bgp.asn": "required key is missing",
        "bgp.router_id": "required key is missing",
    }
    d = minimal()
    del d["neighbor"]
    assert issues(d) == {"neighbor": "at least one [[neighbor]] is required"}


def test_empty_lists_are_errors() -> None:
    d = minimal()
    d["lxd"] = {"uplinks": [], "projects": []}
    assert issues(d) == {
        "lxd.uplinks": "needs at least one uplink network",
        "lxd.projects": 'needs at least one project (or ["*"] for all)',
    }


def test_reconnect_bounds_and_listen() -> None:
    d = minimal()
    d["announcer"].update(reconnect_min=2.0, reconnect_max=1.0, metrics_listen="nohost")
    d["bgp"]["listen"] = ["[::]:179", "10.0.0.1:x"]
    got = issues(d)
    assert got["announcer.reconnect_max"] == "must be >= reconnect_min (2.0)"
    assert got["announcer.metrics_listen"] == "must be HOST:PORT, got 'nohost'"
    assert got["bgp.listen[1]"] == "must be HOST:PORT, got '10.0.0.1:x'"
    assert "bgp.listen[0]" not in got


def test_unreadable_and_malformed_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"\(file\): cannot read"):
        load_lxd_config(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[announcer\n")
    with pytest.raises(ConfigError, match=r"\(syntax\)"):
        load_lxd_config(bad)
