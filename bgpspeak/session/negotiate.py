"""From two OPENs to one immutable description of the session.

Everything later layers need to know about the peer (how to encode for it, how to decode what it
sends, what it can do on restart) is decided here once, when the OPEN arrives, and never
re-derived from capabilities again.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from ..wire.capabilities import (
    ADD_PATH_RECEIVE,
    ADD_PATH_SEND,
    GR_FORWARDING_PRESERVED,
    GR_NOTIFICATION,
    GR_RESTART_STATE,
    AddPath,
    AddPathEntry,
    Capability,
    EnhancedRouteRefresh,
    ExtendedMessage,
    FourOctetAs,
    Fqdn,
    GracefulRestart,
    GracefulRestartFamily,
    Multiprotocol,
    RouteRefreshCapability,
    SoftwareVersion,
)
from ..wire.errors import DecodeError, ErrorCode, OpenSubcode
from ..wire.family import IPV4_UNICAST, Context, Family
from ..wire.open import AS_TRANS, Open, UnknownParameter
from .config import PeerConfig


@dataclass(frozen=True, slots=True)
class PeerRestart:
    """What the peer said in its graceful-restart capability (RFC 4724 section 3)."""

    restart_time: int
    restarting: bool  # R bit: the peer has just restarted
    notification: bool  # N bit (RFC 8538)
    families: frozenset[Family]  # families whose routes it wants kept
    forwarding_preserved: frozenset[Family]  # F bit per family


@dataclass(frozen=True, slots=True)
class Negotiated:
    """The session as both OPENs define it."""

    peer_as: int
    peer_id: ipaddress.IPv4Address
    local_as: int
    local_id: ipaddress.IPv4Address
    hold_time: int  # seconds, 0 = no keepalives and no hold timer
    keepalive_time: float
    asn4: bool
    families: frozenset[Family]
    add_path_receive: frozenset[Family]  # NLRI the peer sends us carry path ids
    add_path_send: frozenset[Family]  # NLRI we send carry path ids
    extended_message: bool
    route_refresh: bool
    enhanced_route_refresh: bool
    peer_restart: PeerRestart | None  # None: the peer did not offer graceful restart
    local_restart: bool  # we offered graceful restart
    ibgp: bool
    peer_hostname: str | None = None
    peer_software: str | None = None

    @property
    def rx_context(self) -> Context:
        return Context(self.asn4, self.add_path_receive, self.extended_message, self.ibgp)

    @property
    def tx_context(self) -> Context:
        return Context(self.asn4, self.add_path_send, self.extended_message, self.ibgp)


def build_open(config: PeerConfig, restarting: bool = False) -> Open:
    """Our OPEN for ``config``. ``restarting`` sets the GR R bit (we came back after a restart
    and the peer should keep our routes until our End-of-RIB)."""
    caps: list[Capability] = [Multiprotocol(f.afi, f.safi) for f in config.families]
    if config.route_refresh:
        caps.append(RouteRefreshCapability())
    if config.enhanced_route_refresh:
        caps.append(EnhancedRouteRefresh())
    if config.extended_message:
        caps.append(ExtendedMessage())
    gr = config.graceful_restart
    if gr.enabled:
        flags = (GR_RESTART_STATE if restarting else 0) | (
            GR_NOTIFICATION if gr.notification else 0
        )
        fams = tuple(
            GracefulRestartFamily(
                f.afi, f.safi, GR_FORWARDING_PRESERVED if gr.preserve_forwarding else 0
            )
            for f in config.families
        )
        caps.append(GracefulRestart(flags, gr.restart_time, fams))
    caps.append(FourOctetAs(config.local_as))
    if config.add_path:
        modes = {"receive": ADD_PATH_RECEIVE, "send": ADD_PATH_SEND, "both": 3}
        caps.append(
            AddPath(tuple(AddPathEntry(f.afi, f.safi, modes[m]) for f, m in config.add_path))
        )
    if config.hostname:
        caps.append(Fqdn(config.hostname, ""))
    if config.software_version:
        caps.append(SoftwareVersion(config.software_version))
    return Open.build(config.local_as, config.hold_time, config.router_id, caps)


def _open_error(subcode: int, reason: str, field: str, data: bytes = b"") -> DecodeError:
    return DecodeError(ErrorCode.OPEN_MESSAGE, subcode, reason, field=field, data=data)


def negotiate(config: PeerConfig, local: Open, peer: Open) -> Negotiated:
    """Check the peer's OPEN against the configuration (RFC 4271 section 6.2) and combine the
    two. Raises :class:`DecodeError` carrying the OPEN Message Error to send."""
    if peer.version != 4:
        raise _open_error(
            OpenSubcode.UNSUPPORTED_VERSION_NUMBER,
            f"BGP version {peer.version} is not supported (only 4)",
            "open.version",
            (4).to_bytes(2, "big"),
        )
    for p in peer.parameters:
        if isinstance(p, UnknownParameter):
            raise _open_error(
                OpenSubcode.UNSUPPORTED_OPTIONAL_PARAMETER,
                f"optional parameter type {p.param_type} is not supported",
                "open.parameters",
            )
    caps = peer.capabilities
    as4cap = next((c for c in caps if isinstance(c, FourOctetAs)), None)
    peer_as = as4cap.asn if as4cap is not None else peer.asn
    if as4cap is not None and peer.asn != AS_TRANS and peer.asn != as4cap.asn:
        raise _open_error(
            OpenSubcode.BAD_PEER_AS,
            f"My AS field {peer.asn} disagrees with the 4-octet AS capability {as4cap.asn}",
            "open.asn",
            peer.asn.to_bytes(2, "big"),
        )
    if as4cap is None and peer.asn == AS_TRANS:
        raise _open_error(
            OpenSubcode.BAD_PEER_AS,
            "AS_TRANS (23456) without a 4-octet AS capability",
            "open.asn",
            peer.asn.to_bytes(2, "big"),
        )
    if config.peer_as is not None and peer_as != config.peer_as:
        raise _open_error(
            OpenSubcode.BAD_PEER_AS,
            f"peer AS {peer_as} is not the configured {config.peer_as}",
            "open.asn",
            peer.asn.to_bytes(2, "big"),
        )
    if peer.hold_time in (1, 2) or (0 < peer.hold_time < config.min_hold_time):
        raise _open_error(
            OpenSubcode.UNACCEPTABLE_HOLD_TIME,
            f"hold time {peer.hold_time} is below the minimum {max(3, config.min_hold_time)}",
            "open.hold_time",
        )
    ibgp = peer_as == config.local_as
    if int(peer.bgp_id) == 0 or (peer.bgp_id == config.router_id and ibgp):
        # RFC 6286: the same identifier is only an error between speakers of one AS
        raise _open_error(
            OpenSubcode.BAD_BGP_IDENTIFIER,
            f"BGP identifier {peer.bgp_id} is not acceptable",
            "open.bgp_id",
            peer.bgp_id.packed,
        )

    local_caps = local.capabilities
    hold = min(local.hold_time, peer.hold_time)
    keepalive: float = 0.0
    if hold:
        keepalive = hold / 3
        if config.keepalive_time is not None:
            keepalive = min(float(config.keepalive_time), keepalive)

    peer_mp = {c.family for c in caps if isinstance(c, Multiprotocol)}
    local_mp = {c.family for c in local_caps if isinstance(c, Multiprotocol)}
    # RFC 4760: a speaker without the MP capability speaks IPv4 unicast only
    if not peer_mp:
        peer_mp = {IPV4_UNICAST}
    if not local_mp:
        local_mp = {IPV4_UNICAST}
    families = frozenset(peer_mp & local_mp)

    def add_path_modes(cs: tuple[Capability, ...]) -> dict[Family, int]:
        out: dict[Family, int] = {}
        for c in cs:
            if isinstance(c, AddPath):
                for e in c.entries:
                    out[Family(e.afi, e.safi)] = e.send_receive
        return out

    peer_ap = add_path_modes(caps)
    local_ap = add_path_modes(local_caps)
    ap_rx = frozenset(
        f
        for f in families
        if local_ap.get(f, 0) & ADD_PATH_RECEIVE and peer_ap.get(f, 0) & ADD_PATH_SEND
    )
    ap_tx = frozenset(
        f
        for f in families
        if local_ap.get(f, 0) & ADD_PATH_SEND and peer_ap.get(f, 0) & ADD_PATH_RECEIVE
    )

    def has(cs: tuple[Capability, ...], kind: type[Capability]) -> bool:
        return any(isinstance(c, kind) for c in cs)

    gr = next((c for c in caps if isinstance(c, GracefulRestart)), None)
    peer_restart = None
    if gr is not None:
        peer_restart = PeerRestart(
            gr.restart_time,
            bool(gr.restart_flags & GR_RESTART_STATE),
            bool(gr.restart_flags & GR_NOTIFICATION),
            frozenset(Family(f.afi, f.safi) for f in gr.families),
            frozenset(
                Family(f.afi, f.safi) for f in gr.families if f.flags & GR_FORWARDING_PRESERVED
            ),
        )
    fqdn = next((c for c in caps if isinstance(c, Fqdn)), None)
    sw = next((c for c in caps if isinstance(c, SoftwareVersion)), None)
    return Negotiated(
        peer_as=peer_as,
        peer_id=peer.bgp_id,
        local_as=config.local_as,
        local_id=config.router_id,
        hold_time=hold,
        keepalive_time=keepalive,
        asn4=as4cap is not None and has(local_caps, FourOctetAs),
        families=families,
        add_path_receive=ap_rx,
        add_path_send=ap_tx,
        extended_message=has(caps, ExtendedMessage) and has(local_caps, ExtendedMessage),
        route_refresh=has(caps, RouteRefreshCapability) and has(local_caps, RouteRefreshCapability),
        enhanced_route_refresh=has(caps, EnhancedRouteRefresh)
        and has(local_caps, EnhancedRouteRefresh),
        peer_restart=peer_restart,
        local_restart=has(local_caps, GracefulRestart),
        ibgp=ibgp,
        peer_hostname=fqdn.hostname if fqdn else None,
        peer_software=sw.version if sw else None,
    )
