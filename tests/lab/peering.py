"""FRR with one neighbor at the other end of a fresh link: how most interop tests begin (the
example programs' tests, the lab's self-tests), kept in one place so that they all start
from the same, known-good FRR config."""

from __future__ import annotations

from collections.abc import Sequence

from .frr import FrrInstance, FrrNeighbor, bgpd_config
from .netns import Link
from .testlab import Lab


def frr_facing(
    lab: Lab,
    roles: tuple[str, str],
    peer_as: int,
    *,
    local_as: int = 65001,
    ipv6_session: bool = True,
    networks: Sequence[str] = (),
) -> tuple[FrrInstance, Link]:
    """FRR (``local_as``) in a new namespace ``roles[0]`` (``link.a``), peering with ``peer_as``
    in a new namespace ``roles[1]`` (``link.b``). IPv6 has a session of its own over IPv6, as
    FRR's users usually configure it, or (``ipv6_session=False``) rides on the IPv4 session,
    for programs that open one session only. FRR originates ``networks``."""
    a, b = lab.namespace(roles[0]), lab.namespace(roles[1])
    link = lab.link(a, b)
    if ipv6_session:
        neighbors = [FrrNeighbor(link.b.ipv4, peer_as), FrrNeighbor(link.b.ipv6, peer_as)]
    else:
        neighbors = [FrrNeighbor(link.b.ipv4, peer_as, families=("ipv4", "ipv6"))]
    frr = lab.frr(a, bgpd_config(local_as, link.a.ipv4, neighbors, networks=networks))
    return frr, link
