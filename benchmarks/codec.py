"""Codec benchmark: bgpspeak against ExaBGP 5 on the UPDATEs of real MRT update traces.

    .venv/bin/python benchmarks/codec.py [--corpora DIR] [--repeat N] [--warmup N] [--cpu K]

Reports prefixes per second (announced + withdrawn; IPv4 fields and MP_REACH/MP_UNREACH) for
decode and encode, bgpspeak with and without its AttributeCache, ExaBGP with and without its
attribute cache, in one run on the same messages. Writes benchmarks/results/codec-<date>.json
and the Codec section of docs/performance.md. benchmarks/README.md says more.

How it stays fair: the messages are read from the MRT files once and handed to every measurement
as one in-memory list, with the negotiated context each MRT subtype records; only messages both
codecs accept are timed; every variant runs in a fresh worker process pinned to the same CPU
(so peak RSS is its own), with warm-up passes first and only the pass itself inside the clock.
ExaBGP runs from its own virtualenv (benchmarks/.venv-exabgp, made on first use) so the
project's environment never sees it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import signal
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import codec_report
from codec_corpus import FileStats, find_corpora, load_updates, update_traces
from codec_harness import Pack
from codec_machine import LoadSample, describe, load_between

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
EXABGP_SPEC = "exabgp==5.0.*"
EXABGP_VENV = HERE / ".venv-exabgp"
BGPSPEAK_WORKER = HERE / "codec_bgpspeak.py"
EXABGP_WORKER = HERE / "codec_exabgp.py"

#: (codec, operation, cache, worker variant, extra worker arguments), in the order they run.
#: The --pause-gc rows are for insight only (how much of a pass is the garbage collector walking
#: what the pass made); the rows with the collector on are the ones that count. The --gc-bulk
#: rows run the pass inside bgpspeak.wire.bulk_receive_gc(), the library's documented collector
#: policy for bulk receive (a caller's choice, so reported beside the default, not instead).
RUNS: list[tuple[str, str, str, str, list[str]]] = [
    ("bgpspeak", "decode", "on", "decode-cache", []),
    ("bgpspeak", "decode+attributes", "on", "decode-attributes", []),
    ("bgpspeak", "decode+iterate", "on", "decode-iterate", []),
    ("bgpspeak", "decode", "off", "decode-nocache", []),
    ("bgpspeak", "encode", "n/a", "encode", []),
    ("bgpspeak", "decode", "on", "decode-cache", ["--gc-bulk"]),
    ("bgpspeak", "decode+attributes", "on", "decode-attributes", ["--gc-bulk"]),
    ("bgpspeak", "decode", "on", "decode-cache", ["--pause-gc"]),
    ("exabgp", "decode", "on", "decode", []),
    ("exabgp", "decode", "off", "decode", []),
    ("exabgp", "encode", "n/a", "encode", []),
    ("exabgp", "decode", "on", "decode", ["--pause-gc"]),
]


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def ensure_exabgp(venv: Path, spec: str) -> Path:
    """The interpreter of a virtualenv holding ExaBGP ``spec``; created on first use."""
    python = venv / "bin" / "python"
    probe = [
        str(python),
        "-c",
        "import exabgp, importlib.metadata as m; print(m.version('exabgp'))",
    ]
    if python.exists():
        found = subprocess.run(probe, capture_output=True, text=True)
        if found.returncode == 0 and found.stdout.strip().startswith("5.0."):
            return python
    log(f"creating {venv} with {spec}")
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", spec], check=True)
    subprocess.run(probe, check=True, capture_output=True)
    return python


def run_worker(
    python: Path, script: Path, pack: Path, args: list[str], cpu: int | None, cache: str = "on"
) -> tuple[dict[str, Any], dict[str, Any]]:
    cmd = [str(python), str(script), "--pack", str(pack), *args]
    if cpu is not None:
        cmd += ["--cpu", str(cpu)]
    env = dict(os.environ)
    env["exabgp.cache.attributes"] = "false" if cache == "off" else "true"  # ExaBGP worker only
    before = LoadSample.now()
    done = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, cwd=HERE, env=env)
    after = LoadSample.now()
    if done.returncode != 0:
        raise SystemExit(f"worker failed ({done.returncode}): {' '.join(cmd)}")
    return json.loads(done.stdout.splitlines()[-1]), load_between(before, after, cpu)


def _reasons(notes: dict[str, str], indices: list[int]) -> dict[str, int]:
    """How many messages got each note, with numbers in the text folded together."""
    c: Counter[str] = Counter()
    for i in indices:
        c[notes.get(str(i), "")[:120]] += 1
    return dict(c.most_common())


def compare(
    pack: Pack, files: list[FileStats], ours: dict[str, Any], theirs: dict[str, Any] | None
) -> tuple[list[int], dict[str, Any]]:
    """The messages both codecs accept, and what the check passes found."""
    n = len(pack.messages)
    owner: list[str] = []
    for f in files:
        owner += [f.path] * f.updates
    a = ours["counts"]
    b = theirs["counts"] if theirs is not None else a
    bad_a = [i for i in range(n) if a[i] is None]
    bad_b = [i for i in range(n) if b[i] is None]
    keep = [i for i in range(n) if a[i] is not None and b[i] is not None]
    differ = [i for i in keep if a[i] != b[i]]
    reencoded = [i for i in keep if "re-encod" in ours["notes"].get(str(i), "")]
    raw = [i for i in keep if "NLRI kept raw" in ours["notes"].get(str(i), "")]
    report: dict[str, Any] = {
        "rejected_by_bgpspeak": len(bad_a),
        "rejected_by_bgpspeak_why": _reasons(ours["notes"], bad_a),
        "rejected_by_bgpspeak_files": dict(Counter(owner[i] for i in bad_a)),
        "bgpspeak_accepted_not_reencoded_identically": len(reencoded),
        "bgpspeak_reencode_notes": _reasons(ours["notes"], reencoded),
        "bgpspeak_raw_nlri_messages": _reasons(ours["notes"], raw),
    }
    if theirs is not None:
        report |= {
            "rejected_by_exabgp": len(bad_b),
            "rejected_by_exabgp_why": _reasons(theirs["notes"], bad_b),
            "rejected_by_exabgp_files": dict(Counter(owner[i] for i in bad_b)),
            "prefix_count_disagreements": len(differ),
            "prefix_count_disagreements_with_raw_nlri": len(set(differ) & set(raw)),
            "prefix_count_disagreement_examples": [
                {
                    "file": owner[i],
                    "update_index_in_run": i,
                    "bgpspeak": a[i],
                    "exabgp": b[i],
                    "bgpspeak_note": ours["notes"].get(str(i), ""),
                }
                for i in differ[:50]
            ],
        }
    return keep, report


def git_commit() -> str:
    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=ROOT, capture_output=True, text=True, check=False
        ).stdout.strip()

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    return commit + ("+dirty" if git("status", "--porcelain", "--", "bgpspeak") else "")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpora", type=Path, help="the shared corpora (default: located)")
    ap.add_argument("--repeat", type=int, default=5, help="timed passes per variant (5)")
    ap.add_argument("--warmup", type=int, default=1, help="untimed passes first (1)")
    ap.add_argument(
        "--cpu",
        type=int,
        default=max(os.sched_getaffinity(0)),
        help="CPU every worker is pinned to (default: the last usable one)",
    )
    ap.add_argument("--no-pin", action="store_true", help="do not pin the workers")
    ap.add_argument("--no-exabgp", action="store_true", help="measure bgpspeak only")
    ap.add_argument(
        "--max-messages", type=int, help="only the first N UPDATEs (a quick try of the harness)"
    )
    ap.add_argument("--exabgp-venv", type=Path, default=EXABGP_VENV)
    ap.add_argument("--results", type=Path, default=HERE / "results", help="JSON output folder")
    ap.add_argument("--docs", type=Path, default=ROOT / "docs" / "performance.md")
    ap.add_argument("--no-docs", action="store_true", help="do not touch docs/performance.md")
    args = ap.parse_args(argv)
    cpu = None if args.no_pin else args.cpu
    # a plain kill should still stop the worker and remove the temporary pack files
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    corpora = args.corpora or find_corpora()
    if corpora is None or not corpora.is_dir():
        raise SystemExit("BGP corpora not found; give --corpora or set BGPSPEAK_CORPORA")
    machine = describe()
    started = dt.datetime.now(dt.UTC)
    files = update_traces(corpora)
    log(f"{len(files)} BGP4MP update traces in {corpora}")
    pack, file_stats = load_updates(files, corpora)
    log(f"{len(pack.messages):,} UPDATE messages loaded")
    if args.max_messages is not None:
        pack.messages = pack.messages[: args.max_messages]

    exa_python = None if args.no_exabgp else ensure_exabgp(args.exabgp_venv, EXABGP_SPEC)
    python = Path(sys.executable)
    with tempfile.TemporaryDirectory(prefix="codec-bench-") as tmp:
        all_pack = Path(tmp) / "all.pack"
        pack.write(all_pack)
        log("check pass: bgpspeak")
        ours, _ = run_worker(python, BGPSPEAK_WORKER, all_pack, ["--check"], cpu)
        theirs = None
        if exa_python is not None:
            log("check pass: ExaBGP")
            theirs, _ = run_worker(exa_python, EXABGP_WORKER, all_pack, ["--check"], cpu)
        keep, check = compare(pack, file_stats, ours, theirs)
        common = pack.subset(keep)
        bench_pack = Path(tmp) / "common.pack"
        common.write(bench_pack)
        prefixes = sum(ours["counts"][i] for i in keep)
        messages = len(keep)
        log(f"timing {messages:,} messages, {prefixes:,} prefixes")

        runs: list[dict[str, Any]] = []
        for codec, op, cache, variant, extra in RUNS:
            if codec == "exabgp" and exa_python is None:
                continue
            interp, script = (
                (python, BGPSPEAK_WORKER) if codec == "bgpspeak" else (exa_python, EXABGP_WORKER)
            )
            assert interp is not None
            wargs = ["--variant", variant, "--warmup", str(args.warmup)]
            wargs += ["--repeat", str(args.repeat), *extra]
            out, load = run_worker(interp, script, bench_pack, wargs, cpu, cache)
            run = {"codec": codec, "operation": op, "cache": cache, **out, "load": load}
            run |= codec_report.rates(run, prefixes, messages)
            runs.append(run)
            log(
                f"{codec:9} {op} cache {cache:3} gc {run['gc']:6}:"
                f" {run['prefixes_per_s']:>12,.0f} prefixes/s"
                f"  (wall {run['wall']['median']:.3f}s, spread {run['wall']['spread_pct']:.0f}%,"
                f" others on cpu {load.get('others_on_pinned_cpu', '-')})"
            )

    codec_report.add_speedups(runs)
    result: dict[str, Any] = {
        "date": started.strftime("%Y-%m-%d %H:%M UTC"),
        "bgpspeak_commit": git_commit(),
        "settings": {
            "repeat": args.repeat,
            "warmup": args.warmup,
            "cpu": cpu,
            "max_messages": args.max_messages,
        },
        "machine": machine | {"loadavg_at_end": os.getloadavg()},
        "corpus": {
            "path": str(corpora),
            "files": len(files),
            "messages_loaded": len(pack.messages),
            "messages": messages,
            "prefixes": prefixes,
            "excluded": len(pack.messages) - messages,
            "per_file": [vars(f) for f in file_stats],
        },
        "check": check,
        "runs": runs,
    }
    result["verdict"] = codec_report.verdict(runs)

    args.results.mkdir(parents=True, exist_ok=True)
    out_path = args.results / f"codec-{started.strftime('%Y-%m-%dT%H%M%S')}.json"
    out_path.write_text(json.dumps(result, indent=1) + "\n")
    log(f"results: {out_path}")
    md = codec_report.markdown(result)
    if not args.no_docs:
        codec_report.write_section(args.docs, md)
        log(f"table written to {args.docs}")
    print(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
