"""BFD in the daemon: ``[peers.bfd]`` in the config, and ``show bfd`` over the control socket."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bgpspeak import Neighbor, Speaker
from bgpspeak.bfd import BfdConfig
from bgpspeak.daemon import ConfigError, parse_config
from bgpspeak.daemon.cli_tables import bfd_table

HEAD = """
local_as = 65010
router_id = "192.0.2.10"
[[peers]]
address = "10.0.0.1"
asn = 65001
"""


def parse(text: str) -> object:
    return parse_config(text, "speaker.toml", base=Path("/etc"), read_text=lambda p: "")


def test_bfd_table_becomes_the_neighbor_bfd_config() -> None:
    cfg = parse(
        HEAD + "[peers.bfd]\nmin_tx_ms = 100\nmin_rx_ms = 200\nmultiplier = 4\nstrict = true\n"
    )
    (peer,) = cfg.peers  # type: ignore[attr-defined]
    assert peer.bfd == BfdConfig(min_tx_ms=100, min_rx_ms=200, multiplier=4, strict=True)
    (plain,) = parse(HEAD).peers  # type: ignore[attr-defined]
    assert plain.bfd is None


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ("min_tx_ms = 10\n", "peers[0].bfd: min_tx_ms: 10 ms is outside"),
        ("multiplier = 0\n", "peers[0].bfd.multiplier: 0 is not 1..255"),
        ("interval = 100\n", "peers[0].bfd.interval: unknown key"),
    ],
)
def test_bad_bfd_settings_name_the_key(body: str, needle: str) -> None:
    with pytest.raises(ConfigError) as e:
        parse(HEAD + "[peers.bfd]\n" + body)
    assert any(needle in p for p in e.value.problems), e.value.problems


async def test_show_bfd_lists_the_neighbor_with_its_intervals() -> None:
    speaker = Speaker(65010, "192.0.2.10", listen=())
    speaker.add_neighbor(
        Neighbor("127.0.0.9", remote_as=65001, passive=True,
                 bfd=BfdConfig(min_tx_ms=300, min_rx_ms=300, multiplier=3, passive=True))
    )  # fmt: skip
    await speaker.start()
    try:
        await asyncio.sleep(0.1)
        assert speaker.bfd is not None
        rows = [n.as_dict() for n in speaker.bfd.status()]
        assert [(r["neighbor"], r["status"]) for r in rows] == [("127.0.0.9", "down")]
        text = bfd_table(rows)
        assert "127.0.0.9" in text and "300/300x3" in text
    finally:
        await speaker.stop()
