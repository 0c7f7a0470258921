"""Config validation: every problem reported at once, each naming its key and the reason."""

from __future__ import annotations

import copy
from ipaddress import ip_address, ip_interface
from pathlib import Path
from typing import Any

import pytest

from agent.builders import base_dict
from routeragent.config_load import ConfigError, load_config, parse_config
from routeragent.config_model import BgpProbe, CommandProbe, RouteProbe, TcpProbe

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "agent" / "routeragent.toml"


def issues(d: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(ConfigError) as e:
        parse_config(d)
    out: dict[str, str] = {}
    for i in e.value.issues:
        out[i.path] = f"{out[i.path]}; {i.reason}" if i.path in out else i.reason
    return out


def test_base_config_is_valid_with_defaults() -> None:
    c = parse_config(base_dict())
    assert c.agent.router == "r1" and c.frr.asn == 65010
    inst = c.vrrp[0]
    assert inst.version == 3 and inst.advert_interval == 0.1
    assert inst.advertised == (ip_interface("10.50.0.1/24"),)
    assert inst.excluded == (ip_interface("2001:db8:50::1/64"),)
    assert [str(u.neighbor) for u in c.upstreams][1] == "2001:db8:1:1::1"
    assert c.upstreams[1].family == "ipv6"
    bgp = c.checks[0].probe
    assert isinstance(bgp, BgpProbe)
    assert bgp.neighbors == tuple(u.neighbor for u in c.upstreams)  # default: all upstreams
    assert c.policy.ingress.equal.med == 100 and c.policy.ingress.drain.prepend == 3
    assert c.healthy_priority(inst) == 200 and c.demoted_priority(inst) == 50


def test_shipped_example_is_valid() -> None:
    c = load_config(EXAMPLE)
    kinds = {type(ch.probe) for ch in c.checks}
    assert {BgpProbe, RouteProbe, TcpProbe, CommandProbe} <= kinds


def test_errors_name_the_key_path_and_reason() -> None:
    d = base_dict()
    d["vrrp"][0]["vrid"] = 300
    d["vrrp"][0]["advert_intervall"] = 1
    d["upstream"][2]["neighbor"] = "10.1.1.300"
    d["policy"]["egress_role"] = "boss"
    d["agent"]["interval"] = "fast"
    got = issues(d)
    assert got["vrrp[0].vrid"] == "must be in 1..255, got 300"
    assert got["vrrp[0].advert_intervall"] == "unknown key"
    assert "does not appear to be an IPv4 or IPv6 address" in got["upstream[2].neighbor"]
    assert got["policy.egress_role"].startswith("must be one of primary, secondary")
    assert got["agent.interval"] == "must be a number, got 'fast'"


def test_missing_required_tables_and_keys() -> None:
    got = issues({"agent": {"router": "r1"}})
    assert got["frr"] == "required table is missing"
    assert got["frr.asn"] == "required key is missing"
    got = issues({"agent": {}, "frr": {"asn": 1}, "vrrp": [{"name": "x"}]})
    assert got["agent.router"] == "required key is missing"
    assert got["vrrp[0].interface"] == "required key is missing"
    assert got["vrrp[0].addresses"] == "required key is missing"


def test_no_vrrp_instance_is_an_error() -> None:
    d = base_dict()
    del d["vrrp"]
    assert issues(d) == {"vrrp": "at least one [[vrrp]] instance is required"}


def test_types_are_checked_strictly() -> None:
    d = base_dict()
    d["frr"]["asn"] = True
    d["drain"]["withdraw"] = "yes"
    d["announce"]["prefixes"] = "203.0.113.0/24"
    got = issues(d)
    assert got["frr.asn"] == "must be an integer, got True"
    assert got["drain.withdraw"] == "must be true or false, got 'yes'"
    assert got["announce.prefixes"].startswith("must be a list of strings")


def test_vrrp_rules() -> None:
    d = base_dict()
    inst = d["vrrp"][0]
    d["vrrp"].append({**copy.deepcopy(inst), "name": "lan"})  # same name, interface and VRID
    d["vrrp"].append(
        {
            "name": "v6",
            "interface": "lan1",
            "vrid": 7,
            "version": 2,
            "addresses": ["2001:db8::1/64"],
        }
    )
    d["vrrp"].append(
        {"name": "v2", "interface": "lan2", "vrid": 8, "version": 2, "advert_interval": 0.5,
         "addresses": ["10.0.0.1/24", "nonsense"], "priority": 255}
    )  # fmt: skip
    got = issues(d)
    assert got["vrrp[1]"] == (
        "duplicate VRRP instance name lan; duplicate VRRP router on lan0 VRID 51"
    )
    assert got["vrrp[2].version"] == "IPv6-only instances need VRRP version 3"
    assert got["vrrp[3].advert_interval"] == "VRRPv2 takes whole seconds, got 0.5"
    assert "nonsense" in got["vrrp[3].addresses[1]"]
    assert got["vrrp[3].priority"] == "must be in 10..254, got 255"


def test_bgp_check_neighbors_must_be_upstreams() -> None:
    d = base_dict()
    d["check"][0]["neighbors"] = ["10.1.1.1", "192.0.2.9"]
    d["check"][0]["min_established"] = 3
    got = issues(d)
    assert got["check[0].neighbors[1]"] == "192.0.2.9 is not an [[upstream]] neighbor"
    assert got["check[0].min_established"] == "only 2 neighbor(s) are checked"


def test_check_kinds_and_their_keys() -> None:
    d = base_dict()
    d["check"] = [
        {"name": "gw", "type": "route", "prefix": "0.0.0.0/0"},
        {"name": "bad-route", "type": "route", "prefix": "10.0.0.1/8"},
        {"name": "web", "type": "tcp", "host": "192.0.2.10", "port": 70000},
        {"name": "cmd", "type": "command", "command": []},
        {"name": "p", "type": "ping", "host": "2001:db8::1", "affects": "everything"},
        {"name": "gw", "type": "magic"},
    ]
    got = issues(d)
    assert "host bits set" in got["check[1].prefix"]
    assert got["check[2].port"] == "must be in 1..65535, got 70000"
    assert got["check[3].command"] == "must not be empty"
    assert got["check[4].affects"].startswith("must be one of gateway, ingress, both")
    assert got["check[5].type"].startswith("must be one of bgp, route")
    assert got["check[5]"] == "duplicate check name gw"


def test_communities_and_attribute_tables() -> None:
    d = base_dict()
    d["policy"]["ingress"] = {
        "depref": {"med": 300, "prepend": 11, "communities": ["65010:100", "no-export", "1:99999"]},
        "weird": {},
    }
    got = issues(d)
    assert got["policy.ingress.depref.prepend"] == "must be in 0..10, got 11"
    assert "community '1:99999'" in got["policy.ingress.depref.communities[2]"]
    assert got["policy.ingress.weird"] == "unknown key"
    d["policy"]["ingress"] = {"depref": {"med": 300, "communities": ["65010:100", "no-export"]}}
    c = parse_config(d)
    assert c.policy.ingress.depref.med == 300
    assert c.policy.ingress.depref.prepend == 2  # default kept
    assert c.policy.ingress.depref.communities == ("65010:100", "no-export")


def test_metrics_listen_and_pathspace() -> None:
    d = base_dict()
    d["agent"]["metrics_listen"] = "[::1]:9108"
    d["frr"]["pathspace"] = "r1"
    c = parse_config(d)
    assert c.agent.metrics_listen == ("::1", 9108)
    assert c.frr.vtysh_argv() == ["vtysh", "-N", "r1"]
    d["agent"]["metrics_listen"] = "9108"
    d["frr"]["vty_socket"] = "/run/frr"
    got = issues(d)
    assert got["agent.metrics_listen"] == "must be HOST:PORT, got '9108'"
    assert got["frr.pathspace"] == "set either vty_socket or pathspace, not both"


def test_duplicate_upstreams_and_prefixes() -> None:
    d = base_dict()
    d["upstream"].append({"name": "again", "neighbor": "10.1.1.1"})
    d["announce"]["prefixes"].append("203.0.113.0/24")
    got = issues(d)
    assert got["upstream[4]"] == "duplicate upstream neighbor 10.1.1.1"
    assert got["announce.prefixes[2]"] == "duplicate prefix 203.0.113.0/24"


def test_file_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as e:
        load_config(tmp_path / "missing.toml")
    assert e.value.issues[0].path == "(file)"
    bad = tmp_path / "bad.toml"
    bad.write_text("[agent\nrouter = 1\n")
    with pytest.raises(ConfigError) as e:
        load_config(bad)
    assert e.value.issues[0].path == "(syntax)"
    assert str(bad) in str(e.value)


def test_unicast_peers() -> None:
    d = base_dict()
    d["vrrp"][0]["unicast_source"] = "10.50.0.11"
    d["vrrp"][0]["unicast_peers"] = ["10.50.0.12", "10.50.0.13"]
    c = parse_config(d)
    assert c.vrrp[0].unicast_peers == (ip_address("10.50.0.12"), ip_address("10.50.0.13"))
