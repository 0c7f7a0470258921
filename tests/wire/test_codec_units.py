"""Hand-written tests of specific RFC rules of the wire codec, on hand-built octets.

Each test names the rule it checks. The octets are written out field by field so a reader can
check them against the RFC without trusting the encoder under test. A known codec bug gets a
strict ``xfail`` test, which fails once the bug is fixed so the mark must go.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable

import pytest

from bgpspeak.wire import (
    AS_TRANS,
    IPV4_UNICAST,
    IPV6_UNICAST,
    MARKER,
    Action,
    Aggregator,
    As4Aggregator,
    As4Path,
    AsPath,
    AsPathSegment,
    ClusterList,
    Communities,
    Context,
    DecodeError,
    ExtendedCommunities,
    Family,
    Keepalive,
    LargeCommunities,
    LocalPref,
    MpReachNlri,
    MpUnreachNlri,
    MultiExitDisc,
    NextHop,
    Notification,
    Open,
    Origin,
    PathAttribute,
    Prefix,
    RouteRefresh,
    StreamDecoder,
    UnknownAttribute,
    UnknownCapability,
    UnknownParameter,
    Update,
    build_update,
    decode_message,
    merge_as4_aggregator,
    merge_as4_path,
    parse_community,
    parse_ext_community,
    parse_large_community,
    split_as4_path,
)
from bgpspeak.wire.communities import ext_community_text

AS4 = Context(asn4=True)
AS2 = Context(asn4=False)
EXT = Context(extended_message=True)
IBGP = Context(ibgp=True)

IP = ipaddress.IPv4Address


# --- octet builders -------------------------------------------------------------------------------


def message(msg_type: int, body: bytes) -> bytes:
    return MARKER + (19 + len(body)).to_bytes(2, "big") + bytes((msg_type,)) + body


def attr(flags: int, code: int, value: bytes) -> bytes:
    if flags & 0x10:
        return bytes((flags, code)) + len(value).to_bytes(2, "big") + value
    return bytes((flags, code, len(value))) + value


def update(attrs: bytes = b"", nlri: bytes = b"", withdrawn: bytes = b"") -> bytes:
    body = len(withdrawn).to_bytes(2, "big") + withdrawn + len(attrs).to_bytes(2, "big") + attrs
    return message(2, body + nlri)


def u32(n: int) -> bytes:
    return n.to_bytes(4, "big")


ORIGIN = attr(0x40, 1, b"\x00")
AS_PATH4 = attr(0x40, 2, b"\x02\x01" + u32(65001))  # AS_SEQUENCE of one 4-octet AS
AS_PATH2 = attr(0x40, 2, b"\x02\x01" + (65001).to_bytes(2, "big"))
NEXT_HOP = attr(0x40, 3, bytes((192, 0, 2, 1)))
MANDATORY = ORIGIN + AS_PATH4 + NEXT_HOP
NLRI = bytes((24, 198, 51, 100))  # 198.51.100.0/24
NLRI_PREFIX = Prefix.parse("198.51.100.0/24")
V6_NEXT_HOP = ipaddress.IPv6Address("2001:db8::1").packed
V6_NLRI = bytes((32, 0x20, 0x01, 0x0D, 0xB8))  # 2001:db8::/32


def mp_reach_v6(nlri: bytes = V6_NLRI, flags: int = 0x80) -> bytes:
    return attr(flags, 14, b"\x00\x02\x01" + bytes((16,)) + V6_NEXT_HOP + b"\x00" + nlri)


def mp_unreach(afi: int, safi: int, withdrawn: bytes = b"") -> bytes:
    return attr(0x80, 15, afi.to_bytes(2, "big") + bytes((safi,)) + withdrawn)


def error_of(data: bytes, ctx: Context = AS4) -> DecodeError:
    with pytest.raises(DecodeError) as info:
        decode_message(data, ctx)
    return info.value


def decoded_update(data: bytes, ctx: Context = AS4) -> Update:
    msg = decode_message(data, ctx)
    assert isinstance(msg, Update)
    return msg


# --- message header (RFC 4271 section 6.1) --------------------------------------------------------


def test_marker_must_be_all_ones() -> None:
    data = bytearray(Keepalive().encode())
    data[5] = 0xFE
    e = error_of(bytes(data))
    assert (e.code, e.subcode, e.action) == (1, 1, Action.SESSION_RESET)


@pytest.mark.parametrize(
    ("msg_type", "length"),
    [
        (1, 28),  # OPEN below 29
        (2, 22),  # UPDATE below 23
        (3, 20),  # NOTIFICATION below 21
        (4, 18),  # KEEPALIVE is exactly 19
        (4, 20),
        (5, 22),  # ROUTE-REFRESH below 23
        (2, 4097),  # above 4096 without extended messages
        (2, 0),
        (3, 0xFFFF),
    ],
)
def test_bad_length_is_1_2_with_the_length_field_as_data(msg_type: int, length: int) -> None:
    data = MARKER + length.to_bytes(2, "big") + bytes((msg_type,))
    data += b"\x00" * max(length - 19, 0)
    e = error_of(data)
    assert (e.code, e.subcode, e.action) == (1, 2, Action.SESSION_RESET)
    assert e.data == length.to_bytes(2, "big")


@pytest.mark.parametrize("msg_type", [0, 6, 7, 128, 255])
def test_unknown_type_is_1_3_with_the_type_as_data(msg_type: int) -> None:
    e = error_of(message(msg_type, b"\x00" * 8))
    assert (e.code, e.subcode) == (1, 3)
    assert e.data == bytes((msg_type,))


def test_header_length_must_match_the_octets_given() -> None:
    data = Keepalive().encode() + b"\x00"
    e = error_of(data)
    assert (e.code, e.subcode) == (1, 2)


@pytest.mark.parametrize("ctx", [AS4, EXT], ids=["plain", "extended"])
def test_keepalive_is_exactly_19_octets(ctx: Context) -> None:
    assert decode_message(MARKER + b"\x00\x13\x04", ctx) == Keepalive()
    e = error_of(MARKER + b"\x00\x14\x04\x00", ctx)
    assert (e.code, e.subcode, e.data) == (1, 2, b"\x00\x14")


@pytest.mark.parametrize("msg_type", [1, 4])
def test_open_and_keepalive_stay_within_4096_with_extended_message(msg_type: int) -> None:
    """RFC 8654 section 4: the extended length applies to every message but OPEN and
    KEEPALIVE."""
    data = MARKER + (4097).to_bytes(2, "big") + bytes((msg_type,)) + b"\x00" * 4078
    e = error_of(data, EXT)
    assert (e.code, e.subcode, e.data) == (1, 2, b"\x10\x01")


def test_open_encoder_refuses_more_than_4096_even_with_extended_message() -> None:
    big = Open(65001, 90, IP("192.0.2.1"), (UnknownParameter(9, b"\x00" * 4100),), 4, True)
    with pytest.raises(ValueError):
        big.encode(EXT)


def _big_update() -> Update:
    nlri = tuple(Prefix(1, i << 8, 24) for i in range(1100))
    return Update((), (Origin(0), AsPath.sequence(65001), NextHop(IP("192.0.2.1"))), nlri)


def test_update_above_4096_only_with_extended_message() -> None:
    msg = _big_update()
    data = msg.encode(EXT)
    assert len(data) > 4096
    assert decode_message(data, EXT) == msg
    e = error_of(data, AS4)
    assert (e.code, e.subcode, e.data) == (1, 2, data[16:18])
    with pytest.raises(ValueError):
        msg.encode(AS4)


@pytest.mark.parametrize(
    "msg", [Notification(6, 2, b"\x00" * 5000), RouteRefresh(1, 1, 0, b"\x01" * 5000)]
)
def test_notification_and_route_refresh_may_be_extended(msg: Notification | RouteRefresh) -> None:
    data = msg.encode(EXT)
    assert decode_message(data, EXT) == msg
    assert error_of(data, AS4).subcode == 2


def test_stream_rejects_an_oversized_header_before_the_body_arrives() -> None:
    """A peer cannot make us buffer 64 KiB on a 4096-octet session: the header is judged alone."""
    dec = StreamDecoder(AS4)
    dec.feed(MARKER + (5000).to_bytes(2, "big") + b"\x02")
    with pytest.raises(DecodeError) as info:
        dec.next_message()
    assert (info.value.code, info.value.subcode) == (1, 2)


def test_stream_decoder_frames_partial_and_multiple_messages() -> None:
    a, b = Keepalive().encode(), decoded_update(update(MANDATORY, NLRI)).encode()
    dec = StreamDecoder(AS4)
    dec.feed(a + b[:5])
    assert dec.next_message() == Keepalive()
    assert dec.next_message() is None
    dec.feed(b[5:] + a)
    assert list(dec) == [decoded_update(update(MANDATORY, NLRI)), Keepalive()]
    assert dec.buffered == 0


# --- UPDATE: RFC 7606 -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "twice",
    [
        mp_reach_v6() + mp_reach_v6(),
        mp_unreach(2, 1) + mp_unreach(2, 1),
        mp_unreach(2, 1, V6_NLRI) + mp_unreach(1, 1),
    ],
    ids=["mp_reach", "mp_unreach", "mp_unreach-different-families"],
)
def test_duplicate_mp_attribute_is_session_reset(twice: bytes) -> None:
    """RFC 7606 section 3g: MP_REACH_NLRI or MP_UNREACH_NLRI more than once is 3/1."""
    e = error_of(update(ORIGIN + AS_PATH4 + twice))
    assert (e.code, e.subcode, e.action) == (3, 1, Action.SESSION_RESET)


def test_other_duplicates_are_discarded_first_kept() -> None:
    """RFC 7606 section 3g: later copies of any other attribute are discarded silently, even
    malformed ones (they are not parsed), and unknown ones too."""
    med1, med2 = attr(0x80, 4, u32(1)), attr(0x80, 4, u32(2))
    bad_origin = attr(0x40, 1, b"\x07")
    unknown1, unknown2 = attr(0xC0, 99, b"a"), attr(0xC0, 99, b"b")
    msg = decoded_update(update(MANDATORY + med1 + med2 + bad_origin + unknown1 + unknown2, NLRI))
    assert [a.type_code for a in msg.attributes] == [1, 2, 3, 4, 99]
    assert msg.get(4) == MultiExitDisc(1)
    assert msg.get(1) == Origin(0)
    assert msg.get(99) == UnknownAttribute(99, b"a", 0xC0)


@pytest.mark.parametrize(
    ("attrs", "missing"),
    [
        (AS_PATH4 + NEXT_HOP, 1),
        (ORIGIN + NEXT_HOP, 2),
        (ORIGIN + AS_PATH4, 3),
        (NEXT_HOP, 1),  # the first missing one is named
        (b"", 1),  # NLRI and no attributes at all
    ],
)
def test_missing_well_known_is_treat_as_withdraw(attrs: bytes, missing: int) -> None:
    """RFC 7606 section 3d; RFC 4271 6.3: the data is the missing attribute's type code."""
    e = error_of(update(attrs, NLRI))
    assert (e.code, e.subcode, e.action) == (3, 3, Action.TREAT_AS_WITHDRAW)
    assert e.data == bytes((missing,))
    assert e.update is not None
    assert e.update.nlri == (NLRI_PREFIX,)


