"""The fixed-size path attributes: ORIGIN, NEXT_HOP, MED, LOCAL_PREF, ATOMIC_AGGREGATE, AGGREGATOR,
AS4_AGGREGATOR, ORIGINATOR_ID, CLUSTER_LIST and OTC.

Each class's ``MALFORMED_ACTION`` is the RFC 7606 section 7 treatment of a bad value.
"""

from __future__ import annotations

import enum
import ipaddress
from dataclasses import dataclass
from typing import Any, ClassVar

from .attribute import (
    OPTIONAL,
    TRANSITIVE,
    AttributeMalformed,
    PathAttribute,
    register,
)
from .errors import Action, UpdateSubcode
from .family import Context

IPv4Address = ipaddress.IPv4Address


def _u32(value: bytes, name: str) -> int:
    if len(value) != 4:
        raise AttributeMalformed(f"{name} must be 4 octets, got {len(value)}")
    return int.from_bytes(value, "big")


class OriginValue(enum.IntEnum):
    """The values of ORIGIN (RFC 4271 section 4.3)."""

    IGP = 0
    EGP = 1
    INCOMPLETE = 2


@register
@dataclass(frozen=True, slots=True)
class Origin(PathAttribute):
    TYPE_CODE: ClassVar[int] = 1
    NAME: ClassVar[str] = "ORIGIN"
    DEFAULT_FLAGS: ClassVar[int] = TRANSITIVE

    value: int = OriginValue.IGP
    flags: int = TRANSITIVE

    @classmethod
    def decode_value(cls, value: bytes, flags: int, ctx: Context) -> Origin:
        if len(value) != 1:
            raise AttributeMalformed(f"ORIGIN must be 1 octet, got {len(value)}")
        if value[0] > 2:
            raise AttributeMalformed(
                f"ORIGIN value {value[0]} is not IGP(0), EGP(1) or INCOMPLETE(2)",
                UpdateSubcode.INVALID_ORIGIN_ATTRIBUTE,
            )
        return cls(value[0], flags)

    def encode_value(self, ctx: Context) -> bytes:
        if not 0 <= self.value <= 2:
            raise ValueError(f"ORIGIN value {self.value} is not IGP(0), EGP(1) or INCOMPLETE(2)")
        return bytes((self.value,))

    def json_value(self) -> Any:
        return OriginValue(self.value).name.lower()


@register
@dataclass(frozen=True, slots=True)
class NextHop(PathAttribute):
    TYPE_CODE: ClassVar[int] = 3
    NAME: ClassVar[str] = "NEXT_HOP"
    DEFAULT_FLAGS: ClassVar[int] = TRANSITIVE

    address: IPv4Address
    flags: int = TRANSITIVE

    @classmethod
    def decode_value(cls, value: bytes, flags: int, ctx: Context) -> NextHop:
        if len(value) != 4:
            raise AttributeMalformed(f"NEXT_HOP must be 4 octets, got {len(value)}")
        return cls(IPv4Address(value), flags)

    def encode_value(self, ctx: Context) -> bytes:
        return self.address.packed

    def json_value(self) -> Any:
        return str(self.address)


@register
@dataclass(frozen=True, slots=True)
class MultiExitDisc(PathAttribute):
    TYPE_CODE: ClassVar[int] = 4
    NAME: ClassVar[str] = "MULTI_EXIT_DISC"
    DEFAULT_FLAGS: ClassVar[int] = OPTIONAL

    value: int
    flags: int = OPTIONAL

    @classmethod
    def decode_value(cls, value: bytes, flags: int, ctx: Context) -> MultiExitDisc:
        return cls(_u32(value, "MULTI_EXIT_DISC"), flags)

    def encode_value(self, ctx: Context) -> bytes:
        return self.value.to_bytes(4, "big")

    def json_value(self) -> Any:
        return self.value


@register
@dataclass(frozen=True, slots=True)
class LocalPref(PathAttribute):
    TYPE_CODE: ClassVar[int] = 5
    NAME: ClassVar[str] = "LOCAL_PREF"
    DEFAULT_FLAGS: ClassVar[int] = TRANSITIVE
    # RFC 7606 7.5: discarded when it comes from an external peer, treat-as-withdraw from an
    # internal one; update.py asks Context.ibgp.

    value: int
    flags: int = TRANSITIVE

    @classmethod
    def decode_value(cls, value: bytes, flags: int, ctx: Context) -> LocalPref:
        return cls(_u32(value, "LOCAL_PREF"), flags)

    def encode_value(self, ctx: Context) -> bytes:
        return self.value.to_bytes(4, "big")

    def json_value(self) -> Any:
        return self.value


@register
@dataclass(frozen=True, slots=True)
class AtomicAggregate(PathAttribute):
    TYPE_CODE: ClassVar[int] = 6
    NAME: ClassVar[str] = "ATOMIC_AGGREGATE"
    DEFAULT_FLAGS: ClassVar[int] = TRANSITIVE
    MALFORMED_ACTION: ClassVar[Action] = Action.ATTRIBUTE_DISCARD

    flags: int = TRANSITIVE

    @classmethod
    def decode_value(cls, value: bytes, flags: int, ctx: Context) -> AtomicAggregate:
        if value:
            raise AttributeMalformed(f"ATOMIC_AGGREGATE must be empty, got {len(value)} octets")
        return cls(flags)

    def encode_value(self, ctx: Context) -> bytes:
        return b""

    def json_value(self) -> Any:
        return True


