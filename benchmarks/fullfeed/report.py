"""Tables for docs/performance.md ("Full table") from the JSON result files.

The newest result file of each case / family / size is used; each table says when and how busy
the machine was. Targets (issue 5) are judged on the fib runs, where FRR does its whole job.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from . import ROOT

DOCS = ROOT / "docs" / "performance.md"
BEGIN = "<!-- BEGIN fullfeed benchmark: written by benchmarks/fullfeed/report.py, edit that -->"
END = "<!-- END fullfeed benchmark -->"


def _load(results: Path) -> list[dict[str, Any]]:
    docs = []
    for path in sorted(results.glob("fullfeed-*.json")):
        try:
            doc = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if doc.get("runs"):
            docs.append(doc)
    docs.sort(key=lambda d: d.get("machine", {}).get("when_utc", ""))
    return docs


def _variant(r: dict[str, Any]) -> tuple[Any, ...]:
    """What makes runs of one case and size different measurements (kept side by side)."""
    if r.get("case") == "peers":
        return ("peers", r.get("hold_time"))
    return (r.get("frr_mode"), r.get("sender"))


def _latest(results: Path) -> list[dict[str, Any]]:
    """One document per case / family / size. Announce runs are merged: for each sender and
    FRR mode the runs of the newest file that has them (so bgpspeak can be measured again
    without running ExaBGP again); each run keeps the machine line of its file."""
    merged: dict[tuple[str, str, int], dict[str, Any]] = {}
    for doc in _load(results):
        first = doc["runs"][0]
        key = (doc.get("case", "?"), str(first.get("family", "")), int(first.get("n", 0)))
        for r in doc["runs"]:
            r["_machine"] = doc["machine"]
        if doc.get("case") not in ("announce", "peers") or key not in merged:
            merged[key] = dict(doc)
            continue
        have = merged[key]
        fresh = {_variant(r) for r in doc["runs"]}
        kept = [r for r in have["runs"] if _variant(r) not in fresh]
        merged[key] = dict(doc, runs=kept + doc["runs"])
    return sorted(merged.values(), key=lambda d: (d.get("case", ""), d["runs"][0].get("n", 0)))


def _f(x: Any, digits: int = 1) -> str:
    if x is None:
        return "-"
    if isinstance(x, float):
        return f"{x:,.{digits}f}"
    if isinstance(x, int):
        return f"{x:,}"
    return str(x)


def _med(values: Iterable[Any]) -> float | None:
    vals = [v for v in values if isinstance(v, int | float)]
    return statistics.median(vals) if vals else None


def _total(r: dict[str, Any]) -> float | None:
    t = r.get("t_all_fib_s") if r.get("frr_mode") == "fib" else r.get("t_all_received_s")
    return t if isinstance(t, int | float) else None


def announce_table(doc: dict[str, Any]) -> list[str]:
    runs = doc["runs"]
    m = doc["machine"]
    first = runs[0]
    whens = sorted({r.get("_machine", m)["when_utc"] for r in runs})
    commits = sorted(
        {r.get("_machine", m)["bgpspeak_commit"] for r in runs if r["sender"] == "bgpspeak"}
    )
    out = [
        f"**Announce {first['n']:,} {first['family']} prefixes to FRR** "
        f"({doc.get('table', {}).get('attribute_sets', '?'):,} attribute sets), measured "
        f"{', '.join(whens)} UTC, bgpspeak {', '.join(commits) or '-'}, {m['frr']}, {m['bird']}, "
        f"{m['gobgp']}, ExaBGP {m['exabgp']}, Python {m['python']}, {m['cpus']} CPUs ({m['cpu']}), "
        f"benchmark processes at nice {doc.get('nice', 0)}.",
        "",
        "| sender | FRR | start to Established s | Est. to all in BGP table s "
        "| Est. to all in FIB s "
        "| start to done s | sender CPU s | bgpd CPU s | zebra CPU s | sender peak RSS MB "
        "(bytes/prefix) | UPDATEs | load1 before/after | runs |",
        "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in runs:
        groups.setdefault((r["frr_mode"], r["sender"]), []).append(r)
    for (mode, sender), rs in sorted(groups.items(), key=lambda kv: (kv[0][0] != "fib", kv[0])):
        ok = [r for r in rs if r.get("complete")]
        if not ok:
            why = (
                rs[-1].get("error")
                or f"not done after {rs[-1].get('timeout_s', '?')} s: {rs[-1].get('last_seen')}"
            )
            out.append(
                f"| {sender} | {mode} | {_f(_med(r.get('t_established_s') for r in rs))} | "
                f"incomplete | | | {_f(_med(r.get('cpu_sender_s') for r in rs))} | | | "
                f"{_f(_med(r.get('rss_sender_peak_mb') for r in rs), 0)} | | | {len(rs)}: {why} |"
            )
            continue

        def col(key: str, digits: int = 2, rows: list[dict[str, Any]] = ok) -> str:
            return _f(_med(r.get(key) for r in rows), digits)

        when = ok[-1].get("_machine", m)["when_utc"][-5:]
        cells = [
            f"{sender} ({when})",
            mode,
            col("t_established_s"),
            col("est_to_received_s"),
            col("est_to_fib_s"),
            _f(_med(_total(r) for r in ok), 2),
            col("cpu_sender_s"),
            col("cpu_bgpd_s"),
            col("cpu_zebra_s"),
            f"{col('rss_sender_peak_mb', 0)} ({col('rss_sender_bytes_per_prefix', 0)})",
            col("updates_received_by_frr", 0),
            f"{col('load1_before', 1)}/{col('load1_after', 1)}",
            f"{len(ok)}/{len(rs)}",
        ]
        out.append("| " + " | ".join(cells) + " |")
    out += ["", *targets(runs), ""]
    return out


def targets(runs: list[dict[str, Any]]) -> list[str]:
    """Issue 5's targets for bgpspeak, judged on the median of the complete fib runs."""

    def med(sender: str, key: str, mode: str = "fib") -> float | None:
        vals = [
            (_total(r) if key == "total" else r.get(key))
            for r in runs
            if r["sender"] == sender and r["frr_mode"] == mode and r.get("complete")
        ]
        return _med(vals)

    out = []
    cpu, bgpd = med("bgpspeak", "cpu_sender_s"), med("bgpspeak", "cpu_bgpd_s")
    if cpu is not None and bgpd:
        ok = cpu <= bgpd / 4
        out.append(
            f"- bgpspeak CPU {cpu:.2f} s vs FRR bgpd {bgpd:.2f} s: {cpu / bgpd:.2f}x bgpd's "
            f"(target at most 0.25x): {'met' if ok else 'NOT met'}."
        )
    before = med("bgpspeak", "cpu_sender_to_established_s")
    if cpu is not None and bgpd and before is not None:
        after = cpu - before
        out.append(
            f"- of which {before:.2f} s before the session was up (reading the MRT file into "
            f"routes, interpreter start) and {after:.2f} s after it: the BGP work alone is "
            f"{after / bgpd:.2f}x bgpd's (target at most 0.25x): "
            f"{'met' if after <= bgpd / 4 else 'NOT met'}."
        )
    tot, bird = med("bgpspeak", "total"), med("bird", "total")
    # the issue times from Established ("wall time from session Established to FRR reporting
    # all N received"); start to done, which adds each sender's loading, is shown beside it
    for key, what in (("est_to_received_s", "all in BGP table"), ("est_to_fib_s", "all in FIB")):
        ours, theirs = med("bgpspeak", key), med("bird", key)
        if ours is not None and theirs:
            out.append(
                f"- Established to {what} {ours:.1f} s vs BIRD {theirs:.1f} s: "
                f"{ours / theirs:.2f}x (target at most 1.1x): "
                f"{'met' if ours <= 1.1 * theirs else 'NOT met'}."
            )
    if tot is not None and bird:
        out.append(
            f"- start to all in FIB, loading included, {tot:.1f} s vs BIRD {bird:.1f} s: "
            f"{tot / bird:.2f}x (no target; shows the cost of reading the table)."
        )
    exa = med("exabgp", "total")
    if tot is not None and exa:
        ecpu = med("exabgp", "cpu_sender_s")
        whens = {
            r["sender"]: r.get("_machine", {}).get("when_utc", "")[-5:]
            for r in runs
            if r["sender"] in ("exabgp", "bgpspeak") and r["frr_mode"] == "fib"
        }
        note = ""
        if len(set(whens.values())) > 1:
            note = f" (runs of {whens.get('exabgp')} and {whens.get('bgpspeak')}: loads differ)"
        out.append(
            f"- ExaBGP {exa:.1f} s: bgpspeak is {exa / tot:.1f}x faster end to end{note}, "
            f"{(ecpu or 0) / (cpu or 1):.1f}x less CPU (target at least 10x): "
            f"{'met' if exa >= 10 * tot else 'NOT met'}."
        )
    elif tot is not None:
        exa_runs = [r for r in runs if r["sender"] == "exabgp" and r["frr_mode"] == "fib"]
        if exa_runs and not any(r.get("complete") for r in exa_runs):
            r = exa_runs[-1]
            out.append(
                f"- ExaBGP did not finish within its {r.get('timeout_s', 0):.0f} s limit "
                f"({r.get('cpu_sender_s', 0):.0f} CPU s spent, state {r.get('last_seen')}): "
                "not judged on this size."
            )
    rss = med("bgpspeak", "rss_sender_bytes_per_prefix")
    if rss is not None:
        out.append(
            f"- bgpspeak peak RSS {rss:,.0f} bytes per prefix (target at most 150 at 1M): "
            f"{'met' if rss <= 150 else 'NOT met'}."
        )
    return out


