"""The decoding-context resolver keeps its promises: every guess is listed and every listed
guess is used, the hand-written tables agree with the evidence the corpus does have, and our
OPEN decode agrees with the extractor's (tshark-checked) capability lists."""

from __future__ import annotations

import pytest
from corpus_context import (
    BMP_GUESSES,
    BMP_SIBLINGS,
    EXABGP_SOURCES,
    MRT_ADD_PATH,
    PCAP_GUESSES,
    decode_open,
    resolve,
)
from corpus_files import capture_names, load

from bgpspeak.wire import AddPath, Family, Update

CAPTURES = capture_names()


@pytest.mark.parametrize("rel", sorted(PCAP_GUESSES.keys() | BMP_GUESSES.keys()))
def test_every_listed_guess_is_used(rel: str) -> None:
    cap = load(rel)
    used = [
        r
        for r, m in zip(resolve(cap), cap.metas, strict=True)
        if r.guessed and m["type"] == Update.TYPE
    ]
    assert used, f"{rel} is listed as needing a guess but every UPDATE has its OPENs"


@pytest.mark.parametrize("rel", sorted(BMP_SIBLINGS))
def test_every_listed_sibling_is_used(rel: str) -> None:
    cap = load(rel)
    assert any("sibling" in r.basis for r in resolve(cap)), rel


def _families_with_path_ids(expected: dict[str, object]) -> set[Family]:
    update = expected.get("neighbor", {}).get("message", {}).get("update", {})  # type: ignore[attr-defined]
    out: set[Family] = set()
    for section in ("announce", "withdraw"):
        for fam_text, body in update.get(section, {}).items():
            routes = [r for hop in body.values() for r in hop] if section == "announce" else body
            if any(isinstance(r, dict) and "path-information" in r for r in routes):
                afi, safi = fam_text.split()
                out.add(Family.parse(f"{afi}/{_EXA_SAFI.get(safi, safi)}"))
    return out


_EXA_SAFI = {"mpls-vpn": "vpn", "nlri-mpls": "labeled-unicast"}


def test_exabgp_source_table_matches_expected_json() -> None:
    """ExaBGP's expected JSON shows a path-information exactly where the neighbor negotiated
    ADD-PATH; the table of per-source contexts must say the same."""
    cap = load("exabgp/qa-messages.bgphex")
    seen: dict[str, set[Family]] = {}
    for meta, res in zip(cap.metas, resolve(cap), strict=True):
        expected = meta.get("expected_json")
        if not expected or expected.get("type") != "update":
            continue
        fams = _families_with_path_ids(expected)
        seen.setdefault(meta["source"], set()).update(fams)
        assert fams <= res.ctx.add_path, (meta["source"], meta["line"])
    for source, entry in EXABGP_SOURCES.items():
        if entry.add_path:
            assert seen.get(source) == set(entry.add_path), source
    with_path_ids = {s for s, fams in seen.items() if fams}
    assert with_path_ids <= set(EXABGP_SOURCES)


@pytest.mark.parametrize("rel", sorted(MRT_ADD_PATH))
def test_mrt_add_path_override_matches_the_files_opens(rel: str) -> None:
    cap = load(rel)
    opens = [o for o in map(decode_open, cap.messages) if o is not None]
    assert len(opens) >= 2
    for o in opens:
        modes = {
            Family(e.afi, e.safi): e.send_receive
            for c in o.capabilities
            if isinstance(c, AddPath)
            for e in c.entries
        }
        for fam in MRT_ADD_PATH[rel][0]:
            assert modes.get(fam, 0) & 2, (rel, fam, modes)  # BIRD may send path ids


@pytest.mark.parametrize("rel", CAPTURES)
def test_open_capabilities_agree_with_the_extractor(rel: str) -> None:
    """The extractor's OPEN summary (checked against tshark's counts) lists capability codes in
    wire order; our decode of the same OPEN must give the same list and AS."""
    cap = load(rel)
    for data, meta in zip(cap.messages, cap.metas, strict=True):
        summary = meta.get("open")
        if not summary:
            continue
        o = decode_open(data)
        if o is None:
            continue  # a malformed OPEN: test_corpus_decode lists it
        assert [c.code for c in o.capabilities] == summary["caps"], meta["line"]
        assert (o.version, o.asn, o.hold_time, str(o.bgp_id)) == (
            summary["version"],
            summary["my_as"],
            summary["hold"],
            summary["bgp_id"],
        ), meta["line"]
        assert (o.capability(65) is not None) == bool(summary.get("as4")), meta["line"]
