"""``bgpspeak decode`` as a user runs it: a real subprocess, real files, JSON lines out."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SESSION = ROOT / "examples" / "captures" / "speaker-session.bgphex"


def run(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "bgpspeak.cli", "decode", *args],
        input=stdin,
        capture_output=True,
        timeout=60,
        check=False,
    )


def lines(out: bytes) -> list[dict[str, object]]:
    return [json.loads(x) for x in out.decode().splitlines()]


def test_shipped_session_decodes() -> None:
    r = run(str(SESSION))
    assert r.returncode == 0, r.stderr
    msgs = lines(r.stdout)
    assert [m["type"] for m in msgs] == [
        "open",
        "keepalive",
        "update",
        "update",
        "update",
        "update",
        "notification",
    ]
    assert msgs[0]["asn"] == 4200000001
    assert msgs[2]["nlri"] == ["198.51.100.0/24", "203.0.113.128/25"]
    assert msgs[4]["end_of_rib"] == "ipv4/unicast"
    assert msgs[5]["end_of_rib"] == "ipv6/unicast"
    assert msgs[6]["shutdown_message"] == "maintenance, back at 14:00"


def test_raw_stream_split_anywhere_gives_the_same_messages() -> None:
    hexes = [
        line
        for line in SESSION.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    raw = b"".join(bytes.fromhex(h) for h in hexes)
    r_hex = run(str(SESSION))
    r_raw = run("--raw", "-", stdin=raw)
    assert r_raw.returncode == 0, r_raw.stderr
    assert lines(r_raw.stdout) == lines(r_hex.stdout)


def test_malformed_message_prints_error_in_place_and_exits_1(tmp_path: Path) -> None:
    good = bytes.fromhex("ff" * 16 + "001304")
    bad_marker = bytes.fromhex("ff" * 15 + "fe" + "001304")
    # UPDATE whose ORIGIN has value 7: treat-as-withdraw (RFC 7606 section 7.1)
    body = bytes.fromhex("0000" + "0015" + "40010107" + "400200" + "400304c0000201" + "0000")
    body = (
        body[:2] + (len(body) - 4 - 2).to_bytes(2, "big") + body[4:-2] + bytes.fromhex("18c63364")
    )
    bad_origin = b"\xff" * 16 + (19 + len(body)).to_bytes(2, "big") + b"\x02" + body
    f = tmp_path / "in.hex"
    f.write_text(f"# comment\n{good.hex()}\n\n{bad_marker.hex()}\n{bad_origin.hex()}\nzz\n")
    r = run(str(f))
    assert r.returncode == 1
    out = lines(r.stdout)
    assert out[0] == {"type": "keepalive"}
    assert out[1]["error"]["code"] == 1 and out[1]["error"]["subcode"] == 1  # type: ignore[index]
    err = out[2]["error"]
    assert isinstance(err, dict)
    assert (err["code"], err["subcode"], err["action"]) == (3, 6, "treat_as_withdraw")
    assert "ORIGIN" in err["field"]
    assert out[2]["line"] == 5
    assert out[3]["error"]["reason"] == "line is not hexadecimal"  # type: ignore[index]


def test_context_options_change_the_decode(tmp_path: Path) -> None:
    # AS_PATH with one 2-octet AS (65001): valid only with --as2
    attrs = bytes.fromhex("400101004002040201fde9400304c0000201")
    nlri = bytes.fromhex("18c63364")
    body = b"\x00\x00" + len(attrs).to_bytes(2, "big") + attrs + nlri
    msg = b"\xff" * 16 + (19 + len(body)).to_bytes(2, "big") + b"\x02" + body
    f = tmp_path / "u.hex"
    f.write_text(msg.hex() + "\n")
    assert run(str(f)).returncode == 1
    r = run("--as2", str(f))
    assert r.returncode == 0
    assert lines(r.stdout)[0]["attributes"][1]["value"] == [  # type: ignore[index]
        {"type": "as-sequence", "asns": [65001]}
    ]
    # the same NLRI with a path id, decoded with --add-path ipv4/unicast
    body2 = b"\x00\x00" + len(attrs).to_bytes(2, "big") + attrs + b"\x00\x00\x00\x07" + nlri
    msg2 = b"\xff" * 16 + (19 + len(body2)).to_bytes(2, "big") + b"\x02" + body2
    f.write_text(msg2.hex() + "\n")
    r = run("--as2", "--add-path", "ipv4/unicast", str(f))
    assert r.returncode == 0, r.stdout
    assert lines(r.stdout)[0]["nlri"] == [{"prefix": "198.51.100.0/24", "path_id": 7}]
    assert run("--add-path", "ipv9/unicast", str(f)).returncode != 0


def test_missing_file_is_a_clear_error() -> None:
    r = run("/nonexistent/file.hex")
    assert r.returncode == 2
    assert b"No such file" in r.stderr
