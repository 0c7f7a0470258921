"""The Control packet codec: field layout, every reception rule of RFC 5880 section 6.8.6
that needs only the packet, and round trips."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bgpspeak.bfd.codes import Diag, State
from bgpspeak.bfd.packet import ControlPacket, Malformed, PacketError, decode


def raw(
    *,
    version: int = 1,
    diag: int = 0,
    state: int = 1,
    flags: int = 0,
    mult: int = 3,
    length: int = 24,
    my: int = 7,
    your: int = 0,
    tx: int = 1_000_000,
    rx: int = 1_000_000,
    echo: int = 0,
    tail: bytes = b"",
) -> bytes:
    return (
        struct.pack(
            "!BBBBIIIII",
            (version << 5) | diag,
            (state << 6) | flags,
            mult,
            length,
            my,
            your,
            tx,
            rx,
            echo,
        )
        + tail
    )


def test_known_bytes_decode_field_by_field() -> None:
    # Up, P and C bits, mult 5, discriminators 0x01020304 / 0x0a0b0c0d, 300 ms / 250 ms
    data = bytes.fromhex("23 e8 05 18 01020304 0a0b0c0d 000493e0 0003d090 00000000")
    p = decode(data)
    assert p.diag == Diag.NEIGHBOR_SIGNALED_SESSION_DOWN
    assert p.state is State.UP
    assert p.poll and not p.final
    assert p.control_plane_independent
    assert not p.authenticated and not p.demand and not p.multipoint
    assert p.detect_mult == 5
    assert p.my_discriminator == 0x01020304
    assert p.your_discriminator == 0x0A0B0C0D
    assert p.desired_min_tx == 300_000
    assert p.required_min_rx == 250_000
    assert p.required_min_echo_rx == 0
    assert p.encode() == data


def test_encode_sets_version_length_and_flags() -> None:
    p = ControlPacket(
        state=State.INIT,
        my_discriminator=1,
        your_discriminator=2,
        diag=Diag.CONTROL_DETECTION_TIME_EXPIRED,
        final=True,
        demand=True,
    )
    data = p.encode()
    assert len(data) == 24
    assert data[0] == (1 << 5) | 1
    assert data[1] == (2 << 6) | 0x10 | 0x02
    assert data[3] == 24
    assert decode(data) == p


def test_trailing_bytes_beyond_length_are_ignored() -> None:
    p = decode(raw(tail=b"\xff" * 8))
    assert p.encode() == raw()


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (b"", Malformed.TRUNCATED),
        (raw()[:23], Malformed.TRUNCATED),
        (raw(version=0), Malformed.BAD_VERSION),
        (raw(version=2), Malformed.BAD_VERSION),
        (raw(length=23), Malformed.BAD_LENGTH),
        (raw(length=0), Malformed.BAD_LENGTH),
        (raw(length=25), Malformed.TRUNCATED),
        (raw(flags=0x04, length=25, tail=b"\x01"), Malformed.BAD_LENGTH),  # A bit needs 26
        (raw(mult=0), Malformed.ZERO_DETECT_MULT),
        (raw(flags=0x01), Malformed.MULTIPOINT),
        (raw(my=0), Malformed.ZERO_MY_DISCRIMINATOR),
        (raw(state=2, your=0), Malformed.ZERO_YOUR_DISCRIMINATOR),
        (raw(state=3, your=0), Malformed.ZERO_YOUR_DISCRIMINATOR),
        (raw(flags=0x04, length=28, tail=b"\x01\x03\x00\x00"), Malformed.BAD_AUTH_SECTION),
        (raw(flags=0x04, length=26, tail=b"\x01\x00"), Malformed.BAD_AUTH_SECTION),
    ],
)
def test_reception_rules(data: bytes, kind: Malformed) -> None:
    with pytest.raises(PacketError) as info:
        decode(data)
    assert info.value.kind is kind
    assert kind.value in str(info.value)


@pytest.mark.parametrize("state", [State.DOWN, State.ADMIN_DOWN])
def test_zero_your_discriminator_is_fine_while_down(state: State) -> None:
    assert decode(raw(state=int(state), your=0)).state is state


def test_reserved_diagnostic_codes_are_kept() -> None:
    p = decode(raw(diag=31))
    assert p.diag == 31
    assert Diag.describe(31) == "reserved (31)"
    assert Diag.describe(1) == "control detection time expired"


def test_authentication_section_is_kept_as_bytes() -> None:
    auth = b"\x01\x05\x01ab"  # simple password, key id 1, "ab"
    p = decode(raw(flags=0x04, length=29, tail=auth))
    assert p.authenticated and p.auth == auth
    assert p.encode() == raw(flags=0x04, length=29, tail=auth)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("diag", 32),
        ("detect_mult", 256),
        ("your_discriminator", 1 << 32),
        ("required_min_rx", -1),
        ("auth", b"\x01"),
        ("auth", b"\x01" * 240),
    ],
)
def test_encode_refuses_values_that_do_not_fit(field: str, value: object) -> None:
    p = ControlPacket(state=State.DOWN, my_discriminator=1, **{field: value})  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=field if field != "auth" else "auth"):
        p.encode()


packets = st.builds(
    ControlPacket,
    state=st.sampled_from(State),
    my_discriminator=st.integers(1, 0xFFFFFFFF),
    your_discriminator=st.integers(1, 0xFFFFFFFF),
    diag=st.integers(0, 31),
    detect_mult=st.integers(1, 255),
    desired_min_tx=st.integers(0, 0xFFFFFFFF),
    required_min_rx=st.integers(0, 0xFFFFFFFF),
    required_min_echo_rx=st.integers(0, 0xFFFFFFFF),
    poll=st.booleans(),
    final=st.booleans(),
    control_plane_independent=st.booleans(),
    demand=st.booleans(),
)


@given(packets)
def test_round_trip(p: ControlPacket) -> None:
    assert decode(p.encode()) == p


@given(st.binary(max_size=64))
def test_arbitrary_bytes_decode_or_raise_packet_error_only(data: bytes) -> None:
    try:
        p = decode(data)
    except PacketError:
        return
    assert decode(p.encode()) == p
