"""``python -m tests.fuzz.seeds``: the starting inputs of each fuzz target, written to a directory.

The fuzzers start from real bytes: a diverse sample of the shared corpora's messages (one per
type, attribute set and size class, in the context their capture negotiated), the first records
of every MRT file, and hand-written session scripts that reach Established. libFuzzer then
keeps what adds coverage and ``run.py --minimize`` merges it into ``tests/fuzz/corpus``.
"""

from __future__ import annotations

import argparse
import bz2
import gzip
import hashlib
import json
from pathlib import Path

from bgpspeak.wire import Context

from .targets import selector_of


def _shared() -> Path:
    """The shared corpora, where tests/corpora_path.py looks for them."""
    from tests.corpora_path import _candidates

    for c in _candidates():
        if (c / "MANIFEST.tsv").is_file():
            return c
    raise SystemExit("BGP corpora not found; set BGPSPEAK_CORPORA")


MRT_HEADER = 12


def _sig(data: bytes) -> tuple[int, int, bytes]:
    """Message type, size class and the attribute type codes seen (roughly) as the signature."""
    mtype = data[18] if len(data) > 18 else 0
    codes = b""
    if mtype == 2 and len(data) > 23:
        wlen = int.from_bytes(data[19:21], "big")
        pos = 21 + wlen + 2
        end = min(len(data), pos + int.from_bytes(data[21 + wlen : 23 + wlen], "big"))
        while pos + 2 < end:
            flags, code = data[pos], data[pos + 1]
            codes += bytes((code,))
            hl = 4 if flags & 0x10 else 3
            if pos + hl > end:
                break
            alen = int.from_bytes(data[pos + 2 : pos + hl], "big") if hl == 4 else data[pos + 2]
            pos += hl + alen
    return mtype, min(len(data).bit_length(), 12), codes


def decode_seeds(corpora: Path, limit: int) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    seen: set[tuple[int, int, bytes]] = set()
    for hexfile in sorted(corpora.rglob("*.bgphex")):
        meta_path = hexfile.with_name(hexfile.name + ".meta.jsonl")
        metas = meta_path.read_text().splitlines() if meta_path.exists() else []
        for i, line in enumerate(hexfile.read_text().splitlines()):
            if not line.strip():
                continue
            data = bytes.fromhex(line.strip())
            if len(data) > 4096:
                continue
            meta = json.loads(metas[i]) if i < len(metas) else {}
            sig = _sig(data)
            if sig in seen:
                continue
            seen.add(sig)
            ctx = Context(asn4=meta.get("as_size", 4) != 2)
            blob = bytes((selector_of(ctx), 0)) + data
            out[hashlib.sha1(blob).hexdigest()] = blob
            if len(out) >= limit:
                return out
    return out


def _open_any(path: Path) -> bytes:
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        return gzip.decompress(raw)
    if raw[:3] == b"BZh":
        return bz2.decompress(raw)
    return raw


def mrt_seeds(corpora: Path, records: int, max_len: int) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    for path in sorted(corpora.rglob("*")):
        if not path.is_file() or path.suffix in (".json", ".jsonl", ".bgphex", ".md", ".txt"):
            continue
        if not any(k in str(path) for k in ("mrt", "updates", "bview", "rib", "bird", "quagga")):
            continue
        if "pcap" in path.name or path.name.endswith((".tsv", ".out", ".conf", ".rst")):
            continue
        try:
            data = _open_any(path)
        except (OSError, EOFError, ValueError):
            continue
        # the first few records, and a few from the middle, each as its own small file
        pos, n, blob = 0, 0, b""
        while pos + MRT_HEADER <= len(data) and n < records * 4:
            length = int.from_bytes(data[pos + 8 : pos + 12], "big")
            rec = data[pos : pos + MRT_HEADER + length]
            if len(blob) + len(rec) > max_len or n % records == records - 1:
                if blob:
                    out[hashlib.sha1(blob).hexdigest()] = blob
                blob = b""
            if len(rec) <= max_len:
                blob += rec
            pos += MRT_HEADER + length
            n += 1
        if blob:
            out[hashlib.sha1(blob).hexdigest()] = blob
    return out


def fsm_seeds() -> dict[str, bytes]:
    """Session scripts (see ``targets.target_fsm``): start, connect, OPEN, KEEPALIVE, routes."""
    up = bytes([0x00, 0x02, 0x86, 0x07])  # Start, Connected, whole OPEN, KEEPALIVE
    scripts = [
        bytes([0]) + up + bytes([0x08, 1, 0x08, 2, 0x05, 0x05, 0x05]),
        bytes([1]) + bytes([0x00, 0x02, 0x05, 0x86, 0x07, 0x08, 7, 0x1C, 0x0D, 0x05, 0x05]),
        bytes([2]) + bytes([0x00, 0x02, 0x86, 0x04, 30, 0x07, 0x0B, 3, 0x0F, 0x3F]),
        bytes([16]) + up + bytes([0x08, 3, 0x0A, 2, 40, 5, 0x0F, 0x7F, 0x4F]),
        bytes([32]) + up + bytes([0x0F, 0x5F, 0x0F, 0x6F, 0x2B, 0x01]),
        bytes([64 | 4]) + up + bytes([0x05, 0x05, 0x05, 0x03, 0x05, 0x02, 0x86, 0x07]),
        bytes([128]) + up + bytes([0x03, 0x05, 0x05]),
        bytes([0])
        + bytes([0x00, 0x02, 0x46, 0x86 + 0x00, 0x07, 0x09, 20])
        + bytes.fromhex("ffffffffffffffffffffffffffffffff001402000000"),
        bytes([0]) + up + bytes([0x0A, 2, 3, 21, 0, 22, 0xFF, 23, 1]),
        bytes([8]) + up + bytes([0x0D, 0x04, 200, 0x04, 200, 0x04, 200, 0x0E]),
    ]
    return {hashlib.sha1(s).hexdigest(): s for s in scripts}


def peer_seeds(decode: dict[str, bytes]) -> dict[str, bytes]:
    """UPDATEs of the decode seeds, a few per input, as ``target_peer`` scripts."""
    updates = [
        (blob[0], blob[2 + 19 :])
        for blob in decode.values()
        if len(blob) > 21 and blob[2 + 18] == 2
    ]
    out: dict[str, bytes] = {}
    for i in range(0, len(updates), 3):
        group = updates[i : i + 3]
        blob = bytes((group[0][0] & 1,)) + b"".join(len(b).to_bytes(2, "big") + b for _, b in group)
        out[hashlib.sha1(blob).hexdigest()] = blob
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("outdir", type=Path)
    ap.add_argument("--corpora", type=Path, default=None)
    args = ap.parse_args()
    args.corpora = args.corpora or _shared()
    sets = {
        "decode": decode_seeds(args.corpora, 600),
        "mrt": mrt_seeds(args.corpora, 4, 8192),
        "fsm": fsm_seeds(),
    }
    sets["peer"] = peer_seeds(sets["decode"])
    for name, seeds in sets.items():
        d = args.outdir / name
        d.mkdir(parents=True, exist_ok=True)
        for key, blob in seeds.items():
            (d / key).write_bytes(blob)
        print(f"{name}: {len(seeds)} seeds in {d}")


if __name__ == "__main__":
    main()
