"""Talking to FRR through vtysh: show commands as JSON, config commands, dry-run checks.

Facts about FRR 8.4's vtysh this relies on (verified against the real thing, see docs/agent.md):

- ``-c A -c B`` runs the commands in one process and prints one JSON document per command
  back to back; with ``-d bgpd`` only bgpd answers, so per-daemon commands (``show route-map
  json``) also yield exactly one document.
- In a ``-c`` sequence vtysh *stops at the first failing command* and exits non-zero: the
  commands before it stay applied. ``-f FILE`` instead carries on after errors. Hence the agent
  checks syntax first (``-C -f`` dry run), sends small ordered batches with ``-c`` and undoes
  what a failed batch did.
- A hung daemon makes vtysh hang: every call has a timeout.
"""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from routeragent.config_model import FrrSettings
from routeragent.frr_json import FrrOutputError, split_documents


class VtyshError(Exception):
    """vtysh failed, timed out or answered with an error; ``commands`` says what was sent."""

    def __init__(self, message: str, commands: Sequence[str] = ()) -> None:
        self.commands = tuple(commands)
        super().__init__(message)


@dataclass
class Vtysh:
    settings: FrrSettings

    def run(self, commands: Sequence[str], daemon: str | None = None) -> str:
        argv = self.settings.vtysh_argv()
        if daemon is not None:
            argv += ["-d", daemon]
        for c in commands:
            argv += ["-c", c]
        try:
            r = subprocess.run(
                argv,
                capture_output=True,
                text=True,
                timeout=self.settings.timeout,
                stdin=subprocess.DEVNULL,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise VtyshError(
                f"vtysh did not answer within {self.settings.timeout:g} s", commands
            ) from None
        except OSError as e:
            raise VtyshError(f"cannot run {argv[0]}: {e.strerror}", commands) from None
        if r.returncode != 0:
            detail = (r.stdout + r.stderr).strip().splitlines()
            msg = detail[-1] if detail else f"exit status {r.returncode}"
            raise VtyshError(f"vtysh exit {r.returncode}: {msg}", commands)
        return r.stdout

    def show_json(self, commands: Sequence[str], daemon: str | None = None) -> list[Any]:
        """Run show commands ending in ``json``; one decoded document per command."""
        out = self.run(commands, daemon)
        try:
            docs = split_documents(out, f"vtysh -c {commands[0]!r}...")
        except FrrOutputError as e:
            raise VtyshError(str(e), commands) from None
        if len(docs) != len(commands):
            raise VtyshError(f"expected {len(commands)} JSON documents, got {len(docs)}", commands)
        return docs

    def configure(self, lines: Sequence[str]) -> None:
        """Apply config lines in one ``configure terminal`` session; stops at the first error."""
        self.run(["configure terminal", *lines])

    def dry_run(self, config_text: str) -> None:
        """Syntax check of a config fragment with vtysh's own parser (``vtysh -C -f``): catches
        unknown or malformed commands before anything is sent to a daemon. It cannot know
        whether e.g. a neighbor exists; those errors surface when applying."""
        with tempfile.NamedTemporaryFile("w", suffix=".conf", prefix="routeragent-") as f:
            f.write(config_text)
            f.flush()
            argv = [*self.settings.vtysh_argv(), "-C", "-f", f.name]
            try:
                r = subprocess.run(
                    argv,
                    capture_output=True,
                    text=True,
                    timeout=self.settings.timeout,
                    stdin=subprocess.DEVNULL,
                    check=False,
                )
            except subprocess.TimeoutExpired:
                raise VtyshError("vtysh dry run timed out") from None
            except OSError as e:
                raise VtyshError(f"cannot run {argv[0]}: {e.strerror}") from None
        if r.returncode != 0:
            detail = " ".join((r.stdout + r.stderr).split())
            raise VtyshError(f"vtysh rejected the change in a dry run: {detail}")
