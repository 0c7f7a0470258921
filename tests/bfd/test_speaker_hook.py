"""BFD through the Speaker (``Neighbor(bfd=...)``, ``Peer.drop/hold/release``): strict mode
holds BGP until BFD is Up, and a BFD path failure takes the session down."""

from __future__ import annotations

import asyncio

import pytest

from . import hooked_scenarios

pytestmark = pytest.mark.timeout(120)


@pytest.mark.parametrize("scenario", sorted(hooked_scenarios.SCENARIOS))
def test_scenario_through_the_speaker(scenario: str) -> None:
    asyncio.run(hooked_scenarios.SCENARIOS[scenario]())
