"""Codec bugs found by running the real captures of shared/corpora (tests/corpora), each pinned
by the smallest message that showed it. The bytes are built here, so these tests run without
the corpora."""

from __future__ import annotations

import pytest

from bgpspeak.wire import (
    AS_TRANS,
    Action,
    As4Path,
    AsPath,
    BgpsecPath,
    Context,
    DecodeError,
    ErrorCode,
    MpReachNlri,
    Update,
    UpdateSubcode,
    decode_message,
    merge_as4_path,
)

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
