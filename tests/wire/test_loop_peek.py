"""The raw-bytes check for UPDATEs that only announce routes looped through our AS.

The check may only ever say "looped" for a message the full decoder accepts without any error
and whose decoded AS path holds our AS: everything else must go to the decoder.
"""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bgpspeak.route_store import prefix_key
from bgpspeak.wire import (
    AsPath,
    Context,
    DecodeError,
    Family,
    MpReachNlri,
    NextHop,
    Origin,
    Prefix,
    Update,
    build_update,
)
from bgpspeak.wire.attribute import ATTRIBUTE_CLASSES, OPTIONAL, TRANSITIVE, UnknownAttribute
from bgpspeak.wire.attributes import MultiExitDisc
from bgpspeak.wire.communities import Communities, LargeCommunities
from bgpspeak.wire.loop_peek import _CHECKS, looped_announcement, nlri_keys

LOCAL = 65010
NH = NextHop(ipaddress.IPv4Address("192.0.2.7"))
NLRI = [Prefix.parse("10.1.0.0/16"), Prefix.parse("10.2.3.0/24"), Prefix.parse("10.9.9.9/32")]


def body(path: str, asn4: bool = True, extra: tuple[object, ...] = (), **kw: object) -> bytes:
    attrs = [Origin(0), AsPath.parse(path), NH, *extra]
    upd = build_update(attributes=attrs, nlri=kw.get("nlri", NLRI))  # type: ignore[arg-type]
    return upd.encode_body(Context(asn4=asn4))


def test_our_as_anywhere_in_the_path_is_a_loop() -> None:
    assert looped_announcement(body(f"65001 {LOCAL} 65003"), LOCAL, True)
    assert looped_announcement(body(f"65001 {{65002 {LOCAL}}}"), LOCAL, True)  # AS_SET
    assert looped_announcement(body(f"({LOCAL}) 65001"), LOCAL, True)  # confed sequence
    assert looped_announcement(body(f"[{LOCAL} 7] 65001"), LOCAL, True)  # confed set
    assert not looped_announcement(body("65001 65002 65003"), LOCAL, True)
    # 4-octet AS matched whole, not as a 2-octet half of another
    assert not looped_announcement(body(f"{LOCAL << 16}"), LOCAL, True)


def test_two_octet_sessions() -> None:
    b = body(f"65001 {LOCAL}", asn4=False)
    assert looped_announcement(b, LOCAL, False)
    assert not looped_announcement(b, LOCAL, True)  # read with the wrong width: malformed
    # our AS above 65535 travels as AS_TRANS with AS4_PATH beside it: the decoder's case
    assert not looped_announcement(body("65001 23456", asn4=False), 4200000001, False)


def test_only_plain_well_formed_announcements() -> None:
    looped = f"65001 {LOCAL}"
    mp = MpReachNlri.build(
        Family(2, 1), [ipaddress.IPv6Address("2001:db8::1")], [Prefix.parse("2001:db8::/32")]
    )
    cases = {
        "withdrawn routes too": build_update(
            withdrawn=[Prefix.parse("10.7.0.0/16")],
            nlri=NLRI,
            attributes=[Origin(0), AsPath.parse(looped), NH],
        ).encode_body(Context()),
        "no NLRI": body(looped, nlri=[]),
        "MP_REACH_NLRI": body(looped, extra=(mp,)),
        "an unknown attribute": body(looped, extra=(UnknownAttribute(99, b"x", OPTIONAL),)),
        "no NEXT_HOP": build_update(
            nlri=NLRI, attributes=[Origin(0), AsPath.parse(looped)]
        ).encode_body(Context()),
    }
    for why, b in cases.items():
        assert not looped_announcement(b, LOCAL, True), why
    assert looped_announcement(
        body(
            looped,
            extra=(MultiExitDisc(5), Communities((1, 2)), LargeCommunities(((1, 2, 3),))),
        ),
        LOCAL,
        True,
    )


def _raw(attrs: bytes, nlri: bytes = bytes.fromhex("100a01")) -> bytes:
    return b"\x00\x00" + len(attrs).to_bytes(2, "big") + attrs + nlri


ORIGIN = bytes.fromhex("40010100")
PATH = bytes.fromhex("4002060201") + LOCAL.to_bytes(4, "big")
NEXT = bytes.fromhex("400304c0000207")


@pytest.mark.parametrize(
    "why,data",
    [
        ("well-formed", _raw(ORIGIN + PATH + NEXT)),
        ("ORIGIN value 3", _raw(bytes.fromhex("40010103") + PATH + NEXT)),
        ("ORIGIN flagged optional", _raw(bytes.fromhex("c0010100") + PATH + NEXT)),
        ("AS_PATH flagged optional", _raw(ORIGIN + b"\xc0" + PATH[1:] + NEXT)),
        ("segment type 9", _raw(ORIGIN + PATH[:3] + b"\x09" + PATH[4:] + NEXT)),
        ("empty segment", _raw(ORIGIN + bytes.fromhex("4002020200") + NEXT)),
        ("segment overruns", _raw(ORIGIN + bytes.fromhex("4002060202") + PATH[5:] + NEXT)),
        ("attribute overruns the section", _raw(ORIGIN + PATH + NEXT[:-1])),
        ("AS_PATH twice (not malformed, only unusual)", _raw(ORIGIN + PATH + PATH + NEXT)),
        ("NLRI /33", _raw(ORIGIN + PATH + NEXT, bytes.fromhex("210a010203ff"))),
        ("NLRI cut short", _raw(ORIGIN + PATH + NEXT, bytes.fromhex("180a01"))),
        ("COMMUNITIES of 3 octets", _raw(ORIGIN + PATH + NEXT + bytes.fromhex("c00803010203"))),
        ("MED of 2 octets", _raw(ORIGIN + PATH + NEXT + bytes.fromhex("8004020102"))),
    ],
)
def test_anything_malformed_goes_to_the_decoder(why: str, data: bytes) -> None:
    looped = looped_announcement(data, LOCAL, True)
    try:
        Update.decode_body(data, Context())
        clean = True
    except DecodeError:
        clean = False
    assert clean or not looped, why
    assert looped == (why == "well-formed"), why


def test_value_checks_use_the_decoders_flags() -> None:
    for code, (flags, _, _) in _CHECKS.items():
        assert flags == ATTRIBUTE_CLASSES[code].DEFAULT_FLAGS & (OPTIONAL | TRANSITIVE), code


def test_nlri_keys_are_the_prefix_keys() -> None:
    b = body(f"65001 {LOCAL}")
    assert nlri_keys(b) == [prefix_key(p) for p in NLRI]


SEED = body(
    f"65001 {{65002 {LOCAL}}}",
    extra=(MultiExitDisc(5), Communities((1, 2)), LargeCommunities(((1, 2, 3),))),
)


@settings(max_examples=400, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, len(SEED) - 1), st.integers(0, 255)), min_size=1, max_size=3),
    st.booleans(),
)
def test_never_says_looped_where_the_decoder_would_not_accept(
    edits: list[tuple[int, int]], asn4: bool
) -> None:
    data = bytearray(SEED)
    for i, v in edits:
        data[i] = v
    raw = bytes(data)
    if not looped_announcement(raw, LOCAL, asn4):
        return
    upd = Update.decode_body(raw, Context(asn4=asn4))  # raises on any error: test fails
    path = upd.get(2)
    assert isinstance(path, AsPath) and LOCAL in path.asns
    assert upd.get(17) is None and upd.mp_reach is None and not upd.withdrawn
    assert [prefix_key(p) for p in upd.nlri] == nlri_keys(raw)
