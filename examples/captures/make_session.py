"""Writes speaker-session.bgphex: one side of a BGP session as bgpspeak encodes it.

The README's first command decodes this file. Regenerate with
``python examples/captures/make_session.py > examples/captures/speaker-session.bgphex``.
"""

from __future__ import annotations

import ipaddress

from bgpspeak.wire import (
    IPV4_UNICAST,
    IPV6_UNICAST,
    AddPath,
    AddPathEntry,
    AsPath,
    CeaseSubcode,
    Communities,
    Context,
    EnhancedRouteRefresh,
    ExtendedCommunities,
    Fqdn,
    GracefulRestart,
    GracefulRestartFamily,
    Keepalive,
    LargeCommunities,
    MpReachNlri,
    MultiExitDisc,
    Multiprotocol,
    NextHop,
    Notification,
    Open,
    Origin,
    Prefix,
    RouteRefreshCapability,
    Update,
    build_update,
    parse_community,
    parse_ext_community,
)


def messages() -> list[tuple[str, bytes]]:
    ctx = Context()
    opened = Open.build(
        4200000001,
        90,
        "192.0.2.10",
        [
            Multiprotocol(1, 1),
            Multiprotocol(2, 1),
            RouteRefreshCapability(),
            EnhancedRouteRefresh(),
            GracefulRestart(0, 120, (GracefulRestartFamily(1, 1, 0x80),)),
            AddPath((AddPathEntry(1, 1, 1),)),
            Fqdn("host1", "example.net"),
        ],
    )
    v4 = build_update(
        nlri=[Prefix.parse("198.51.100.0/24"), Prefix.parse("203.0.113.128/25")],
        attributes=[
            Origin(0),
            AsPath.sequence(4200000001, 65010),
            NextHop(ipaddress.IPv4Address("192.0.2.10")),
            MultiExitDisc(50),
            Communities((parse_community("65010:100"), parse_community("no-export"))),
            LargeCommunities(((4200000001, 1, 2),)),
            ExtendedCommunities((parse_ext_community("target:65010:7"),)),
        ],
    )
    v6 = build_update(
        attributes=[
            Origin(0),
            AsPath.sequence(4200000001),
            MpReachNlri.build(
                IPV6_UNICAST,
                [ipaddress.IPv6Address("2001:db8::10"), ipaddress.IPv6Address("fe80::10")],
                [Prefix.parse("2001:db8:100::/48")],
            ),
        ]
    )
    return [
        ("OPEN: 4-octet AS 4200000001, IPv4+IPv6, graceful restart, ADD-PATH", opened.encode(ctx)),
        ("KEEPALIVE", Keepalive().encode(ctx)),
        ("UPDATE: two IPv4 prefixes with communities", v4.encode(ctx)),
        ("UPDATE: IPv6 prefix, next hop global + link-local", v6.encode(ctx)),
        ("End-of-RIB IPv4 unicast", Update.end_of_rib_marker(IPV4_UNICAST).encode(ctx)),
        ("End-of-RIB IPv6 unicast", Update.end_of_rib_marker(IPV6_UNICAST).encode(ctx)),
        (
            "NOTIFICATION: Cease / administrative shutdown with a message (RFC 9003)",
            Notification.cease(
                CeaseSubcode.ADMINISTRATIVE_SHUTDOWN, "maintenance, back at 14:00"
            ).encode(ctx),
        ),
    ]


if __name__ == "__main__":
    print("# One side of a BGP session, as bgpspeak encodes it (see make_session.py).")
    for comment, data in messages():
        print(f"# {comment}")
        print(data.hex())