def test_mp_only_update_needs_no_next_hop() -> None:
    """RFC 4760 section 3: an UPDATE that announces only through MP_REACH_NLRI carries no
    NEXT_HOP."""
    msg = decoded_update(update(ORIGIN + AS_PATH4 + mp_reach_v6()))
    mp = msg.mp_reach
    assert mp is not None
    assert mp.nlri == (Prefix.parse("2001:db8::/32"),)
    assert mp.next_hops == (ipaddress.IPv6Address("2001:db8::1"),)


def test_mp_reach_announcement_still_needs_origin_and_as_path() -> None:
    e = error_of(update(AS_PATH4 + mp_reach_v6()))
    assert (e.subcode, e.action, e.data) == (3, Action.TREAT_AS_WITHDRAW, b"\x01")
    e = error_of(update(ORIGIN + mp_reach_v6()))
    assert (e.subcode, e.action, e.data) == (3, Action.TREAT_AS_WITHDRAW, b"\x02")


def test_withdraw_only_updates_need_no_attributes() -> None:
    msg = decoded_update(update(withdrawn=NLRI))
    assert msg.withdrawn == (NLRI_PREFIX,)
    msg = decoded_update(update(mp_unreach(2, 1, V6_NLRI)))
    assert msg.mp_unreach == MpUnreachNlri(2, 1, (Prefix.parse("2001:db8::/32"),))


