"""``Lab``: everything one test builds, and the one place that tears it all down.

Each resource is registered the moment it exists, before anything can fail, and ``close``
undoes them in reverse order, collecting errors instead of stopping at the first, so a failed
test never leaves a namespace or a process behind. ``footprint`` lists what was created, which
is what the self-tests check is gone after ``close``.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from .bird import BirdInstance
from .frr import FrrInstance
from .gobgp import GobgpInstance
from .netns import Lan, Link, Namespace, delete_namespace, make_lan, make_link
from .nsenter import NsProcess
from .preflight import require
from .procs import pid_alive, write_pid_file
from .runs import Run


class _Popened:
    """A subprocess started with ``Lab.popen``, stopped at teardown like a daemon."""

    def __init__(self, popen: subprocess.Popen[Any]) -> None:
        self.popen = popen

    def stop(self, timeout: float = 5.0) -> None:
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(5.0)


@dataclass(frozen=True)
class Footprint:
    """What a lab created: namespace names and the pids of its processes."""

    namespaces: tuple[str, ...]
    pids: tuple[int, ...]
    directory: Path


class Lab:
    """Namespaces, links and daemons for one test. Use the ``lab`` fixture, which closes it."""

    def __init__(self, run: Run, label: str = "lab") -> None:
        self.run = run
        self.dir = run.lab_dir(label)
        self.namespaces: list[Namespace] = []
        self.instances: list[FrrInstance | BirdInstance | GobgpInstance] = []
        self._children: list[NsProcess | _Popened] = []
        self._subnets = 0
        self._pids: list[int] = []
        self._logs: list[Path] = []
        self.closed = False

    # --- topology -----------------------------------------------------------------------
    def namespace(self, role: str = "") -> Namespace:
        """A fresh namespace ``bs-<pid>-<n>``; ``role`` names it in logs and instance dirs."""
        name = self.run.namespace_name()
        ns = Namespace(name, role or name)
        self.namespaces.append(ns)
        return ns

    def _subnet(self) -> int:
        self._subnets += 1
        return self._subnets

    def link(self, a: Namespace, b: Namespace) -> Link:
        """A veth pair a <-> b on a new subnet: a is .1 / ::1, b is .2 / ::2."""
        return make_link(self._subnet(), a, b)

    def lan(self, members: Sequence[Namespace]) -> Lan:
        """A bridge joining ``members`` (hosts 1..n in order) through a switch namespace."""
        switch = self.namespace("switch")
        return make_lan(self._subnet(), switch, members)

    # --- daemons ------------------------------------------------------------------------
    def _instance_dir(self, ns: Namespace, kind: str, name: str | None) -> tuple[Path, str]:
        label = name or f"{kind}-{ns.role}"
        path = self.dir / label
        if path.exists():
            raise ValueError(f"instance name {label!r} already used in this lab")
        return path, label

    def frr(
        self,
        ns: Namespace,
        bgpd: str,
        *,
        zebra: str | None = None,
        staticd: str | None = None,
        bfdd: str | None = None,
        name: str | None = None,
        extra_args: Mapping[str, Sequence[str]] | None = None,
        timeout: float = 15.0,
    ) -> FrrInstance:
        """Start zebra + bgpd (+ staticd/bfdd when given a config) in ``ns``."""
        require("frr")
        path, label = self._instance_dir(ns, "frr", name)
        configs = {"bgpd": bgpd}
        for daemon, text in (("zebra", zebra), ("staticd", staticd), ("bfdd", bfdd)):
            if text is not None:
                configs[daemon] = text
        inst = FrrInstance(ns, path, configs, name=label, extra_args=extra_args)
        self.instances.append(inst)
        inst.start(timeout=timeout)
        self._pids += inst.pids()
        return inst

    def bird(self, ns: Namespace, config: str, *, name: str | None = None) -> BirdInstance:
        require("bird")
        path, label = self._instance_dir(ns, "bird", name)
        inst = BirdInstance(ns, path, config, name=label)
        self.instances.append(inst)
        inst.start()
        self._pids += inst.pids()
        return inst

    def gobgp(self, ns: Namespace, config: str, *, name: str | None = None) -> GobgpInstance:
        require("gobgp")
        path, label = self._instance_dir(ns, "gobgp", name)
        inst = GobgpInstance(ns, path, config, name=label)
        self.instances.append(inst)
        inst.start()
        self._pids += inst.pids()
        return inst

    # --- our own code inside namespaces -------------------------------------------------
    def spawn(self, ns: Namespace, fn: Callable[..., Any], *args: Any) -> NsProcess:
        """Run ``fn(*args)`` in a forked child inside ``ns``; stopped at teardown."""
        child = NsProcess(ns.name, fn, *args)
        self._children.append(child)
        self._pids.append(child.pid)
        write_pid_file(self.dir / f"child-{child.pid}.pid", child.pid)
        return child

    def popen(
        self,
        ns: Namespace,
        argv: Sequence[str],
        *,
        log: str | None = None,
        **kw: Any,
    ) -> subprocess.Popen[Any]:
        """Start ``argv`` inside ``ns`` (e.g. ``[sys.executable, "-m", ...]``); terminated at
        teardown. Output goes to ``log`` (a file name in the lab dir, shown on failure) unless
        ``stdout`` is given."""
        out: IO[Any] | None = None
        if "stdout" not in kw:
            path = self.dir / (log or f"popen-{len(self._children)}.log")
            self._logs.append(path)
            out = path.open("ab")
            kw["stdout"] = out
            kw.setdefault("stderr", subprocess.STDOUT)
        try:
            proc = ns.popen(argv, **kw)
        finally:
            if out is not None:
                out.close()
        self._children.append(_Popened(proc))
        self._pids.append(proc.pid)
        write_pid_file(self.dir / f"popen-{proc.pid}.pid", proc.pid)
        return proc

    # --- teardown and reporting ---------------------------------------------------------
    def footprint(self) -> Footprint:
        return Footprint(tuple(ns.name for ns in self.namespaces), tuple(self._pids), self.dir)

    def close(self) -> None:
        """Stop children and daemons, delete namespaces (killing anything still inside),
        remove files. Runs every step even if one fails, then raises the first error."""
        if self.closed:
            return
        self.closed = True
        errors: list[BaseException] = []
        steps: list[Callable[[], None]] = [c.stop for c in reversed(self._children)]
        steps += [i.stop for i in reversed(self.instances)]
        steps += [_deleter(ns.name) for ns in reversed(self.namespaces)]
        for step in steps:
            try:
                step()
            except Exception as exc:
                errors.append(exc)
        survivors = [p for p in self._pids if pid_alive(p)]
        if survivors:
            errors.append(RuntimeError(f"processes survived the lab teardown: {survivors}"))
        if errors:
            raise errors[0]

    def log_tails(self, lines: int = 60) -> list[tuple[str, str]]:
        """(title, last lines) of every log the lab's daemons and subprocesses wrote."""
        out = []
        files = [f for inst in self.instances for f in inst.log_files()]
        files += self._logs
        for path in files:
            try:
                text = path.read_text(errors="replace")
            except OSError:
                continue
            tail = "\n".join(text.splitlines()[-lines:])
            out.append((str(path.relative_to(self.dir)), tail))
        return out


def _deleter(name: str) -> Callable[[], None]:
    def delete() -> None:
        delete_namespace(name)

    return delete
