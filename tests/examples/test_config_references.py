"""The config references in docs/reference/ name every key the config loaders read, so they
cannot fall behind the code. The keys are found in the loaders' source (the ``_Table`` getters,
the helpers that take a table and a key, and loops over literal key tuples), not listed by
hand; the test also checks that the extraction finds keys at all."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GETTERS = {
    "get", "optional", "raw", "has", "table", "tables", "strings",
    "string", "integer", "number", "boolean",
}  # fmt: skip

LOADERS = {
    "speaker-toml.md": ["bgpspeak/daemon/config_load.py"],
    "routeragent-toml.md": ["routeragent/config_load.py"],
    "lxd-toml.md": ["routeragent/lxd/config_load.py"],
}


def _literal_strings(node: ast.AST) -> list[str]:
    if isinstance(node, ast.Tuple | ast.List):
        return [
            e.value for e in node.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)
        ]
    if isinstance(node, ast.Dict):
        return [
            k.value for k in node.keys if isinstance(k, ast.Constant) and isinstance(k.value, str)
        ]
    return []


def loader_keys(path: Path) -> set[str]:
    """Every key name a loader module reads from a TOML table."""
    tree = ast.parse(path.read_text())
    keys: set[str] = set()
    dict_literals: dict[str, list[str]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign | ast.AnnAssign) and isinstance(node.value, ast.Dict):
            target = node.targets[0] if isinstance(node, ast.Assign) else node.target
            if isinstance(target, ast.Name):
                dict_literals[target.id] = _literal_strings(node.value)
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and node.args:
            first = node.args[0]
            func = node.func
            if isinstance(func, ast.Attribute) and func.attr in GETTERS:
                if isinstance(first, ast.Constant) and isinstance(first.value, str):
                    keys.add(first.value)
            elif (
                isinstance(func, ast.Name)
                and func.id.startswith("_")
                and len(node.args) >= 2
                and isinstance(node.args[1], ast.Constant)
                and isinstance(node.args[1].value, str)
            ):
                keys.add(node.args[1].value)  # _address(t, "host"), _path(t, "socket"), ...
        if isinstance(node, ast.For):
            # for name in ("med", "local_pref"): t.has(name) ...; for name, f in parsers.items()
            it = node.iter
            names = _literal_strings(it)
            if (
                isinstance(it, ast.Call)
                and isinstance(it.func, ast.Attribute)
                and it.func.attr == "items"
                and isinstance(it.func.value, ast.Name)
            ):
                names = dict_literals.get(it.func.value.id, [])
            if names and any(
                isinstance(c, ast.Call)
                and isinstance(c.func, ast.Attribute)
                and c.func.attr in GETTERS
                for c in ast.walk(node)
            ):
                keys.update(names)
    # key names only: not the table paths and messages some helpers take ("", "a.b")
    return {k for k in keys if re.fullmatch(r"[A-Za-z_][\w-]*", k)}


def test_extraction_finds_known_keys() -> None:
    """Guards the test itself: keys read in each style are found."""
    speaker = loader_keys(ROOT / "bgpspeak/daemon/config_load.py")
    assert {
        "local_as",
        "hold_time",
        "med",
        "local_pref",
        "large_communities",
        "min_tx_ms",
    } <= speaker
    agent = loader_keys(ROOT / "routeragent/config_load.py")
    assert {"router", "advert_interval", "host", "quiet_pps", "unicast_source"} <= agent
    lxd = loader_keys(ROOT / "routeragent/lxd/config_load.py")
    assert {"socket", "client_cert", "md5_password", "graceful_stop"} <= lxd


@pytest.mark.parametrize("page", sorted(LOADERS))
def test_reference_names_every_key(page: str) -> None:
    text = (ROOT / "docs" / "reference" / page).read_text()
    code_spans = " ".join(re.findall(r"`([^`]+)`", text))
    words = set(re.findall(r"[A-Za-z_][\w-]*", code_spans))
    keys: set[str] = set()
    for loader in LOADERS[page]:
        keys |= loader_keys(ROOT / loader)
    missing = sorted(k for k in keys if k not in words)
    assert not missing, f"docs/reference/{page} does not name: {missing}"
