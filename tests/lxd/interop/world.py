"""The interop world: LXD + OVN (bed.py), FRR as the upstream router, the announcer under test
and LXD's own BGP speaker, plus views of FRR's RIB per BGP peer.

    bsl-<pid>-up  FRR AS 65000: upl0p 10.210.0.1/24, 2001:db8:210::1/64 (the uplink gateway),
                  and a veth to the LXD host for BGP: 10.k.0.1
    bsl-<pid>-lxd the LXD host: 10.k.0.2 (our announcer, AS 65010) and 10.k.0.3 (LXD's own
                  BGP, core.bgp_address, AS 65011), both peering with FRR

FRR installs what it learns (zebra), so traffic from the upstream namespace really follows
the announced routes into OVN.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lab.frr import FrrInstance, FrrNeighbor, bgpd_config, family_of
from lab.netns import Link
from lab.testlab import Lab

from routeragent.lab import lxd_host

from .bed import LxdBed

OUR_AS = 65010
NATIVE_AS = 65011
FRR_AS = 65000

#: what the announcer under test sends: a community per kind, a MED for instance routes
KINDS = """
[kinds.subnet]
communities = ["65010:100"]
[kinds.nat]
communities = ["65010:110"]
[kinds.forward]
communities = ["65010:120"]
[kinds.instance]
communities = ["65010:140"]
med = 10
"""


def announcer_toml(bed: LxdBed, router_id: str, frr: str) -> str:
    """The announcer under test, for ``bed``'s LXD, peering from ``router_id`` with FRR."""
    return lxd_host.announcer_config(
        name="lxd-test",
        state_dir=bed.dir / "announcer-state",
        socket=bed.socket,
        asn=OUR_AS,
        router_id=router_id,
        neighbors=[{"address": frr, "remote_as": FRR_AS, "hold_time": 9}],
        metrics_listen="127.0.0.1:9109",
        tail=KINDS,
    )


@dataclass
class Timing:
    what: str
    seconds: float


class World:
    def __init__(self, bed: LxdBed, lab: Lab) -> None:
        self.bed = bed
        self.lab = lab
        self.frr: FrrInstance | None = None
        self.link: Link | None = None
        self.announcer: subprocess.Popen[Any] | None = None
        self.timings: list[Timing] = []
        self._starts = 0

    # --- addresses -------------------------------------------------------------------------
    @property
    def frr_addr(self) -> str:
        assert self.link is not None
        return self.link.a.ipv4

    @property
    def our_addr(self) -> str:
        assert self.link is not None
        return self.link.b.ipv4

    @property
    def native_addr(self) -> str:
        assert self.link is not None
        return self.link.b.ipv4.rsplit(".", 1)[0] + ".3"

    # --- bring-up --------------------------------------------------------------------------
    def up(self) -> None:
        bed = self.bed
        bed.up()
        assert bed.lxd_ns is not None and bed.up_ns is not None
        self.link = self.lab.link(bed.up_ns, bed.lxd_ns)
        bed.lxd_ns.ip("addr", "add", f"{self.native_addr}/24", "dev", self.link.b.ifname)
        bed.up_ns.enable_forwarding()
        neighbors = [
            FrrNeighbor(self.our_addr, OUR_AS, families=("ipv4", "ipv6")),
            FrrNeighbor(self.native_addr, NATIVE_AS, families=("ipv4", "ipv6")),
        ]
        self.frr = self.lab.frr(bed.up_ns, bgpd_config(FRR_AS, self.frr_addr, neighbors))
        # LXD's own speaker first: it announces what networks and NICs start after it exists
        bed.lxc(
            "config",
            "set",
            f"core.bgp_address={self.native_addr}:179",
            f"core.bgp_asn={NATIVE_AS}",
            f"core.bgp_routerid={self.native_addr}",
        )
        bed.lxc(
            "network",
            "set",
            "UPLINK",
            f"bgp.peers.frr.address={self.frr_addr}",
            f"bgp.peers.frr.asn={FRR_AS}",
            "ipv4.routes.anycast=true",
            "ipv6.routes.anycast=true",
        )

    # --- the announcer -----------------------------------------------------------------------
    def config_file(self) -> Path:
        path = self.bed.dir / "announcer.toml"
        path.write_text(announcer_toml(self.bed, self.our_addr, self.frr_addr))
        return path

    def start_announcer(self) -> subprocess.Popen[Any]:
        assert self.bed.lxd_ns is not None and self.announcer is None
        self._starts += 1
        argv = [
            sys.executable,
            "-m",
            "routeragent.cli",
            "announce-lxd",
            "-c",
            str(self.config_file()),
        ]
        self.announcer = self.lab.popen(self.bed.lxd_ns, argv, log=f"announcer-{self._starts}.log")
        return self.announcer

    def stop_announcer(self, sig: int = signal.SIGTERM) -> int:
        proc = self.announcer
        assert proc is not None
        proc.send_signal(sig)
        code = proc.wait(15)
        self.announcer = None
        return code

    def announcer_log(self) -> list[dict[str, Any]]:
        out = []
        for path in sorted(self.lab.dir.glob("announcer-*.log")):
            for line in path.read_text().splitlines():
                if line.startswith("{"):
                    out.append(json.loads(line))
        return out

    # --- FRR views ---------------------------------------------------------------------------
    def paths(self, prefix: str, peer: str | None = None) -> list[dict[str, Any]]:
        """FRR's paths for ``prefix`` learned from ``peer`` (default: our announcer)."""
        assert self.frr is not None
        view = self.frr.show_json(f"show bgp {family_of(prefix)} unicast {prefix}")
        want = peer or self.our_addr
        return [p for p in view.get("paths", []) if p.get("peer", {}).get("peerId") == want]

    def next_hops(self, prefix: str, peer: str | None = None) -> list[str]:
        return sorted(str(p["nexthops"][0]["ip"]) for p in self.paths(prefix, peer))

    def table(self, family: str, peer: str) -> set[tuple[str, str]]:
        """Every (prefix, next hop) FRR holds from ``peer``."""
        assert self.frr is not None
        routes = self.frr.show_json(f"show bgp {family} unicast").get("routes", {})
        out = set()
        for prefix, paths in routes.items():
            for p in paths:
                if p.get("peerId") == peer:
                    hops = [
                        h["ip"]
                        for h in p.get("nexthops", [])
                        if h.get("scope", "global") == "global"
                    ]
                    out.add((prefix, hops[0]))
        return out

    def neighbor(self, address: str) -> dict[str, Any]:
        assert self.frr is not None
        return dict(self.frr.show_json(f"show bgp neighbors {address}")[address])

    def wait_paths(
        self,
        prefix: str,
        check: Callable[[list[str]], bool],
        what: str,
        timeout: float = 10.0,
        since: float | None = None,
    ) -> float:
        """Poll FRR every 20 ms until ``check(next hops from us)``; seconds since ``since``."""
        t0 = time.monotonic() if since is None else since
        last: list[str] = []
        while time.monotonic() - t0 < timeout:
            last = self.next_hops(prefix)
            if check(last):
                return time.monotonic() - t0
            time.sleep(0.02)
        raise AssertionError(f"{what}: {prefix} next hops from us still {last} after {timeout} s")

    def timed(self, what: str, seconds: float) -> float:
        self.timings.append(Timing(what, seconds))
        return seconds
