"""What a BFD session is configured with: the user's :class:`BfdConfig` (milliseconds, checked
against what Python can keep up with here) and the protocol's :class:`SessionParams`
(microseconds, unchecked), plus the :class:`SessionKey` that names a session.

Two layers on purpose: ``BfdConfig`` refuses intervals below the measured floor (docs/bfd.md)
because a too-fast session that flaps takes BGP down with it; ``SessionParams`` is what the
pure state machine and the measurement tools run with, including below the floor.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from .codes import MAX_TTL, US

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Measured on the project's 2-vCPU machine under load (docs/bfd.md, "Interval floor"): the
# longest silence an Up session saw was 152 ms at a 100 ms interval with both cores saturated,
# and 50 ms x 3 came within 23 ms of flapping; 300 ms keeps a 2x margin over the worst delay.
MIN_INTERVAL_MS = 50
MIN_DETECT_TIME_MS = 300
MAX_INTERVAL_MS = 60_000  # the same upper bound as FRR's bfdd
MIN_MULTIPLIER = 2  # with 1, one late or lost packet is a failure
MAX_MULTIPLIER = 255
DEFAULT_MULTIHOP_MIN_TTL = 254  # FRR's default: one router between the two systems


@dataclass(frozen=True, slots=True)
class SessionParams:
    """bfd.DesiredMinTxInterval, bfd.RequiredMinRxInterval (µs) and bfd.DetectMult, as RFC
    5880 section 6.8.1 names them; ``passive``: wait for the remote to speak first (section
    6.1); ``min_ttl``: lowest TTL accepted (255 for single hop, RFC 5881 section 5)."""

    desired_min_tx: int
    required_min_rx: int
    detect_mult: int
    passive: bool = False
    min_ttl: int = MAX_TTL

    def __post_init__(self) -> None:
        if not 1 <= self.desired_min_tx <= 0xFFFFFFFF:
            raise ValueError(f"desired_min_tx: {self.desired_min_tx} µs is not 1..2^32-1")
        if not 0 <= self.required_min_rx <= 0xFFFFFFFF:
            raise ValueError(f"required_min_rx: {self.required_min_rx} µs is not 0..2^32-1")
        if not 1 <= self.detect_mult <= 255:
            raise ValueError(f"detect_mult: {self.detect_mult} is not 1..255")
        if not 1 <= self.min_ttl <= MAX_TTL:
            raise ValueError(f"min_ttl: {self.min_ttl} is not 1..255")


@dataclass(frozen=True, slots=True)
class SessionKey:
    """Which session: the remote address, and what tells two sessions to it apart (RFC 5881
    section 3: address and interface for single hop; RFC 5883 section 3: the address pair for
    multi-hop). ``local`` None means "whatever address the kernel sends from"."""

    peer: IPAddress
    local: IPAddress | None = None
    interface: str | None = None
    multihop: bool = False

    def __post_init__(self) -> None:
        if self.local is not None and self.local.version != self.peer.version:
            raise ValueError(f"local address {self.local} is not of the family of {self.peer}")
        if self.multihop and self.interface is not None:
            raise ValueError("a multi-hop session is not bound to an interface")

    def __str__(self) -> str:
        where = f" from {self.local}" if self.local is not None else ""
        dev = f"%{self.interface}" if self.interface else ""
        return f"{self.peer}{dev}{where}{' multihop' if self.multihop else ''}"


def _ip(value: str | IPAddress | None, name: str) -> IPAddress | None:
    if value is None:
        return None
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        raise ValueError(f"{name}: {value!r} is not an IP address") from None


@dataclass(frozen=True)
class BfdConfig:
    """BFD for one neighbor, as a program or the daemon's config writes it.

    ``min_tx_ms`` / ``min_rx_ms``: the fastest we want to send and can receive, ``multiplier``:
    packets missed before the path is declared down (detection time = multiplier x the
    slower of our receive interval and the peer's transmit interval). ``multihop``: RFC 5883
    (UDP 4784, TTL checked against ``min_ttl``) instead of RFC 5881 (3784, TTL 255 only).
    ``strict``: keep BGP from establishing while BFD is not Up. ``shutdown``: AdminDown (the
    peer sees it as administrative, not as a failure). ``local_address`` / ``interface``:
    where to send from; by default the kernel's choice of route.

    Intervals below ``MIN_INTERVAL_MS`` or a detection time below ``MIN_DETECT_TIME_MS`` are
    refused: measured here, Python cannot hold them under load (docs/bfd.md).
    """

    min_tx_ms: int = 300
    min_rx_ms: int = 300
    multiplier: int = 3
    multihop: bool = False
    min_ttl: int = DEFAULT_MULTIHOP_MIN_TTL
    strict: bool = False
    passive: bool = False
    shutdown: bool = False
    local_address: str | IPAddress | None = None
    interface: str | None = None

    def __post_init__(self) -> None:
        for name in ("min_tx_ms", "min_rx_ms"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool):
                raise ValueError(f"{name}: {value!r} is not a whole number of milliseconds")
            if not MIN_INTERVAL_MS <= value <= MAX_INTERVAL_MS:
                raise ValueError(
                    f"{name}: {value} ms is outside {MIN_INTERVAL_MS}..{MAX_INTERVAL_MS} ms "
                    f"(below {MIN_INTERVAL_MS} ms Python cannot keep time reliably here, "
                    "see docs/bfd.md)"
                )
        if not MIN_MULTIPLIER <= self.multiplier <= MAX_MULTIPLIER:
            raise ValueError(f"multiplier: {self.multiplier} is not {MIN_MULTIPLIER}..255")
        # the peer's detection time of us is our multiplier x our transmit interval (or its
        # slower receive interval); ours is its multiplier x our receive interval (or its
        # slower transmit interval): both are bounded by the smaller of the two here
        fastest = min(self.min_tx_ms, self.min_rx_ms)
        detect = self.multiplier * fastest
        if detect < MIN_DETECT_TIME_MS:
            raise ValueError(
                f"detection time {self.multiplier} x {fastest} ms = {detect} ms is below "
                f"{MIN_DETECT_TIME_MS} ms, which is not safe under load here (docs/bfd.md)"
            )
        if not 1 <= self.min_ttl <= MAX_TTL:
            raise ValueError(f"min_ttl: {self.min_ttl} is not 1..255")
        if self.multihop and self.interface is not None:
            raise ValueError("interface: a multi-hop session is not bound to an interface")
        _ip(self.local_address, "local_address")

    @property
    def local_ip(self) -> IPAddress | None:
        return _ip(self.local_address, "local_address")

    def params(self) -> SessionParams:
        return SessionParams(
            desired_min_tx=self.min_tx_ms * 1000,
            required_min_rx=self.min_rx_ms * 1000,
            detect_mult=self.multiplier,
            passive=self.passive,
            min_ttl=self.min_ttl if self.multihop else MAX_TTL,
        )

    def key(self, peer: str | IPAddress, local: IPAddress | None = None) -> SessionKey:
        """The session this config describes toward ``peer``; ``local`` is used when the config
        names no local address (e.g. the BGP neighbor's ``local_address``)."""
        peer_ip = _ip(peer, "peer")
        assert peer_ip is not None
        return SessionKey(
            peer=peer_ip,
            local=self.local_ip or local,
            interface=self.interface,
            multihop=self.multihop,
        )

    @property
    def detect_time_ms(self) -> int:
        """Our own detection time if the peer sends at least as fast as we ask."""
        return self.multiplier * self.min_rx_ms


def describe_us(value: int) -> str:
    """An interval for humans: ``300 ms``, ``1 s``, ``12.5 ms``."""
    if value % US == 0:
        return f"{value // US} s"
    if value % 1000 == 0:
        return f"{value // 1000} ms"
    return f"{value / 1000:g} ms"
