"""Sampling profiles of a running sender (py-spy), summarized for the results JSON.

``py-spy record --format raw`` writes collapsed stacks (``frame;frame;... count``); the summary
keeps the functions where samples were taken (self) and the functions on the stack (inclusive),
each as a share of all samples. py-spy samples from outside the process (``--nonblocking``),
so the profiled run is barely slower; it is still a separate run from the measured ones.
"""

from __future__ import annotations

import collections
import shutil
import signal
import subprocess
from pathlib import Path
from typing import Any


def py_spy() -> str | None:
    here = Path(__file__).resolve().parents[2] / ".venv" / "bin" / "py-spy"
    return str(here) if here.exists() else shutil.which("py-spy")


class Profiler:
    def __init__(self, pid: int, out: Path, rate: int = 100) -> None:
        exe = py_spy()
        if exe is None:
            raise RuntimeError("py-spy not found: .venv/bin/pip install py-spy")
        self.out = out
        argv = [exe, "record", "--pid", str(pid), "--format", "raw", "-o", str(out)]
        argv += ["--rate", str(rate), "--nonblocking"]
        self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def stop(self) -> dict[str, Any]:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return summarize(self.out)


def _frame(text: str) -> str:
    # "function (path/to/file.py:123)" -> "function (file.py)"
    name, _, where = text.partition(" (")
    file = where.rsplit("/", 1)[-1].split(":", 1)[0] if where else ""
    return f"{name} ({file})" if file else name


def summarize(path: Path, top: int = 15) -> dict[str, Any]:
    own: collections.Counter[str] = collections.Counter()
    incl: collections.Counter[str] = collections.Counter()
    total = 0
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError:
        return {"error": f"no profile at {path}"}
    for line in lines:
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        frames = [_frame(f) for f in stack.split(";")]
        total += n
        own[frames[-1]] += n
        for f in set(frames):
            incl[f] += n
    if not total:
        return {"samples": 0}
    return {
        "samples": total,
        "self": [(f, round(100 * c / total, 1)) for f, c in own.most_common(top)],
        "inclusive": [(f, round(100 * c / total, 1)) for f, c in incl.most_common(top + 10)],
    }
