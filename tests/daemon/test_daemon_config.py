"""The TOML configuration: what a valid file becomes, and the exact messages for bad ones (the
messages are documented in docs/daemon.md, so they are asserted in full)."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest

from bgpspeak.cli import main
from bgpspeak.daemon import ConfigError, parse_config
from bgpspeak.daemon.config_load import parse_endpoint
from bgpspeak.daemon.config_model import (
    EXIT_CONFIG,
    CommandCheck,
    Damping,
    HttpCheck,
    TcpCheck,
)
from bgpspeak.wire import Prefix

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "daemon" / "speaker.toml"

GOOD = """
local_as = 65010
router_id = "192.0.2.10"
listen = ["[::]:179", "10.0.0.2:1179"]
hostname = "edge1"

[control]
socket = "/run/x.sock"
mode = "0640"

[metrics]
listen = "127.0.0.1:9179"

[[peers]]
address = "10.0.0.1"
asn = 65001
hold_time = 30
families = ["ipv4/unicast"]
add_path = { "ipv4/unicast" = "send" }
max_prefixes = 1000
ttl_security = 1
password_file = "peer.key"
description = "core"

[[peers]]
address = "2001:db8::1"
asn = 4200000000
passive = true
graceful_restart = false

[[routes]]
prefix = "198.51.100.0/24"
communities = ["65010:1", "no-export"]
as_path = [65020]
med = 10

[[routes]]
prefix = "2001:db8:100::/48"
next_hop = "2001:db8::2"
large_communities = ["65010:1:2"]

[[services]]
name = "dns"
prefixes = ["192.0.2.53/32"]
check = { command = ["/bin/true"] }
interval = 2
rise = 3
fall = 1
on_failure = "degrade"
degraded_med = 1000
degraded_prepend = 2
damping = { half_life = 30 }

[[services]]
name = "web"
prefixes = ["192.0.2.80/32"]
check = { http = "http://127.0.0.1:8080/health?full=1", expect = [200, 204] }
damping = false

[[services]]
name = "ssh"
prefixes = ["192.0.2.22/32"]
check = { tcp = "[::1]:22" }

[[process]]
name = "announcer"
run = "python3 /etc/bgpspeak/announce.py --fast"
ack = false
events = ["state", "update"]
"""


def keyfile(path: Path) -> str:
    assert path == Path("/etc/bgpspeak/peer.key")
    return "s3cret\n"


def parse(text: str, source: str = "speaker.toml") -> object:
    return parse_config(text, source, base=Path("/etc/bgpspeak"), read_text=keyfile)


def problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as e:
        parse(text)
    return e.value.problems


def test_a_full_file() -> None:
    cfg = parse_config(GOOD, "speaker.toml", base=Path("/etc/bgpspeak"), read_text=keyfile)
    assert cfg.local_as == 65010 and cfg.router_id == "192.0.2.10"
    assert cfg.listen == (("::", 179), ("10.0.0.2", 1179))
    assert cfg.control.socket == "/run/x.sock" and cfg.control.mode == 0o640
    assert cfg.metrics == ("127.0.0.1", 9179)
    p1, p2 = cfg.peers
    assert p1.md5_password == "s3cret"  # file content without the newline
    assert p1.families == ("ipv4/unicast",) and p1.add_path == (("ipv4/unicast", "send"),)
    assert (p1.hold_time, p1.max_prefixes, p1.ttl_security) == (30, 1000, 1)
    assert p2.ip == ipaddress.ip_address("2001:db8::1") and p2.remote_as == 4200000000
    assert p2.passive and not p2.graceful_restart
    r1, r2 = cfg.routes
    assert r1.prefix == Prefix.parse("198.51.100.0/24") and r1.med == 10
    assert r1.as_path == (65020,) and r1.communities == (65010 << 16 | 1, 0xFFFFFF01)
    assert str(r2.next_hop) == "2001:db8::2" and r2.large_communities == ((65010, 1, 2),)
    dns, web, ssh = cfg.services
    assert dns.check == CommandCheck(("/bin/true",))
    assert (dns.interval, dns.rise, dns.fall, dns.on_failure) == (2.0, 3, 1, "degrade")
    assert dns.damping == Damping(half_life=30.0)
    assert web.check == HttpCheck("127.0.0.1", 8080, "/health?full=1", "127.0.0.1:8080", (200, 204))
    assert web.damping is None
    assert ssh.check == TcpCheck("::1", 22)
    (proc,) = cfg.processes
    assert proc.run == ("python3", "/etc/bgpspeak/announce.py", "--fast")
    assert not proc.ack and proc.events == ("state", "update")


def test_the_documented_as_number_message() -> None:
    text = """
local_as = 65010
router_id = "192.0.2.10"
[[peers]]
address = "10.0.0.1"
asn = 65001
[[peers]]
address = "10.0.0.2"
asn = 65002
[[peers]]
address = "10.0.0.3"
asn = 4294967296
"""
    assert problems(text) == ["speaker.toml: peers[2].asn: 4294967296 is not a valid AS number"]


def test_every_problem_is_reported_at_once() -> None:
    text = """