@pytest.mark.parametrize(
    ("raw", "ctx", "action"),
    [
        (attr(0xC0, 1, b"\x00"), AS4, Action.TREAT_AS_WITHDRAW),  # ORIGIN marked optional
        (attr(0x80, 2, b""), AS4, Action.TREAT_AS_WITHDRAW),  # AS_PATH optional non-transitive
        (attr(0x00, 3, bytes(4)), AS4, Action.TREAT_AS_WITHDRAW),  # NEXT_HOP non-transitive
        (attr(0xC0, 4, u32(1)), AS4, Action.TREAT_AS_WITHDRAW),  # MED transitive
        (attr(0x80, 5, u32(1)), AS4, Action.ATTRIBUTE_DISCARD),  # LOCAL_PREF from eBGP
        (attr(0x80, 5, u32(1)), IBGP, Action.TREAT_AS_WITHDRAW),  # LOCAL_PREF from iBGP
        (attr(0x80, 6, b""), AS4, Action.ATTRIBUTE_DISCARD),  # ATOMIC_AGGREGATE
        (attr(0x80, 7, u32(1) + bytes(4)), AS4, Action.ATTRIBUTE_DISCARD),  # AGGREGATOR
        (attr(0x40, 8, u32(1)), AS4, Action.TREAT_AS_WITHDRAW),  # COMMUNITIES well-known
        # ORIGINATOR_ID from an external peer: attribute discard (RFC 7606 section 7.9)
        (attr(0x40, 9, bytes(4)), AS4, Action.ATTRIBUTE_DISCARD),
        (attr(0x80, 17, b""), AS4, Action.ATTRIBUTE_DISCARD),  # AS4_PATH non-transitive
        (attr(0x80, 18, bytes(8)), AS4, Action.ATTRIBUTE_DISCARD),  # AS4_AGGREGATOR
        (attr(0xC0, 14, bytes(5)), AS4, Action.SESSION_RESET),  # MP_REACH transitive
    ],
)
def test_flag_conflicts_take_the_attributes_action(
    raw: bytes, ctx: Context, action: Action
) -> None:
    """RFC 7606 section 3c: wrong Optional/Transitive bits make the attribute malformed, with
    the attribute's own error handling; the data is the whole attribute (RFC 4271 6.3)."""
    e = error_of(update(MANDATORY + raw, NLRI) if raw[1] not in (1, 2, 3) else update(raw), ctx)
    assert (e.code, e.subcode, e.action) == (3, 4, action)
    assert e.data == raw


def test_partial_and_low_flag_bits_are_not_flag_errors() -> None:
    origin = attr(0x40 | 0x20 | 0x0F, 1, b"\x02")
    msg = decoded_update(update(origin + AS_PATH4 + NEXT_HOP, NLRI))
    assert msg.get(1) == Origin(2, 0x6F)


def test_attribute_overrunning_the_section_is_treat_as_withdraw() -> None:
    """RFC 7606 section 4: an attribute longer than what is left of the section; the total
    attribute length still locates the NLRI, which the session withdraws."""
    overrun = bytes((0x80, 4, 10)) + b"\x00\x00"  # MED claims 10 octets, 2 remain
    e = error_of(update(MANDATORY + overrun, NLRI))
    assert (e.code, e.subcode, e.action) == (3, 5, Action.TREAT_AS_WITHDRAW)
    assert e.update is not None
    assert e.update.nlri == (NLRI_PREFIX,)
    assert [a.type_code for a in e.update.attributes] == [1, 2, 3]


@pytest.mark.parametrize("code", [14, 15])
def test_mp_attribute_overrunning_the_section_is_session_reset(code: int) -> None:
    """RFC 7606 section 3, last paragraph: treat-as-withdraw needs the MP_REACH_NLRI and
    MP_UNREACH_NLRI attributes parsed, else session reset (or AFI/SAFI disable). Here the MP
    attribute itself overruns: its routes are unknown, the Update handed to the session holds
    none, so "withdrawing" it withdraws nothing and the peer's change is silently lost."""
    mp = bytearray(mp_reach_v6() if code == 14 else mp_unreach(2, 1, V6_NLRI))
    mp[2] += 10  # the attribute length runs 10 octets past the section
    e = error_of(update(ORIGIN + AS_PATH4 + bytes(mp)))
    assert e.action >= Action.AFI_SAFI_DISABLE


@pytest.mark.parametrize("tail", [b"\x40", b"\x40\x01", b"\x50\x01\x00"])
def test_too_few_octets_for_an_attribute_header_is_treat_as_withdraw(tail: bytes) -> None:
    """RFC 7606 section 4, second case: fewer than 3 (4 with Extended Length) octets left."""
    e = error_of(update(MANDATORY + tail, NLRI))
    assert (e.code, e.subcode, e.action) == (3, 1, Action.TREAT_AS_WITHDRAW)
    assert e.update is not None
    assert e.update.nlri == (NLRI_PREFIX,)


