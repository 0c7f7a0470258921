"""BGP capabilities (RFC 5492) carried in OPEN, one class per capability code.

Unknown capabilities are kept as :class:`UnknownCapability` and re-encoded unchanged, so a
speaker can log what a peer offered even when it does not use it.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any, ClassVar, NamedTuple, TypeVar

from .family import Family, afi_text, safi_text

C = TypeVar("C", bound="Capability")


class CapabilityMalformed(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class CapabilityCode(enum.IntEnum):
    """Capability codes (IANA) of the capabilities the codec interprets."""

    MULTIPROTOCOL = 1
    ROUTE_REFRESH = 2
    OUTBOUND_ROUTE_FILTERING = 3
    EXTENDED_NEXT_HOP = 5
    EXTENDED_MESSAGE = 6
    BGPSEC = 7
    MULTIPLE_LABELS = 8
    ROLE = 9
    GRACEFUL_RESTART = 64
    FOUR_OCTET_AS = 65
    DYNAMIC = 67
    MULTISESSION = 68
    ADD_PATH = 69
    ENHANCED_ROUTE_REFRESH = 70
    LONG_LIVED_GRACEFUL_RESTART = 71
    ROUTING_POLICY_DISTRIBUTION = 72
    FQDN = 73
    BFD = 74
    SOFTWARE_VERSION = 75
    PATHS_LIMIT = 76
    LINK_LOCAL_NEXT_HOP = 77
    ROUTE_REFRESH_CISCO = 128
    ORF_CISCO = 130
    MULTISESSION_CISCO = 131


def capability_name(code: int) -> str:
    try:
        return CapabilityCode(code).name
    except ValueError:
        return f"UNKNOWN_{code}"


class Capability:
    """Base class: subclasses are frozen slotted dataclasses registered by ``CODE``."""

    __slots__ = ()
    CODE: ClassVar[int] = -1

    @property
    def code(self) -> int:
        return self.CODE

    @classmethod
    def decode_value(cls: type[C], value: bytes) -> C:
        raise NotImplementedError

    def encode_value(self) -> bytes:
        raise NotImplementedError

    def json_value(self) -> Any:
        return None

    def encode(self) -> bytes:
        """Code, length and value (``ValueError`` beyond 255 octets)."""
        value = self.encode_value()
        if len(value) > 255:
            raise ValueError(f"capability {capability_name(self.code)} value exceeds 255 octets")
        return bytes((self.code, len(value))) + value

    def to_json(self) -> dict[str, Any]:
        """``{"code", "name", "value"}`` (docs/json.md; no ``value`` for flag capabilities)."""
        out: dict[str, Any] = {"code": self.code, "name": capability_name(self.code)}
        value = self.json_value()
        if value is not None:
            out["value"] = value
        return out


CAPABILITY_CLASSES: dict[int, type[Capability]] = {}


def _register(cls: type[C]) -> type[C]:
    CAPABILITY_CLASSES[cls.CODE] = cls
    return cls


def _empty(cls: type[Capability], value: bytes) -> None:
    if value:
        raise CapabilityMalformed(
            f"{capability_name(cls.CODE)} must be empty, got {len(value)} octets"
        )


def _family_json(afi: int, safi: int) -> str:
    return f"{afi_text(afi)}/{safi_text(safi)}"


@_register
@dataclass(frozen=True, slots=True)
class Multiprotocol(Capability):
    CODE: ClassVar[int] = 1
    afi: int
    safi: int
    reserved: int = 0

    @property
    def family(self) -> Family:
        return Family(self.afi, self.safi)

    @classmethod
    def decode_value(cls, value: bytes) -> Multiprotocol:
        if len(value) != 4:
            raise CapabilityMalformed(f"MULTIPROTOCOL must be 4 octets, got {len(value)}")
        return cls(int.from_bytes(value[:2], "big"), value[3], value[2])

    def encode_value(self) -> bytes:
        return self.afi.to_bytes(2, "big") + bytes((self.reserved, self.safi))

    def json_value(self) -> Any:
        return _family_json(self.afi, self.safi)


@_register
@dataclass(frozen=True, slots=True)
class RouteRefreshCapability(Capability):
    CODE: ClassVar[int] = 2

    @classmethod
    def decode_value(cls, value: bytes) -> RouteRefreshCapability:
        _empty(cls, value)
        return cls()

    def encode_value(self) -> bytes:
        return b""


@_register
@dataclass(frozen=True, slots=True)
class RouteRefreshCisco(Capability):
    """The pre-standard route refresh code 128 that Cisco still sends beside code 2."""

    CODE: ClassVar[int] = 128

    @classmethod
    def decode_value(cls, value: bytes) -> RouteRefreshCisco:
        _empty(cls, value)
        return cls()

    def encode_value(self) -> bytes:
        return b""


class ExtendedNextHopEntry(NamedTuple):
    afi: int
    safi: int
    nexthop_afi: int


@_register
@dataclass(frozen=True, slots=True)
class ExtendedNextHop(Capability):
    """RFC 8950: NLRI of (afi, safi) may carry a next hop of ``nexthop_afi`` (IPv4 over IPv6)."""

    CODE: ClassVar[int] = 5
    entries: tuple[ExtendedNextHopEntry, ...]

    @classmethod
    def decode_value(cls, value: bytes) -> ExtendedNextHop:
        if len(value) % 6:
            raise CapabilityMalformed(
                f"EXTENDED_NEXT_HOP length {len(value)} is not a multiple of 6"
            )
        fb = int.from_bytes
        return cls(
            tuple(
                ExtendedNextHopEntry(
                    fb(value[i : i + 2], "big"),
                    fb(value[i + 2 : i + 4], "big"),
                    fb(value[i + 4 : i + 6], "big"),
                )
                for i in range(0, len(value), 6)
            )
        )

    def encode_value(self) -> bytes:
        return b"".join(
            a.to_bytes(2, "big") + s.to_bytes(2, "big") + n.to_bytes(2, "big")
            for a, s, n in self.entries
        )

    def json_value(self) -> Any:
        return [
            {"family": _family_json(a, s), "nexthop_afi": afi_text(n)} for a, s, n in self.entries
        ]


@_register
@dataclass(frozen=True, slots=True)
class ExtendedMessage(Capability):
    CODE: ClassVar[int] = 6

    @classmethod
    def decode_value(cls, value: bytes) -> ExtendedMessage:
        _empty(cls, value)
        return cls()

    def encode_value(self) -> bytes:
        return b""


class BgpRole(enum.IntEnum):
    """RFC 9234 roles."""

    PROVIDER = 0
    ROUTE_SERVER = 1
    ROUTE_SERVER_CLIENT = 2
    CUSTOMER = 3
    PEER = 4


@_register
@dataclass(frozen=True, slots=True)
class Role(Capability):
    CODE: ClassVar[int] = 9
    role: int

    @classmethod
    def decode_value(cls, value: bytes) -> Role:
        if len(value) != 1:
            raise CapabilityMalformed(f"ROLE must be 1 octet, got {len(value)}")
        return cls(value[0])

    def encode_value(self) -> bytes:
        return bytes((self.role,))

    def json_value(self) -> Any:
        try:
            return BgpRole(self.role).name.lower().replace("_", "-")
        except ValueError:
            return self.role


class GracefulRestartFamily(NamedTuple):
    afi: int
    safi: int
    flags: int  # 0x80: forwarding state preserved


GR_RESTART_STATE = 0x8  # R bit
GR_NOTIFICATION = 0x4  # N bit (RFC 8538)
GR_FORWARDING_PRESERVED = 0x80


@_register
@dataclass(frozen=True, slots=True)
class GracefulRestart(Capability):
    """RFC 4724: ``restart_flags`` is the 4-bit R/N field, ``restart_time`` 12 bits of seconds."""

    CODE: ClassVar[int] = 64
    restart_flags: int = 0
    restart_time: int = 120
    families: tuple[GracefulRestartFamily, ...] = ()

    @classmethod
    def decode_value(cls, value: bytes) -> GracefulRestart:
        if len(value) < 2 or (len(value) - 2) % 4:
            raise CapabilityMalformed(
                f"GRACEFUL_RESTART length {len(value)} is not 2 + a multiple of 4"
            )
        head = int.from_bytes(value[:2], "big")
        fams = tuple(
            GracefulRestartFamily(
                int.from_bytes(value[i : i + 2], "big"), value[i + 2], value[i + 3]
            )
            for i in range(2, len(value), 4)
        )
        return cls(head >> 12, head & 0xFFF, fams)

    def encode_value(self) -> bytes:
        head = ((self.restart_flags & 0xF) << 12) | (self.restart_time & 0xFFF)
        return head.to_bytes(2, "big") + b"".join(
            a.to_bytes(2, "big") + bytes((s, f)) for a, s, f in self.families
        )

    def json_value(self) -> Any:
        return {
            "restart_state": bool(self.restart_flags & GR_RESTART_STATE),
            "notification": bool(self.restart_flags & GR_NOTIFICATION),
            "restart_time": self.restart_time,
            "families": [
                {"family": _family_json(a, s), "forwarding_preserved": bool(f & 0x80)}
                for a, s, f in self.families
            ],
        }


@_register
@dataclass(frozen=True, slots=True)
class FourOctetAs(Capability):
    CODE: ClassVar[int] = 65
    asn: int

    @classmethod
    def decode_value(cls, value: bytes) -> FourOctetAs:
        if len(value) != 4:
            raise CapabilityMalformed(f"FOUR_OCTET_AS must be 4 octets, got {len(value)}")
        return cls(int.from_bytes(value, "big"))

    def encode_value(self) -> bytes:
        return self.asn.to_bytes(4, "big")

    def json_value(self) -> Any:
        return self.asn


ADD_PATH_RECEIVE = 1
ADD_PATH_SEND = 2
ADD_PATH_BOTH = 3


class AddPathEntry(NamedTuple):
    afi: int
    safi: int
    send_receive: int  # 1 receive, 2 send, 3 both


@_register
@dataclass(frozen=True, slots=True)
class AddPath(Capability):
    CODE: ClassVar[int] = 69
    entries: tuple[AddPathEntry, ...]

    @classmethod
    def decode_value(cls, value: bytes) -> AddPath:
        if len(value) % 4:
            raise CapabilityMalformed(f"ADD_PATH length {len(value)} is not a multiple of 4")
        return cls(
            tuple(
                AddPathEntry(int.from_bytes(value[i : i + 2], "big"), value[i + 2], value[i + 3])
                for i in range(0, len(value), 4)
            )
        )

    def encode_value(self) -> bytes:
        return b"".join(a.to_bytes(2, "big") + bytes((s, d)) for a, s, d in self.entries)

    def json_value(self) -> Any:
        names = {1: "receive", 2: "send", 3: "send/receive"}
        return [
            {"family": _family_json(a, s), "mode": names.get(d, str(d))} for a, s, d in self.entries
        ]


@_register
@dataclass(frozen=True, slots=True)
class EnhancedRouteRefresh(Capability):
    CODE: ClassVar[int] = 70

    @classmethod
    def decode_value(cls, value: bytes) -> EnhancedRouteRefresh:
        _empty(cls, value)
        return cls()

    def encode_value(self) -> bytes:
        return b""


class LlgrFamily(NamedTuple):
    afi: int
    safi: int
    flags: int
    stale_time: int  # 24 bits of seconds


@_register
@dataclass(frozen=True, slots=True)
class LongLivedGracefulRestart(Capability):
    """RFC 9494."""

    CODE: ClassVar[int] = 71
    families: tuple[LlgrFamily, ...] = ()

    @classmethod
    def decode_value(cls, value: bytes) -> LongLivedGracefulRestart:
        if len(value) % 7:
            raise CapabilityMalformed(
                f"LONG_LIVED_GRACEFUL_RESTART length {len(value)} is not a multiple of 7"
            )
        return cls(
            tuple(
                LlgrFamily(
                    int.from_bytes(value[i : i + 2], "big"),
                    value[i + 2],
                    value[i + 3],
                    int.from_bytes(value[i + 4 : i + 7], "big"),
                )
                for i in range(0, len(value), 7)
            )
        )

    def encode_value(self) -> bytes:
        return b"".join(
            a.to_bytes(2, "big") + bytes((s, f)) + t.to_bytes(3, "big")
            for a, s, f, t in self.families
        )

    def json_value(self) -> Any:
        return [
            {"family": _family_json(a, s), "forwarding_preserved": bool(f & 0x80), "stale_time": t}
            for a, s, f, t in self.families
        ]


def _text(value: bytes) -> str:
    # surrogateescape: any octets survive a decode/encode round trip
    return value.decode("utf-8", "surrogateescape")


def _octets(text: str) -> bytes:
    return text.encode("utf-8", "surrogateescape")


@_register
@dataclass(frozen=True, slots=True)
class Fqdn(Capability):
    """draft-walton-bgp-hostname-capability, as FRR sends it: host name and domain name."""

    CODE: ClassVar[int] = 73
    hostname: str
    domain: str = ""

    @classmethod
    def decode_value(cls, value: bytes) -> Fqdn:
        if not value:
            raise CapabilityMalformed("FQDN is empty")
        hlen = value[0]
        if 1 + hlen + 1 > len(value):
            raise CapabilityMalformed(f"FQDN host name length {hlen} runs past the capability")
        dlen = value[1 + hlen]
        if 2 + hlen + dlen != len(value):
            raise CapabilityMalformed(
                f"FQDN domain length {dlen} does not fill the capability ({len(value)} octets)"
            )
        return cls(_text(value[1 : 1 + hlen]), _text(value[2 + hlen :]))

    def encode_value(self) -> bytes:
        h, d = _octets(self.hostname), _octets(self.domain)
        return bytes((len(h),)) + h + bytes((len(d),)) + d

    def json_value(self) -> Any:
        return {"hostname": self.hostname, "domain": self.domain}


@_register
@dataclass(frozen=True, slots=True)
class SoftwareVersion(Capability):
    """draft-abraitis-bgp-version-capability."""

    CODE: ClassVar[int] = 75
    version: str

    @classmethod
    def decode_value(cls, value: bytes) -> SoftwareVersion:
        if not value or value[0] + 1 != len(value):
            raise CapabilityMalformed(
                f"SOFTWARE_VERSION length octet does not match the capability ({len(value)} octets)"
            )
        return cls(_text(value[1:]))

    def encode_value(self) -> bytes:
        v = _octets(self.version)
        return bytes((len(v),)) + v

    def json_value(self) -> Any:
        return self.version


@dataclass(frozen=True, slots=True)
class UnknownCapability(Capability):
    """A capability bgpspeak does not interpret (or one that failed to parse, see ``malformed``)."""

    capability_code: int
    value: bytes

    @property
    def code(self) -> int:
        return self.capability_code

    def encode_value(self) -> bytes:
        return self.value

    def json_value(self) -> Any:
        return self.value.hex()


def decode_capability(code: int, value: bytes) -> Capability:
    cls = CAPABILITY_CLASSES.get(code)
    if cls is None:
        return UnknownCapability(code, bytes(value))
    return cls.decode_value(value)
