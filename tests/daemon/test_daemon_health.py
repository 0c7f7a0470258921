"""The health state machine: rise/fall, flap damping with exponential decay, forced states, and
the healthy / failed route forms of a service."""

from __future__ import annotations

import pytest

from bgpspeak import Route
from bgpspeak.daemon.config_model import CommandCheck, Damping, ServiceConfig
from bgpspeak.daemon.health import Health
from bgpspeak.daemon.service_routes import service_routes


def feed(h: Health, results: str, start: float = 0.0, step: float = 1.0) -> list[bool]:
    """'+' pass, '-' fail; the announced state after each result."""
    out = []
    t = start
    for c in results:
        h.observe(c == "+", t)
        out.append(h.announce_healthy)
        t += step
    return out


def test_rise_and_fall_count_consecutive_results() -> None:
    h = Health(rise=3, fall=2, damping=None)
    assert h.view(0).state == "starting"
    assert feed(h, "++-+++") == [False, False, False, False, False, True]
    assert feed(h, "-+--") == [True, True, True, False]
    assert h.view(0).state == "failed"


def test_a_failing_start_is_failed_without_a_flap() -> None:
    h = Health(rise=1, fall=2, damping=Damping())
    feed(h, "--")
    assert h.view(0).state == "failed" and h.flaps == 0 and h.penalty(0) == 0


def test_observe_reports_changes() -> None:
    h = Health(rise=1, fall=1, damping=None)
    assert h.observe(True, 0) is True
    assert h.observe(True, 1) is False
    assert h.observe(False, 2) is True


def test_flapping_is_suppressed_until_the_penalty_decays() -> None:
    d = Damping(half_life=10.0, penalty=1000.0, suppress=2000.0, reuse=750.0, max_suppress=600.0)
    h = Health(rise=1, fall=1, damping=d)
    feed(h, "+-+-", start=0)  # two flaps, at t=1 and t=3: 1870 < 2000
    assert h.flaps == 2 and not h.suppressed
    assert h.penalty(3) == pytest.approx(1000 * 0.5 ** (2 / 10) + 1000)
    feed(h, "+-", start=4)  # the third, at t=5
    assert h.flaps == 3 and h.suppressed
    assert h.observe(True, 6) is False  # healthy again, but held in the failed form
    assert h.view(6).state == "healthy" and not h.announce_healthy
    wait = h.reuse_in(6)
    assert wait is not None and wait > 0
    assert h.penalty(6 + wait) == pytest.approx(750.0)
    assert h.tick(6 + wait - 0.5) is False
    assert h.tick(6 + wait + 0.01) is True and h.announce_healthy and not h.suppressed


def test_max_suppress_bounds_the_penalty() -> None:
    d = Damping(half_life=10.0, penalty=1000.0, suppress=2000.0, reuse=750.0, max_suppress=30.0)
    h = Health(rise=1, fall=1, damping=d)
    feed(h, "+-" * 50, step=0.01)  # a hundred results in a second
    assert h.penalty(1.0) <= 750.0 * 2 ** (30 / 10) + 1e-6
    h.observe(True, 1.0)
    wait = h.reuse_in(1.0)
    assert wait is not None and wait <= 30.0 + 1e-6


def test_without_damping_a_flap_never_suppresses() -> None:
    h = Health(rise=1, fall=1, damping=None)
    assert feed(h, "+-+-+-+") == [True, False, True, False, True, False, True]
    assert h.flaps == 3 and h.reuse_in(10) is None


def test_forced_states_override_the_checks() -> None:
    h = Health(rise=1, fall=1, damping=None)
    feed(h, "+")
    assert h.force("down") is True and not h.announce_healthy
    feed(h, "++")
    assert not h.announce_healthy
    assert h.force(None) is True and h.announce_healthy
    feed(h, "-")
    assert h.force("up") is True and h.announce_healthy
    with pytest.raises(ValueError):
        h.force("sideways")


def _service(on_failure: str, med: int | None = None, prepend: int = 0) -> ServiceConfig:
    routes = (Route.make("203.0.113.80/32", med=5, as_path=[65020], communities=["65010:80"]),)
    return ServiceConfig(
        "web",
        routes,
        CommandCheck(("true",)),
        on_failure=on_failure,
        degraded_med=med,
        degraded_prepend=prepend,
    )


def test_service_route_forms() -> None:
    withdraw = _service("withdraw")
    assert service_routes(withdraw, True, 65010) == withdraw.routes
    assert service_routes(withdraw, False, 65010) == ()
    (bad,) = service_routes(_service("degrade", med=1000, prepend=2), False, 65010)
    assert (bad.med, bad.as_path) == (1000, (65010, 65010, 65020))
    assert bad.communities == withdraw.routes[0].communities
    (prepended,) = service_routes(_service("degrade", prepend=1), False, 65010)
    assert (prepended.med, prepended.as_path) == (5, (65010, 65020))