@pytest.mark.parametrize(
    ("raw", "ctx", "subcode"),
    [
        (attr(0xC0, 7, (65001).to_bytes(2, "big") + bytes(4)), AS4, 5),  # 6 octets in AS4
        (attr(0xC0, 7, u32(65001) + bytes(4)), AS2, 5),  # 8 octets in AS2
        (attr(0x40, 6, b"\x01"), AS4, 5),  # ATOMIC_AGGREGATE with a value
        (attr(0xC0, 17, b"\x02\x02" + u32(65001)), AS2, 11),  # AS4_PATH truncated
        (attr(0xC0, 17, b"\x02\x00"), AS2, 11),  # AS4_PATH empty segment
        (attr(0xC0, 18, (65001).to_bytes(2, "big") + bytes(4)), AS2, 5),  # AS4_AGGREGATOR 6
    ],
)
def test_aggregation_and_as4_attributes_are_attribute_discard(
    raw: bytes, ctx: Context, subcode: int
) -> None:
    """RFC 7606 sections 7.6, 7.7 and RFC 6793 section 7: the bad attribute is dropped and the
    rest of the UPDATE is used."""
    as_path = AS_PATH4 if ctx.asn4 else AS_PATH2
    e = error_of(update(ORIGIN + as_path + NEXT_HOP + raw, NLRI), ctx)
    assert (e.code, e.subcode, e.action) == (3, subcode, Action.ATTRIBUTE_DISCARD)
    assert e.data == raw
    assert e.update is not None
    assert [a.type_code for a in e.update.attributes] == [1, 2, 3]
    assert e.update.nlri == (NLRI_PREFIX,)


@pytest.mark.parametrize(("ctx", "action"), [(AS4, Action.ATTRIBUTE_DISCARD), (IBGP, 2)])
def test_malformed_local_pref_depends_on_the_peer(ctx: Context, action: int) -> None:
    """RFC 7606 section 7.5: from an external peer discarded, from an internal one
    treat-as-withdraw."""
    e = error_of(update(MANDATORY + attr(0x40, 5, b"\x00\x00\x01"), NLRI), ctx)
    assert (e.code, e.subcode, e.action) == (3, 5, action)


@pytest.mark.parametrize(
    ("raw", "subcode"),
    [
        (attr(0x40, 1, b"\x03"), 6),  # ORIGIN value 3
        (attr(0x40, 1, b"\x00\x00"), 5),  # ORIGIN length 2
        (attr(0x40, 3, bytes(5)), 5),  # NEXT_HOP length 5
        (attr(0x80, 4, bytes(3)), 5),  # MED length 3
        (attr(0xC0, 8, b""), 5),  # COMMUNITIES empty
        (attr(0xC0, 8, bytes(5)), 5),  # COMMUNITIES not a multiple of 4
        (attr(0x80, 9, bytes(3)), 5),  # ORIGINATOR_ID length 3
        (attr(0x80, 10, bytes(6)), 5),  # CLUSTER_LIST not a multiple of 4
        (attr(0xC0, 16, bytes(7)), 5),  # EXTENDED_COMMUNITIES length 7
        (attr(0xC0, 16, b""), 5),  # EXTENDED_COMMUNITIES empty
        (attr(0xC0, 32, bytes(13)), 5),  # LARGE_COMMUNITY length 13
        (attr(0xC0, 32, b""), 5),  # LARGE_COMMUNITY empty
        (attr(0xC0, 35, bytes(3)), 5),  # OTC length 3 (RFC 9234 section 5)
    ],
)
def test_malformed_route_attributes_are_treat_as_withdraw(raw: bytes, subcode: int) -> None:
    """RFC 7606 sections 7.1-7.10, 7.14; RFC 8092 section 6."""
    attrs = MANDATORY + raw if raw[1] not in (1, 3) else (raw + AS_PATH4 + NEXT_HOP)
    if raw[1] == 3:
        attrs = ORIGIN + AS_PATH4 + raw
    e = error_of(update(attrs, NLRI), IBGP)
    assert (e.code, e.subcode, e.action) == (3, subcode, Action.TREAT_AS_WITHDRAW)
    assert e.data == raw


def test_empty_cluster_list_is_treat_as_withdraw() -> None:
    """RFC 7606 section 7.10: a CLUSTER_LIST whose length is not a non-zero multiple of 4 is
    malformed (treat-as-withdraw)."""
    e = error_of(update(MANDATORY + attr(0x80, 10, b""), NLRI), IBGP)
    assert (e.code, e.subcode, e.action) == (3, 5, Action.TREAT_AS_WITHDRAW)


@pytest.mark.parametrize(
    "raw",
    [attr(0x80, 9, bytes(3)), attr(0x80, 10, bytes(6)), attr(0xC0, 9, bytes(4))],
    ids=["originator-id-length", "cluster-list-length", "originator-id-flags"],
)
def test_route_reflection_attributes_from_ebgp_are_attribute_discard(raw: bytes) -> None:
    """RFC 7606 sections 7.9 and 7.10: ORIGINATOR_ID and CLUSTER_LIST received from an external
    neighbour SHALL be discarded ("attribute discard"), malformed or not; only from an internal
    one is a malformed value treat-as-withdraw. (The codec does this for LOCAL_PREF, 7.5.)"""
    e = error_of(update(MANDATORY + raw, NLRI), AS4)
    assert e.action == Action.ATTRIBUTE_DISCARD


@pytest.mark.parametrize(
    "segments",
    [
        b"\x02\x00",  # zero-length segment
        b"\x05\x01" + u32(1),  # unknown segment type
        b"\x02\x02" + u32(1),  # overrun
        b"\x02\x01" + u32(1) + b"\x02",  # one octet left over
    ],
)
def test_malformed_as_path_is_treat_as_withdraw(segments: bytes) -> None:
    """RFC 7606 section 7.2."""
    e = error_of(update(ORIGIN + attr(0x40, 2, segments) + NEXT_HOP, NLRI))
    assert (e.code, e.subcode, e.action) == (3, 11, Action.TREAT_AS_WITHDRAW)


def test_as_path_width_follows_the_session() -> None:
    """The same octets are two 2-octet ASes or one 4-octet AS."""
    raw = attr(0x40, 2, b"\x02\x02" + (1).to_bytes(2, "big") + (2).to_bytes(2, "big"))
    as2 = decoded_update(update(ORIGIN + raw + NEXT_HOP, NLRI), AS2)
    assert as2.get(2) == AsPath.sequence(1, 2)
    e = error_of(update(ORIGIN + raw + NEXT_HOP, NLRI), AS4)  # 2 ASes of 4 octets: overrun
    assert e.subcode == 11


