"""PrefixRun: the compact NLRI field must be indistinguishable from the tuple of prefixes it
stands for (decode errors, contents, equality, hashing, encoding), whatever the bytes."""

from __future__ import annotations

import copy
import pickle

import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import prefixes

from bgpspeak.wire import (
    IPV4_UNICAST,
    Action,
    Context,
    DecodeError,
    Prefix,
    PrefixRun,
    Update,
    decode_message,
    decode_prefixes,
    encode_prefixes,
)

FAMILIES = [(afi, add_path) for afi in (1, 2) for add_path in (False, True)]


def _outcome(fn: object, *args: object) -> object:
    try:
        return ("ok", tuple(fn(*args)))  # type: ignore[operator]
    except DecodeError as e:
        return ("error", e.code, e.subcode, e.reason, e.field, e.data, e.action)


@given(st.sampled_from(FAMILIES), st.binary(max_size=64))
def test_any_bytes_decode_like_decode_prefixes(family: tuple[int, bool], data: bytes) -> None:
    afi, add_path = family
    args = (data, afi, add_path, "f", Action.TREAT_AS_WITHDRAW)
    assert _outcome(PrefixRun.decode, *args) == _outcome(decode_prefixes, *args)


@given(st.data())
def test_run_is_its_tuple(data: st.DataObject) -> None:
    afi, add_path = data.draw(st.sampled_from(FAMILIES))
    items = tuple(data.draw(st.lists(prefixes(afi, add_path), min_size=1, max_size=20)))
    raw = encode_prefixes(items, add_path)
    run = PrefixRun.decode(raw, afi, add_path, "f")
    assert isinstance(run, PrefixRun)
    assert run == items and items == run and (run != items) is False
    assert hash(run) == hash(items)
    assert len(run) == len(items) and bool(run)
    assert list(run) == list(items)
    assert run[0] == items[0] and run[-1] == items[-1] and run[1:3] == items[1:3]
    assert items[-1] in run and run.index(items[-1]) == items.index(items[-1])
    assert run.encode(add_path) == raw
    assert run.encode(not add_path) == encode_prefixes(items, not add_path)
    assert pickle.loads(pickle.dumps(run)) == run
    assert copy.deepcopy(run) == run
    assert PrefixRun.decode(raw, afi, add_path, "g") == run
    assert repr(run) == f"PrefixRun({items!r})"


def test_host_bits_are_cleared_and_bytes_kept_canonical() -> None:
    run = PrefixRun.decode(b"\x18\x0a\x00\x01\x07\x81", 1, False, "f")
    assert run == (Prefix.parse("10.0.1.0/24"), Prefix.parse("128.0.0.0/7"))
    assert isinstance(run, PrefixRun)
    assert run.raw == b"\x18\x0a\x00\x01\x07\x80"
    assert run == PrefixRun.decode(run.raw, 1, False, "f")


def test_empty_field_is_the_empty_tuple() -> None:
    assert PrefixRun.decode(b"", 1, False, "f") == ()
    assert PrefixRun.from_prefixes([], False) == ()


def test_runs_of_other_families_or_tuples_compare_by_prefixes() -> None:
    items = (Prefix.parse("10.0.0.0/8"),)
    v4 = PrefixRun.from_prefixes(items, False)
    with_id = PrefixRun.from_prefixes(items, True)
    assert v4 == items and with_id == (Prefix.parse("10.0.0.0/8", 0),)
    assert v4 != with_id and v4 != [items[0]] and v4 != b"\x08\x0a"


def test_from_prefixes_refuses_mixed_families() -> None:
    with pytest.raises(ValueError):
        PrefixRun.from_prefixes([Prefix.parse("10.0.0.0/8"), Prefix.parse("2001:db8::/32")], False)


def test_decoded_update_holds_runs_and_equals_the_built_one() -> None:
    ctx = Context(add_path=frozenset({IPV4_UNICAST}))
    body = (
        b"\x00\x05"
        + b"\x00\x00\x00\x07\x00"  # withdrawn 0.0.0.0/0 path id 7
        + b"\x00\x0e"
        + b"\x40\x01\x01\x00"
        + b"\x40\x02\x00"
        + b"\x40\x03\x04\xc0\x00\x02\x01"
        + b"\x00\x00\x00\x01\x18\xc6\x33\x64"  # 198.51.100.0/24 path id 1
    )
    data = b"\xff" * 16 + (19 + len(body)).to_bytes(2, "big") + b"\x02" + body
    u = decode_message(data, ctx)
    assert isinstance(u, Update)
    assert isinstance(u.nlri, PrefixRun) and isinstance(u.withdrawn, PrefixRun)
    built = Update(
        (Prefix.parse("0.0.0.0/0", 7),), u.attributes, (Prefix.parse("198.51.100.0/24", 1),)
    )
    assert u == built and hash(u) == hash(built)
    assert u.encode(ctx) == data == built.encode(ctx)
    assert u.to_json() == built.to_json()
