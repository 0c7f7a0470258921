"""COMMUNITIES (RFC 1997), EXTENDED_COMMUNITIES (RFC 4360) and LARGE_COMMUNITY (RFC 8092).

Values are kept as plain integers (and triples for large communities) in wire order: compact,
hashable, and exactly what goes back on the wire. Text forms are for configs and JSON.
"""

from __future__ import annotations

import ipaddress
import re
import struct
from dataclasses import dataclass
from typing import Any, ClassVar

from .attribute import OPTIONAL, TRANSITIVE, AttributeMalformed, PathAttribute, register
from .family import Context

WELL_KNOWN_COMMUNITIES: dict[int, str] = {
    0xFFFF0000: "graceful-shutdown",  # RFC 8326
    0xFFFF0001: "accept-own",  # RFC 7611
    0xFFFF0002: "route-filter-translated-v4",
    0xFFFF0003: "route-filter-v4",
    0xFFFF0004: "route-filter-translated-v6",
    0xFFFF0005: "route-filter-v6",
    0xFFFF0006: "llgr-stale",  # RFC 9494
    0xFFFF0007: "no-llgr",
    0xFFFF0008: "accept-own-nexthop",
    0xFFFF029A: "blackhole",  # RFC 7999
    0xFFFFFF01: "no-export",
    0xFFFFFF02: "no-advertise",
    0xFFFFFF03: "no-export-subconfed",
    0xFFFFFF04: "no-peer",  # RFC 3765
}
_COMMUNITY_BY_NAME = {v: k for k, v in WELL_KNOWN_COMMUNITIES.items()}

GRACEFUL_SHUTDOWN = 0xFFFF0000
NO_EXPORT = 0xFFFFFF01
NO_ADVERTISE = 0xFFFFFF02
BLACKHOLE = 0xFFFF029A


def _not_empty(attr: Communities | ExtendedCommunities | LargeCommunities) -> None:
    """An empty list is malformed on the wire (RFC 7606 7.8 and 7.14, RFC 8092 section 6): the
    peer would withdraw the routes; leave the attribute out instead."""
    if not attr.values:
        raise ValueError(f"{attr.NAME} with no value is malformed: leave the attribute out")


def community_text(value: int) -> str:
    return f"{value >> 16}:{value & 0xFFFF}"


_DECIMAL = re.compile(r"[0-9]+")
_HEX = re.compile(r"0x[0-9a-f]+")


def _number(word: str, limit: int) -> int:
    """A plain ASCII decimal number up to ``limit``. (``int()`` also takes signs, ``_``,
    spaces and every script's digits: a config typo must not become a different value.)"""
    if not _DECIMAL.fullmatch(word):
        raise ValueError(word)
    value = int(word)
    if value > limit:
        raise ValueError(word)
    return value


def parse_community(text: str) -> int:
    """``'65000:100'``, a well-known name (``no-export``), a 32-bit decimal number or ``0x``
    and hex digits."""
    t = text.strip().lower()
    if t in _COMMUNITY_BY_NAME:
        return _COMMUNITY_BY_NAME[t]
    try:
        if ":" in t:
            hi, lo = t.split(":")
            return (_number(hi, 0xFFFF) << 16) | _number(lo, 0xFFFF)
        if _HEX.fullmatch(t):
            value = int(t, 16)
            if value > 0xFFFFFFFF:
                raise ValueError(t)
            return value
        return _number(t, 0xFFFFFFFF)
    except ValueError:
        raise ValueError(f"{text!r} is not a community (expected ASN:VALUE or a name)") from None


