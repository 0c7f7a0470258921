"""ADD-PATH (RFC 7911) between bgpspeak and FRR 8.4, both directions at once.

One FRR, two speakers in one namespace on two links: the sender (AS 65003) announces three
paths for one prefix with path ids 1-3 (FRR advertises ADD-PATH receive by default), and FRR,
with ``addpath-tx-all-paths`` toward the receiver (AS 65002), passes all three on with path
ids of its own."""

from __future__ import annotations

from typing import Any

import pytest
from lab import FrrNeighbor, Lab, bgpd_config
from test_speaker_support import FRR_AS, polled, until

from bgpspeak import Neighbor, PeerUp, Prefix, Route, Speaker
from bgpspeak.wire import IPV4_UNICAST
from bgpspeak.wire.attribute import PathAttribute
from bgpspeak.wire.communities import Communities

pytestmark = pytest.mark.timeout(90)

PREFIX = "198.51.100.0/24"
SENDER_AS, RECEIVER_AS = 65003, 65002


def _paths(view: dict[str, Any]) -> list[dict[str, Any]]:
    return list(view.get("paths", []))


def _by_community(
    table: dict[Prefix, tuple[PathAttribute, ...]], count: int
) -> dict[str, tuple[Prefix, tuple[PathAttribute, ...]]] | None:
    """Received paths keyed by their (single) community, once there are ``count`` of them."""
    out = {}
    for prefix, attrs in table.items():
        for a in attrs:
            if isinstance(a, Communities):
                out[str(a.json_value()[0])] = (prefix, attrs)
    return out if len(table) == count and len(out) == count else None


async def test_add_path_send_and_receive(lab: Lab) -> None:
    r1, spk = lab.namespace("r1"), lab.namespace("spk")
    to_receiver, to_sender = lab.link(r1, spk), lab.link(r1, spk)
    frr = lab.frr(
        r1,
        bgpd_config(
            FRR_AS,
            to_receiver.a.ipv4,
            [
                FrrNeighbor(
                    to_receiver.b.ipv4,
                    RECEIVER_AS,
                    lines=("passive",),
                    af_lines=("addpath-tx-all-paths",),
                ),
                FrrNeighbor(to_sender.b.ipv4, SENDER_AS, lines=("passive",)),
            ],
            before="debug bgp neighbor-events\n",
        ),
    )
    both = (("ipv4/unicast", "both"),)
    sender = Speaker(SENDER_AS, to_sender.b.ipv4, listen=())
    sender.add_neighbor(
        Neighbor(to_sender.a.ipv4, remote_as=FRR_AS, connect_retry_time=1, add_path=both,
                 families=("ipv4/unicast",))
    )  # fmt: skip
    sender.announce(
        [
            Route.make(PREFIX, next_hop=f"10.2.0.{10 + i}", path_id=i, med=i,
                       communities=[f"{SENDER_AS}:{i}"])
            for i in (1, 2, 3)
        ]
    )  # fmt: skip
    receiver = Speaker(RECEIVER_AS, to_receiver.b.ipv4, listen=())
    receiver.add_neighbor(
        Neighbor(to_receiver.a.ipv4, remote_as=FRR_AS, connect_retry_time=1, add_path=both,
                 families=("ipv4/unicast",))
    )  # fmt: skip
    with spk.entered():
        received = receiver.events()
        sent = sender.events()
        await receiver.start()
        await sender.start()
        try:
            up = await until(sent, PeerUp)
            assert IPV4_UNICAST in up.negotiated.add_path_send
            up = await until(received, PeerUp)
            assert IPV4_UNICAST in up.negotiated.add_path_receive

            # FRR's view: three paths from the sender, told apart by their path ids
            view = await polled(
                lambda: frr.route(PREFIX) if len(_paths(frr.route(PREFIX))) == 3 else None,
                what="FRR: three paths from the sender",
            )
            by_rx_id = {p["addpathRxId"]: p for p in _paths(view)}
            assert set(by_rx_id) == {1, 2, 3}
            for i, path in by_rx_id.items():
                assert path["nexthops"][0]["ip"] == f"10.2.0.{10 + i}"
                assert path["community"]["list"] == [f"{SENDER_AS}:{i}"]
            caps = frr.neighbors()[to_receiver.b.ipv4]["neighborCapabilities"]["addPath"]
            assert caps["ipv4Unicast"]["txAdvertisedAndReceived"]

            # the receiver ends up with all three, each under a path id of FRR's (FRR may
            # renumber while the paths arrive one by one, so the settled Adj-RIB-In counts)
            rib_in = receiver.peer(to_receiver.a.ipv4).rib_in
            held = await polled(
                lambda: _by_community(rib_in.routes.get(IPV4_UNICAST, {}), 3),
                what="receiver: three paths, one per sender community",
            )
            assert set(held) == {f"{SENDER_AS}:{i}" for i in (1, 2, 3)}
            assert len({p.path_id for p, _ in held.values()}) == 3
            for prefix, attrs in held.values():
                assert str(prefix.with_path_id(None)) == PREFIX
                named = {a.name: a.json_value() for a in attrs}
                assert named["AS_PATH"] == [{"type": "as-sequence", "asns": [FRR_AS, SENDER_AS]}]
                assert named["NEXT_HOP"] == to_receiver.a.ipv4

            # withdrawing one path id leaves the other two, on both sides
            sender.withdraw(Prefix.parse(PREFIX).with_path_id(2))
            await polled(lambda: len(_paths(frr.route(PREFIX))) == 2, what="FRR: path 2 withdrawn")
            assert {p["addpathRxId"] for p in _paths(frr.route(PREFIX))} == {1, 3}
            left = await polled(
                lambda: _by_community(rib_in.routes.get(IPV4_UNICAST, {}), 2),
                what="receiver: path 2 withdrawn",
            )
            assert set(left) == {f"{SENDER_AS}:1", f"{SENDER_AS}:3"}
            assert held[f"{SENDER_AS}:2"][0] not in rib_in.routes[IPV4_UNICAST]
        finally:
            await sender.stop()
            await receiver.stop()