def _machine_line(doc: dict[str, Any]) -> str:
    m = doc["machine"]
    return (
        f"measured {m['when_utc']} UTC, bgpspeak {m['bgpspeak_commit']}, {m['frr']}, "
        f"Python {m['python']}, {m['cpus']} CPUs, nice {doc.get('nice', 0)}"
    )


def single_table(doc: dict[str, Any]) -> list[str]:
    """receive / peers / churn: one row per run, the fields that matter for the case."""
    case = doc["case"]
    fields = {
        "receive": [
            ("Est. to all s", "est_to_all_s"),
            ("prefixes/s", "prefixes_per_s"),
            ("receiver CPU s", "cpu_receiver_s"),
            ("FRR bgpd CPU s", "cpu_bgpd_s"),
            ("receiver peak RSS MB", "rss_receiver_peak_mb"),
            ("bytes/prefix", "rss_receiver_bytes_per_prefix"),
            ("UPDATEs from FRR", "updates_sent_by_frr"),
        ],
        "peers": [
            ("hold s", "hold_time"),
            ("all Established s", "all_established_s"),
            ("steady CPU % of a core", "steady_cpu_listener_pct_of_core"),
            ("window s", "steady_window_s"),
            ("setup CPU s", "cpu_listener_setup_s"),
            ("RSS MB", "rss_listener_mb"),
        ],
        "churn": [
            ("changed/s", "changed_per_s"),
            ("sender CPU % of a core", "cpu_sender_pct_of_core"),
            ("bgpd CPU s", "cpu_bgpd_window_s"),
            ("bytes/s", "bytes_per_s"),
            ("bytes/changed route", "bytes_per_changed_route"),
            ("initial transfer bytes", "bytes_initial_transfer"),
            ("per s / initial", "churn_bytes_vs_initial_per_s"),
            ("FRR prefixes after", "frr_prefixes_after"),
        ],
    }[case]
    n = doc["runs"][0]["n"]
    title = {
        "receive": f"bgpspeak receives {n:,} IPv4 prefixes from FRR",
        "peers": f"{n:,} peers on one bgpspeak speaker",
        "churn": f"Churn: {n:,}-prefix table, a fraction changed every second",
    }[case]
    out = [f"**{title}**, {_machine_line(doc)}.", ""]
    if case == "peers":
        fields = [("measured", "_when"), *fields]
        for r in doc["runs"]:
            r["_when"] = r.get("_machine", doc["machine"])["when_utc"][-5:]
    heads = [h for h, _ in fields] + ["load1 before/after", "complete"]
    out.append("| " + " | ".join(heads) + " |")
    out.append("|" + "--:|" * len(heads))
    for r in doc["runs"]:
        if "error" in r:
            out.append(f"| {r['error']} |" + " |" * (len(heads) - 1))
            continue
        cells = [_f(r.get(k), 2) for _, k in fields]
        cells += [f"{_f(r.get('load1_before'))}/{_f(r.get('load1_after'))}", str(r.get("complete"))]
        out.append("| " + " | ".join(cells) + " |")
    out.append("")
    return out


def render(results: Path) -> str:
    lines = [BEGIN, ""]
    docs = _latest(results)
    if not docs:
        lines.append("No results yet: run `python -m benchmarks.fullfeed announce`.")
    for doc in docs:
        if doc.get("case") == "announce":
            lines += announce_table(doc)
        elif doc.get("case") in ("receive", "peers", "churn"):
            lines += single_table(doc)
    lines.append(END)
    return "\n".join(lines)


def update_docs(results: Path, docs: Path = DOCS) -> None:
    text = docs.read_text()
    block = render(results)
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        _, tail = rest.split(END, 1)
        text = head + block + tail
    else:
        text = text.rstrip("\n") + "\n\n## Full table\n\n" + block + "\n"
    docs.write_text(text)
