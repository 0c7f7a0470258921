"""The documentation site builds in strict mode (./scripts/docs): every page in the nav exists,
every link between pages and to repository files resolves, and every API reference names an
object that exists. A broken link is shown to fail the build, so the check cannot pass
vacuously."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _docs(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, VENV=str(Path(sys.executable).parent.parent))
    return subprocess.run(
        [str(ROOT / "scripts" / "docs"), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The site built once by ./scripts/docs (which installs the docs extra if needed)."""
    out = tmp_path_factory.mktemp("docs") / "site"
    r = _docs("--site-dir", str(out))
    assert r.returncode == 0, r.stdout + r.stderr
    return out


def test_site_builds_strict(site: Path) -> None:
    for page in ("index.html", "api/speaker.html", "api/wire.html", "speaker.html"):
        assert (site / page).is_file(), page
    api = (site / "api" / "speaker.html").read_text()
    # the API reference really comes from the docstrings, with the roles stripped
    assert "Make the announced set exactly" in api
    assert ":class:" not in api and ":meth:" not in api
    # links to repository files (../examples/...) became generated source pages
    assert (site / "source" / "examples" / "agent" / "routeragent.toml.html").is_file()


def test_broken_link_fails_the_build(site: Path, tmp_path: Path) -> None:
    """The hook and strict mode together, on a one-page site: a link to a repository file that
    exists becomes its source page, a link to one that does not fails the build."""
    (tmp_path / "docs").mkdir()
    (tmp_path / "scripts").mkdir()
    shutil.copy(ROOT / "scripts" / "docs_hooks.py", tmp_path / "scripts" / "docs_hooks.py")
    (tmp_path / "examples").mkdir()
    (tmp_path / "examples" / "real.toml").write_text("a = 1\n")
    (tmp_path / "mkdocs.yml").write_text(
        "site_name: t\nstrict: true\nhooks: [scripts/docs_hooks.py]\nnav: [index.md]\n"
    )
    index = tmp_path / "docs" / "index.md"
    mkdocs = Path(sys.executable).parent / "mkdocs"

    def build() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(mkdocs), "build", "--strict", "--site-dir", str(tmp_path / "site")],
            cwd=tmp_path,
            env=dict(os.environ, NO_MKDOCS_2_WARNING="1"),
            capture_output=True,
            text=True,
            timeout=120,
        )

    index.write_text("# t\n\n[real](../examples/real.toml)\n")
    ok = build()
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert (tmp_path / "site" / "source" / "examples" / "real.toml" / "index.html").is_file()
    index.write_text("# t\n\n[gone](../examples/no-such-file.toml)\n")
    r = build()
    assert r.returncode != 0
    assert "no-such-file.toml" in r.stdout + r.stderr
