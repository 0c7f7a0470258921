"""Single NLRI inside RIB records: IP prefixes, and the length of other families' NLRI.

A RIB_GENERIC record (and a BGP4MP_ENTRY) holds exactly one NLRI followed by more fields, and
nothing says how long that NLRI is: the reader must know each family's encoding to find where
it ends. The families below cover what collectors dump; for any other the record is kept raw.
"""

from __future__ import annotations

from ..wire import Family, Prefix
from ..wire.family import PREFIX_FAMILIES
from .errors import RecordCorrupt

_new = tuple.__new__
_WIDTH = {1: 32, 2: 128}
# _NET[bits][length]: the network mask of a prefix of that length
_NET = {
    bits: [((1 << bits) - 1) ^ ((1 << (bits - n)) - 1) for n in range(bits + 1)]
    for bits in (32, 128)
}

# SAFIs whose NLRI starts with its length in bits (RFC 4760 prefix, RFC 8277 labels, RFC 4364
# VPN, RFC 6514 MDT, RFC 4684 route-target constraint, SR policy)
_BIT_LENGTH_SAFIS = frozenset({1, 2, 4, 66, 73, 128, 129, 132})
# SAFIs whose NLRI is route type (1 octet) + length in octets (1 octet): MCAST-VPN, EVPN
_TYPE_LENGTH_SAFIS = frozenset({5, 70})


def prefix_at(afi: int, data: bytes, pos: int, what: str) -> tuple[Prefix, int]:
    """Read a (length, prefix) entry of an IPv4 (``afi`` 1) or IPv6 (2) prefix at ``pos``; return
    it and the position after it. Host bits past the length are cleared, as BGP ignores them."""
    bits = _WIDTH.get(afi)
    if bits is None:
        raise RecordCorrupt(f"{what}: AFI {afi} has no prefix encoding")
    if pos >= len(data):
        raise RecordCorrupt(f"{what}: prefix length missing")
    plen = data[pos]
    if plen > bits:
        raise RecordCorrupt(f"{what}: prefix length {plen} is longer than {bits} bits")
    nb = (plen + 7) >> 3
    end = pos + 1 + nb
    if end > len(data):
        raise RecordCorrupt(f"{what}: /{plen} prefix needs {nb} octets, {len(data) - pos - 1} left")
    value = int.from_bytes(data[pos + 1 : end], "big") << (bits - (nb << 3))
    return _new(Prefix, (afi, value & _NET[bits][plen], plen, None)), end


def nlri_length(family: Family, data: bytes, pos: int) -> int | None:
    """Octets taken by the one NLRI of ``family`` at ``pos``; None when the family's encoding is
    not known here (the caller then keeps the record raw). May point past the data: the caller
    checks the bounds."""
    if pos >= len(data):
        return None
    afi, safi = family
    first = data[pos]
    if safi in _BIT_LENGTH_SAFIS and afi in (1, 2, 25):
        return 1 + ((first + 7) >> 3)
    if safi in _TYPE_LENGTH_SAFIS:
        return 2 + data[pos + 1] if pos + 1 < len(data) else None
    if safi in (133, 134):  # flowspec (RFC 8955): 1-octet length, or 2 when the first is 0xfX
        if first >= 0xF0:
            return 2 + (((first & 0x0F) << 8) | data[pos + 1]) if pos + 1 < len(data) else None
        return 1 + first
    if safi in (71, 72):  # BGP-LS (RFC 9552): type (2 octets), length (2 octets)
        return 4 + ((data[pos + 2] << 8) | data[pos + 3]) if pos + 3 < len(data) else None
    if safi == 65:  # VPLS (RFC 4761): 2-octet length in octets
        return 2 + ((first << 8) | data[pos + 1]) if pos + 1 < len(data) else None
    return None


def nlri_at(family: Family, data: bytes, pos: int, what: str) -> tuple[Prefix | bytes, int] | None:
    """The NLRI at ``pos``: a :class:`Prefix` for the prefix families, raw bytes for the others,
    or None if the family's NLRI length is unknown."""
    if family in PREFIX_FAMILIES:
        return prefix_at(family.afi, data, pos, what)
    size = nlri_length(family, data, pos)
    if size is None:
        return None
    if pos + size > len(data):
        raise RecordCorrupt(f"{what}: {family} NLRI needs {size} octets, {len(data) - pos} left")
    return bytes(data[pos : pos + size]), pos + size
