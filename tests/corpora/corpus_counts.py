"""Print the numbers tests/corpora/README.md quotes: what the corpora tests decode, reject and
compare. Run from the project root: ``.venv/bin/python tests/corpora/corpus_counts.py``."""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent.parent), str(HERE.parent), str(HERE)]

from corpus_expectations import FUZZED, MALFORMED  # noqa: E402
from corpus_files import capture_names, load  # noqa: E402
from corpus_outcomes import outcomes  # noqa: E402


def _table(head: list[str], rows: Sequence[Sequence[object]]) -> str:
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)


def decode_counts() -> str:
    per: dict[str, Counter[str]] = {}
    for rel in capture_names():
        c = per.setdefault(rel.split("/", 1)[0], Counter())
        cap = load(rel)
        c["captures"] += 1
        c["blank lines (not extracted)"] += sum(1 for m in cap.messages if not m)
        for o in outcomes(rel):
            c["messages"] += 1
            if o.message is not None:
                c["decoded"] += 1
                c["identical re-encodes"] += o.reencoded == o.data
            elif o.error is not None:
                c[f"rejected: {o.error.action.name.lower()}"] += 1
            if o.data[18] == 2:
                c["UPDATEs"] += 1
                c["UPDATE context guessed"] += o.resolution.guessed
    total: Counter[str] = Counter()
    for c in per.values():
        total.update(c)
    cols = [
        "captures",
        "messages",
        "decoded",
        "identical re-encodes",
        "rejected: session_reset",
        "rejected: treat_as_withdraw",
        "rejected: attribute_discard",
        "UPDATEs",
        "UPDATE context guessed",
    ]
    rows: list[list[object]] = [[src, *(per[src][k] for k in cols)] for src in sorted(per)]
    rows.append(["**total**", *(f"**{total[k]}**" for k in cols)])
    return _table(["source", *cols], rows)


def context_counts() -> str:
    """How the context of each UPDATE was found, by kind of evidence or guess."""
    kinds: Counter[str] = Counter()
    for rel in capture_names():
        for o in outcomes(rel):
            if o.data[18] == 2:
                basis = o.resolution.basis
                kind = basis.split(":")[0] if basis.startswith("guess") else basis.split(" (")[0]
                kinds[kind.replace(" + A flag", "")] += 1
    return _table(["basis", "UPDATEs"], [[k, v] for k, v in kinds.most_common()])


def malformed_counts() -> str:
    rows: list[list[object]] = []
    for m in MALFORMED:
        rows.append(
            [m.name, f"{m.code}/{m.subcode}", m.action.name.lower(), sum(m.counts.values())]
        )
    for rel, sigs in FUZZED.items():
        for (code, sub, action), n in sigs.items():
            rows.append([f"fuzzed: {rel.split('/')[-1]}", f"{code}/{sub}", action.name.lower(), n])
    return _table(["class", "code/subcode", "action", "messages"], rows)


def comparison_counts() -> str:
    from test_corpus_exabgp import run_exabgp
    from test_corpus_malformed import ARCHIVES, GOBGP, TRUNCATED, run_archive
    from test_corpus_netgauze import PAIRS as NG_PAIRS
    from test_corpus_netgauze import run_netgauze
    from test_corpus_pmacct import PAIRS as PM_PAIRS
    from test_corpus_pmacct import run_pmacct
    from test_corpus_scapy import CHECKS
    from test_corpus_tcpdump import ENTRIES, run_tcpdump

    out = []
    td: Counter[str] = Counter()
    for e in ENTRIES:
        td.update(run_tcpdump(e)[0])
    values = sum(v for k, v in td.items() if k.startswith("attribute ") and k.endswith(" values"))
    out.append(
        f"- tcpdump: {len(ENTRIES)} expected outputs, {td['messages']} messages matched"
        f" ({td['not printed whole by tcpdump']} not printed whole by tcpdump),"
        f" {td['prefixes'] + td['mp prefixes'] + td['mp labeled prefixes']} prefixes,"
        f" {td['attributes']} attribute headers, {values} attribute values,"
        f" {td['next hops']} MP next hops"
    )
    ex = run_exabgp()[0]
    out.append(
        f"- ExaBGP: {ex['messages']} expected JSON decodes, {ex['routes']} routes,"
        f" {ex['raw nlri']} raw NLRI, {ex['attributes']} attribute values"
    )
    ng: Counter[str] = Counter()
    for js, rel in NG_PAIRS:
        ng.update(run_netgauze(js, rel)[0])
    ng_values = sum(v for k, v in ng.items() if k.endswith(" values"))
    out.append(
        f"- NetGauze: {len(NG_PAIRS)} JSON files, {ng['messages']} messages matched and"
        f" compared, {ng['routes']} routes, {ng_values} attribute values,"
        f" {ng['next hops']} MP next hops,"
        f" {ng['treat-as-withdraw UPDATEs compared through err.update']} of the messages"
        f" treat-as-withdraw UPDATEs compared through err.update;"
        f" {ng['not parsed by NetGauze']} BMP messages NetGauze"
        f" could not parse ({ng['UPDATEs NetGauze rejects']} of them UPDATEs we reject too)"
    )
    pm: Counter[str] = Counter()
    for js, caps in PM_PAIRS:
        pm.update(run_pmacct(js, caps)[0])
    out.append(
        f"- pmacct: {len(PM_PAIRS)} expected outputs, {pm['announced routes']} announced-route"
        f" records ({pm['routes of treat-as-withdraw UPDATEs (err.update)']} of them routes of"
        f" treat-as-withdraw UPDATEs, compared through err.update),"
        f" {pm['withdrawn routes']} withdrawals, {pm['end-of-rib']} End-of-RIB"
    )
    checks = sum(len(v) for v in CHECKS.values())
    out.append(
        f"- Scapy: {checks} assertions on {len(CHECKS)} messages, plus the fragmented UPDATE"
    )
    for archive in sorted(ARCHIVES):
        t = run_archive(archive)[0]
        decoded = sum(v for k, v in t.items() if k.startswith("decoded "))
        rejected = sum(v for k, v in t.items() if "/" in k and not k.startswith("framing"))
        framing = sum(v for k, v in t.items() if k.startswith("framing"))
        out.append(
            f"- {archive}: {t['files']} files x 3 contexts: {decoded} messages decoded"
            f" ({t['decoded, prefix host bits cleared']} with prefix host bits cleared),"
            f" {rejected} rejected, {framing} streams stopped at a framing error"
        )
    out.append(f"- GoBGP bad-len: {len(GOBGP)} inputs; truncated captures: {len(TRUNCATED)}")
    return "\n".join(out)


def main() -> None:
    print("## Decoded and rejected, per source\n")
    print(decode_counts())
    print("\n## Decoding context of the UPDATEs\n")
    print(context_counts())
    print("\n## Malformed messages, by class\n")
    print(malformed_counts())
    print("\n## Comparisons\n")
    print(comparison_counts())


if __name__ == "__main__":
    main()