def test_unrecognized_well_known_attribute_is_session_reset() -> None:
    raw = attr(0x40, 99, b"x")
    e = error_of(update(MANDATORY + raw, NLRI))
    assert (e.code, e.subcode, e.action, e.data) == (3, 2, Action.SESSION_RESET, raw)


def test_unknown_optional_attributes_are_kept_and_passed_on_partial() -> None:
    msg = decoded_update(update(MANDATORY + attr(0xC0, 99, b"xyz") + attr(0x80, 98, b""), NLRI))
    assert msg.get(99) == UnknownAttribute(99, b"xyz", 0xC0)
    assert msg.get(98) == UnknownAttribute(98, b"", 0x80)
    assert UnknownAttribute(99, b"xyz", 0xC0).for_propagation().flags == 0xE0


@pytest.mark.parametrize(
    ("data", "ctx"),
    [
        (update(MANDATORY, bytes((33, 10, 0, 0, 0, 0))), AS4),  # /33
        (update(MANDATORY, bytes((24, 10, 0))), AS4),  # truncated
        (update(withdrawn=bytes((40, 1, 2, 3, 4, 5))), AS4),  # withdrawn /40
        (update(MANDATORY, b"\x00\x00\x00\x01"), Context(add_path=frozenset({IPV4_UNICAST}))),
    ],
)
def test_bad_ipv4_nlri_is_session_reset(data: bytes, ctx: Context) -> None:
    """RFC 7606 section 5.3: routes that cannot be parsed cannot be withdrawn."""
    e = error_of(data, ctx)
    assert (e.code, e.subcode, e.action) == (3, 10, Action.SESSION_RESET)


@pytest.mark.parametrize(
    "raw",
    [
        mp_reach_v6(bytes((129,)) + bytes(17)),  # /129
        mp_reach_v6(bytes((64, 0x20, 0x01))),  # truncated
        attr(0x80, 14, b"\x00\x02\x01\x05" + bytes(5) + b"\x00"),  # next hop length 5 for IPv6
        attr(0x80, 14, b"\x00\x02\x01\x10"),  # shorter than 5 octets
        attr(0x80, 14, b"\x00\x01\x01\x10" + bytes(4)),  # next hop runs past the attribute
        mp_unreach(2, 1, bytes((130,))),
        attr(0x80, 15, b"\x00\x02"),  # MP_UNREACH shorter than 3 octets
    ],
)
def test_bad_mp_attribute_is_session_reset(raw: bytes) -> None:
    """RFC 7606 sections 5.3, 7.11; RFC 4760 section 7."""
    e = error_of(update(ORIGIN + AS_PATH4 + raw))
    assert (e.code, e.action) == (3, Action.SESSION_RESET)
    assert e.data == raw


def test_add_path_ids_follow_the_family() -> None:
    ctx = Context(add_path=frozenset({IPV4_UNICAST}))
    msg = decoded_update(update(MANDATORY, u32(7) + NLRI, withdrawn=u32(9) + NLRI), ctx)
    assert msg.nlri == (NLRI_PREFIX.with_path_id(7),)
    assert msg.withdrawn == (NLRI_PREFIX.with_path_id(9),)
    # IPv6 has no ADD-PATH in this session: its NLRI carry no path id
    msg = decoded_update(update(ORIGIN + AS_PATH4 + mp_reach_v6()), ctx)
    assert msg.mp_reach is not None
    assert msg.mp_reach.nlri == (Prefix.parse("2001:db8::/32"),)


@pytest.mark.parametrize(
    ("family", "next_hop", "nlri"),
    [
        (Family(1, 128), bytes(8) + bytes((192, 0, 2, 1)), b"\x70" + bytes(14)),  # VPNv4
        (Family(25, 70), bytes((192, 0, 2, 1)), b"\x02\x03abc"),  # EVPN
        (Family(1, 133), b"", b"\x05\x01\x18\x0a\x00\x00"),  # flowspec: no next hop
        (Family(16388, 71), bytes(4), b"\x00\x01\x00\x02\xaa\xbb"),  # BGP-LS
    ],
)
def test_mp_families_we_do_not_interpret_keep_raw_nlri(
    family: Family, next_hop: bytes, nlri: bytes
) -> None:
    value = family.afi.to_bytes(2, "big") + bytes((family.safi, len(next_hop)))
    data = update(ORIGIN + AS_PATH4 + attr(0x80, 14, value + next_hop + b"\x00" + nlri))
    msg = decoded_update(data)
    assert msg.mp_reach == MpReachNlri(family.afi, family.safi, next_hop, nlri)
    assert msg.encode() == data


def test_extended_length_attribute() -> None:
    raw = attr(0xD0, 8, u32(1) * 100)  # COMMUNITIES of 400 octets
    msg = decoded_update(update(MANDATORY + raw, NLRI))
    assert msg.get(8) == Communities((1,) * 100, 0xD0)
    assert msg.encode() == update(MANDATORY + raw, NLRI)
    short = attr(0xD0, 8, u32(1))  # Extended Length used for a short value: kept as sent
    assert decoded_update(update(MANDATORY + short, NLRI)).encode() == update(
        MANDATORY + short, NLRI
    )


def test_build_update_puts_the_mp_attribute_first() -> None:
    """RFC 7606 section 5.1: MP_REACH_NLRI or MP_UNREACH_NLRI SHALL be the very first path
    attribute, so a receiver can still find the NLRI when a later attribute is malformed.
    build_update sorts every attribute by type code (RFC 4271's SHOULD), which puts 14 after
    1 and 2. (bgpspeak/rib.py packs announcements the same way.)"""
    mp = MpReachNlri(2, 1, V6_NEXT_HOP, (Prefix.parse("2001:db8::/32"),))
    msg = build_update(attributes=[AsPath.sequence(65001), mp, Origin(0)])
    assert msg.attributes[0] == mp
    assert [a.type_code for a in msg.attributes[1:]] == [1, 2]


# --- several errors in one UPDATE (RFC 7606 section 3) --------------------------------------------


