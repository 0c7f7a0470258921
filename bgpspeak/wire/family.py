"""Address families and the per-session decoding context.

Wire values stay plain ``int`` in messages (a peer may send any AFI/SAFI and we keep it); the
enums give names to the ones we know, for JSON and for people.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import NamedTuple


class AFI(enum.IntEnum):
    """Address Family Identifiers (IANA) the codec names."""

    IPV4 = 1
    IPV6 = 2
    L2VPN = 25
    BGP_LS = 16388


class SAFI(enum.IntEnum):
    """Subsequent Address Family Identifiers (IANA) the codec names."""

    UNICAST = 1
    MULTICAST = 2
    MPLS_LABEL = 4
    MCAST_VPN = 5
    VPLS = 65
    MDT = 66
    EVPN = 70
    BGP_LS = 71
    BGP_LS_VPN = 72
    SR_POLICY = 73
    MUP = 85
    MPLS_VPN = 128
    MCAST_MPLS_VPN = 129
    ROUTE_TARGET = 132
    FLOWSPEC = 133
    FLOWSPEC_VPN = 134


_AFI_TEXT = {1: "ipv4", 2: "ipv6", 25: "l2vpn", 16388: "bgp-ls"}
_SAFI_TEXT = {
    1: "unicast",
    2: "multicast",
    4: "labeled-unicast",
    5: "mcast-vpn",
    65: "vpls",
    66: "mdt",
    70: "evpn",
    71: "bgp-ls",
    72: "bgp-ls-vpn",
    73: "sr-policy",
    85: "mup",
    128: "vpn",
    129: "multicast-vpn",
    132: "rtc",
    133: "flowspec",
    134: "flowspec-vpn",
}
_AFI_BY_TEXT = {v: k for k, v in _AFI_TEXT.items()}
_SAFI_BY_TEXT = {v: k for k, v in _SAFI_TEXT.items()}


def afi_text(afi: int) -> str:
    return _AFI_TEXT.get(afi, f"afi-{afi}")


def safi_text(safi: int) -> str:
    return _SAFI_TEXT.get(safi, f"safi-{safi}")


class Family(NamedTuple):
    """An (AFI, SAFI) pair; ``str()`` gives the ``ipv4/unicast`` form used in configs and JSON."""

    afi: int
    safi: int

    def __str__(self) -> str:
        return f"{afi_text(self.afi)}/{safi_text(self.safi)}"

    @classmethod
    def parse(cls, text: str) -> Family:
        """Parse ``ipv4/unicast``, ``ipv6/unicast``, ``1/1`` or ``afi-25/safi-70``."""
        try:
            a, s = text.strip().lower().split("/")
        except ValueError:
            raise ValueError(f"{text!r} is not an AFI/SAFI (expected e.g. ipv4/unicast)") from None

        def one(word: str, table: dict[str, int], tag: str) -> int:
            if word in table:
                return table[word]
            word = word.removeprefix(tag + "-")
            if word.isdigit():
                return int(word)
            raise ValueError(f"{text!r}: unknown {tag.upper()} {word!r}")

        return cls(one(a, _AFI_BY_TEXT, "afi"), one(s, _SAFI_BY_TEXT, "safi"))


IPV4_UNICAST = Family(1, 1)
IPV6_UNICAST = Family(2, 1)
IPV4_MULTICAST = Family(1, 2)
IPV6_MULTICAST = Family(2, 2)

#: Families whose NLRI bgpspeak decodes into :class:`~bgpspeak.wire.prefix.Prefix` values;
#: NLRI of every other family is kept as raw bytes.
PREFIX_FAMILIES = frozenset({IPV4_UNICAST, IPV6_UNICAST, IPV4_MULTICAST, IPV6_MULTICAST})


@dataclass(frozen=True, slots=True)
class Context:
    """What one direction of a session negotiated, as far as the wire format depends on it.

    Passed explicitly to every decode and encode call. ``add_path`` holds the families whose NLRI
    carry a path identifier in this direction (RFC 7911). ``ibgp`` changes only how a malformed
    LOCAL_PREF is handled (RFC 7606 section 7.5).
    """

    asn4: bool = True
    add_path: frozenset[Family] = field(default_factory=frozenset)
    extended_message: bool = False
    ibgp: bool = False

    @property
    def max_message_length(self) -> int:
        return 65535 if self.extended_message else 4096


DEFAULT_CONTEXT = Context()
