"""keepalived.conf rendering: deterministic, strict, and accepted by the real ``keepalived -t``."""

from __future__ import annotations

import shutil
from pathlib import Path

import jinja2
import pytest

from agent.builders import base_dict
from routeragent.config_load import parse_config
from routeragent.config_model import Config
from routeragent.keepalived_control import KeepalivedError, check_config
from routeragent.keepalived_render import (
    _environment,
    render_keepalived,
    track_file_path,
    track_offset,
)


def config(**vrrp: object) -> Config:
    d = base_dict()
    d["vrrp"][0].update(vrrp)
    d["keepalived"]["notify_fifo"] = "/run/routeragent/keepalived.fifo"
    return parse_config(d)


def test_rendering_is_deterministic_and_complete() -> None:
    c = config()
    text = render_keepalived(c, "/etc/routeragent/r1.toml")
    assert text == render_keepalived(config(), "/etc/routeragent/r1.toml")
    assert "rendered by routeragent from /etc/routeragent/r1.toml" in text
    for line in (
        "    router_id r1",
        "    vrrp_notify_fifo /run/routeragent/keepalived.fifo",
        "    vrrp_notify_priority_changes true",
        "vrrp_instance lan {",
        "    interface lan0",
        "    virtual_router_id 51",
        "    version 3",
        "    priority 200",
        "    advert_int 0.1",
        "        10.50.0.1/24 dev lan0",
        "    virtual_ipaddress_excluded {",
        "        2001:db8:50::1/64 dev lan0",
        f'    file "{track_file_path(c, c.vrrp[0])}"',
        "    weight 1",
        "    init_file -150",  # a missing track file starts the router demoted (50)
    ):
        assert line in text.splitlines(), line
    assert "unicast_peer" not in text
    assert "{{" not in text and "{%" not in text


def test_track_offsets() -> None:
    c = config()
    inst = c.vrrp[0]
    assert track_offset(c, inst, 200) == 0
    assert track_offset(c, inst, 1) == -199
    assert track_offset(c, inst, c.demoted_priority(inst)) == -150


def test_unicast_and_ipv6_only_instances() -> None:
    c = config(unicast_source="10.50.0.11", unicast_peers=["10.50.0.12", "10.50.0.13"])
    lines = render_keepalived(c).splitlines()
    assert "    unicast_src_ip 10.50.0.11" in lines
    i = lines.index("    unicast_peer {")
    assert lines[i + 1 : i + 4] == ["        10.50.0.12", "        10.50.0.13", "    }"]
    v6 = render_keepalived(config(addresses=["2001:db8:50::1/64", "2001:db8:50::2/64"]))
    assert "virtual_ipaddress_excluded" not in v6
    assert "        2001:db8:50::2/64 dev lan0" in v6.splitlines()


def test_version_2_whole_second_adverts() -> None:
    text = render_keepalived(config(version=2, advert_interval=1))
    assert "    advert_int 1" in text.splitlines() and "    version 2" in text.splitlines()


def test_strict_undefined_refuses_a_missing_variable() -> None:
    with pytest.raises(jinja2.UndefinedError):
        _environment().from_string("priority {{ inst.priority }}").render(inst={})


def _real_interface() -> str | None:
    for p in sorted(Path("/sys/class/net").iterdir()):
        if p.name != "lo" and (p / "address").exists():
            return p.name
    return None


@pytest.mark.skipif(shutil.which("keepalived") is None, reason="keepalived not installed")
def test_real_keepalived_accepts_the_rendered_config() -> None:
    iface = _real_interface()
    if iface is None:
        pytest.skip("no non-loopback interface to name in the config")
    check_config("keepalived", render_keepalived(config(interface=iface)))
    check_config(
        "keepalived",
        render_keepalived(
            config(interface=iface, unicast_source="10.50.0.11", unicast_peers=["10.50.0.12"])
        ),
    )


@pytest.mark.skipif(shutil.which("keepalived") is None, reason="keepalived not installed")
def test_real_keepalived_rejection_is_reported_in_its_own_words() -> None:
    with pytest.raises(KeepalivedError) as e:
        check_config("keepalived", render_keepalived(config(interface="ra-nonexistent0")))
    msg = str(e.value)
    assert "keepalived -t rejected the rendered config" in msg
    assert "ra-nonexistent0" in msg
    assert "<rendered>" in msg  # the temporary file name is not leaked


def test_missing_keepalived_binary_is_an_error() -> None:
    with pytest.raises(KeepalivedError, match="cannot run /nonexistent/keepalived"):
        check_config("/nonexistent/keepalived", "x")
