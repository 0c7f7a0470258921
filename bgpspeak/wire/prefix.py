"""IP prefixes as the NLRI fields carry them, and their fast codec.

A full table is a million of these, so a prefix is a small tuple (family's AFI, network address
as an int, length, ADD-PATH path id) rather than an ``ipaddress`` object: it hashes, compares and
sorts cheaply, costs a fraction of the memory, and converts to ``ipaddress`` on demand.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import NamedTuple

from .errors import Action, DecodeError, ErrorCode, UpdateSubcode

_WIDTH = {1: 32, 2: 128}
# _MASK[bits][length]: network mask for that prefix length
_MASK = {
    bits: [((1 << bits) - 1) ^ ((1 << (bits - n)) - 1) for n in range(bits + 1)]
    for bits in (32, 128)
}


class Prefix(NamedTuple):
    """One NLRI entry: ``afi`` 1 (IPv4) or 2 (IPv6), ``addr`` the network as an integer."""

    afi: int
    addr: int
    length: int
    path_id: int | None = None

    @classmethod
    def parse(cls, text: str, path_id: int | None = None) -> Prefix:
        """``'10.0.0.0/8'`` or ``'2001:db8::/32'``; host bits must be zero (``strict``)."""
        net = ipaddress.ip_network(text, strict=True)
        return cls(1 if net.version == 4 else 2, int(net.network_address), net.prefixlen, path_id)

    @classmethod
    def from_network(
        cls, net: ipaddress.IPv4Network | ipaddress.IPv6Network, path_id: int | None = None
    ) -> Prefix:
        """From an ``ipaddress`` network (and an ADD-PATH path id)."""
        return cls(1 if net.version == 4 else 2, int(net.network_address), net.prefixlen, path_id)

    @property
    def network(self) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
        """As an ``ipaddress`` network (the path id is not part of it)."""
        if self.afi == 1:
            return ipaddress.IPv4Network((self.addr, self.length))
        return ipaddress.IPv6Network((self.addr, self.length))

    def __str__(self) -> str:
        if self.afi == 1:
            a = self.addr
            return f"{a >> 24}.{(a >> 16) & 255}.{(a >> 8) & 255}.{a & 255}/{self.length}"
        return f"{ipaddress.IPv6Address(self.addr)}/{self.length}"

    def with_path_id(self, path_id: int | None) -> Prefix:
        """The same prefix with another path id (None: without)."""
        return Prefix(self.afi, self.addr, self.length, path_id)

    def to_json(self) -> str | dict[str, object]:
        """``"198.51.100.0/24"``, or ``{"prefix": ..., "path_id": N}`` under ADD-PATH."""
        if self.path_id is None:
            return str(self)
        return {"prefix": str(self), "path_id": self.path_id}


_new = tuple.__new__
# _STEPS[bits][length]: (octets on the wire, left shift to the full width, network mask)
_STEPS = {
    bits: [((n + 7) >> 3, bits - (((n + 7) >> 3) << 3), _MASK[bits][n]) for n in range(bits + 1)]
    for bits in (32, 128)
}


def _nlri_error(reason: str, field: str, data: bytes, action: Action) -> DecodeError:
    return DecodeError(
        ErrorCode.UPDATE_MESSAGE,
        UpdateSubcode.INVALID_NETWORK_FIELD,
        reason,
        field=field,
        data=data,
        action=action,
    )


def decode_prefixes(
    data: bytes,
    afi: int,
    add_path: bool,
    field: str,
    action: Action = Action.SESSION_RESET,
) -> tuple[Prefix, ...]:
    """Decode a run of (path id,) length, prefix entries filling ``data`` exactly.

    ``action`` is what a malformed run means here: RFC 7606 section 5.3 asks for session reset
    (or AFI/SAFI disable) because routes that cannot be parsed cannot be withdrawn either.
    Bits beyond the prefix length are cleared (RFC 4271 says they are irrelevant).
    """
    bits = _WIDTH.get(afi)
    if bits is None:
        raise _nlri_error(f"AFI {afi} has no prefix encoding", field, b"", action)
    out: list[Prefix] = []
    append = out.append
    from_bytes = int.from_bytes
    n = len(data)
    if not add_path:
        # the common case, one table lookup per prefix; anything wrong falls through to the
        # careful loop below, which finds and names the error
        table = _STEPS[bits]
        i = 0
        try:
            while i < n:
                plen = data[i]
                nb, shift, mask = table[plen]
                end = i + 1 + nb
                if end > n:
                    break
                append(
                    _new(
                        Prefix,
                        (afi, (from_bytes(data[i + 1 : end], "big") << shift) & mask, plen, None),
                    )
                )
                i = end
            else:
                return tuple(out)
        except IndexError:
            pass
        out.clear()
    masks = _MASK[bits]
    nbytes = bits >> 3
    i = 0
    pid: int | None = None
    while i < n:
        if add_path:
            if i + 4 >= n:
                raise _nlri_error(
                    f"entry at offset {i} is truncated: path identifier and length need 5 octets,"
                    f" {n - i} left",
                    field,
                    data[i:],
                    action,
                )
            pid = from_bytes(data[i : i + 4], "big")
            i += 4
        plen = data[i]
        if plen > bits:
            raise _nlri_error(
                f"prefix length {plen} at offset {i} is longer than {bits} bits",
                field,
                data[i:],
                action,
            )
        end = i + 1 + ((plen + 7) >> 3)
        if end > n:
            raise _nlri_error(
                f"prefix /{plen} at offset {i} needs {end - i - 1} octets, {n - i - 1} left",
                field,
                data[i:],
                action,
            )
        value = from_bytes(data[i + 1 : end], "big") << ((nbytes - end + i + 1) << 3)
        if plen & 7:
            value &= masks[plen]
        append(_new(Prefix, (afi, value, plen, pid)))
        i = end
    return tuple(out)


def encode_prefixes(prefixes: Iterable[Prefix], add_path: bool) -> bytes:
    """Encode prefixes; with ``add_path`` a missing path id is sent as 0."""
    parts: list[bytes] = []
    append = parts.append
    for afi, addr, plen, pid in prefixes:
        nb = (plen + 7) >> 3
        total = 4 if afi == 1 else 16
        if add_path:
            append((pid or 0).to_bytes(4, "big"))
        append(bytes((plen,)))
        if nb:
            append((addr >> ((total - nb) << 3)).to_bytes(nb, "big"))
    return b"".join(parts)


def prefix_length_on_wire(prefix: Prefix, add_path: bool) -> int:
    return 1 + ((prefix.length + 7) >> 3) + (4 if add_path else 0)
