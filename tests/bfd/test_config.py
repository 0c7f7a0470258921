"""The user's BfdConfig: the measured floor is enforced, fields are checked by name, and it
turns into the protocol's SessionParams and SessionKey."""

from __future__ import annotations

import ipaddress

import pytest

from bgpspeak.bfd import BfdConfig, SessionKey, SessionParams
from bgpspeak.bfd.config import MIN_DETECT_TIME_MS, MIN_INTERVAL_MS, describe_us

PEER = ipaddress.ip_address("192.0.2.1")


def test_defaults_are_frr_defaults() -> None:
    c = BfdConfig()
    assert (c.min_tx_ms, c.min_rx_ms, c.multiplier) == (300, 300, 3)
    assert c.params() == SessionParams(300_000, 300_000, 3, passive=False, min_ttl=255)
    assert c.key(PEER) == SessionKey(PEER)


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"min_tx_ms": MIN_INTERVAL_MS - 1, "multiplier": 10}, "min_tx_ms"),
        ({"min_rx_ms": 10, "multiplier": 50}, "min_rx_ms"),
        ({"min_tx_ms": 60_001}, "min_tx_ms"),
        ({"min_tx_ms": 100, "min_rx_ms": 100, "multiplier": 2}, "detection time"),
        ({"min_tx_ms": 50, "min_rx_ms": 300, "multiplier": 3}, "detection time"),
        ({"multiplier": 1}, "multiplier"),
        ({"multiplier": 256}, "multiplier"),
        ({"min_ttl": 0}, "min_ttl"),
        ({"multihop": True, "interface": "eth0"}, "interface"),
        ({"local_address": "not-an-ip"}, "local_address"),
        ({"min_tx_ms": 100.5}, "min_tx_ms"),
        ({"min_tx_ms": True}, "min_tx_ms"),
    ],
)
def test_refused(kw: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        BfdConfig(**kw)  # type: ignore[arg-type]


def test_the_floor_itself_is_allowed() -> None:
    c = BfdConfig(min_tx_ms=100, min_rx_ms=100, multiplier=3)
    assert c.multiplier * c.min_rx_ms == MIN_DETECT_TIME_MS
    BfdConfig(min_tx_ms=MIN_INTERVAL_MS, min_rx_ms=MIN_INTERVAL_MS, multiplier=6)


def test_multihop_params_and_key() -> None:
    c = BfdConfig(multihop=True, min_ttl=250, local_address="192.0.2.2")
    assert c.params().min_ttl == 250
    assert c.key(PEER) == SessionKey(PEER, ipaddress.ip_address("192.0.2.2"), None, True)
    # single hop ignores min_ttl: RFC 5881 accepts 255 only
    assert BfdConfig(min_ttl=250).params().min_ttl == 255


def test_key_takes_the_neighbor_local_address_unless_configured() -> None:
    local = ipaddress.ip_address("192.0.2.9")
    assert BfdConfig().key(PEER, local).local == local
    assert BfdConfig(local_address="192.0.2.2").key(PEER, local).local == ipaddress.ip_address(
        "192.0.2.2"
    )


def test_session_key_checks() -> None:
    with pytest.raises(ValueError, match="family"):
        SessionKey(PEER, local=ipaddress.ip_address("2001:db8::1"))
    with pytest.raises(ValueError, match="multi-hop"):
        SessionKey(PEER, interface="eth0", multihop=True)
    text = str(SessionKey(ipaddress.ip_address("fe80::1"), interface="eth0"))
    assert text == "fe80::1%eth0"


@pytest.mark.parametrize(
    ("kw", "field"),
    [
        ({"desired_min_tx": 0}, "desired_min_tx"),
        ({"required_min_rx": -1}, "required_min_rx"),
        ({"detect_mult": 0}, "detect_mult"),
        ({"min_ttl": 256}, "min_ttl"),
    ],
)
def test_session_params_checks(kw: dict[str, int], field: str) -> None:
    base = {"desired_min_tx": 1, "required_min_rx": 0, "detect_mult": 1}
    base.update(kw)
    with pytest.raises(ValueError, match=field):
        SessionParams(**base)  # type: ignore[arg-type]


def test_describe_us() -> None:
    assert describe_us(1_000_000) == "1 s"
    assert describe_us(300_000) == "300 ms"
    assert describe_us(12_500) == "12.5 ms"