def test_most_severe_error_wins_withdraw_over_discard() -> None:
    bad_aggregator = attr(0xC0, 7, bytes(3))
    bad_med = attr(0x80, 4, bytes(2))
    e = error_of(update(MANDATORY + bad_aggregator + bad_med, NLRI))
    assert e.action == Action.TREAT_AS_WITHDRAW
    assert e.data == bad_med
    assert e.update is not None
    assert [a.type_code for a in e.update.attributes] == [1, 2, 3]


@pytest.mark.parametrize("reset_first", [True, False])
def test_most_severe_error_wins_session_reset(reset_first: bool) -> None:
    bad_origin = attr(0x40, 1, b"\x09")
    bad_mp = attr(0x80, 14, b"\x00\x02\x01\x03" + bytes(4))
    attrs = bad_mp + bad_origin if reset_first else bad_origin + bad_mp
    e = error_of(update(attrs + AS_PATH4))
    assert e.action == Action.SESSION_RESET
    assert e.data == bad_mp
    assert e.update is None


def test_missing_attribute_outranks_a_discarded_one() -> None:
    e = error_of(update(ORIGIN + NEXT_HOP + attr(0xC0, 7, bytes(3)), NLRI))
    assert (e.subcode, e.action, e.data) == (3, Action.TREAT_AS_WITHDRAW, b"\x02")


def test_attribute_discarded_for_a_malformed_value_does_not_count_as_present() -> None:
    """A malformed ORIGIN is left out, so the UPDATE also lacks ORIGIN: still treat-as-withdraw,
    and the error reported is the malformed value (the first of equal severity)."""
    e = error_of(update(attr(0x40, 1, b"\x05") + AS_PATH4 + NEXT_HOP, NLRI))
    assert (e.subcode, e.action) == (6, Action.TREAT_AS_WITHDRAW)


# --- End-of-RIB (RFC 4724 section 2) --------------------------------------------------------------


def test_ipv4_end_of_rib_is_the_empty_update() -> None:
    data = MARKER + b"\x00\x17\x02" + b"\x00\x00\x00\x00"
    assert Update.end_of_rib_marker(IPV4_UNICAST).encode() == data
    assert decoded_update(data).end_of_rib() == IPV4_UNICAST


@pytest.mark.parametrize(
    "family", [IPV6_UNICAST, Family(1, 2), Family(1, 128), Family(25, 70), Family(1, 133)]
)
@pytest.mark.parametrize("ctx", [AS4, Context(add_path=frozenset({IPV6_UNICAST}))])
def test_mp_end_of_rib_is_an_empty_mp_unreach(family: Family, ctx: Context) -> None:
    data = update(mp_unreach(family.afi, family.safi))
    assert Update.end_of_rib_marker(family).encode(ctx) == data
    assert decoded_update(data, ctx).end_of_rib() == family


@pytest.mark.parametrize(
    "data",
    [
        update(withdrawn=NLRI),
        update(mp_unreach(2, 1, V6_NLRI)),
        update(mp_unreach(2, 1) + attr(0x80, 4, u32(0))),
        update(MANDATORY, NLRI),
    ],
    ids=["ipv4-withdrawal", "mp-withdrawal", "mp-unreach-and-more", "announcement"],
)
def test_not_end_of_rib(data: bytes) -> None:
    assert decoded_update(data).end_of_rib() is None


# --- AS4 helpers (RFC 6793 section 4.2.3) ---------------------------------------------------------


def seq(*asns: int) -> AsPathSegment:
    return AsPathSegment(2, asns)


def aset(*asns: int) -> AsPathSegment:
    return AsPathSegment(1, asns)


def confed(*asns: int) -> AsPathSegment:
    return AsPathSegment(3, asns)


@pytest.mark.parametrize(
    ("as_path", "as4_path", "merged"),
    [
        # the ASes that 2-octet-only speakers added in front are kept
        (
            (seq(65001, AS_TRANS, AS_TRANS, 65002),),
            (seq(4200000001, 4200000002, 65002),),
            (seq(65001, 4200000001, 4200000002, 65002),),
        ),
        # same number of ASes: AS4_PATH is the path
        ((seq(AS_TRANS, 65002),), (seq(4200000001, 65002),), (seq(4200000001, 65002),)),
        # AS4_PATH longer than AS_PATH: it is ignored
        ((seq(AS_TRANS),), (seq(4200000001, 4200000002),), (seq(AS_TRANS),)),
        # an AS_SET counts as one AS on both sides
        (
            (seq(65001, AS_TRANS), aset(AS_TRANS, 65003)),
            (seq(4200000001), aset(4200000002, 65003)),
            (seq(65001, 4200000001), aset(4200000002, 65003)),
        ),
        # a leading confederation segment counts zero and is kept in front
        (
            (confed(65010, 65011), seq(65001, AS_TRANS)),
            (seq(4200000001),),
            (confed(65010, 65011), seq(65001, 4200000001)),
        ),
        # no AS4_PATH: AS_PATH as it is
        ((seq(65001, 65002),), (), (seq(65001, 65002),)),
    ],
)
def test_merge_as4_path(
    as_path: tuple[AsPathSegment, ...],
    as4_path: tuple[AsPathSegment, ...],
    merged: tuple[AsPathSegment, ...],
) -> None:
    assert merge_as4_path(AsPath(as_path), As4Path(as4_path)) == AsPath(merged)
    assert merge_as4_path(AsPath(as_path), None) == AsPath(as_path)


def test_merge_as4_path_keeps_a_leading_confed_segment_when_nothing_else_is_prepended() -> None:
    """RFC 6793 section 4.2.3: a confederation segment SHALL be prepended if it is the leading
    path segment. Here AS4_PATH covers every counted AS, so no AS comes from AS_PATH, but the
    leading AS_CONFED_SEQUENCE still must."""
    merged = merge_as4_path(AsPath((confed(65010), seq(AS_TRANS))), As4Path((seq(4200000001),)))
    assert merged == AsPath((confed(65010), seq(4200000001)))


