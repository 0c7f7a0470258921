"""bgpspeak promises a speaker with no dependency outside the standard library: this walks every
import statement of the package and fails on anything else."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "bgpspeak"


def _imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
    return found


def test_package_has_modules() -> None:
    assert len(list(PACKAGE.rglob("*.py"))) > 10


def test_bgpspeak_imports_only_the_standard_library() -> None:
    allowed = set(sys.stdlib_module_names) | {"bgpspeak", "__future__"}
    offenders = [
        f"{path.relative_to(PACKAGE.parent)}:{line}: import {name}"
        for path in sorted(PACKAGE.rglob("*.py"))
        for line, name in _imports(path)
        if name.split(".")[0] not in allowed
    ]
    assert offenders == []


def test_the_check_catches_a_third_party_import(tmp_path: Path) -> None:
    bad = tmp_path / "m.py"
    bad.write_text("import jinja2\nfrom yaml import safe_load\nimport os\n")
    names = [n for _, n in _imports(bad)]
    assert [n for n in names if n.split(".")[0] not in sys.stdlib_module_names] == [
        "jinja2",
        "yaml",
    ]
