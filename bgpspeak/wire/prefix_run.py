"""A run of NLRI entries kept as its validated wire bytes: a compact ``Sequence[Prefix]``.

A full table arrives as a million prefixes in a few hundred thousand UPDATEs. Turning each one
into a :class:`~bgpspeak.wire.Prefix` at decode time costs an object per prefix, and every such
object is one more for CPython's cyclic garbage collector to walk as long as the message lives
(measured: two thirds of a decode pass was the collector). A :class:`PrefixRun` is one object per
NLRI field instead: the field's bytes, checked completely when the message is decoded (so a
malformed field still raises :class:`~bgpspeak.wire.DecodeError` then, with the RFC 7606 action
of the field), and :class:`Prefix` objects made only when someone iterates or indexes.

The bytes are kept canonical (host bits past each prefix length are zero; a field that had
some set is re-encoded cleared, as :func:`~bgpspeak.wire.decode_prefixes` clears them), so two
runs of one family hold the same prefixes exactly when their bytes are equal, and encoding a run
with the ADD-PATH setting it was decoded with gives its bytes back unchanged.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import Any, ClassVar, overload

from .errors import Action
from .prefix import Prefix, decode_prefixes, encode_prefixes

_WIDTH = {1: 32, 2: 128}
_new_tuple = tuple.__new__
_new = object.__new__
_from_bytes = int.from_bytes

# prefix lengths seen most in real tables first: the pattern tries them in this order
_COMMON = (24, 22, 23, 20, 21, 19, 16, 18, 17, 48, 32, 44, 40, 36, 29, 64, 56, 128)


def _entry_pattern(plen: int) -> bytes:
    """One (length, prefix) entry of length ``plen`` with its host bits zero."""
    nb = (plen + 7) >> 3
    if nb == 0:
        return re.escape(b"\x00")
    head = re.escape(bytes((plen,))) + b"." * (nb - 1)
    free = 8 - (plen & 7 or 8)  # host bits in the last octet
    if not free:
        return head + b"."
    last = b"".join(re.escape(bytes((v,))) for v in range(256) if not v & ((1 << free) - 1))
    return head + b"[" + last + b"]"


def _run_pattern(bits: int, add_path: bool) -> re.Pattern[bytes]:
    order = [p for p in _COMMON if p <= bits] + [p for p in range(bits + 1) if p not in _COMMON]
    entry = b"(?:" + b"|".join(_entry_pattern(p) for p in order) + b")"
    if add_path:
        entry = b"(?:.{4}" + entry + b")"
    # possessive: the entries cannot overlap, so a failed match has nothing to retry
    return re.compile(entry + b"*+", re.DOTALL)


# _STEPS[bits][length]: (octets after the length octet, left shift to the full width)
_STEPS = {
    bits: [((n + 7) >> 3, bits - (((n + 7) >> 3) << 3)) for n in range(bits + 1)]
    for bits in (32, 128)
}


class PrefixRun(Sequence[Prefix]):
    """The validated entries of one NLRI field (withdrawn routes, NLRI, MP_REACH/MP_UNREACH).

    Behaves as the tuple of :class:`Prefix` it stands for: ``len``, iteration, indexing and
    slicing (slices give tuples), ``in``, equality with that tuple or another run (and a hash
    to match), ``repr``. Prefix objects are made on each iteration and not kept, so the run
    stays compact; indexing keeps the decoded tuple, so index loops stay linear.

    Build one with :meth:`decode` (checks the bytes, raising DecodeError like
    :func:`~bgpspeak.wire.decode_prefixes`) or :meth:`from_prefixes`. Never empty: an empty
    field decodes to ``()``. (A run is one object with one slot: the family and ADD-PATH
    setting are those of its private subclass, one per combination.)
    """

    __slots__ = ("_items", "_raw")

    _raw: bytes
    _items: tuple[Prefix, ...]
    _AFI: ClassVar[int] = 0
    _ADD_PATH: ClassVar[bool] = False
    _BITS: ClassVar[int] = 0

    @classmethod
    def decode(
        cls,
        data: bytes,
        afi: int,
        add_path: bool,
        field: str,
        action: Action = Action.SESSION_RESET,
    ) -> PrefixRun | tuple[()]:
        """Check ``data`` as a run of (path id,) length, prefix entries filling it exactly.

        Raises :class:`~bgpspeak.wire.DecodeError` naming ``field`` and carrying ``action`` on
        the first malformed entry, exactly as :func:`~bgpspeak.wire.decode_prefixes` does.
        Returns ``()`` for no entries.
        """
        kind = _KINDS.get((afi, add_path))
        if kind is not None and kind._match(data) is not None:
            if not data:
                return ()
            run: PrefixRun = _new(kind)
            run._raw = bytes(data)
            return run
        # malformed (the careful decoder names the error) or host bits set (it clears them)
        prefixes = decode_prefixes(data, afi, add_path, field, action)
        if not prefixes:
            return ()
        assert kind is not None
        run = _new(kind)
        run._raw = encode_prefixes(prefixes, add_path)
        return run

    @staticmethod
    def _match(data: bytes) -> object:
        """Whether ``data`` is a whole canonical run of this kind (set per subclass)."""
        raise NotImplementedError

    @classmethod
    def from_prefixes(cls, prefixes: Sequence[Prefix], add_path: bool) -> PrefixRun | tuple[()]:
        """A run of ``prefixes`` (all of one AFI); with ``add_path`` a missing path id is 0."""
        items = tuple(prefixes)
        if not items:
            return ()
        afi = items[0].afi
        if any(p.afi != afi for p in items):
            raise ValueError("a PrefixRun holds prefixes of one address family")
        return cls.decode(encode_prefixes(items, add_path), afi, add_path, "prefixes")

    # --- what the run is ---------------------------------------------------------------------

    @property
    def raw(self) -> bytes:
        """The entries as on the wire (canonical: host bits zero)."""
        return self._raw

    @property
    def afi(self) -> int:
        return self._AFI

    @property
    def add_path(self) -> bool:
        """Whether each entry starts with an ADD-PATH path identifier (RFC 7911)."""
        return self._ADD_PATH

    def encode(self, add_path: bool) -> bytes:
        """The wire form with or without path identifiers (a missing one is sent as 0)."""
        if add_path == self._ADD_PATH:
            return self._raw
        return encode_prefixes(self._decode(), add_path)

    # --- Sequence[Prefix] --------------------------------------------------------------------

    def _decode(self) -> tuple[Prefix, ...]:
        """The Prefix objects; the bytes were validated, so no checks here."""
        raw = self._raw
        afi = self._AFI
        table = _STEPS[self._BITS]
        out: list[Prefix] = []
        append = out.append
        n = len(raw)
        i = 0
        if self._ADD_PATH:
            while i < n:
                plen = raw[i + 4]
                nb, shift = table[plen]
                end = i + 5 + nb
                pid = _from_bytes(raw[i : i + 4], "big")
                addr = _from_bytes(raw[i + 5 : end], "big") << shift
                append(_new_tuple(Prefix, (afi, addr, plen, pid)))
                i = end
        else:
            while i < n:
                plen = raw[i]
                nb, shift = table[plen]
                end = i + 1 + nb
                addr = _from_bytes(raw[i + 1 : end], "big") << shift
                append(_new_tuple(Prefix, (afi, addr, plen, None)))
                i = end
        return tuple(out)

    def __iter__(self) -> Iterator[Prefix]:
        return iter(self._decode())

    def __len__(self) -> int:
        raw = self._raw
        table = _STEPS[self._BITS]
        lead = 4 if self._ADD_PATH else 0
        skip = 1 + lead
        n = len(raw)
        i = 0
        count = 0
        while i < n:
            i += skip + table[raw[i + lead]][0]
            count += 1
        return count

    def __bool__(self) -> bool:
        return True

    @overload
    def __getitem__(self, index: int) -> Prefix: ...

    @overload
    def __getitem__(self, index: slice) -> tuple[Prefix, ...]: ...

    def __getitem__(self, index: int | slice) -> Prefix | tuple[Prefix, ...]:
        try:
            items = self._items
        except AttributeError:
            items = self._items = self._decode()
        return items[index]

    def __eq__(self, other: object) -> bool:
        if isinstance(other, PrefixRun):
            if type(other) is type(self):
                return other._raw == self._raw
            return other._decode() == self._decode()
        if isinstance(other, tuple):
            return self._decode() == other
        return NotImplemented

    def __ne__(self, other: object) -> bool:
        eq = self.__eq__(other)
        return eq if eq is NotImplemented else not eq

    def __hash__(self) -> int:
        # equal to the tuple of the same prefixes, so the same hash
        return hash(self._decode())

    def __repr__(self) -> str:
        return f"PrefixRun({self._decode()!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (_restore, (self._raw, self._AFI, self._ADD_PATH))


def _kind(afi: int, add_path: bool) -> type[PrefixRun]:
    bits = _WIDTH[afi]
    name = f"PrefixRun{'v4' if afi == 1 else 'v6'}{'AddPath' if add_path else ''}"
    attrs = {
        "__slots__": (),
        "__module__": __name__,
        "_AFI": afi,
        "_ADD_PATH": add_path,
        "_BITS": bits,
        "_match": staticmethod(_run_pattern(bits, add_path).fullmatch),
    }
    return type(name, (PrefixRun,), attrs)


#: (afi, add_path) -> the PrefixRun subclass holding such runs
_KINDS = {(afi, add_path): _kind(afi, add_path) for afi in _WIDTH for add_path in (False, True)}


def run_class(afi: int, add_path: bool) -> type[PrefixRun]:
    """The PrefixRun subclass of runs of ``afi`` with or without path identifiers."""
    return _KINDS[(afi, add_path)]


def _restore(raw: bytes, afi: int, add_path: bool) -> PrefixRun | tuple[()]:
    return PrefixRun.decode(raw, afi, add_path, "prefixes")


def encode_run(prefixes: Sequence[Prefix], add_path: bool) -> bytes:
    """Encode an NLRI field: a :class:`PrefixRun` gives its bytes back, others are encoded."""
    if isinstance(prefixes, PrefixRun):
        return prefixes.encode(add_path)
    return encode_prefixes(prefixes, add_path)
