"""Recorded LXD answers for the unit tests, and small edits of them.

``data/lxd-5.0.2/*.json`` are real reads of LXD 5.0.2 (Debian 12) with OVN 23.03, made with
``routeragent announce-lxd --dry-run --record`` against the interop test bed
(tests/lxd/interop). The setup they show:

    UPLINK  physical, gateway 10.210.0.1/24 and 2001:db8:210::1/64, routes.anycast on
    ovn1    NAT off, 10.211.1.1/24 + 2001:db8:211:1::1/64, router 10.210.0.100 / ::100,
            forwards 198.51.100.50 and 2001:db8:100:50::1
    ovn2    NAT off, 10.211.2.1/24 + 2001:db8:211:2::1/64, router .101
    ovn3    NAT on with nat.address 203.0.113.10 and 2001:db8:100:ff::10, router .102
    ovn5    NAT on without a nat.address, IPv4 only, router .104
    p2/ovn4 (project p2, own networks) NAT off, 10.211.4.1/24, router .103
    c1 (ovn1, running)  routes.external 198.51.100.16/28, 198.51.100.99/32, 2001:db8:100:1::/64
    c2 (ovn2, running)  routes.external 198.51.100.98/32, 198.51.100.99/32 (anycast with c1)
    c3 (ovn3, running)  no external routes
    p2/c4 (ovn4, running) 198.51.100.64/29
    c5 (ovn1, STOPPED)  198.51.100.80/29, 2001:db8:100:5::/64

``project-p2.json`` is the same LXD read with ``projects = ["p2"]``.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any, cast

from routeragent.lxd.lxd_objects import RawSnapshot

DATA = Path(__file__).parent / "data" / "lxd-5.0.2"


def recorded(name: str = "all-projects") -> RawSnapshot:
    return cast(RawSnapshot, json.loads((DATA / f"{name}.json").read_text()))


def network(raw: RawSnapshot, name: str, project: str = "default") -> dict[str, Any]:
    for net in raw["networks"][project]:
        if net["name"] == name:
            return net
    raise KeyError(name)


def instance(raw: RawSnapshot, prefix: str) -> dict[str, Any]:
    for inst in raw["instances"]:
        if inst["name"].startswith(prefix + "-"):
            return inst
    raise KeyError(prefix)


def edited(raw: RawSnapshot) -> RawSnapshot:
    return copy.deepcopy(raw)
