"""The OPEN message, its optional parameters (RFC 4271, RFC 5492) and RFC 9072 extended
optional parameters length.

Capabilities stay grouped as the peer grouped them (one per parameter, or several in one), so a
decoded OPEN re-encodes to the same bytes; :attr:`Open.capabilities` gives the flat list.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any, ClassVar

from .capabilities import (
    Capability,
    CapabilityMalformed,
    FourOctetAs,
    capability_name,
    decode_capability,
)
from .errors import OpenSubcode, open_error
from .family import Context
from .message import OPEN, Message

CAPABILITIES_PARAMETER = 2
EXTENDED_PARAMETERS_MARKER = 255
AS_TRANS = 23456


@dataclass(frozen=True, slots=True)
class CapabilitiesParameter:
    """Optional parameter type 2: one or more capabilities."""

    capabilities: tuple[Capability, ...]

    type: ClassVar[int] = CAPABILITIES_PARAMETER

    def encode_value(self) -> bytes:
        return b"".join(c.encode() for c in self.capabilities)


@dataclass(frozen=True, slots=True)
class UnknownParameter:
    """Any other optional parameter type (the session answers it with Unsupported Optional
    Parameter, RFC 4271 section 6.2); kept so the decode is lossless."""

    param_type: int
    value: bytes

    @property
    def type(self) -> int:
        return self.param_type

    def encode_value(self) -> bytes:
        return self.value


Parameter = CapabilitiesParameter | UnknownParameter


@dataclass(frozen=True, slots=True)
class Open(Message):
    TYPE: ClassVar[int] = OPEN

    asn: int  # the 2-octet My Autonomous System field (AS_TRANS for 4-octet ASes)
    hold_time: int
    bgp_id: ipaddress.IPv4Address
    parameters: tuple[Parameter, ...] = ()
    version: int = 4
    extended_parameters: bool = False  # RFC 9072 encoding was used (or is wanted)

    @classmethod
    def build(
        cls,
        asn: int,
        hold_time: int,
        bgp_id: ipaddress.IPv4Address | str,
        capabilities: tuple[Capability, ...] | list[Capability] = (),
    ) -> Open:
        """An OPEN for ``asn`` (any width: AS_TRANS goes in the 2-octet field when needed, and
        the 4-octet AS capability is added if missing) with all capabilities in one parameter;
        RFC 9072 encoding is chosen automatically when they exceed 255 octets."""
        caps = list(capabilities)
        if not any(isinstance(c, FourOctetAs) for c in caps):
            caps.append(FourOctetAs(asn))
        params: tuple[Parameter, ...] = (CapabilitiesParameter(tuple(caps)),)
        ext = len(params[0].encode_value()) + 2 > 255
        return cls(
            asn if asn <= 0xFFFF else AS_TRANS,
            hold_time,
            ipaddress.IPv4Address(bgp_id),
            params,
            4,
            ext,
        )

    @property
    def capabilities(self) -> tuple[Capability, ...]:
        return tuple(
            c
            for p in self.parameters
            if isinstance(p, CapabilitiesParameter)
            for c in p.capabilities
        )

    def capability(self, code: int) -> Capability | None:
        for c in self.capabilities:
            if c.code == code:
                return c
        return None

    @property
    def effective_asn(self) -> int:
        """The sender's AS: from the 4-octet AS capability when present."""
        cap = self.capability(65)
        return cap.asn if isinstance(cap, FourOctetAs) else self.asn

    @classmethod
    def decode_body(cls, body: bytes, ctx: Context | None = None) -> Open:
        n = len(body)
        if n < 10:
            raise open_error(
                OpenSubcode.UNSPECIFIC, f"OPEN body of {n} octets is shorter than 10", "open"
            )
        version = body[0]
        asn = int.from_bytes(body[1:3], "big")
        hold = int.from_bytes(body[3:5], "big")
        bgp_id = ipaddress.IPv4Address(body[5:9])
        optlen = body[9]
        pos = 10
        extended = False
        if (
            n > 10
            and optlen == EXTENDED_PARAMETERS_MARKER
            and body[10] == EXTENDED_PARAMETERS_MARKER
        ):
            # RFC 9072: 255, 255 (Non-Ext OP Type), then a 2-octet length
            if n < 13:
                raise open_error(
                    OpenSubcode.UNSPECIFIC,
                    "extended optional parameters length is truncated",
                    "open.optional_parameters_length",
                )
            extended = True
            optlen = int.from_bytes(body[11:13], "big")
            pos = 13
        if pos + optlen != n:
            raise open_error(
                OpenSubcode.UNSPECIFIC,
                f"optional parameters length {optlen} does not match the {n - pos} octets present",
                "open.optional_parameters_length",
            )
        params: list[Parameter] = []
        hdr = 3 if extended else 2
        while pos < n:
            where = f"open.parameters[{len(params)}]"
            if n - pos < hdr:
                raise open_error(
                    OpenSubcode.UNSPECIFIC, "optional parameter header is truncated", where
                )
            ptype = body[pos]
            plen = int.from_bytes(body[pos + 1 : pos + hdr], "big")
            start = pos + hdr
            end = start + plen
            if end > n:
                raise open_error(
                    OpenSubcode.UNSPECIFIC,
                    f"parameter length {plen} runs past the optional parameters ({n - start} left)",
                    where,
                )
            value = body[start:end]
            pos = end
            if ptype == CAPABILITIES_PARAMETER:
                params.append(CapabilitiesParameter(_decode_capabilities(value, where)))
            else:
                params.append(UnknownParameter(ptype, bytes(value)))
        return cls(asn, hold, bgp_id, tuple(params), version, extended)

    def encode_body(self, ctx: Context) -> bytes:
        encoded = [(p.type, p.encode_value()) for p in self.parameters]
        if self.extended_parameters:
            opt = b"".join(bytes((t,)) + len(v).to_bytes(2, "big") + v for t, v in encoded)
            optfield = bytes((255, 255)) + len(opt).to_bytes(2, "big")
        else:
            for t, v in encoded:
                if len(v) > 255:
                    raise ValueError(
                        f"optional parameter {t} exceeds 255 octets: use extended_parameters"
                    )
            opt = b"".join(bytes((t, len(v))) + v for t, v in encoded)
            if len(opt) > 255:
                raise ValueError("optional parameters exceed 255 octets: use extended_parameters")
            optfield = bytes((len(opt),))
        return (
            bytes((self.version,))
            + self.asn.to_bytes(2, "big")
            + self.hold_time.to_bytes(2, "big")
            + self.bgp_id.packed
            + optfield
            + opt
        )

    def json_body(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "version": self.version,
            "asn": self.effective_asn,
            "my_as_field": self.asn,
            "hold_time": self.hold_time,
            "bgp_id": str(self.bgp_id),
            "capabilities": [c.to_json() for c in self.capabilities],
        }
        other = [p for p in self.parameters if isinstance(p, UnknownParameter)]
        if other:
            out["unknown_parameters"] = [
                {"type": p.param_type, "value": p.value.hex()} for p in other
            ]
        if self.extended_parameters:
            out["extended_parameters"] = True
        return out


def _decode_capabilities(value: bytes, where: str) -> tuple[Capability, ...]:
    caps: list[Capability] = []
    i = 0
    n = len(value)
    while i < n:
        here = f"{where}.capabilities[{len(caps)}]"
        if n - i < 2:
            raise open_error(OpenSubcode.UNSPECIFIC, "capability header is truncated", here)
        code = value[i]
        clen = value[i + 1]
        if i + 2 + clen > n:
            raise open_error(
                OpenSubcode.UNSPECIFIC,
                f"{capability_name(code)} length {clen} runs past the parameter ({n - i - 2} left)",
                here,
            )
        try:
            caps.append(decode_capability(code, value[i + 2 : i + 2 + clen]))
        except CapabilityMalformed as e:
            raise open_error(
                OpenSubcode.UNSPECIFIC,
                e.reason,
                f"{here}({capability_name(code)})",
                value[i : i + 2 + clen],
            ) from None
        i += 2 + clen
    return tuple(caps)
