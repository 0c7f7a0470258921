"""``python -m benchmarks.fullfeed CASE ...``: run a case, write JSON, update the docs table."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

from . import ROOT

RESULTS = ROOT / "benchmarks" / "results"


def log(text: str) -> None:
    print(f"[fullfeed {time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def _save(path: Path, doc: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(doc, indent=1) + "\n")
    tmp.replace(path)


def _announce(args: argparse.Namespace) -> dict[str, Any]:
    from lab.runs import Run

    from . import announce, table

    afi = 1 if args.family == "ipv4" else 2
    log(f"building the {args.family} table of {args.n} prefixes from {args.corpora}")
    tab = table.build(table.load_shape(args.corpora), afi, args.n)
    log(f"{len(tab)} prefixes, {len(tab.sets)} attribute sets")
    senders = args.senders.split(",")
    modes = args.frr_modes.split(",")
    doc = _document(args, "announce")
    doc["table"] = {"prefixes": len(tab), "attribute_sets": len(tab.sets), "family": args.family}
    run = Run()
    for rep in range(args.repeat):
        order = senders[rep % len(senders) :] + senders[: rep % len(senders)]
        for mode in modes:
            for name in order:
                spec = announce.FeedRun(
                    name, afi, args.n, mode == "fib", args.timeout, args.rss_limit_mb, args.profile
                )
                log(
                    f"run {rep + 1}/{args.repeat}: {name} -> FRR ({mode}), "
                    f"load {os.getloadavg()[0]:.1f}"
                )
                res = announce.run_feed(run, spec, tab, args.work, args.poll)
                res["repeat"] = rep
                doc["runs"].append(res)
                log(json.dumps(res))
                _save(args.out, doc)
    return doc


def _single(args: argparse.Namespace) -> dict[str, Any]:
    """receive / peers / churn: one bgpspeak measurement per repeat."""
    from lab.runs import Run

    from . import churn, peers, receive, table

    doc = _document(args, args.case)
    run = Run()
    tab = None
    if args.case in ("receive", "churn"):
        log(f"building the ipv4 table of {args.n} prefixes from {args.corpora}")
        tab = table.build(table.load_shape(args.corpora), 1, args.n)
        doc["table"] = {"prefixes": len(tab), "attribute_sets": len(tab.sets), "family": "ipv4"}
    for rep in range(args.repeat):
        log(f"{args.case} {rep + 1}/{args.repeat}, load {os.getloadavg()[0]:.1f}")
        if args.case == "receive":
            assert tab is not None
            res = receive.run_receive(run, tab, args.work, args.timeout)
        elif args.case == "churn":
            assert tab is not None
            res = churn.run_churn(run, tab, args.fraction, args.seconds, args.work, args.timeout)
        else:
            res = peers.run_peers(run, args.n, args.hold, args.steady, args.work, args.timeout)
        res["repeat"] = rep
        doc["runs"].append(res)
        log(json.dumps(res))
        _save(args.out, doc)
    return doc


def _document(args: argparse.Namespace, case: str) -> dict[str, Any]:
    from .machine import describe

    if args.out is None:
        stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
        extra = f"-{getattr(args, 'family', 'ipv4')}-{args.n}"
        args.out = RESULTS / f"fullfeed-{case}{extra}-{stamp}.json"
    return {
        "benchmark": "fullfeed",
        "case": case,
        "machine": describe(),
        "argv": sys.argv[1:],
        "nice": args.nice,
        "runs": [],
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m benchmarks.fullfeed", description=__doc__, allow_abbrev=False
    )
    ap.add_argument(
        "--corpora", type=Path, default=None, help="shared corpora (found like the tests do)"
    )
    ap.add_argument(
        "--work", type=Path, default=Path("/tmp/fullfeed"), help="input files of the senders"
    )
    ap.add_argument(
        "--out", type=Path, default=None, help="results JSON (default benchmarks/results/...)"
    )
    ap.add_argument("--no-docs", action="store_true", help="leave docs/performance.md alone")
    ap.add_argument(
        "--nice", type=int, default=-5, help="niceness of the run and all it starts (0: leave)"
    )
    sub = ap.add_subparsers(dest="case", required=True)
    a = sub.add_parser("announce", help="cases 1-2: each sender announces N prefixes to FRR")
    a.add_argument("--family", choices=["ipv4", "ipv6"], default="ipv4")
    a.add_argument("--n", type=int, default=100_000)
    a.add_argument("--senders", default="bgpspeak,bird,gobgp,exabgp")
    a.add_argument("--frr-modes", default="fib,nofib", help="fib (zebra installs), nofib (bgpd -n)")
    a.add_argument("--repeat", type=int, default=1)
    a.add_argument("--timeout", type=float, default=900.0, help="per run (s)")
    a.add_argument("--profile", action="store_true", help="py-spy the bgpspeak sender")
    a.add_argument("--rss-limit-mb", type=float, default=6000.0, help="stop a bigger sender")
    a.add_argument("--poll", type=float, default=0.2, help="FRR poll interval once Established (s)")
    r = sub.add_parser("receive", help="case 3: bgpspeak receives N prefixes from FRR")
    r.add_argument("--n", type=int, default=1_000_000)
    p = sub.add_parser("peers", help="case 4: N peers on one bgpspeak speaker")
    p.add_argument("--n", type=int, default=500)
    p.add_argument("--hold", type=int, default=90, help="hold time (keepalives every third)")
    p.add_argument("--steady", type=float, default=60.0, help="steady-state window (s)")
    c = sub.add_parser("churn", help="case 5: change a fraction of N routes every second")
    c.add_argument("--n", type=int, default=1_000_000)
    c.add_argument("--fraction", type=float, default=0.01)
    c.add_argument("--seconds", type=int, default=60)
    for sp in (r, p, c):
        sp.add_argument("--repeat", type=int, default=1)
        sp.add_argument("--timeout", type=float, default=900.0)
    sub.add_parser("report", help="rewrite the docs table from benchmarks/results/fullfeed-*.json")
    args = ap.parse_args(argv)
    # nohup'ed background jobs start with SIGINT ignored; SIGTERM would skip the labs'
    # teardown: both end the run through SystemExit, so every namespace and daemon goes
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if args.nice:
        # inherited by everything the run starts (FRR, senders, agents): other work on a
        # shared machine then stretches the measured processes' wall time less
        os.setpriority(os.PRIO_PROCESS, 0, args.nice)
    if args.corpora is None:
        from .table import find_corpora

        args.corpora = find_corpora()
        if args.corpora is None:
            ap.error("shared corpora not found: pass --corpora DIR")
    if args.case == "announce":
        _announce(args)
    elif args.case != "report":
        _single(args)
    if args.case != "report":
        log(f"results in {args.out}")
    if not args.no_docs:
        from . import report

        report.update_docs(RESULTS)
    return 0


if __name__ == "__main__":
    sys.exit(main())
