"""docs/reference/json-schemas.md agrees with the code: the ExaBGP-format example is what the
daemon writes for that event, and the status table names every field the agent writes."""

from __future__ import annotations

import ast
import ipaddress
import json
import re
from pathlib import Path

from bgpspeak import Prefix, RouteReceived
from bgpspeak.daemon.exabgp_json import Header, NeighborInfo, event_json
from bgpspeak.wire import (
    IPV4_UNICAST,
    AsPath,
    Communities,
    MultiExitDisc,
    NextHop,
    Origin,
    parse_community,
)

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "reference" / "json-schemas.md"


def test_exabgp_update_example_is_what_the_daemon_writes() -> None:
    text = PAGE.read_text()
    block = text.split("<!-- exabgp-update-example -->", 1)[1].split("```json", 1)[1]
    documented = json.loads(block.split("```", 1)[0])
    peer = ipaddress.ip_address("192.0.2.1")
    event = RouteReceived(
        peer,
        IPV4_UNICAST,
        Prefix.parse("198.51.100.0/24"),
        (peer,),
        (
            Origin(0),
            AsPath.sequence(65000, 64500),
            NextHop(ipaddress.IPv4Address("192.0.2.1")),
            MultiExitDisc(10),
            Communities((parse_community("65000:100"),)),
        ),
    )
    written = event_json(
        event,
        NeighborInfo("192.0.2.1", "192.0.2.10", 65000, 65010),
        Header(1765000000.0, "dns1", 4242, 1, 7),
    )
    assert written == documented


def _status_fields() -> set[str]:
    """String keys of the dict literals in routeragent's Agent.status()."""
    tree = ast.parse((ROOT / "routeragent" / "agent.py").read_text())
    fn = next(n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name == "status")
    keys = set()
    for node in ast.walk(fn):
        if isinstance(node, ast.Dict):
            for k in node.keys:
                if isinstance(k, ast.Constant) and isinstance(k.value, str):
                    keys.add(k.value)
    return keys


def test_status_table_names_every_field() -> None:
    fields = _status_fields()
    assert {"router", "gateway", "checks", "vrrp", "route_map_in"} <= fields
    section = PAGE.read_text().split("## routeragent status", 1)[1].split("\n## ", 1)[0]
    named = set(re.findall(r"`([\w-]+)`", section))
    missing = sorted(fields - named)
    assert not missing, f"docs/reference/json-schemas.md (routeragent status) lacks {missing}"
