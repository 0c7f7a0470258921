"""``python -m tests.fuzz.run`` (``scripts/fuzz``): fuzz one target, replay or minimize a corpus.

    scripts/fuzz decode --time 600              # atheris/libFuzzer, 10 minutes
    scripts/fuzz fsm --time 300 -- -max_len=2048 # extra arguments go to libFuzzer
    scripts/fuzz mrt --replay                   # run the kept corpus once, print line coverage
    scripts/fuzz decode --minimize              # merge the work corpus into tests/fuzz/corpus

The engine is atheris (``pip install -e .[fuzz]``): libFuzzer's coverage-guided mutation over
Python code instrumented at import. Without atheris a small random-mutation loop (standard
library only) runs instead, so the command works everywhere, only less cleverly.

The work corpus (everything libFuzzer keeps) lives in ``--workdir`` (default
``/tmp/bgpspeak-fuzz/<target>``); crashes are written there as ``crash-*``. Only the minimized
corpus is kept in git (``tests/fuzz/corpus/<target>``), replayed by CI.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import inspect
import json
import os
import random
import re
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from types import CodeType, FrameType
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
CORPUS = HERE / "corpus"
NAMES = ("decode", "mrt", "fsm", "peer")
MAX_LEN = {"decode": 4200, "mrt": 8192, "fsm": 1024, "peer": 8192}
# the bgpspeak packages each target exercises, for the line-coverage figure
COVERED = {
    "decode": ("bgpspeak/wire",),
    "mrt": ("bgpspeak/mrt",),
    "fsm": ("bgpspeak/session",),
    "peer": ("bgpspeak/peer.py", "bgpspeak/rib.py", "bgpspeak/route_store.py"),
}


def _targets(instrument: bool) -> dict[str, Callable[[bytes], None]]:
    if instrument:
        import atheris  # type: ignore[import-untyped,unused-ignore]

        with atheris.instrument_imports(include=["bgpspeak"]):
            mod = importlib.import_module(f"{__package__ or 'tests.fuzz'}.targets")
    else:
        mod = importlib.import_module(f"{__package__ or 'tests.fuzz'}.targets")
    targets: dict[str, Callable[[bytes], None]] = mod.TARGETS
    return targets


def corpus_files(directory: Path) -> list[Path]:
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.iterdir() if p.is_file() and not p.name.startswith("."))


# --- line coverage (stdlib: settrace), for the replay report ------------------------------------


def executable_lines(paths: tuple[str, ...]) -> dict[str, set[int]]:
    """Every line that carries bytecode, per source file under ``paths``."""
    out: dict[str, set[int]] = {}
    for rel in paths:
        base = ROOT / rel
        for f in [base] if base.is_file() else sorted(base.rglob("*.py")):
            code = compile(f.read_text(), str(f), "exec")
            lines: set[int] = set()
            at_import: set[int] = set()
            stack: list[CodeType] = [code]
            while stack:
                c = stack.pop()
                here = {ln for _, _, ln in c.co_lines() if ln is not None}
                # module and class bodies (imports, defs) run at import, before tracing
                (lines if c.co_flags & inspect.CO_OPTIMIZED else at_import).update(here)
                stack.extend(k for k in c.co_consts if isinstance(k, CodeType))
            out[str(f)] = lines - at_import
    return out


class LineTracer:
    def __init__(self, files: set[str]) -> None:
        self.files = files
        self.hit: dict[str, set[int]] = {f: set() for f in files}

    def _local(self, frame: FrameType, event: str, arg: Any) -> Any:
        if event == "line":
            self.hit[frame.f_code.co_filename].add(frame.f_lineno)
        return self._local

    def _global(self, frame: FrameType, event: str, arg: Any) -> Any:
        if frame.f_code.co_filename in self.files:
            self.hit[frame.f_code.co_filename].add(frame.f_lineno)
            return self._local
        return None

    def __enter__(self) -> LineTracer:
        sys.settrace(self._global)
        return self

    def __exit__(self, *exc: object) -> None:
        sys.settrace(None)


def replay(name: str, directory: Path, coverage: bool) -> dict[str, Any]:
    target = _targets(False)[name]
    files = corpus_files(directory)
    failures: list[str] = []
    exe = executable_lines(COVERED[name]) if coverage else {}
    tracer = LineTracer(set(exe))
    start = time.monotonic()
    with tracer if coverage else _nothing():
        for f in files:
            try:
                target(f.read_bytes())
            except Exception:
                failures.append(f"{f.name}: {traceback.format_exc(limit=4)}")
    report: dict[str, Any] = {
        "target": name,
        "inputs": len(files),
        "failures": len(failures),
        "seconds": round(time.monotonic() - start, 2),
    }
    if coverage:
        total = sum(len(v) for v in exe.values())
        hit = sum(len(tracer.hit[f] & exe[f]) for f in exe)
        percent = round(100 * hit / total, 1)
        report["lines"] = {"covered": hit, "executable": total, "percent": percent}
        report["per_file"] = {
            os.path.relpath(f, ROOT): f"{len(tracer.hit[f] & exe[f])}/{len(exe[f])}"
            for f in sorted(exe)
        }
    for failure in failures[:5]:
        print(failure, file=sys.stderr)
    return report


class _nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


# --- engines ------------------------------------------------------------------------------------


def fuzz_atheris(name: str, workdir: Path, seconds: int, extra: list[str]) -> int:
    """Run libFuzzer in a child process (it exits the interpreter when done) and parse its
    final statistics into ``workdir/stats.json``."""
    work = workdir / "corpus"
    work.mkdir(parents=True, exist_ok=True)
    args = [
        sys.executable,
        "-m",
        "tests.fuzz.run",
        name,
        "--child",
        "--",
        str(work),
        str(CORPUS / name),
        f"-max_total_time={seconds}",
        f"-max_len={MAX_LEN[name]}",
        "-timeout=20",
        "-rss_limit_mb=3072",
        "-print_final_stats=1",
        f"-artifact_prefix={workdir}/",
        *extra,
    ]
    log = workdir / "fuzz.log"
    with log.open("w") as out:
        rc = subprocess.call(args, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    text = log.read_text(errors="replace")
    stats = parse_libfuzzer(text)
    stats.update(target=name, seconds=seconds, exit=rc, work_corpus=len(corpus_files(work)))
    stats["crashes"] = sorted(p.name for p in workdir.glob("crash-*"))
    (workdir / "stats.json").write_text(json.dumps(stats, indent=2) + "\n")
    print(json.dumps(stats))
    if rc != 0:
        print(text[-4000:], file=sys.stderr)
    return rc


def parse_libfuzzer(text: str) -> dict[str, Any]:
    stats: dict[str, Any] = {}
    for key, value in re.findall(r"^stat::(\w+):\s+(\d+)", text, re.M):
        stats[key] = int(value)
    last = re.findall(r"#(\d+)\s+\w+\s+cov: (\d+) ft: (\d+) corp: (\d+)", text)
    if last:
        n, cov, ft, corp = last[-1]
        stats.update(execs=int(n), edges=int(cov), features=int(ft), corpus=int(corp))
    return stats


def child(name: str, libfuzzer_args: list[str]) -> None:
    import atheris  # type: ignore[import-untyped,unused-ignore]

    target = _targets(True)[name]
    atheris.Setup([str(_relauncher(name)), *libfuzzer_args], target)
    atheris.Fuzz()


def _relauncher(name: str) -> Path:
    """libFuzzer runs ``argv[0]`` again for merges and forks: a script that comes back here."""
    path = Path("/tmp/bgpspeak-fuzz") / f"relaunch-{name}-{os.getuid()}"
    path.parent.mkdir(parents=True, exist_ok=True)
    text = (
        f'#!/bin/sh\ncd {ROOT} && exec {sys.executable} -m tests.fuzz.run {name} --child -- "$@"\n'
    )
    if not path.exists() or path.read_text() != text:
        tmp = path.with_suffix(f".{os.getpid()}")
        tmp.write_text(text)
        tmp.chmod(0o755)
        tmp.replace(path)
    return path


def fuzz_random(name: str, workdir: Path, seconds: int) -> int:
    """Fallback without atheris: random mutations of the corpus (no coverage feedback)."""
    target = _targets(False)[name]
    seeds = [p.read_bytes() for p in corpus_files(CORPUS / name)] or [b"\x00" * 32]
    rnd = random.Random(int(time.time()))
    deadline = time.monotonic() + seconds
    execs = crashes = 0
    workdir.mkdir(parents=True, exist_ok=True)
    while time.monotonic() < deadline:
        data = bytearray(rnd.choice(seeds))
        for _ in range(rnd.randrange(1, 8)):
            op = rnd.randrange(4)
            pos = rnd.randrange(len(data) + 1)
            if op == 0 and data:
                data[pos % len(data)] = rnd.randrange(256)
            elif op == 1:
                data[pos:pos] = bytes(rnd.randrange(256) for _ in range(rnd.randrange(1, 9)))
            elif op == 2:
                del data[pos : pos + rnd.randrange(1, 9)]
            else:
                other = rnd.choice(seeds)
                cut = rnd.randrange(len(other) + 1)
                data[pos:] = other[cut:]
        blob = bytes(data[: MAX_LEN[name]])
        execs += 1
        try:
            target(blob)
        except Exception:
            crashes += 1
            digest = hashlib.sha1(blob).hexdigest()
            (workdir / f"crash-{digest}").write_bytes(blob)
            traceback.print_exc()
    stats = {"target": name, "engine": "random", "execs": execs, "crashes": crashes}
    print(json.dumps(stats))
    return 1 if crashes else 0


def minimize(name: str, workdir: Path) -> int:
    """libFuzzer merge: the smallest set of inputs of the work corpus and the kept corpus that
    covers what they cover together, written back to ``tests/fuzz/corpus/<name>``."""
    keep = CORPUS / name
    fresh = workdir / "minimized"
    if fresh.exists():
        for p in fresh.iterdir():
            p.unlink()
    fresh.mkdir(parents=True, exist_ok=True)
    args = [
        sys.executable,
        "-m",
        "tests.fuzz.run",
        name,
        "--child",
        "--",
        "-merge=1",
        f"-max_len={MAX_LEN[name]}",
        str(fresh),
        str(keep),
        str(workdir / "corpus"),
    ]
    rc = subprocess.call(args, cwd=ROOT)
    if rc != 0:
        return rc
    for p in corpus_files(keep):
        p.unlink()
    for p in corpus_files(fresh):
        (keep / p.name).write_bytes(p.read_bytes())
    print(f"{name}: {len(corpus_files(keep))} inputs kept in {keep}")
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    extra: list[str] = []
    if "--" in argv:
        cut = argv.index("--")
        argv, extra = argv[:cut], argv[cut + 1 :]
    ap = argparse.ArgumentParser(prog="scripts/fuzz", description=__doc__.split("\n")[0])
    ap.add_argument("target", choices=NAMES)
    ap.add_argument("--time", type=int, default=60, help="seconds of fuzzing (default 60)")
    ap.add_argument("--workdir", type=Path, help="work corpus and crashes")
    ap.add_argument("--replay", action="store_true", help="run the kept corpus once")
    ap.add_argument("--dir", type=Path, help="with --replay: this directory instead")
    ap.add_argument("--minimize", action="store_true", help="merge the work corpus into git's")
    ap.add_argument("--engine", choices=("atheris", "random"), default=None)
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        child(args.target, extra)
        return 0
    workdir = args.workdir or Path("/tmp/bgpspeak-fuzz") / args.target
    if args.replay:
        report = replay(args.target, args.dir or CORPUS / args.target, coverage=True)
        print(json.dumps(report, indent=2))
        return 1 if report["failures"] else 0
    if args.minimize:
        return minimize(args.target, workdir)
    engine = args.engine
    if engine is None:
        try:
            import atheris  # noqa: F401

            engine = "atheris"
        except ImportError:
            engine = "random"
            print("atheris is not installed (pip install -e .[fuzz]): random mutation only")
    if engine == "atheris":
        return fuzz_atheris(args.target, workdir, args.time, extra)
    return fuzz_random(args.target, workdir, args.time)


if __name__ == "__main__":
    sys.exit(main())