@register
@dataclass(frozen=True, slots=True)
class Communities(PathAttribute):
    TYPE_CODE: ClassVar[int] = 8
    NAME: ClassVar[str] = "COMMUNITIES"

    values: tuple[int, ...]
    flags: int = OPTIONAL | TRANSITIVE

    @classmethod
    def decode_value(cls, value: bytes, flags: int, ctx: Context) -> Communities:
        n = len(value)
        if n == 0 or n % 4:
            raise AttributeMalformed(f"COMMUNITIES length {n} is not a positive multiple of 4")
        return cls(tuple(int.from_bytes(value[i : i + 4], "big") for i in range(0, n, 4)), flags)

    def encode_value(self, ctx: Context) -> bytes:
        _not_empty(self)
        return b"".join(v.to_bytes(4, "big") for v in self.values)

    def json_value(self) -> Any:
        return [community_text(v) for v in self.values]


# --- extended communities ---------------------------------------------------------------------

_EXT_NAMES = {
    # (type, subtype): name; transitive two-octet AS / IPv4 / four-octet AS specific
    (0x00, 0x02): "target",
    (0x00, 0x03): "origin",
    (0x01, 0x02): "target",
    (0x01, 0x03): "origin",
    (0x02, 0x02): "target",
    (0x02, 0x03): "origin",
    (0x00, 0x05): "ospf-domain",
    (0x40, 0x04): "link-bandwidth",
    (0x00, 0x04): "link-bandwidth",
    (0x00, 0x08): "redirect",
    (0x01, 0x08): "redirect",
    (0x02, 0x08): "redirect",
}


def ext_community_text(value: int) -> str:
    """A readable form of the common kinds (``target:65000:100``, ``origin:192.0.2.1:7``,
    ``link-bandwidth:65000:1e+09``, ``encap:8``, ``rate-limit:0``...), else ``0x`` and 16 hex
    digits."""
    t = (value >> 56) & 0xFF
    st = (value >> 48) & 0xFF
    low48 = value & 0xFFFFFFFFFFFF
    name = _EXT_NAMES.get((t, st))
    if t in (0x00, 0x40) and st == 0x04:
        asn = low48 >> 32
        bw = struct.unpack("!f", (low48 & 0xFFFFFFFF).to_bytes(4, "big"))[0]
        return f"link-bandwidth:{asn}:{bw:g}"
    if name and t in (0x00, 0x40):
        return f"{name}:{low48 >> 32}:{low48 & 0xFFFFFFFF}"
    if name and t in (0x01, 0x41):
        return f"{name}:{ipaddress.IPv4Address(low48 >> 16)}:{low48 & 0xFFFF}"
    if name and t in (0x02, 0x42):
        asn = low48 >> 16
        # an "L" marks a 4-octet AS below 65536, which would otherwise read back as type 0x00
        return f"{name}:{asn}{'L' if asn <= 0xFFFF else ''}:{low48 & 0xFFFF}"
    if t == 0x03 and st == 0x0C:
        return f"encap:{low48 & 0xFFFF}"
    if t == 0x06 and st == 0x00:  # EVPN MAC mobility
        return f"mac-mobility:{low48 & 0xFFFFFFFF}"
    if t == 0x80 and st == 0x06:
        rate = struct.unpack("!f", (low48 & 0xFFFFFFFF).to_bytes(4, "big"))[0]
        return f"rate-limit:{rate:g}"
    if t == 0x80 and st == 0x07:
        return f"traffic-action:{low48 & 0xFF}"
    if t == 0x80 and st == 0x08:
        return f"redirect:{low48 >> 32}:{low48 & 0xFFFFFFFF}"
    if t == 0x80 and st == 0x09:
        return f"mark:{low48 & 0x3F}"
    return f"0x{value:016x}"


