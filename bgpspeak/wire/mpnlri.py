"""MP_REACH_NLRI and MP_UNREACH_NLRI (RFC 4760), with IPv6 and extended next hops (RFC 8950).

NLRI of IPv4/IPv6 unicast and multicast decode to :class:`Prefix` tuples. Every other family
(VPN, labeled, EVPN, flowspec, BGP-LS...) keeps its NLRI as raw bytes: real captures carry them,
they are not errors, and a speaker that does not use them only needs to pass them over.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from .attribute import OPTIONAL, AttributeMalformed, PathAttribute, register
from .errors import Action, DecodeError, UpdateSubcode
from .family import PREFIX_FAMILIES, Context, Family, afi_text, safi_text
from .prefix import Prefix
from .prefix_run import PrefixRun, encode_run

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_new = object.__new__
_set = object.__setattr__

#: RFC 4760 section 7: an incorrect MP_REACH_NLRI / MP_UNREACH_NLRI is answered with
#: UPDATE Message Error / Optional Attribute Error, whatever part of it is wrong.
_MP_ERROR = UpdateSubcode.OPTIONAL_ATTRIBUTE_ERROR

# valid next-hop lengths for the families whose NLRI we decode
_NH_LENGTHS = {1: (4, 16, 32), 2: (16, 32)}


def _decode_nlri(family: Family, data: bytes, ctx: Context, what: str) -> Sequence[Prefix] | bytes:
    if family not in PREFIX_FAMILIES:
        return bytes(data)
    try:
        return PrefixRun.decode(data, family.afi, family in ctx.add_path, what)
    except DecodeError as e:
        # RFC 7606 section 5.3 / 7.11: NLRI that cannot be parsed cannot be withdrawn either.
        raise AttributeMalformed(
            f"{what}: {e.reason}", UpdateSubcode.OPTIONAL_ATTRIBUTE_ERROR
        ) from None


def _encode_nlri(family: Family, nlri: Sequence[Prefix] | bytes, ctx: Context) -> bytes:
    if isinstance(nlri, bytes | bytearray):
        return bytes(nlri)
    return encode_run(nlri, family in ctx.add_path)


def _nlri_json(nlri: Sequence[Prefix] | bytes) -> Any:
    if isinstance(nlri, bytes | bytearray):
        return {"raw": bytes(nlri).hex()}
    return [p.to_json() for p in nlri]


def next_hop_addresses(afi: int, safi: int, raw: bytes) -> tuple[IPAddress, ...]:
    """Interpret a next-hop field: IPv4, IPv6, IPv6 global + link-local, and the VPN forms that
    put an 8-octet (zero) route distinguisher before each address. Unknown shapes give ()."""
    n = len(raw)
    if n == 4:
        return (ipaddress.IPv4Address(raw),)
    if n == 16:
        return (ipaddress.IPv6Address(raw),)
    if n == 32:
        return (ipaddress.IPv6Address(raw[:16]), ipaddress.IPv6Address(raw[16:]))
    if n == 12:
        return (ipaddress.IPv4Address(raw[8:]),)
    if n == 24:
        return (ipaddress.IPv6Address(raw[8:]),)
    if n == 48:
        return (ipaddress.IPv6Address(raw[8:24]), ipaddress.IPv6Address(raw[32:]))
    return ()


@register
@dataclass(frozen=True, slots=True)
class MpReachNlri(PathAttribute):
    """MP_REACH_NLRI; ``next_hop`` is the raw field, :attr:`next_hops` its addresses."""

    TYPE_CODE: ClassVar[int] = 14
    NAME: ClassVar[str] = "MP_REACH_NLRI"
    DEFAULT_FLAGS: ClassVar[int] = OPTIONAL
    MALFORMED_ACTION: ClassVar[Action] = Action.SESSION_RESET

    afi: int
    safi: int
    next_hop: bytes
    nlri: Sequence[Prefix] | bytes = ()
    reserved: int = 0
    flags: int = OPTIONAL

    @classmethod
    def build(
        cls,
        family: Family,
        next_hops: tuple[IPAddress, ...] | list[IPAddress],
        nlri: Sequence[Prefix],
    ) -> MpReachNlri:
        """From addresses: one IPv4 or IPv6 address, or IPv6 global + link-local."""
        raw = b"".join(a.packed for a in next_hops)
        return cls(family.afi, family.safi, raw, tuple(nlri))

    @property
    def family(self) -> Family:
        return Family(self.afi, self.safi)

    @property
    def next_hops(self) -> tuple[IPAddress, ...]:
        return next_hop_addresses(self.afi, self.safi, self.next_hop)

    @classmethod
    def decode_value(cls, value: bytes, flags: int, ctx: Context) -> MpReachNlri:
        n = len(value)
        if n < 5:
            raise AttributeMalformed(f"MP_REACH_NLRI needs at least 5 octets, got {n}", _MP_ERROR)
        afi = (value[0] << 8) | value[1]
        safi = value[2]
        nhlen = value[3]
        if 4 + nhlen + 1 > n:
            raise AttributeMalformed(
                f"MP_REACH_NLRI next hop length {nhlen} runs past the attribute ({n} octets)",
                _MP_ERROR,
            )
        key = (afi, safi)  # equal to Family(afi, safi), without building one (hot path)
        if key in PREFIX_FAMILIES:
            allowed = _NH_LENGTHS[afi]
            if nhlen not in allowed:
                raise AttributeMalformed(
                    f"MP_REACH_NLRI next hop length {nhlen} is not valid for {Family(afi, safi)}"
                    f" (expected one of {', '.join(map(str, allowed))})",
                    _MP_ERROR,
                )
            try:
                nlri: Sequence[Prefix] | bytes = PrefixRun.decode(
                    value[5 + nhlen :], afi, key in ctx.add_path, "MP_REACH_NLRI.nlri"
                )
            except DecodeError as e:
                # RFC 7606 section 5.3 / 7.11: NLRI that cannot be parsed cannot be withdrawn
                raise AttributeMalformed(
                    f"MP_REACH_NLRI({Family(afi, safi)}).nlri: {e.reason}",
                    _MP_ERROR,
                ) from None
        else:
            nlri = value[5 + nhlen :]
        attr = _new(cls)
        _set(attr, "afi", afi)
        _set(attr, "safi", safi)
        _set(attr, "next_hop", value[4 : 4 + nhlen])
        _set(attr, "nlri", nlri)
        _set(attr, "reserved", value[4 + nhlen])
        _set(attr, "flags", flags)
        return attr

    @classmethod
    def decode_abbreviated(cls, value: bytes, family: Family, flags: int) -> MpReachNlri:
        """The TABLE_DUMP_V2 form (RFC 6396 section 4.3.4): next-hop length and next hop only."""
        if not value or 1 + value[0] != len(value):
            raise AttributeMalformed(
                f"abbreviated MP_REACH_NLRI: next hop length {value[0] if value else '-'} does not"
                f" fill the attribute ({len(value)} octets)",
                _MP_ERROR,
            )
        return cls(family.afi, family.safi, bytes(value[1 : 1 + value[0]]), (), 0, flags)

    def encode_value(self, ctx: Context) -> bytes:
        family = Family(self.afi, self.safi)
        return (
            self.afi.to_bytes(2, "big")
            + bytes((self.safi, len(self.next_hop)))
            + self.next_hop
            + bytes((self.reserved,))
            + _encode_nlri(family, self.nlri, ctx)
        )

    def json_value(self) -> Any:
        out: dict[str, Any] = {
            "afi": afi_text(self.afi),
            "safi": safi_text(self.safi),
            "next_hop": [str(a) for a in self.next_hops] or self.next_hop.hex(),
            "nlri": _nlri_json(self.nlri),
        }
        if self.reserved:
            out["reserved"] = self.reserved
        return out


@register
@dataclass(frozen=True, slots=True)
class MpUnreachNlri(PathAttribute):
    TYPE_CODE: ClassVar[int] = 15
    NAME: ClassVar[str] = "MP_UNREACH_NLRI"
    DEFAULT_FLAGS: ClassVar[int] = OPTIONAL
    MALFORMED_ACTION: ClassVar[Action] = Action.SESSION_RESET

    afi: int
    safi: int
    withdrawn: Sequence[Prefix] | bytes = ()
    flags: int = OPTIONAL

    @property
    def family(self) -> Family:
        return Family(self.afi, self.safi)

    @classmethod
    def decode_value(cls, value: bytes, flags: int, ctx: Context) -> MpUnreachNlri:
        if len(value) < 3:
            raise AttributeMalformed(
                f"MP_UNREACH_NLRI needs at least 3 octets, got {len(value)}", _MP_ERROR
            )
        afi = int.from_bytes(value[0:2], "big")
        safi = value[2]
        family = Family(afi, safi)
        withdrawn = _decode_nlri(family, value[3:], ctx, "MP_UNREACH_NLRI.withdrawn")
        return cls(afi, safi, withdrawn, flags)

    def encode_value(self, ctx: Context) -> bytes:
        family = Family(self.afi, self.safi)
        return (
            self.afi.to_bytes(2, "big")
            + bytes((self.safi,))
            + _encode_nlri(family, self.withdrawn, ctx)
        )

    def json_value(self) -> Any:
        return {
            "afi": afi_text(self.afi),
            "safi": safi_text(self.safi),
            "withdrawn": _nlri_json(self.withdrawn),
        }
