"""Codec benchmark worker for ExaBGP 5 (run by ``codec.py`` inside ``.venv-exabgp``).

ExaBGP decodes with its own message classes exactly as its reactor does after framing:
``Update.unpack_message(body, Direction.IN, negotiated)``. The ``Negotiated`` object is built
the way ExaBGP builds it for a live session, from a sent and a received OPEN, whose
capabilities carry what the MRT subtype says: 4-octet AS (both OPENs announce it, or neither)
and ADD-PATH send/receive for the families the subtype covers; both OPENs carry the same AS
when the recorded session was iBGP. Every family ExaBGP knows is
negotiated, so no message is refused for its family. Encoding runs ExaBGP's own UPDATE
generator, ``Update.messages(negotiated)``, over the decoded routes.

ExaBGP's configurable attribute cache (``exabgp.cache.attributes``, on by default) is switched
per worker process through that environment variable.
Logging is silenced the way ExaBGP's own ``decode`` command does it, its cheapest setting.
"""

from __future__ import annotations

import os
import sys

# The driver sets exabgp.cache.attributes in this process's environment; ExaBGP reads its
# environment once, on first use. No site configuration file may change the run.
os.environ["EXABGP_ENVFILE"] = os.devnull
_CACHE_VAR = "exabgp.cache.attributes"
_CACHE = "off" if os.environ.get(_CACHE_VAR, "true").lower() in ("false", "0", "no") else "on"

from importlib.metadata import version  # noqa: E402
from typing import Any  # noqa: E402

from codec_harness import (  # noqa: E402
    ContextSpec,
    Pack,
    Prepare,
    TimedPass,
    Variant,
    worker_main,
)
from exabgp.bgp.message.direction import Direction  # noqa: E402
from exabgp.bgp.message.notification import Notify  # noqa: E402
from exabgp.bgp.message.open import ASN, HoldTime, Open, RouterID, Version  # noqa: E402
from exabgp.bgp.message.open.capability import Capabilities, Capability, Negotiated  # noqa: E402
from exabgp.bgp.message.open.capability.addpath import AddPath  # noqa: E402
from exabgp.bgp.message.open.capability.asn4 import ASN4  # noqa: E402
from exabgp.bgp.message.open.capability.extended import ExtendedMessage  # noqa: E402
from exabgp.bgp.message.open.capability.mp import MultiProtocol  # noqa: E402
from exabgp.bgp.message.update import EOR, Update  # noqa: E402
from exabgp.bgp.message.update.attribute import Attribute  # noqa: E402
from exabgp.bgp.message.update.nlri import NLRI  # noqa: E402
from exabgp.logger import log  # noqa: E402
from exabgp.protocol.family import AFI, SAFI  # noqa: E402

log.silence()

_LOCAL_AS = 65000
_PEER_AS = 65001
_SEND_RECEIVE = 3
_HEADER = 19


class _Neighbor(dict[str, Any]):
    """The little of a configured neighbor that ``Negotiated`` reads while decoding."""

    def __init__(self) -> None:
        super().__init__(capability={"aigp": False})


def _open(asn: int, router_id: str, spec: ContextSpec) -> Open:
    caps = Capabilities()
    mp = MultiProtocol()
    mp.extend(NLRI.known_families())
    caps[Capability.CODE.MULTIPROTOCOL] = mp
    if spec.asn4:
        caps[Capability.CODE.FOUR_BYTES_ASN] = ASN4(asn)
    if spec.add_path:
        families = [(AFI.create(a), SAFI.create(s)) for a, s in spec.add_path]
        caps[Capability.CODE.ADD_PATH] = AddPath(families, _SEND_RECEIVE)
    if spec.extended_message:
        caps[Capability.CODE.EXTENDED_MESSAGE] = ExtendedMessage()
    return Open(Version(4), ASN(asn), HoldTime(180), RouterID(router_id), caps)


def negotiated(spec: ContextSpec) -> Negotiated:
    """A session's negotiated state, the way ExaBGP derives it from the two OPENs."""
    n = Negotiated(_Neighbor())
    n.sent(_open(_LOCAL_AS, "192.0.2.1", spec))
    n.received(_open(_LOCAL_AS if spec.ibgp else _PEER_AS, "192.0.2.2", spec))
    return n


def _reset_caches() -> None:
    """Empty ExaBGP's attribute cache, so each pass starts cold like bgpspeak's fresh cache."""
    for c in Attribute.cache.values():
        c.clear()
        c.ordered.clear()


def prefix_count(msg: Any) -> int:
    """Prefixes in a decoded message. ExaBGP repeats each MP_REACH NLRI once per next hop
    (global and link-local), so consecutive copies of one route count once."""
    if isinstance(msg, EOR):
        return 0
    n = 0
    last = None
    for nlri in msg.nlris:
        key = (nlri.action, nlri.index())
        if key != last:
            n += 1
        last = key
    return n


def check(pack: Pack) -> list[tuple[int | None, str]]:
    sessions = [negotiated(c) for c in pack.contexts]
    out: list[tuple[int | None, str]] = []
    for data, ci in pack.messages:
        neg = sessions[ci]
        try:
            msg = Update.unpack_message(data[_HEADER:], Direction.IN, neg)
            count = prefix_count(msg)
            # the encoder must take what the decoder gave, or the encode pass would fail
            _encode_one(msg, neg)
        except Notify as e:
            out.append((None, f"Notify: {e}"))
            continue
        except Exception as e:  # not a NOTIFICATION: ValueError, IndexError, struct.error...
            out.append((None, f"{type(e).__name__}: {e}"))
            continue
        out.append((count, ""))
    return out


def _decode(pack: Pack) -> Prepare:
    bodies = [(data[_HEADER:], ci) for data, ci in pack.messages]
    unpack = Update.unpack_message
    incoming = Direction.IN

    def prepare() -> TimedPass:
        _reset_caches()
        sessions = [negotiated(c) for c in pack.contexts]
        work = [(body, sessions[ci]) for body, ci in bodies]

        def run() -> object:
            return [unpack(body, incoming, neg) for body, neg in work]

        return run

    return prepare


def _encode_one(msg: Any, neg: Negotiated) -> bytes:
    if isinstance(msg, EOR):
        return bytes(msg.message(neg))
    return b"".join(msg.messages(neg))


def encode(pack: Pack) -> Prepare:
    sessions = [negotiated(c) for c in pack.contexts]
    decoded = [
        (Update.unpack_message(data[_HEADER:], Direction.IN, sessions[ci]), sessions[ci])
        for data, ci in pack.messages
    ]

    def prepare() -> TimedPass:
        def run() -> object:
            return [_encode_one(msg, neg) for msg, neg in decoded]

        return run

    return prepare


def _version() -> str:
    return f"{version('exabgp')} (attribute cache {_CACHE})"


def _facts() -> dict[str, Any]:
    """Whether ExaBGP's attribute cache was used at all (in 5.0 the wire decoder calls
    ``Attribute.unpack`` on the base class, whose ``CACHING`` is False, so it stays empty)."""
    return {
        "attribute_cache_setting": Attribute.caching,
        "attribute_cache_entries": sum(len(c) for c in Attribute.cache.values()),
    }


VARIANTS: dict[str, Variant] = {"decode": _decode, "encode": encode}

if __name__ == "__main__":
    sys.exit(worker_main("exabgp", check, VARIANTS, _version, facts=_facts))
