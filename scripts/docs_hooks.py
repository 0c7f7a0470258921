"""mkdocs hooks (mkdocs.yml ``hooks:``) that keep the site whole in strict mode.

* Pages link to files of the repository outside ``docs/`` (``../examples/agent/routeragent.toml``).
  Those would be broken links on the site, so each one gets a generated page under ``source/``
  that shows the file (or lists the folder), and the link is rewritten to it. A link to a
  repository file that does not exist stays as it is, and strict mode fails on it.
* The nav lists the pages in mkdocs.yml. Pages that other work adds later and that are named in
  ``OPTIONAL_PAGES`` are dropped from the nav while they do not exist yet; any page that exists
  but is in no nav section is appended under "More", so a new page is never unreachable.
  A link to an optional page that does not exist yet becomes plain text.
* Docstrings use reST roles (``:class:`Speaker```); Markdown renders the role name as text.
  It is removed from the rendered HTML, leaving the code span.
"""

from __future__ import annotations

import fnmatch
import posixpath
import re
from pathlib import Path
from typing import Any

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.files import File, Files, InclusionLevel
from mkdocs.structure.pages import Page

# pages that other work writes: listed in the nav, left out while they do not exist
OPTIONAL_PAGES = ("lab.md", "reliability*.md")
SOURCE_DIR = "source"

# [text](../path) or [text](../path#anchor); the target starts with ../ (leaves docs/)
_LINK = re.compile(r"\]\((\.\./[^)\s#]+)(#[^)\s]*)?\)")
# [text](lab.md) or [text](../lab.md#x): a link to another page
_PAGE_LINK = re.compile(r"\[([^\]]+)\]\(((?:\.\./)*[\w./-]+\.md)(#[^)\s]*)?\)")
_ROLE = re.compile(r":(?:class|func|meth|attr|mod|data|exc|obj|const):<code>(~?)([^<]*)</code>")
_LANG = {
    ".py": "python",
    ".toml": "toml",
    ".json": "json",
    ".sh": "sh",
    ".service": "ini",
    ".j2": "jinja",
    ".yml": "yaml",
    ".yaml": "yaml",
    ".md": "markdown",
}


def _optional(page: str) -> bool:
    return any(fnmatch.fnmatch(page, pattern) for pattern in OPTIONAL_PAGES)


def _repo_root(config: MkDocsConfig) -> Path:
    return Path(config.docs_dir).resolve().parent


def _targets(page_src: str, link: str, config: MkDocsConfig) -> str | None:
    """The repository path (posix, relative to the root) a ``../`` link from ``page_src``
    points to, if it leaves docs/ and exists; else None."""
    joined = posixpath.normpath(posixpath.join("docs", posixpath.dirname(page_src), link))
    if joined.startswith("..") or joined.startswith("docs/") or joined == "docs":
        return None
    return joined if (_repo_root(config) / joined).exists() else None


def _source_page(rel: str) -> str:
    return f"{SOURCE_DIR}/{rel.rstrip('/')}.md"


def _render_source(rel: str, config: MkDocsConfig) -> str:
    root = _repo_root(config)
    path = root / rel
    title = f"# `{rel}`\n\n"
    if path.is_dir():
        lines = [title, "Files in this folder of the repository:\n\n"]
        for child in sorted(path.iterdir()):
            if child.name.startswith((".", "__")):
                continue
            child_rel = f"{rel.rstrip('/')}/{child.name}"
            target = posixpath.relpath(
                _source_page(child_rel), posixpath.dirname(_source_page(rel))
            )
            lines.append(f"- [`{child.name}`]({target})\n")
        return "".join(lines)
    text = path.read_text(encoding="utf-8", errors="replace")
    if path.suffix == ".md":
        return title + "```markdown\n" + text + "\n```\n"
    lang = _LANG.get(path.suffix, "text")
    fence = "````" if "```" in text else "```"
    return f"{title}{fence}{lang}\n{text}\n{fence}\n"


def _walk_nav(nav: Any) -> list[str]:
    out: list[str] = []
    if isinstance(nav, str):
        out.append(nav)
    elif isinstance(nav, list):
        for item in nav:
            out.extend(_walk_nav(item))
    elif isinstance(nav, dict):
        for value in nav.values():
            out.extend(_walk_nav(value))
    return out


def _prune_nav(nav: Any, exists: set[str]) -> Any:
    if isinstance(nav, list):
        kept = [_prune_nav(i, exists) for i in nav]
        return [i for i in kept if i is not None]
    if isinstance(nav, dict):
        pruned = {k: _prune_nav(v, exists) for k, v in nav.items()}
        return {k: v for k, v in pruned.items() if v not in (None, [])} or None
    if isinstance(nav, str) and _optional(nav) and nav not in exists:
        return None
    return nav


def on_files(files: Files, config: MkDocsConfig) -> Files:
    # 1. source pages for every repository file or folder a page links to
    wanted: set[str] = set()
    for f in files.documentation_pages():
        text = Path(f.abs_src_path or "").read_text(encoding="utf-8")
        for m in _LINK.finditer(text):
            rel = _targets(f.src_uri, m.group(1), config)
            if rel is None:
                continue
            wanted.add(rel)
            if (_repo_root(config) / rel).is_dir():
                for child in (_repo_root(config) / rel).iterdir():
                    if not child.name.startswith((".", "__")):
                        wanted.add(f"{rel.rstrip('/')}/{child.name}")
    for rel in sorted(wanted):
        generated = File.generated(config, _source_page(rel), content=_render_source(rel, config))
        generated.inclusion = InclusionLevel.NOT_IN_NAV
        files.append(generated)

    # 2. the nav: optional pages that do not exist yet out, unlisted pages in
    if config.nav is not None:
        exists = {f.src_uri for f in files.documentation_pages()}
        nav = _prune_nav(config.nav, exists) or []
        listed = set(_walk_nav(nav))
        extra = sorted(
            p for p in exists - listed if not p.startswith(f"{SOURCE_DIR}/") and p != "index.md"
        )
        if extra:
            nav.append({"More": extra})
        config.nav = nav
    return files


def on_page_markdown(markdown: str, page: Page, config: MkDocsConfig, files: Files) -> str:
    src = page.file.src_uri
    if src.startswith(f"{SOURCE_DIR}/"):
        return markdown

    def repl(m: re.Match[str]) -> str:
        rel = _targets(src, m.group(1), config)
        if rel is None:
            return m.group(0)
        target = posixpath.relpath(_source_page(rel), posixpath.dirname(src) or ".")
        # the source page shows the file as text: an anchor into it (a heading of a README)
        # has no target there, so the link goes to the page
        return f"]({target})"

    markdown = _LINK.sub(repl, markdown)

    def unlink_missing(m: re.Match[str]) -> str:
        target = posixpath.normpath(posixpath.join(posixpath.dirname(src), m.group(2)))
        if _optional(target) and files.get_file_from_path(target) is None:
            return m.group(1)
        return m.group(0)

    return _PAGE_LINK.sub(unlink_missing, markdown)


def on_page_content(content: str, page: Page, config: MkDocsConfig, files: Files) -> str:
    def code(m: re.Match[str]) -> str:
        # reST's ~a.b.C shows just C
        text = m.group(2).rsplit(".", 1)[-1] if m.group(1) else m.group(2)
        return f"<code>{text}</code>"

    return _ROLE.sub(code, content)


__all__ = ["on_files", "on_page_content", "on_page_markdown"]
