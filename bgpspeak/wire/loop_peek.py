"""Recognise, from its raw bytes, an UPDATE that only announces routes looped through our AS.

Why: an eBGP neighbor such as FRR advertises our own routes back to us with its AS in front
(``neighbor ... sender-as-path-loop-detection`` is off by default), so after we send a full
table we receive it all again. Each of those UPDATEs carries a distinct attribute set, so the
attribute cache does not help: decoding them (communities, AS paths, NLRI) cost about as much
CPU as sending the table. RFC 4271 section 9.1.2 makes every such route unfeasible (our AS is
in its AS_PATH), and with no route of ours stored from that neighbor there is nothing for it to
replace: the UPDATE can be dropped without being decoded.

Only the plain case is recognised: IPv4 NLRI in the NLRI field, no withdrawn routes, no
MP_REACH/MP_UNREACH, no AS4_PATH/AS4_AGGREGATOR, only attributes whose checks are simple
enough to repeat here. Each of them is checked as the decoder checks it (flags, length,
value where the length is not enough), the NLRI field must be canonical and the attribute
section must be exactly framed. Anything else, malformed or merely unusual, answers False,
and the full decoder then reports the error (RFC 7606) or finds the loop itself: this check
never changes how a message is judged, only how fast a well-formed looped one is dropped.
"""

from __future__ import annotations

from .attribute import OPTIONAL, TRANSITIVE
from .prefix_run import run_class

_KIND = OPTIONAL | TRANSITIVE
_WELL_KNOWN = TRANSITIVE  # well-known attributes: not optional, transitive
_OPT_TRANS = OPTIONAL | TRANSITIVE
_OPT = OPTIONAL


# the decoders' value rules (wire/attributes.py, wire/communities.py), as (kind, n): EXACT:
# exactly n octets, MULTIPLE: a positive multiple of n, ORIGIN: one octet of 0-2, AGGREGATOR:
# an AS of the session's width and an address
EXACT, MULTIPLE, ORIGIN, AGGREGATOR = 0, 1, 2, 3

#: type code -> (the optional/transitive flag bits it must have, kind, n)
_CHECKS: dict[int, tuple[int, int, int]] = {
    1: (_WELL_KNOWN, ORIGIN, 1),
    3: (_WELL_KNOWN, EXACT, 4),  # NEXT_HOP
    4: (_OPT, EXACT, 4),  # MULTI_EXIT_DISC
    5: (_WELL_KNOWN, EXACT, 4),  # LOCAL_PREF
    6: (_WELL_KNOWN, EXACT, 0),  # ATOMIC_AGGREGATE
    7: (_OPT_TRANS, AGGREGATOR, 4),
    8: (_OPT_TRANS, MULTIPLE, 4),  # COMMUNITIES
    9: (_OPT, EXACT, 4),  # ORIGINATOR_ID
    10: (_OPT, MULTIPLE, 4),  # CLUSTER_LIST
    16: (_OPT_TRANS, MULTIPLE, 8),  # EXTENDED_COMMUNITIES
    32: (_OPT_TRANS, MULTIPLE, 12),  # LARGE_COMMUNITY
}
_AS_PATH = 2
_REQUIRED = (1 << 1) | (1 << 2) | (1 << 3)  # ORIGIN, AS_PATH, NEXT_HOP: NLRI needs them
_V4_NLRI = run_class(1, False)._match


def _path_holds(body: bytes, i: int, n: int, width: int, asn: bytes) -> bool | None:
    """Whether the well-formed AS_PATH value ``body[i:n]`` holds ``asn`` (its ``width``
    octets) in any segment; None when the value is malformed (the decoder's rules: known
    segment types, no empty segment, segments filling the value exactly)."""
    found = False
    while i < n:
        if n - i < 2:
            return None
        stype, count = body[i], body[i + 1]
        if not 1 <= stype <= 4 or count == 0:
            return None
        start = i + 2
        i = start + count * width
        if i > n:
            return None
        if not found:
            # a C-speed search, then whether the hit is aligned on an AS of this segment
            at = body.find(asn, start, i)
            while at >= 0:
                if (at - start) % width == 0:
                    found = True
                    break
                at = body.find(asn, at + 1, i)
    return found


def looped_announcement(body: bytes, local_as: int, asn4: bool) -> bool:
    """True when the UPDATE ``body`` (after the 19-octet header) is a well-formed plain IPv4
    announcement whose AS_PATH holds ``local_as``; False otherwise, including whenever the
    message needs the full decoder to be judged (see the module docstring). ``asn4``: the
    session's AS width (4-octet ASNs both ways); ADD-PATH receive for IPv4 is the caller's to
    rule out."""
    n = len(body)
    if n < 4 or body[0] or body[1]:
        return False  # too short, or withdrawn routes: the decoder's case
    alen = (body[2] << 8) | body[3]
    aend = 4 + alen
    if aend >= n or not _V4_NLRI(body[aend:]):
        return False  # overrun, no NLRI (End-of-RIB, MP), or a non-canonical NLRI field
    width = 4 if asn4 else 2
    if local_as >= 1 << (8 * width):
        return False  # AS_TRANS on a 2-octet session: AS4_PATH decides, the decoder's case
    asn = local_as.to_bytes(width, "big")
    seen = 0
    looped = False
    checks = _CHECKS
    i = 4
    while i < aend:
        if aend - i < 3:
            return False
        flags, code = body[i], body[i + 1]
        if flags & 0x10:  # extended length
            if aend - i < 4:
                return False
            start = i + 4
            vlen = (body[i + 2] << 8) | body[i + 3]
        else:
            start = i + 3
            vlen = body[i + 2]
        end = start + vlen
        bit = 1 << code
        if end > aend or seen & bit:
            return False  # overrun, or a repeated attribute
        seen |= bit
        if code == _AS_PATH:
            if flags & _KIND != _WELL_KNOWN:
                return False
            holds = _path_holds(body, start, end, width, asn)
            if holds is None:
                return False
            looped = holds
        else:
            check = checks.get(code)
            if check is None or flags & _KIND != check[0]:
                return False
            kind, k = check[1], check[2]
            if kind == EXACT:
                ok = vlen == k
            elif kind == MULTIPLE:
                ok = vlen > 0 and vlen % k == 0
            elif kind == ORIGIN:
                ok = vlen == 1 and body[start] <= 2
            else:
                ok = vlen == width + 4
            if not ok:
                return False
        i = end
    return looped and seen & _REQUIRED == _REQUIRED


def nlri_keys(body: bytes) -> list[int]:
    """The prefix keys (``address << 8 | length``, see
    :func:`~bgpspeak.route_store.prefix_key`) of the NLRI field of an UPDATE body that
    :func:`looped_announcement` accepted (its field is canonical)."""
    i = 4 + ((body[2] << 8) | body[3])
    n = len(body)
    keys: list[int] = []
    append = keys.append
    while i < n:
        length = body[i]
        nb = (length + 7) >> 3
        addr = int.from_bytes(body[i + 1 : i + 1 + nb], "big") << (32 - 8 * nb)
        append((addr << 8) | length)
        i += 1 + nb
    return keys
