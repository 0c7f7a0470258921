"""The benchmark's input: every UPDATE of every BGP4MP update trace in the shared corpora.

Files are chosen by content, not by name: a file is an update trace when ``bgpspeak.mrt`` reads
a BGP4MP or BGP4MP_ET record first (RIB dumps start with TABLE_DUMP*, captures and derived
files are not MRT at all). The negotiated context of each message is the one the MRT subtype
records (2-/4-octet AS, ADD-PATH), taken from :meth:`Bgp4mpMessage.context`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from codec_harness import ContextSpec, Pack

from bgpspeak.mrt import Bgp4mpMessage, CorruptRecord, MrtType, read_mrt
from bgpspeak.wire import Context

ROOT = Path(__file__).resolve().parent.parent
_BGP4MP_TYPES = (MrtType.BGP4MP, MrtType.BGP4MP_ET)
_UPDATE = 2
# suffixes of files in the corpora that are known not to be MRT (skipped without opening)
_NOT_MRT = (".bgphex", ".json", ".jsonl", ".md", ".rst", ".tsv", ".txt", ".out", ".conf")


def corpora_candidates() -> list[Path]:
    """Where the corpora may be, in the order tests/corpora_path.py looks."""
    env = os.environ.get("BGPSPEAK_CORPORA")
    out = [Path(env)] if env else []
    out += [ROOT.parent / "shared" / "corpora", Path("/work/shared/corpora")]
    return out


def find_corpora() -> Path | None:
    for c in corpora_candidates():
        if (c / "MANIFEST.tsv").is_file():
            return c
    return None


def is_update_trace(path: Path) -> bool:
    """True when the file's first MRT record is BGP4MP(_ET)."""
    try:
        first = next(read_mrt(path, errors="report"), None)
    except Exception:  # anything at all: a pcap or a tarball read as MRT can fail in any way
        return False
    return (
        first is not None and not isinstance(first, CorruptRecord) and first.type in (_BGP4MP_TYPES)
    )


def update_traces(corpora: Path) -> list[Path]:
    found = []
    for path in sorted(corpora.rglob("*")):
        if path.is_file() and not path.name.endswith(_NOT_MRT) and is_update_trace(path):
            found.append(path)
    return found


def context_spec(ctx: Context) -> ContextSpec:
    return ContextSpec(
        asn4=ctx.asn4,
        add_path=tuple(sorted((f.afi, f.safi) for f in ctx.add_path)),
        extended_message=ctx.extended_message,
        ibgp=ctx.ibgp,
    )


@dataclass
class FileStats:
    path: str
    records: int = 0
    updates: int = 0
    corrupt_records: int = 0
    subtypes: dict[str, int] = field(default_factory=dict)


def load_updates(files: list[Path], corpora: Path) -> tuple[Pack, list[FileStats]]:
    """Every UPDATE of ``files`` with its context; damaged MRT records are counted and skipped
    (``errors="report"``), because the benchmark measures the BGP codec, not the MRT reader."""
    pack = Pack()
    stats = []
    specs: dict[Context, int] = {}
    for path in files:
        st = FileStats(str(path.relative_to(corpora)))
        for rec in read_mrt(path, errors="report"):
            st.records += 1
            if isinstance(rec, CorruptRecord):
                st.corrupt_records += 1
                continue
            if not isinstance(rec, Bgp4mpMessage) or rec.msg_type != _UPDATE:
                continue
            ctx = rec.context()
            ci = specs.get(ctx)
            if ci is None:
                ci = specs[ctx] = pack.context_index(context_spec(ctx))
            pack.messages.append((rec.data, ci))
            st.updates += 1
            key = f"{rec.type}/{rec.subtype}"
            st.subtypes[key] = st.subtypes.get(key, 0) + 1
        stats.append(st)
    return pack, stats