def test_merge_as4_aggregator() -> None:
    trans = Aggregator(AS_TRANS, IP("192.0.2.1"))
    as4 = As4Aggregator(4200000001, IP("192.0.2.9"))
    assert merge_as4_aggregator(trans, as4) == Aggregator(4200000001, IP("192.0.2.9"))
    # AGGREGATOR without AS_TRANS: AS4_AGGREGATOR came from an old speaker's aggregation
    real = Aggregator(65001, IP("192.0.2.1"))
    assert merge_as4_aggregator(real, as4) == real
    assert merge_as4_aggregator(trans, None) == trans
    assert merge_as4_aggregator(None, as4) is None


def test_split_as4_path_for_a_two_octet_peer() -> None:
    path = AsPath((confed(65010), seq(65001, 4200000001), aset(4200000002)))
    as_path, as4_path = split_as4_path(path)
    assert as_path == path
    # AS4_PATH carries no confederation segments (RFC 6793 section 3)
    assert as4_path == As4Path((seq(65001, 4200000001), aset(4200000002)))
    wire = as_path.encode_value(AS2)
    assert wire == b"\x03\x01" + b"\xfd\xf2" + b"\x02\x02\xfd\xe9\x5b\xa0" + b"\x01\x01\x5b\xa0"
    assert split_as4_path(AsPath.sequence(65001)) == (AsPath.sequence(65001), None)


@pytest.mark.parametrize(
    "bad",
    [
        AsPath((seq(65001), aset())),
        AsPath.parse("65001 {}"),
        Communities(()),
        ExtendedCommunities(()),
        LargeCommunities(()),
        Origin(3),
    ],
    ids=["as-path-empty-set", "as-path-parsed-braces", "communities", "ext", "large", "o3"],
)
def test_encoder_never_sends_what_the_decoder_rejects(bad: PathAttribute) -> None:
    """An empty AS_PATH segment (RFC 7606 7.2), an empty COMMUNITIES, EXTENDED_COMMUNITIES or
    LARGE_COMMUNITY (7.8, 7.14, RFC 8092 6) and an ORIGIN beyond 2 (7.1) are malformed: the
    peer, and this decoder, treat the UPDATE as withdrawn. The encoder must refuse such an
    object (ValueError) or leave the empty part out; today it sends it. (An empty CLUSTER_LIST
    belongs here too, once the decoder rejects it: test_empty_cluster_list_is_treat_as_withdraw.)
    """
    others = [a for a in (Origin(0), AsPath.sequence(65001)) if a.type_code != bad.type_code]
    msg = Update((), (*others, bad, NextHop(IP("192.0.2.1"))), (NLRI_PREFIX,))
    try:
        data = msg.encode(IBGP)
    except ValueError:
        return
    decode_message(data, IBGP)


def test_as_path_segments_longer_than_255_are_split() -> None:
    path = AsPath((seq(*range(1, 301)),))
    wire = path.encode_value(AS4)
    assert wire[:2] == b"\x02\xff" and wire[2 + 255 * 4 : 2 + 255 * 4 + 2] == b"\x02\x2d"


# --- community text forms -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("65000:100", (65000 << 16) | 100),
        (" 0:0 ", 0),
        ("65535:65535", 0xFFFFFFFF),
        ("no-export", 0xFFFFFF01),
        ("NO-ADVERTISE", 0xFFFFFF02),
        ("graceful-shutdown", 0xFFFF0000),
        ("blackhole", 0xFFFF029A),
        ("4294967295", 0xFFFFFFFF),
        ("0x10", 16),
    ],
)
def test_parse_community(text: str, value: int) -> None:
    assert parse_community(text) == value


@pytest.mark.parametrize(
    "text", ["65536:1", "1:65536", "-1:5", "1:2:3", "65000:", "", "4294967296", "no_export", "x"]
)
def test_parse_community_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        parse_community(text)


@pytest.mark.parametrize(
    ("parse", "text"),
    [
        (parse_community, "65_000:100"),
        (parse_community, "+65000:100"),
        (parse_community, "\u0666\u0665\u0660\u0660\u0660:1"),  # Arabic-Indic digits
        (parse_community, "65000: 1"),
        (parse_large_community, "+1:2_0:3"),
        (parse_large_community, "1:2:\u0663"),
    ],
)
def test_community_parsers_accept_only_plain_decimal(
    parse: Callable[[str], object], text: str
) -> None:
    """Python's int() takes far more than decimal digits; a config typo must not become a
    different community."""
    with pytest.raises(ValueError):
        parse(text)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("target:65000:100", 0x0002_FDE8_0000_0064),
        ("rt:65000:4294967295", 0x0002_FDE8_FFFF_FFFF),
        ("origin:65000:7", 0x0003_FDE8_0000_0007),
        ("target:192.0.2.1:7", 0x0102_C000_0201_0007),
        ("soo:192.0.2.1:65535", 0x0103_C000_0201_FFFF),
        ("target:4200000000:1", 0x0202_FA56_EA00_0001),
        ("0x0002fde800000064", 0x0002_FDE8_0000_0064),
    ],
)
def test_parse_ext_community(text: str, value: int) -> None:
    assert parse_ext_community(text) == value


@pytest.mark.parametrize(
    "text",
    [
        "target:4200000000:65536",  # 4-octet AS leaves 2 octets of local value
        "target:192.0.2.1:65536",
        "target:4294967296:1",
        "color:1:2",
        "target:1",
        "0x1" + "0" * 16,  # 17 hex digits
    ],
)
def test_parse_ext_community_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        parse_ext_community(text)


def test_parse_ext_community_rejects_a_negative_as() -> None:
    with pytest.raises(ValueError):
        parse_ext_community("target:-1:5")


def test_four_octet_as_route_target_text_is_lossless() -> None:
    """A type 0x02 (4-octet AS specific) route target whose AS is below 65536 renders as
    ``target:100:1`` and parses back as type 0x00: the text form (used in JSON) loses the
    type."""
    value = 0x0202_0000_0064_0001
    assert parse_ext_community(ext_community_text(value)) == value


@pytest.mark.parametrize(
    ("text", "value"),
    [("1:2:3", (1, 2, 3)), ("4294967295:0:4294967295", (0xFFFFFFFF, 0, 0xFFFFFFFF))],
)
def test_parse_large_community(text: str, value: tuple[int, int, int]) -> None:
    assert parse_large_community(text) == value


