"""Codec bugs found by running the real captures of shared/corpora (tests/corpora), each pinned
by the smallest message that showed it. The bytes are built here, so these tests run without
the corpora."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from bgpspeak.wire import (
    AS_SEQUENCE,
    AS_SET,
    AS_TRANS,
    Action,
    As4Path,
    AsPath,
    AsPathSegment,
    BgpsecPath,
    ClusterList,
    Communities,
    Context,
    DecodeError,
    ErrorCode,
    ExtendedCommunities,
    LargeCommunities,
    MpReachNlri,
    Origin,
    PathAttribute,
    Prefix,
    Update,
    UpdateSubcode,
    build_update,
    decode_message,
    merge_as4_path,
    parse_community,
    parse_ext_community,
    parse_large_community,
)
from bgpspeak.wire.communities import ext_community_text

MARKER = b"\xff" * 16
AS_TRANS_2 = AS_TRANS.to_bytes(2, "big")


def update(attributes: bytes, nlri: bytes = b"", withdrawn: bytes = b"") -> bytes:
    body = (
        len(withdrawn).to_bytes(2, "big")
        + withdrawn
        + len(attributes).to_bytes(2, "big")
        + attributes
        + nlri
    )
    return MARKER + (19 + len(body)).to_bytes(2, "big") + b"\x02" + body


def attr(flags: int, code: int, value: bytes) -> bytes:
    if flags & 0x10:
        return bytes((flags, code)) + len(value).to_bytes(2, "big") + value
    return bytes((flags, code, len(value))) + value


ORIGIN_IGP = attr(0x40, 1, b"\x00")
NEXT_HOP = attr(0x40, 3, bytes((192, 0, 2, 1)))
MP_REACH_V4 = attr(0x90, 14, b"\x00\x01\x01\x04" + bytes((192, 0, 2, 1)) + b"\x00\x18\xc0\x00\x02")


def bgpsec_path(asn: int, signature_block_length: int | None = None) -> bytes:
    """One Secure_Path segment (pCount 1) signed by one 20-octet SKI + 8-octet signature."""
    secure_path = (8).to_bytes(2, "big") + b"\x01\x00" + asn.to_bytes(4, "big")
    segment = bytes(range(20)) + (8).to_bytes(2, "big") + b"\x30" * 8
    length = 3 + len(segment) if signature_block_length is None else signature_block_length
    block = length.to_bytes(2, "big") + b"\x01" + segment
    return attr(0x90, 33, secure_path + block)


# --- BGPsec_PATH replaces AS_PATH (tcpdump bgp-bgpsec.pcap) -----------------------------------


def test_bgpsec_update_without_as_path_is_well_formed() -> None:
    """RFC 8205 section 4: a BGPsec UPDATE has BGPsec_PATH and no AS_PATH. The codec used to
    call it 'missing well-known attribute AS_PATH' and withdraw every route of it."""
    data = update(MP_REACH_V4 + ORIGIN_IGP + bgpsec_path(64496))
    msg = decode_message(data)
    assert isinstance(msg, Update)
    sec = msg.get(33)
    assert isinstance(sec, BgpsecPath)
    assert str(sec.as_path()) == "64496"
    assert msg.encode() == data


def test_bgpsec_path_with_a_bad_signature_block_is_treat_as_withdraw() -> None:
    """tcpdump bgpsec_invalid_signature_block_length.pcap: Signature_Block length 1 (< 3) used
    to pass unchecked as raw bytes; RFC 8205 section 5.2 makes it treat-as-withdraw."""
    data = update(MP_REACH_V4 + ORIGIN_IGP + bgpsec_path(64496, signature_block_length=1))
    with pytest.raises(DecodeError) as info:
        decode_message(data)
    err = info.value
    assert (err.code, err.subcode, err.action) == (
        ErrorCode.UPDATE_MESSAGE,
        UpdateSubcode.MALFORMED_AS_PATH,
        Action.TREAT_AS_WITHDRAW,
    )
    assert err.update is not None
    assert isinstance(err.update.mp_reach, MpReachNlri)  # its routes are the ones withdrawn


# --- MP_REACH_NLRI errors use RFC 4760's subcode (Cisco BMP Loc-RIB next hop length 0) --------


def test_mp_reach_bad_next_hop_length_is_optional_attribute_error() -> None:
    """RFC 4760 section 7: an incorrect MP_REACH_NLRI is answered with Optional Attribute Error;
    the codec said Attribute Length Error for a next-hop length the family does not allow."""
    mp = attr(0x90, 14, b"\x00\x02\x01\x00\x00\x40\x20\x01\x0d\xb8\x00\x00\x00\x00")
    data = update(ORIGIN_IGP + attr(0x40, 2, b"") + mp)
    with pytest.raises(DecodeError) as info:
        decode_message(data, Context())
    err = info.value
    assert err.subcode == UpdateSubcode.OPTIONAL_ATTRIBUTE_ERROR
    assert err.action == Action.SESSION_RESET
    assert err.data == mp  # the attribute, type, length and value (RFC 4271 section 6.3)


# --- AS4_PATH (RFC 6793 section 6) ----------------------------------------------------------

AS_PATH_2 = attr(0x40, 2, b"\x02\x02" + (65001).to_bytes(2, "big") + AS_TRANS_2)


def test_as4_path_with_a_confederation_segment_is_kept_and_the_segment_ignored() -> None:
    """RFC 6793 section 6: confederation segments in AS4_PATH are dropped and processing goes on.
    The codec used to throw the whole AS4_PATH away (attribute discard), losing the 4-octet AS
    it carried; now the attribute decodes as received and merge_as4_path skips the segment."""
    as4 = attr(
        0xC0,
        17,
        b"\x03\x01" + (64512).to_bytes(4, "big") + b"\x02\x01" + (4200000000).to_bytes(4, "big"),
    )
    data = update(ORIGIN_IGP + AS_PATH_2 + NEXT_HOP + as4, nlri=b"\x18\xc0\x00\x02")
    msg = decode_message(data, Context(asn4=False))
    assert isinstance(msg, Update)
    assert msg.encode(Context(asn4=False)) == data
    path, as4_path = msg.get(2), msg.get(17)
    assert isinstance(path, AsPath) and isinstance(as4_path, As4Path)
    assert str(merge_as4_path(path, as4_path)) == "65001 4200000000"


def test_as4_path_too_short_for_one_as_is_discarded() -> None:
    """RFC 6793 section 6: an AS4_PATH shorter than 6 octets is malformed (attribute discard).
    An empty one used to decode as an empty path."""
    data = update(ORIGIN_IGP + AS_PATH_2 + NEXT_HOP + attr(0xC0, 17, b""), nlri=b"\x18\xc0\x00\x02")
    with pytest.raises(DecodeError) as info:
        decode_message(data, Context(asn4=False))
    err = info.value
    assert err.action == Action.ATTRIBUTE_DISCARD
    assert err.update is not None and err.update.get(17) is None and err.update.nlri


def test_merge_keeps_a_leading_confederation_segment() -> None:
    """RFC 6793 section 4.2.3: a confederation segment that leads AS_PATH is prepended too. The
    merge stopped as soon as no AS was left to take and dropped it."""
    as_path = AsPath.parse("(65010) 23456")
    merged = merge_as4_path(as_path, As4Path.sequence(4200000000))
    assert str(merged) == "(65010) 4200000000"


# --- found by the unit tests of tests/wire/test_codec_units.py (strict xfails there) ----------

AS_PATH_4 = attr(0x40, 2, b"\x02\x01" + (65001).to_bytes(4, "big"))
NLRI_24 = b"\x18\xc0\x00\x02"
MP_UNREACH_V6 = attr(0x80, 15, b"\x00\x02\x01\x20\x20\x01\x0d\xb8")


@pytest.mark.parametrize("mp", [MP_REACH_V4, MP_UNREACH_V6], ids=["reach", "unreach"])
def test_mp_attribute_overrunning_the_section_is_session_reset(mp: bytes) -> None:
    """RFC 7606 section 3: treat-as-withdraw needs the MP attributes parsed. An MP_REACH or
    MP_UNREACH cut short by the section end was treat-as-withdraw of an UPDATE with no routes."""
    cut = bytearray(mp)
    cut[2 if not cut[0] & 0x10 else 3] += 10
    with pytest.raises(DecodeError) as info:
        decode_message(update(ORIGIN_IGP + AS_PATH_4 + bytes(cut)))
    assert info.value.action == Action.SESSION_RESET


def test_empty_cluster_list_is_malformed() -> None:
    """RFC 7606 section 7.10: not a non-zero multiple of 4. It used to decode as no cluster."""
    data = update(ORIGIN_IGP + AS_PATH_4 + NEXT_HOP + attr(0x80, 10, b""), NLRI_24)
    with pytest.raises(DecodeError) as info:
        decode_message(data, Context(ibgp=True))
    assert (info.value.subcode, info.value.action) == (
        UpdateSubcode.ATTRIBUTE_LENGTH_ERROR,
        Action.TREAT_AS_WITHDRAW,
    )


@pytest.mark.parametrize(
    "bad", [attr(0x80, 9, bytes(3)), attr(0x80, 10, bytes(6)), attr(0xC0, 9, bytes(4))]
)
def test_route_reflection_attributes_from_ebgp_are_discarded(bad: bytes) -> None:
    """RFC 7606 sections 7.9, 7.10: a bad ORIGINATOR_ID or CLUSTER_LIST from an external peer is
    attribute discard (it was treat-as-withdraw, as it is from an internal peer)."""
    data = update(ORIGIN_IGP + AS_PATH_4 + NEXT_HOP + bad, NLRI_24)
    for ctx, action in ((Context(), Action.ATTRIBUTE_DISCARD), (Context(ibgp=True), 2)):
        with pytest.raises(DecodeError) as info:
            decode_message(data, ctx)
        assert info.value.action == action


def test_build_update_puts_mp_reach_first() -> None:
    """RFC 7606 section 5.1: MP_REACH_NLRI / MP_UNREACH_NLRI SHALL be the first attribute;
    build_update sorted it after ORIGIN and AS_PATH."""
    mp = MpReachNlri(2, 1, bytes(16), (Prefix.parse("2001:db8::/32"),))
    msg = build_update(attributes=[AsPath.sequence(65001), mp, Origin(0)])
    assert [a.type_code for a in msg.attributes] == [14, 1, 2]


@pytest.mark.parametrize(
    "bad",
    [
        AsPath((AsPathSegment(AS_SEQUENCE, (65001,)), AsPathSegment(AS_SET, ()))),
        As4Path(()),
        Communities(()),
        ExtendedCommunities(()),
        LargeCommunities(()),
        ClusterList(()),
        Origin(3),
    ],
)
def test_encoder_refuses_what_the_decoder_rejects(bad: PathAttribute) -> None:
    """These encode to octets RFC 7606 / RFC 6793 call malformed (the peer would withdraw the
    routes or drop the attribute); the encoder now raises instead of sending them."""
    with pytest.raises(ValueError):
        bad.encode(Context())
    with pytest.raises(ValueError):
        AsPath.parse("65001 {}").encode(Context())


@pytest.mark.parametrize(
    ("parse", "text"),
    [
        (parse_community, "65_000:100"),
        (parse_community, "+65000:100"),
        (parse_community, "\u0666\u0665\u0660\u0660\u0660:1"),
        (parse_community, "65000: 1"),
        (parse_large_community, "+1:2_0:3"),
        (parse_ext_community, "target:-1:5"),
        (parse_ext_community, "target:65000:1_0"),
    ],
)
def test_community_text_is_plain_ascii_decimal(parse: Callable[[str], object], text: str) -> None:
    """int() accepts signs, '_', spaces and other scripts' digits: a typo became a value."""
    with pytest.raises(ValueError):
        parse(text)


def test_four_octet_as_route_target_text_reads_back() -> None:
    """Type 0x02 with an AS below 65536 printed like type 0x00 and read back as it."""
    value = 0x0202_0000_0064_0001
    assert ext_community_text(value) == "target:100L:1"
    assert parse_ext_community(ext_community_text(value)) == value
    assert parse_ext_community("target:100:1") == 0x0002_0064_0000_0001


def test_route_refresh_length_error_carries_the_whole_message() -> None:
    """RFC 7313 section 5: the NOTIFICATION data is the complete ROUTE-REFRESH message (it was
    the body only)."""
    data = MARKER + (24).to_bytes(2, "big") + b"\x05" + b"\x00\x01\x01\x01\x01"
    with pytest.raises(DecodeError) as info:
        decode_message(data)
    assert info.value.data == data