@register
@dataclass(frozen=True, slots=True)
class Aggregator(PathAttribute):
    """AGGREGATOR: 2-octet AS + address, or 4-octet AS + address once 4-octet AS is negotiated."""

    TYPE_CODE: ClassVar[int] = 7
    NAME: ClassVar[str] = "AGGREGATOR"
    DEFAULT_FLAGS: ClassVar[int] = OPTIONAL | TRANSITIVE
    MALFORMED_ACTION: ClassVar[Action] = Action.ATTRIBUTE_DISCARD
    AS_WIDTH_DEPENDENT: ClassVar[bool] = True

    asn: int
    address: IPv4Address
    flags: int = OPTIONAL | TRANSITIVE

    @classmethod
    def decode_value(cls, value: bytes, flags: int, ctx: Context) -> Aggregator:
        want = 8 if ctx.asn4 else 6
        if len(value) != want:
            raise AttributeMalformed(
                f"{cls.NAME} must be {want} octets with {'4' if ctx.asn4 else '2'}-octet AS,"
                f" got {len(value)}"
            )
        return cls(int.from_bytes(value[:-4], "big"), IPv4Address(value[-4:]), flags)

    def encode_value(self, ctx: Context) -> bytes:
        if ctx.asn4:
            return self.asn.to_bytes(4, "big") + self.address.packed
        asn = self.asn if self.asn <= 0xFFFF else 23456
        return asn.to_bytes(2, "big") + self.address.packed

    def json_value(self) -> Any:
        return {"asn": self.asn, "address": str(self.address)}


@register
@dataclass(frozen=True, slots=True)
class As4Aggregator(PathAttribute):
    """AS4_AGGREGATOR (RFC 6793): the real aggregator AS when AGGREGATOR carries AS_TRANS."""

    TYPE_CODE: ClassVar[int] = 18
    NAME: ClassVar[str] = "AS4_AGGREGATOR"
    DEFAULT_FLAGS: ClassVar[int] = OPTIONAL | TRANSITIVE
    MALFORMED_ACTION: ClassVar[Action] = Action.ATTRIBUTE_DISCARD

    asn: int
    address: IPv4Address
    flags: int = OPTIONAL | TRANSITIVE

    @classmethod
    def decode_value(cls, value: bytes, flags: int, ctx: Context) -> As4Aggregator:
        if len(value) != 8:
            raise AttributeMalformed(f"AS4_AGGREGATOR must be 8 octets, got {len(value)}")
        return cls(int.from_bytes(value[:4], "big"), IPv4Address(value[4:]), flags)

    def encode_value(self, ctx: Context) -> bytes:
        return self.asn.to_bytes(4, "big") + self.address.packed

    def json_value(self) -> Any:
        return {"asn": self.asn, "address": str(self.address)}


@register
@dataclass(frozen=True, slots=True)
class OriginatorId(PathAttribute):
    TYPE_CODE: ClassVar[int] = 9
    NAME: ClassVar[str] = "ORIGINATOR_ID"
    DEFAULT_FLAGS: ClassVar[int] = OPTIONAL

    address: IPv4Address
    flags: int = OPTIONAL

    @classmethod
    def decode_value(cls, value: bytes, flags: int, ctx: Context) -> OriginatorId:
        if len(value) != 4:
            raise AttributeMalformed(f"ORIGINATOR_ID must be 4 octets, got {len(value)}")
        return cls(IPv4Address(value), flags)

    def encode_value(self, ctx: Context) -> bytes:
        return self.address.packed

    def json_value(self) -> Any:
        return str(self.address)


@register
@dataclass(frozen=True, slots=True)
class ClusterList(PathAttribute):
    TYPE_CODE: ClassVar[int] = 10
    NAME: ClassVar[str] = "CLUSTER_LIST"
    DEFAULT_FLAGS: ClassVar[int] = OPTIONAL

    ids: tuple[IPv4Address, ...]
    flags: int = OPTIONAL

    @classmethod
    def decode_value(cls, value: bytes, flags: int, ctx: Context) -> ClusterList:
        if not value or len(value) % 4:
            # RFC 7606 section 7.10: not a non-zero multiple of 4
            raise AttributeMalformed(
                f"CLUSTER_LIST length {len(value)} is not a positive multiple of 4"
            )
        return cls(tuple(IPv4Address(value[i : i + 4]) for i in range(0, len(value), 4)), flags)

    def encode_value(self, ctx: Context) -> bytes:
        if not self.ids:
            raise ValueError("CLUSTER_LIST with no cluster ID is malformed: leave it out")
        return b"".join(a.packed for a in self.ids)

    def json_value(self) -> Any:
        return [str(a) for a in self.ids]


@register
@dataclass(frozen=True, slots=True)
class OnlyToCustomer(PathAttribute):
    """OTC (RFC 9234): the AS that marked the route as only to be sent to customers."""

    TYPE_CODE: ClassVar[int] = 35
    NAME: ClassVar[str] = "OTC"
    DEFAULT_FLAGS: ClassVar[int] = OPTIONAL | TRANSITIVE

    asn: int
    flags: int = OPTIONAL | TRANSITIVE

    @classmethod
    def decode_value(cls, value: bytes, flags: int, ctx: Context) -> OnlyToCustomer:
        return cls(_u32(value, "OTC"), flags)

    def encode_value(self, ctx: Context) -> bytes:
        return self.asn.to_bytes(4, "big")

    def json_value(self) -> Any:
        return self.asn
