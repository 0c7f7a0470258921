"""Record what real FRR answers to the agent's vtysh commands, for the parsing unit tests.

The recordings in tests/agent/data/frr-8.4/ were made with this module against the interop
topology (FRR 8.4.4 from Debian 12). To record again (root; takes about a minute)::

    cd tests && python -m agent.interop.capture ../tests/agent/data/frr-8.4

Each recording is one JSON file: the scenario, the router, and per daemon the list of
``[command, raw vtysh output]`` pairs, in the order the agent sends them.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import tomllib
from pathlib import Path
from typing import Any

from agent.interop.topology import ROOT, Lab, agent_toml, ns, wait_for
from routeragent.config_load import parse_config
from routeragent.observe import bgpd_commands, zebra_commands


def record(lab: Lab, router: str, scenario: str, extra: list[str] | None = None) -> dict[str, Any]:
    config = parse_config(tomllib.loads(agent_toml(router)))
    version = lab.vtysh(router, "show version").splitlines()[0].strip()
    out: dict[str, Any] = {"frr": version, "router": router, "scenario": scenario}
    out["bgpd"] = [[c, lab.vtysh_daemon(router, "bgpd", c)] for c in bgpd_commands(config)]
    out["zebra"] = [[c, lab.vtysh_daemon(router, "zebra", c)] for _, c in zebra_commands(config)]
    out["extra"] = [[c, lab.vtysh(router, c)] for c in extra or []]
    return out


def main(argv: list[str]) -> int:
    dest = Path(argv[0]) if argv else Path("agent/data/frr-8.4")
    dest.mkdir(parents=True, exist_ok=True)
    lab = Lab()
    try:
        lab.up(agents=False)
        wait_for(lambda: lab.sessions_up("r1") == 4, 30, "r1 sessions")
        time.sleep(1)
        before = record(lab, "r1", "before-agent")
        for r in ("r1", "r2", "r3"):
            lab.start_stack(r)
        wait_for(lambda: lab.vip_holders() == ["r1"], 30, "r1 master")
        wait_for(lambda: len(lab.provider_multipath_peers("p1")) == 3, 30, "multipath")
        recs = [
            before,
            record(
                lab,
                "r1",
                "steady",
                extra=["show bgp ipv4 unicast neighbors 10.9.9.9 advertised-routes json"],
            ),
        ]
        lab.agent("r2", "drain", "--wait", "30", check=True)
        recs.append(record(lab, "r2", "drained"))
        subprocess.run(
            [*lab.agent_cmd("r2", "undrain"), "--wait", "30"], check=True, capture_output=True
        )
        for p in ("p1", "p2"):
            subprocess.run(["ip", "-n", ns(p), "link", "set", "r3", "down"], check=True)
        wait_for(lambda: lab.sessions_up("r3") == 0, 10, "r3 sessions down")
        time.sleep(0.5)
        recs.append(record(lab, "r3", "upstream-down", extra=["show bgp nonsense json"]))
        for rec in recs:
            path = dest / f"{rec['router']}-{rec['scenario']}.json"
            path.write_text(json.dumps(rec, indent=1) + "\n")
            print(path)
    finally:
        lab.down()
    print(f"recorded under {dest} (lab root was {ROOT})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