local_as = 0
router_id = "not-an-ip"
listen = ["10.0.0.1:99999"]
colour = "blue"
[[peers]]
address = "10.0.0.300"
hold_tme = 3
hold_time = 2
families = ["ipv9/unicast"]
password = "a"
password_file = "b"
[[routes]]
prefix = "10.0.0.1/24"
[[routes]]
prefix = "10.1.0.0/24"
communities = ["65536:1"]
med = -1
[[services]]
name = "x"
prefixes = ["192.0.2.1/32"]
check = { tcp = "127.0.0.1:1", http = "http://127.0.0.1/" }
on_failure = "degrade"
[[process]]
name = "p"
run = []
events = ["bogus"]
"""
    assert problems(text) == [
        "speaker.toml: local_as: 0 is not a valid AS number",
        "speaker.toml: router_id: 'not-an-ip' is not an IPv4 address",
        "speaker.toml: listen[0]: '10.0.0.1:99999': port '99999' is not 0..65535",
        "speaker.toml: peers[0].address: '10.0.0.300' is not an IP address",
        "speaker.toml: peers[0].asn: missing (the neighbor's AS number)",
        "speaker.toml: peers[0].password_file: give password or password_file, not both",
        "speaker.toml: peers[0].hold_time: 2 must be 0 or 3..65535 (RFC 4271)",
        "speaker.toml: peers[0].families[0]: 'ipv9/unicast': unknown AFI 'ipv9'",
        "speaker.toml: peers[0].hold_tme: unknown key",
        "speaker.toml: routes[0].prefix: '10.0.0.1/24' is not a prefix (host bits must be zero)",
        "speaker.toml: routes[1].med: -1 is not 0..4294967295",
        "speaker.toml: routes[1].communities[0]: '65536:1' is not a community "
        "(expected ASN:VALUE or a name)",
        "speaker.toml: services[0].check: needs exactly one of command = [...], "
        'tcp = "HOST:PORT" or http = "URL"',
        "speaker.toml: services[0].on_failure: degrade needs degraded_med and/or degraded_prepend",
        "speaker.toml: process[0].run: [] is not a command (a list of arguments or a string)",
        "speaker.toml: process[0].events[0]: 'bogus' is not one of state, update, eor",
        "speaker.toml: colour: unknown key",
    ]


def test_duplicates_and_cross_checks() -> None:
    text = """
local_as = 65000
router_id = "192.0.2.1"
[[peers]]
address = "10.0.0.1"
asn = true
[[peers]]
address = "10.0.0.1"
asn = 65001
[[peers]]
address = "10.0.0.1"
asn = 65002
[[routes]]
prefix = "10.0.0.0/24"
[[routes]]
prefix = "10.0.0.0/24"
[[services]]
prefixes = ["192.0.2.1/32"]
check = { command = "" }
[[services]]
name = "a"
prefixes = ["2001:db8::1/128"]
next_hop = "192.0.2.1"
check = { tcp = "127.0.0.1" }
"""
    assert problems(text) == [
        "speaker.toml: peers[0].asn: True is not a valid AS number",
        "speaker.toml: peers[2].address: 10.0.0.1 is already peers[1]",
        "speaker.toml: routes[1].prefix: 10.0.0.0/24 is already routes[0]",
        "speaker.toml: services[0].name: missing",
        "speaker.toml: services[0].check.command: '' is not a command "
        "(a list of arguments or a string)",
        "speaker.toml: services[1].next_hop: IPv6 prefix 2001:db8::1/128 with IPv4 next hop "
        "192.0.2.1",
        "speaker.toml: services[1].check.tcp: '127.0.0.1': a port is required",
    ]


def test_toml_syntax_errors_name_the_file_and_line() -> None:
    (msg,) = problems('local_as = 65000\nrouter_id = "192.0.2.1\n')
    assert msg.startswith("speaker.toml: ") and "line 2" in msg


def test_unreadable_password_file() -> None:
    def missing(path: Path) -> str:
        raise FileNotFoundError(2, "No such file or directory")

    text = """
local_as = 65000
router_id = "192.0.2.1"
[[peers]]
address = "10.0.0.1"
asn = 65001
password_file = "/nope/key"
"""
    with pytest.raises(ConfigError) as e:
        parse_config(text, "s.toml", read_text=missing)
    assert e.value.problems == [
        "s.toml: peers[0].password_file: cannot read /nope/key: No such file or directory"
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("10.0.0.1", ("10.0.0.1", 179)),
        ("10.0.0.1:1179", ("10.0.0.1", 1179)),
        ("::", ("::", 179)),
        ("[2001:db8::1]:80", ("2001:db8::1", 80)),
        ("2001:db8::1", ("2001:db8::1", 179)),
    ],
)
def test_endpoints(text: str, expected: tuple[str, int]) -> None:
    assert parse_endpoint(text, 179) == expected


@pytest.mark.parametrize("text", ["host:80", "[::1", "[::1]80", "10.0.0.1:x"])
def test_bad_endpoints(text: str) -> None:
    with pytest.raises(ValueError):
        parse_endpoint(text, 179)


def test_run_refuses_a_bad_file_with_exit_78(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "speaker.toml"
    bad.write_text(
        'local_as = 65000\nrouter_id = "192.0.2.1"\n[[peers]]\naddress = "10.0.0.1"\n'
        "asn = 4294967296\n"
    )
    assert main(["run", str(bad)]) == EXIT_CONFIG == 78
    err = capsys.readouterr().err
    assert err == f"{bad}: peers[0].asn: 4294967296 is not a valid AS number\n"
    assert main(["run", str(tmp_path / "missing.toml")]) == 78
    assert "cannot read: No such file or directory" in capsys.readouterr().err


def test_run_check_accepts_the_shipped_example(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--check", str(EXAMPLE)]) == 0
    assert capsys.readouterr().out.startswith(f"{EXAMPLE}: OK")
