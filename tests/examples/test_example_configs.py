"""The config files in examples/ are valid for the real commands: each routeragent config
passes `routeragent check-config` and renders the keepalived.conf of its role, the LXD
announcer configs load and produce an announcement table from recorded LXD answers, the
daemon config passes `bgpspeak run --check`, and the shipped MRT sample is what its
generator writes."""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
SEED = EXAMPLES / "seed"
LXD_ANSWERS = ROOT / "tests" / "lxd" / "data" / "lxd-5.0.2" / "all-projects.json"

ROLES = {"r1": 200, "r2": 150, "r3": 100}  # egress_role primary / secondary / tertiary


def run(*argv: str) -> subprocess.CompletedProcess[str]:
    """The command's own entry point, in this process (the same code as the installed script,
    without a Python start-up per call): exit status and output."""
    from bgpspeak.cli import main as bgpspeak_main
    from routeragent.cli import main as routeragent_main

    entry = {"bgpspeak": bgpspeak_main, "routeragent": routeragent_main}[argv[0]]
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = entry(list(argv[1:]))
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else 1
    return subprocess.CompletedProcess(list(argv), code, out.getvalue(), err.getvalue())


@pytest.mark.parametrize(
    "config",
    [SEED / f"routeragent-{r}.toml" for r in ROLES] + [EXAMPLES / "agent" / "routeragent.toml"],
    ids=lambda p: p.name,
)
def test_routeragent_configs_pass_check_config(config: Path) -> None:
    r = run("routeragent", "check-config", "-c", str(config))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "OK" in r.stdout


@pytest.mark.parametrize("router", sorted(ROLES))
def test_seed_routers_render_keepalived_by_role(router: str) -> None:
    r = run("routeragent", "render-keepalived", "-c", str(SEED / f"routeragent-{router}.toml"))
    assert r.returncode == 0, r.stderr
    conf = r.stdout
    n = router[1]
    assert f"router_id {router}" in conf
    assert "virtual_router_id 10" in conf and f"priority {ROLES[router]}" in conf
    assert "192.0.2.1/24 dev eth1" in conf
    assert f"unicast_src_ip 192.0.2.1{n}" in conf
    peers = {f"192.0.2.1{m}" for m in "123" if m != n}
    assert all(p in conf for p in peers) and f"192.0.2.1{n}\n" not in conf.split("unicast_peer")[1]


def test_seed_routers_differ_only_where_they_must() -> None:
    """r2 and r3 are r1 with the router's name, role and VRRP unicast addresses changed."""
    base = (SEED / "routeragent-r1.toml").read_text().splitlines()
    for router in ("r2", "r3"):
        other = (SEED / f"routeragent-{router}.toml").read_text().splitlines()
        assert len(other) == len(base)
        changed = [b.split("=")[0].strip() for b, o in zip(base, other, strict=True) if b != o]
        assert changed[0].startswith("# routeragent for")
        assert set(changed[1:]) == {"router", "unicast_source", "unicast_peers", "egress_role"}


@pytest.mark.parametrize(
    "config", [EXAMPLES / "lxd" / "lxd.toml", SEED / "announce-lxd.toml"], ids=lambda p: p.name
)
def test_lxd_announcer_configs_load_and_announce(config: Path) -> None:
    from routeragent.lxd.config_load import load_lxd_config

    cfg = load_lxd_config(config)
    assert cfg.bgp.neighbors and cfg.lxd.uplinks == ("UPLINK",)
    r = run(
        "routeragent", "announce-lxd", "-c", str(config), "--dry-run", "--replay", str(LXD_ANSWERS)
    )
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].split()[:3] == ["PREFIX", "NEXT", "HOP"]
    assert any(" subnet " in ln for ln in lines) and any(" instance " in ln for ln in lines)


@pytest.mark.parametrize("name", ["speaker.toml", "from-exabgp.toml"])
def test_daemon_configs_pass_check(name: str) -> None:
    r = run("bgpspeak", "run", "--check", str(EXAMPLES / "daemon" / name))
    assert r.returncode == 0, r.stdout + r.stderr


def test_mrt_sample_is_what_the_generator_writes() -> None:
    r = subprocess.run(
        [sys.executable, str(EXAMPLES / "mrt" / "make_sample_rib.py")],
        capture_output=True,
        timeout=60,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout == (EXAMPLES / "mrt" / "sample-rib.mrt").read_bytes()
