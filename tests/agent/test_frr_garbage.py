"""FRR answering with something unforeseen (a version with other JSON, a truncated or mangled
answer): any change anywhere in a real recorded answer is either read or refused as "FRR not
observable" (VtyshError), never an exception that would end the pass, and what is read goes
through decide and plan without one either."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agent.builders import observe, recorded_config, recording
from routeragent.bgp_policy import build_policy
from routeragent.decide import Memory, decide
from routeragent.frr_json import split_documents
from routeragent.observe import Observer
from routeragent.plan import make_plan
from routeragent.vtysh import VtyshError

CONFIG = recorded_config("r1")
REC = recording("r1-steady")
BGPD = [split_documents(text)[0] for _, text in REC["bgpd"]]
ZEBRA = [split_documents(text)[0] for _, text in REC["zebra"]]

JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 2**40) | st.text(max_size=6) | st.floats(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner),
    max_leaves=6,
)


class StubVtysh:
    def __init__(self, bgpd: list[Any], zebra: list[Any]) -> None:
        self.bgpd, self.zebra = bgpd, zebra

    def show_json(self, commands: Sequence[str], daemon: str | None = None) -> list[Any]:
        return self.bgpd if daemon == "bgpd" else self.zebra

    def run(self, commands: Sequence[str], daemon: str | None = None) -> str:
        return "frr version 8.4.4\n!\nend\n"


@st.composite
def mangled(draw: st.DrawFn) -> tuple[list[Any], list[Any]]:
    docs = copy.deepcopy([BGPD, ZEBRA])
    for _ in range(draw(st.integers(1, 3))):
        node: Any = docs[draw(st.integers(0, 1))]
        if not node:
            continue
        while True:
            keys: list[Any] = list(node) if isinstance(node, dict) else list(range(len(node)))
            if not keys:
                break
            key = draw(st.sampled_from(keys))
            child = node[key]
            if isinstance(child, dict | list) and child and draw(st.integers(0, 3)):
                node = child
                continue
            if draw(st.booleans()):
                node[key] = draw(JSON)
            elif isinstance(node, dict):
                del node[key]
            else:
                node.pop(key)
            break
    return docs[0], docs[1]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mangled())
def test_mangled_frr_answers_never_crash_a_pass(docs: tuple[list[Any], list[Any]]) -> None:
    observer = Observer(CONFIG, StubVtysh(*docs))  # type: ignore[arg-type]
    try:
        frr = observer.frr()
    except VtyshError:
        return
    obs = observe(CONFIG, 100.0, frr)
    desired, _ = decide(CONFIG, obs, Memory())
    policy = build_policy(CONFIG, desired.announcement)
    make_plan(CONFIG, obs, desired, policy, "rendered")
