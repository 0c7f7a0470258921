"""The Python in the documentation is real: every ```python block in docs/ and README.md
compiles (top-level ``await`` allowed, as in an asyncio REPL), and every name it imports from
bgpspeak or routeragent exists. A renamed class or function fails here, not in a reader's
terminal."""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGES = [*sorted(ROOT.glob("docs/**/*.md")), ROOT / "README.md"]
BLOCK = re.compile(r"^```python\n(.*?)^```", re.M | re.S)


def blocks() -> list[tuple[str, str]]:
    out = []
    for page in PAGES:
        for i, m in enumerate(BLOCK.finditer(page.read_text())):
            out.append((f"{page.relative_to(ROOT)}[{i}]", m.group(1)))
    return out


def test_there_are_snippets() -> None:
    assert len(blocks()) >= 10


@pytest.mark.parametrize(("where", "code"), blocks(), ids=[w for w, _ in blocks()])
def test_snippet_compiles_and_its_imports_exist(where: str, code: str) -> None:
    tree = compile(code, where, "exec", ast.PyCF_ONLY_AST | ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    assert isinstance(tree, ast.Module)
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            if not node.module.startswith(("bgpspeak", "routeragent")):
                continue
            module = importlib.import_module(node.module)
            for alias in node.names:
                if alias.name != "*":
                    assert hasattr(module, alias.name), f"{where}: {node.module}.{alias.name}"
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith(("bgpspeak", "routeragent")):
                    importlib.import_module(alias.name)