def parse_ext_community(text: str) -> int:
    """``target:65000:100``, ``origin:192.0.2.1:7``, ``target:4200000000:1``, ``target:100L:1``
    (the 4-octet AS form of an AS below 65536) or ``0x`` and up to 16 hex digits."""
    t = text.strip().lower()
    try:
        if t.startswith("0x"):
            if not _HEX.fullmatch(t) or len(t) > 18:
                raise ValueError(t)
            return int(t, 16)
        kind, admin, num = t.split(":")
        sub = {"target": 0x02, "rt": 0x02, "origin": 0x03, "soo": 0x03}[kind]
        if "." in admin:
            ip = int(ipaddress.IPv4Address(admin))
            return (0x01 << 56) | (sub << 48) | (ip << 16) | _number(num, 0xFFFF)
        if admin.endswith("l"):
            asn = _number(admin[:-1], 0xFFFFFFFF)
            return (0x02 << 56) | (sub << 48) | (asn << 16) | _number(num, 0xFFFF)
        asn = _number(admin, 0xFFFFFFFF)
        if asn <= 0xFFFF:
            return (0x00 << 56) | (sub << 48) | (asn << 32) | _number(num, 0xFFFFFFFF)
        return (0x02 << 56) | (sub << 48) | (asn << 16) | _number(num, 0xFFFF)
    except (ValueError, KeyError):
        raise ValueError(
            f"{text!r} is not an extended community (target:ASN:N, origin:IP:N or 0x...)"
        ) from None


@register
@dataclass(frozen=True, slots=True)
class ExtendedCommunities(PathAttribute):
    TYPE_CODE: ClassVar[int] = 16
    NAME: ClassVar[str] = "EXTENDED_COMMUNITIES"

    values: tuple[int, ...]
    flags: int = OPTIONAL | TRANSITIVE

    @classmethod
    def decode_value(cls, value: bytes, flags: int, ctx: Context) -> ExtendedCommunities:
        n = len(value)
        if n == 0 or n % 8:
            raise AttributeMalformed(
                f"EXTENDED_COMMUNITIES length {n} is not a positive multiple of 8"
            )
        return cls(tuple(int.from_bytes(value[i : i + 8], "big") for i in range(0, n, 8)), flags)

    def encode_value(self, ctx: Context) -> bytes:
        _not_empty(self)
        return b"".join(v.to_bytes(8, "big") for v in self.values)

    def json_value(self) -> Any:
        return [ext_community_text(v) for v in self.values]


# --- large communities ------------------------------------------------------------------------


def parse_large_community(text: str) -> tuple[int, int, int]:
    """``"65000:1:2"`` -> ``(65000, 1, 2)`` (RFC 8092: three 32-bit numbers);
    ``ValueError`` naming the text otherwise."""
    try:
        a, b, c = (_number(x, 0xFFFFFFFF) for x in text.strip().split(":"))
        return (a, b, c)
    except ValueError:
        pass
    raise ValueError(f"{text!r} is not a large community (expected GLOBAL:LOCAL1:LOCAL2)")


@register
@dataclass(frozen=True, slots=True)
class LargeCommunities(PathAttribute):
    TYPE_CODE: ClassVar[int] = 32
    NAME: ClassVar[str] = "LARGE_COMMUNITY"

    values: tuple[tuple[int, int, int], ...]
    flags: int = OPTIONAL | TRANSITIVE

    @classmethod
    def decode_value(cls, value: bytes, flags: int, ctx: Context) -> LargeCommunities:
        n = len(value)
        if n == 0 or n % 12:
            raise AttributeMalformed(f"LARGE_COMMUNITY length {n} is not a positive multiple of 12")
        fb = int.from_bytes
        return cls(
            tuple(
                (
                    fb(value[i : i + 4], "big"),
                    fb(value[i + 4 : i + 8], "big"),
                    fb(value[i + 8 : i + 12], "big"),
                )
                for i in range(0, n, 12)
            ),
            flags,
        )

    def encode_value(self, ctx: Context) -> bytes:
        _not_empty(self)
        return b"".join(
            a.to_bytes(4, "big") + b.to_bytes(4, "big") + c.to_bytes(4, "big")
            for a, b, c in self.values
        )

    def json_value(self) -> Any:
        return [f"{a}:{b}:{c}" for a, b, c in self.values]
