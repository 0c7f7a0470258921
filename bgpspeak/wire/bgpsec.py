"""BGPsec_PATH (RFC 8205): the signed replacement of AS_PATH.

bgpspeak does not validate signatures; it checks the attribute's structure, because a BGPsec
UPDATE carries no AS_PATH and a speaker still needs the AS path (for loop detection and path
length) and must pass malformed ones to RFC 8205 section 5.2's treat-as-withdraw.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, NamedTuple

from .aspath import AS_CONFED_SEQUENCE, AS_SEQUENCE, AsPath, AsPathSegment
from .attribute import EXTENDED_LENGTH, OPTIONAL, AttributeMalformed, PathAttribute, register
from .errors import UpdateSubcode
from .family import Context

SECURE_PATH_SEGMENT_LENGTH = 6
SKI_LENGTH = 20
#: Secure_Path segment flag: the AS belongs to a confederation (RFC 8205 section 3.1)
CONFED_SEGMENT = 0x80


class SecurePathSegment(NamedTuple):
    pcount: int  # how many times the AS appears in the path (prepending)
    flags: int
    asn: int


class SignatureSegment(NamedTuple):
    ski: bytes  # Subject Key Identifier of the router certificate, 20 octets
    signature: bytes


class SignatureBlock(NamedTuple):
    algorithm: int  # algorithm suite identifier
    segments: tuple[SignatureSegment, ...]


def _malformed(reason: str) -> AttributeMalformed:
    return AttributeMalformed(f"BGPSEC_PATH: {reason}", UpdateSubcode.MALFORMED_AS_PATH)


def _decode_signature_block(value: bytes, pos: int) -> tuple[SignatureBlock, int]:
    n = len(value)
    if n - pos < 3:
        raise _malformed(f"signature block at offset {pos} is truncated")
    blen = int.from_bytes(value[pos : pos + 2], "big")
    end = pos + blen
    if blen < 3 or end > n:
        raise _malformed(
            f"signature block length {blen} at offset {pos} is not between 3 and {n - pos}"
        )
    algorithm = value[pos + 2]
    segments: list[SignatureSegment] = []
    i = pos + 3
    while i < end:
        if end - i < SKI_LENGTH + 2:
            raise _malformed(f"signature segment at offset {i} is truncated")
        slen = int.from_bytes(value[i + SKI_LENGTH : i + SKI_LENGTH + 2], "big")
        sig_start = i + SKI_LENGTH + 2
        if slen == 0 or sig_start + slen > end:
            raise _malformed(f"signature length {slen} at offset {i} does not fit its block")
        segments.append(
            SignatureSegment(
                bytes(value[i : i + SKI_LENGTH]), bytes(value[sig_start : sig_start + slen])
            )
        )
        i = sig_start + slen
    return SignatureBlock(algorithm, tuple(segments)), end


@register
@dataclass(frozen=True, slots=True)
class BgpsecPath(PathAttribute):
    """BGPsec_PATH: the Secure_Path (who the route went through) and one or two signature
    blocks (one per algorithm suite), each with one signature per Secure_Path segment."""

    TYPE_CODE: ClassVar[int] = 33
    NAME: ClassVar[str] = "BGPSEC_PATH"
    DEFAULT_FLAGS: ClassVar[int] = OPTIONAL

    secure_path: tuple[SecurePathSegment, ...]
    signature_blocks: tuple[SignatureBlock, ...]
    flags: int = OPTIONAL | EXTENDED_LENGTH

    @classmethod
    def decode_value(cls, value: bytes, flags: int, ctx: Context) -> BgpsecPath:
        n = len(value)
        if n < 2:
            raise _malformed(f"{n} octets is too short for the Secure_Path length")
        plen = int.from_bytes(value[:2], "big")
        count, rest = divmod(plen - 2, SECURE_PATH_SEGMENT_LENGTH)
        if plen > n or count < 1 or rest:
            raise _malformed(f"Secure_Path length {plen} is not 2 + 6 x segments within {n}")
        path = tuple(
            SecurePathSegment(value[i], value[i + 1], int.from_bytes(value[i + 2 : i + 6], "big"))
            for i in range(2, plen, SECURE_PATH_SEGMENT_LENGTH)
        )
        blocks: list[SignatureBlock] = []
        pos = plen
        while pos < n:
            if len(blocks) == 2:
                raise _malformed("more than two signature blocks")
            block, pos = _decode_signature_block(value, pos)
            blocks.append(block)
        if not blocks:
            raise _malformed("no signature block")
        for block in blocks:
            if len(block.segments) != len(path):
                raise _malformed(
                    f"{len(block.segments)} signatures for {len(path)} Secure_Path segments"
                )
        return cls(path, tuple(blocks), flags)

    def encode_value(self, ctx: Context) -> bytes:
        out = bytearray((2 + SECURE_PATH_SEGMENT_LENGTH * len(self.secure_path)).to_bytes(2, "big"))
        for pcount, seg_flags, asn in self.secure_path:
            out += bytes((pcount, seg_flags)) + asn.to_bytes(4, "big")
        for algorithm, segments in self.signature_blocks:
            body = b"".join(ski + len(sig).to_bytes(2, "big") + sig for ski, sig in segments)
            out += (3 + len(body)).to_bytes(2, "big") + bytes((algorithm,)) + body
        return bytes(out)

    def as_path(self) -> AsPath:
        """The AS path the Secure_Path stands for: each AS repeated pCount times, confederation
        members in AS_CONFED_SEQUENCE segments (RFC 8205 section 4.4 conversion)."""
        segments: list[AsPathSegment] = []
        for pcount, seg_flags, asn in self.secure_path:
            kind = AS_CONFED_SEQUENCE if seg_flags & CONFED_SEGMENT else AS_SEQUENCE
            asns = (asn,) * pcount
            if not asns:
                continue
            if segments and segments[-1].type == kind and len(segments[-1].asns) + pcount <= 255:
                segments[-1] = AsPathSegment(kind, segments[-1].asns + asns)
            else:
                segments.append(AsPathSegment(kind, asns))
        return AsPath(tuple(segments))

    def json_value(self) -> Any:
        return {
            "secure_path": [
                {"pcount": p, "confed": bool(f & CONFED_SEGMENT), "asn": a}
                for p, f, a in self.secure_path
            ],
            "signature_blocks": [
                {
                    "algorithm": alg,
                    "signatures": [{"ski": ski.hex(), "signature": sig.hex()} for ski, sig in segs],
                }
                for alg, segs in self.signature_blocks
            ],
        }