@pytest.mark.parametrize("text", ["1:2", "1:2:3:4", "4294967296:1:1", "-1:0:0", "a:b:c", ""])
def test_parse_large_community_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        parse_large_community(text)


# --- Cease shutdown communication (RFC 9003) ------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "octets"),
    [
        ("maintenance", 11),
        ("a" * 300, 255),  # cut at 255 octets
        ("a" * 254 + "\u00e9", 254),  # 2-octet character across the limit is dropped
        ("a" * 253 + "\u20ac", 253),  # 3-octet character
        ("a" * 252 + "\U0001f600", 252),  # 4-octet character
        ("a" * 251 + "\U0001f600", 255),  # ends exactly at the limit
        ("\u00e9" * 200, 254),
    ],
)
@pytest.mark.parametrize("subcode", [2, 4])
def test_shutdown_communication_is_cut_on_a_utf8_boundary(
    text: str, octets: int, subcode: int
) -> None:
    msg = Notification.cease(subcode, text)
    assert msg.data[0] == octets == len(msg.data) - 1
    assert msg.shutdown_message is not None
    assert text.startswith(msg.shutdown_message)
    assert len(msg.shutdown_message.encode()) == octets
    assert decode_message(msg.encode()) == msg


def test_shutdown_communication_only_for_shutdown_and_reset() -> None:
    assert Notification.cease(3, "bye").data == b""
    assert Notification.cease(2, "").data == b""
    assert Notification.cease(2).shutdown_message is None


@pytest.mark.parametrize("data", [b"\x05abc", b"\x02\xff\xfe", b"\x00x"])
def test_malformed_shutdown_communication_reads_as_none(data: bytes) -> None:
    assert Notification(6, 2, data).shutdown_message is None


# --- ROUTE-REFRESH (RFC 2918, RFC 7313) -----------------------------------------------------------


@pytest.mark.parametrize("subtype", [1, 2])
def test_borr_and_eorr_must_be_23_octets(subtype: int) -> None:
    data = message(5, b"\x00\x01" + bytes((subtype, 1)) + b"\x01")
    e = error_of(data)
    assert (e.code, e.subcode, e.action) == (7, 1, Action.SESSION_RESET)


def test_route_refresh_length_error_data_is_the_complete_message() -> None:
    """RFC 7313 section 5: the data field MUST contain the complete ROUTE-REFRESH message."""
    data = message(5, b"\x00\x01\x01\x01\x01")
    assert error_of(data).data == data


@pytest.mark.parametrize("subtype", [0, 3, 255])
def test_other_route_refresh_subtypes_keep_their_orf_octets(subtype: int) -> None:
    data = message(5, b"\x00\x02" + bytes((subtype, 1)) + b"\x01\x02\x03")
    assert decode_message(data) == RouteRefresh(2, 1, subtype, b"\x01\x02\x03")


# --- OPEN (RFC 4271, RFC 5492, RFC 9072) ----------------------------------------------------------


def _open_body(optional: bytes) -> bytes:
    return b"\x04" + (65001).to_bytes(2, "big") + b"\x00\x5a" + bytes((192, 0, 2, 1)) + optional


def test_open_with_rfc9072_extended_parameters() -> None:
    caps = bytes((65, 4)) + u32(4200000001) + bytes((200, 3)) + b"abc"
    params = bytes((2,)) + len(caps).to_bytes(2, "big") + caps
    data = message(1, _open_body(b"\xff\xff" + len(params).to_bytes(2, "big") + params))
    msg = decode_message(data)
    assert isinstance(msg, Open)
    assert msg.extended_parameters
    assert msg.effective_asn == 4200000001
    assert msg.capability(200) == UnknownCapability(200, b"abc")
    assert msg.encode() == data


def test_open_regular_parameters_keep_their_grouping() -> None:
    params = bytes((2, 6, 65, 4)) + u32(65001) + bytes((2, 2, 2, 0)) + bytes((9, 1, 0xAA))
    data = message(1, _open_body(bytes((len(params),)) + params))
    msg = decode_message(data)
    assert isinstance(msg, Open)
    assert [type(p).__name__ for p in msg.parameters] == [
        "CapabilitiesParameter",
        "CapabilitiesParameter",
        "UnknownParameter",
    ]
    assert msg.encode() == data


@pytest.mark.parametrize(
    "optional",
    [
        b"\x03\x02\x01\x41",  # a capability header cut after its code
        b"\x05\x02\x03\x41\x04\x00",  # FOUR_OCTET_AS of 4 octets runs past its parameter
        b"\x04\x02\x02\x41\x00",  # FOUR_OCTET_AS of 0 octets: malformed capability
        b"\x02\x02\x00\x00",  # optional parameters length 2, 3 octets follow
        b"\xff\xff\x00",  # RFC 9072 marker with a truncated length
    ],
)
def test_malformed_open_parameters_are_2_0(optional: bytes) -> None:
    e = error_of(message(1, _open_body(optional)))
    assert (e.code, e.subcode, e.action) == (2, 0, Action.SESSION_RESET)


def test_malformed_capability_error_carries_the_capability() -> None:
    e = error_of(message(1, _open_body(b"\x05\x02\x03\x41\x01\x00")))
    assert e.data == b"\x41\x01\x00"


# --- round trips of objects built by hand ---------------------------------------------------------


def test_update_object_roundtrip_in_both_as_widths() -> None:
    msg = Update(
        (Prefix.parse("192.0.2.0/24"),),
        (
            Origin(0),
            AsPath((seq(65001, 65002), aset(65003))),
            NextHop(IP("192.0.2.1")),
            LocalPref(200),
            Communities((0xFFFFFF01,)),
            ClusterList((IP("192.0.2.7"),)),
            MpUnreachNlri(2, 1, (Prefix.parse("2001:db8::/32"),)),
        ),
        (NLRI_PREFIX,),
    )
    for ctx in (AS2, AS4, IBGP):
        assert decode_message(msg.encode(ctx), ctx) == msg
