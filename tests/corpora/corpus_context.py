"""Which decoding :class:`Context` each corpus message was sent under.

A BGP message does not say how it is encoded: 2- or 4-octet AS numbers, ADD-PATH path
identifiers and the 4096-octet limit all follow from the two OPENs of its session. This module
finds them for every ``.bgphex`` line, from the best evidence the corpus has:

* packet captures: the OPENs of the same TCP stream, one per direction. For a message from A to
  B: 4-octet AS when both sent capability 65; ADD-PATH for a family when A can send and B can
  receive it (RFC 7911 section 4); extended messages when both sent capability 6 (RFC 8654).
* BMP (RFC 7854): the A flag of the per-peer header (set = 2-octet AS_PATH) and the peer-up
  OPENs of the same peer. In the Adj-RIB-In the monitored peer (received OPEN) is the sender, in
  the Adj-RIB-Out (O flag, RFC 8671) the monitored router (sent OPEN) is. A Loc-RIB "peer"
  (type 3, RFC 9069) has one fabricated OPEN, sent twice, that lists the capabilities its
  route-monitoring messages use; its AS numbers are always 4 octets.
* MRT samples: the BGP4MP subtype gives the AS size (``*_AS4``) and ADD-PATH (``*_ADDPATH``,
  RFC 8050).
* ExaBGP's QA messages: the neighbor configuration of each ``.ci`` source, in
  :data:`EXABGP_SOURCES` (the configs are not in the corpus; what each one negotiates is visible
  in ExaBGP's expected JSON, which ``test_corpus_context`` checks against the table).

Where the evidence is missing (captures that start mid-session, a collector whose OPEN was not
captured, BMP dumps without peer-up) the context is a guess, and every guess is listed by file in
:data:`PCAP_GUESSES` / :data:`BMP_GUESSES` with its policy and reason. A message that needs a guess
but has no entry is an error, not a silent default (``test_corpus_context`` enforces both ways).
"""

from __future__ import annotations

import enum
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from corpus_files import Capture, Meta

from bgpspeak.wire import (
    AddPath,
    Context,
    DecodeError,
    Family,
    Open,
    Update,
    UpdateSubcode,
    decode_message,
)

IPV4_UNICAST = Family(1, 1)
IPV6_UNICAST = Family(2, 1)
ADD_PATH_RECEIVE = 1
ADD_PATH_SEND = 2


@dataclass(frozen=True)
class Resolution:
    """A message's decoding context and how it was found (``basis``), for reports and asserts."""

    ctx: Context
    basis: str

    @property
    def guessed(self) -> bool:
        return self.basis.startswith("guess")


class Policy(enum.Enum):
    """How a missing OPEN is made up for."""

    #: Only the sender's OPEN was captured (a collector's OPEN often is not): assume the
    #: receiver announced the same 4-octet AS, ADD-PATH (receive what the sender can send) and
    #: extended message capabilities. Collectors such as pmacct accept all three.
    MIRROR_SENDER = "mirror-sender"
    #: No OPEN in either direction: per TCP stream and direction, 4-octet AS unless some UPDATE
    #: has an AS_PATH or AGGREGATOR that only parses as 2-octet; no ADD-PATH, no extended message.
    PROBE_AS_WIDTH = "probe-as-width"
    #: A fixed context given in the entry, with the reason it is right.
    FIXED = "fixed"


@dataclass(frozen=True)
class Guess:
    policy: Policy
    reason: str
    ctx: Context | None = None  # only for Policy.FIXED


def _fixed(reason: str, **kw: object) -> Guess:
    return Guess(Policy.FIXED, reason, Context(**kw))  # type: ignore[arg-type]


_MIRROR_COLLECTOR = Guess(
    Policy.MIRROR_SENDER,
    "capture taken at the collector side shows only the router's OPEN",
)
_PROBE_MID_SESSION = Guess(
    Policy.PROBE_AS_WIDTH, "capture starts after the OPENs (or has none: crafted test input)"
)

#: Packet captures whose sessions miss one or both OPENs, by path relative to the corpora root.
PCAP_GUESSES: dict[str, Guess] = {
    # one-sided: the router's OPEN only
    "bgp-rs/BGP_flowspec_v6.cap.bgphex": _MIRROR_COLLECTOR,
    "pmacct/300-BGP-IPv6-CISCO-extNH_enc/traffic-00.pcap.bgphex": _MIRROR_COLLECTOR,
    "pmacct/301-BGP-CISCO-pretag/traffic-00.pcap.bgphex": _MIRROR_COLLECTOR,
    "pmacct/302-BGP-IPv6-multiple-sources/traffic-00.pcap.bgphex": _MIRROR_COLLECTOR,
    "pmacct/302-BGP-IPv6-multiple-sources/traffic-01.pcap.bgphex": _MIRROR_COLLECTOR,
    "pmacct/302-BGP-IPv6-multiple-sources/traffic-02.pcap.bgphex": _MIRROR_COLLECTOR,
    "pmacct/302-BGP-IPv6-multiple-sources/traffic-03.pcap.bgphex": _MIRROR_COLLECTOR,
    "pmacct/303-BGP-high-availability/traffic-00.pcap.bgphex": _MIRROR_COLLECTOR,
    "pmacct/500-IPFIXv10-BGP-CISCO-SRv6/traffic-00.pcap.bgphex": _MIRROR_COLLECTOR,
    "pmacct/501-IPFIXv10-BGP-IPv6-CISCO-MPLS/traffic-00.pcap.bgphex": _MIRROR_COLLECTOR,
    "pmacct/502-IPFIXv10-BGP-IPv6-CISCO-SRv6-lcomms/traffic-00.pcap.bgphex": _MIRROR_COLLECTOR,
    "traffic-reproducer/examples/pcap_processing/bgp-multi-sources.pcap.bgphex": (
        _MIRROR_COLLECTOR
    ),
    "traffic-reproducer/examples/pcap_processing/ipfix-bgp.bgp-only.pcap.bgphex": (
        _MIRROR_COLLECTOR
    ),
    "traffic-reproducer/examples/pcaps/bgp-traffic.pcap.bgphex": _MIRROR_COLLECTOR,
    "tcpdump/bgp-role.pcapng.bgphex": _fixed(
        "only FRR's OPEN (4-octet AS, ADD-PATH receive only) was captured; the peer's UPDATEs"
        " carry no path identifiers (tcpdump's expected output agrees)",
        asn4=True,
    ),
    "pcapplusplus/BgpPackets.pcap.bgphex": _PROBE_MID_SESSION,
    # no OPEN at all
    "bgp-rs/BGP_flowspec_dscp.cap.bgphex": _PROBE_MID_SESSION,
    "bgp-rs/BGP_flowspec_v4.cap.bgphex": _PROBE_MID_SESSION,
    "bgp-rs/bgp_withdraw.cap.bgphex": _PROBE_MID_SESSION,
    "packetlife/4-byte_AS_numbers_Mixed_Scenario.cap.bgphex": _PROBE_MID_SESSION,
    "packetlife/BGP_redist.cap.bgphex": _PROBE_MID_SESSION,
    "packetlife/BGP_soft_reset.cap.bgphex": _PROBE_MID_SESSION,
    "packetlife/bgp as confed sequence.pcapng.cap.bgphex": _PROBE_MID_SESSION,
    "packetlife/bgp med.pcapng.cap.bgphex": _PROBE_MID_SESSION,
    "packetlife/no-advertise community.pcapng.cap.bgphex": _PROBE_MID_SESSION,
    "pcapplusplus/Bgp_update1.dat.bgphex": _PROBE_MID_SESSION,
    "pcapplusplus/Bgp_update2.dat.bgphex": _PROBE_MID_SESSION,
    "pmacct/305-BGP-mem-leak-test/bgp-multi-sources-update-keepalive.pcap.bgphex": Guess(
        Policy.MIRROR_SENDER,
        "the OPENs of these sessions are in the sibling bgp-multi-sources-open.pcap (the same"
        " test split in two files), see SIBLING_OPENS",
    ),
    "scapy/bgp_fragmented.pcap.gz.bgphex": _PROBE_MID_SESSION,
    "tcpdump/bgp-addpath.pcap.bgphex": _fixed(
        "crafted ADD-PATH test UPDATE without OPENs: tcpdump's expected output decodes path"
        " identifiers in IPv4 and IPv6 unicast (withdrawn, NLRI, MP_REACH, MP_UNREACH)",
        add_path=frozenset({IPV4_UNICAST, IPV6_UNICAST}),
    ),
    "tcpdump/bgp-aigp-2.pcap.bgphex": _PROBE_MID_SESSION,
    "tcpdump/bgp-aigp-oobr.pcap.bgphex": _PROBE_MID_SESSION,
    "tcpdump/bgp-aigp.pcap.bgphex": _PROBE_MID_SESSION,
    "tcpdump/bgp-as-path-oobr.pcap.bgphex": _PROBE_MID_SESSION,
    "tcpdump/bgp-encap.pcap.bgphex": _PROBE_MID_SESSION,
    "tcpdump/bgp-enhanced-route-refresh-subtype.pcapng.bgphex": _PROBE_MID_SESSION,
    "tcpdump/bgp-infinite-loop.pcap.bgphex": _PROBE_MID_SESSION,
    "tcpdump/bgp-large-community.pcap.bgphex": _PROBE_MID_SESSION,
    "tcpdump/bgp-link-bw-extcommunity.pcapng.bgphex": _PROBE_MID_SESSION,
    "tcpdump/bgp-ovs.pcapng.bgphex": _PROBE_MID_SESSION,
    "tcpdump/bgp-rt-prefix.pcap.bgphex": _PROBE_MID_SESSION,
    "tcpdump/bgp-ub.pcap.bgphex": _PROBE_MID_SESSION,
    "tcpdump/bgp_mp_reach_nlri-oobr.pcap.bgphex": _PROBE_MID_SESSION,
    "tcpdump/bgp_mvpn_6_and_7_oobr.pcap.bgphex": _PROBE_MID_SESSION,
    "tcpdump/bgp_pmsi_tunnel-oobr.pcap.bgphex": _PROBE_MID_SESSION,
    "tcpdump/bgp_vpn_attrset.pcap.bgphex": _PROBE_MID_SESSION,
    "tcpdump/bgp_vpn_rt-oobr.pcap.bgphex": _PROBE_MID_SESSION,
    "tcpdump/bgpsec_invalid_signature_block_length.pcap.bgphex": _PROBE_MID_SESSION,
    "tcpdump/mpbgp-linklocal-nexthop.pcap.bgphex": _PROBE_MID_SESSION,
    **{
        f"ryu/bgp4/{name}.pcap.bgphex": _PROBE_MID_SESSION
        for name in (
            "bgp4-update",
            "bgp4-update_ipv6",
            "bgp4-update_vpnv6",
            "evpn_esi_arbitrary",
            "evpn_esi_as_based",
            "evpn_esi_l2_bridge",
            "evpn_esi_lacp",
            "evpn_esi_mac_base",
            "evpn_esi_router_id",
            "evpn_nlri_eth_a-d",
            "evpn_nlri_eth_seg",
            "evpn_nlri_inc_multi_eth_tag",
            "evpn_nlri_ip_prefix",
            "evpn_nlri_mac_ip_ad",
            "flowspec_action_redirect",
            "flowspec_action_traffic_action",
            "flowspec_action_traffic_marking",
            "flowspec_action_traffic_rate",
            "flowspec_nlri_ipv4",
            "flowspec_nlri_ipv6",
            "flowspec_nlri_l2vpn",
            "flowspec_nlri_vpn4",
            "flowspec_nlri_vpn6",
        )
    },
}

#: Captures whose OPENs are in another file of the same test (same TCP streams, by address).
SIBLING_OPENS: dict[str, str] = {
    "pmacct/305-BGP-mem-leak-test/bgp-multi-sources-update-keepalive.pcap.bgphex": (
        "pmacct/305-BGP-mem-leak-test/bgp-multi-sources-open.pcap.bgphex"
    ),
}


@dataclass(frozen=True)
class BmpGuess:
    reason: str
    add_path: frozenset[Family] = frozenset()
    peer_types: frozenset[int] = frozenset({0, 1, 2, 3})  # which peers add_path applies to


_LOC_RIB_NO_PEER_UP = BmpGuess("Loc-RIB peer-up not sent")

#: BMP captures with route-monitoring messages of peers whose peer-up is not in the capture.
#: The AS width still comes from the A flag (or RFC 9069 for Loc-RIB); ADD-PATH is off unless
#: the entry says otherwise.
BMP_GUESSES: dict[str, BmpGuess] = {
    "netgauze/assets/pcaps/bmp/evpn/evpn.pcap.bgphex": BmpGuess("peer-up of one peer not captured"),
    "netgauze/assets/pcaps/bmp/vpnv4-stateless-with-withdraw/"
    "vpnv4-stateless-with-withdraw.pcap.bgphex": BmpGuess(
        "BMPv4 stateless parsing: no peer-up by design; each route monitoring message carries a"
        " StatelessParsing TLV announcing ADD-PATH send/receive for VPNv4, except the Loc-RIB"
        " one, whose only TLV is its VRF name (the extractor drops BMP TLVs; NetGauze's decode"
        " of the same file shows them)",
        frozenset({Family(1, 128)}),
        frozenset({0}),
    ),
    "pmacct/205-BMP-6wind-FRR-peer_down/traffic-00.pcap.bgphex": _LOC_RIB_NO_PEER_UP,
    "pmacct/206-BMP-high-availability/traffic-00.pcap.bgphex": _LOC_RIB_NO_PEER_UP,
    "pmacct/208-BMP-mem-leak-test/bmp-multi-sources-route-monitoring.pcap.bgphex": BmpGuess(
        "route monitoring split from its peer-ups (BMP_SIBLINGS); some peers' peer-ups are in"
        " neither file"
    ),
}


_BIRD_ADD_PATH_REASON = (
    "BIRD (mainline) recorded ADD-PATH sessions as MESSAGE_AS4, not RFC 8050's *_ADDPATH;"
    " the file's OPENs (BIRD's own, of two successive sessions) announce ADD-PATH send for"
    " the family and the bird.conf has 'add paths on'"
)
#: MRT samples whose subtype does not tell that the session used ADD-PATH.
MRT_ADD_PATH: dict[str, tuple[frozenset[Family], str]] = {
    "mrtparse/samples/bird_bgp.bgphex": (frozenset({IPV4_UNICAST}), _BIRD_ADD_PATH_REASON),
    "mrtparse/samples-historical/bird_bgp.bgphex": (
        frozenset({IPV4_UNICAST}),
        _BIRD_ADD_PATH_REASON,
    ),
    "mrtparse/samples/bird6_bgp.bgphex": (frozenset({IPV6_UNICAST}), _BIRD_ADD_PATH_REASON),
}


_SCENARIO = "traffic-reproducer/examples/pcaps/ipfix-bmp-scenario-"
#: BMP captures split in parts: the parts whose peer-ups apply (same BMP router).
BMP_SIBLINGS: dict[str, tuple[str, ...]] = {
    "pmacct/208-BMP-mem-leak-test/bmp-multi-sources-route-monitoring.pcap.bgphex": (
        "pmacct/208-BMP-mem-leak-test/bmp-multi-sources-peer-up.pcap.bgphex",
    ),
    **{
        f"{_SCENARIO}{part}.pcap.bgphex": (
            f"{_SCENARIO}PART1-bmp-init-and-peer-ups.pcap.bgphex",
            f"{_SCENARIO}PART6-bmp-loc-rib-peer-up.pcap.bgphex",
        )
        for part in (
            "PART2-bmp-route-monitoring-updates",
            "PART4-bmp-route-monitoring-withdrawals-updates",
            "PART7-bmp-global-peer-down",
            "PART8-bmp-global-peer-up",
        )
    },
    f"{_SCENARIO}PART6-bmp-loc-rib-peer-up.pcap.bgphex": (
        f"{_SCENARIO}PART1-bmp-init-and-peer-ups.pcap.bgphex",
    ),
}


@dataclass(frozen=True)
class ExaSource:
    asn4: bool = True
    add_path: frozenset[Family] = frozenset()


_EXA_VPN4 = Family(1, 128)
#: ExaBGP QA sources whose neighbor config changes the wire format (everything else: 4-octet
#: AS, no ADD-PATH). Keyed by the ``source`` field of the ExaBGP metadata.
EXABGP_SOURCES: dict[str, ExaSource] = {
    "qa/encoding/conf-no-asn4.ci": ExaSource(asn4=False),
    "qa/encoding/conf-addpath.ci": ExaSource(add_path=frozenset({IPV4_UNICAST, _EXA_VPN4})),
    "qa/encoding/conf-path-information.ci": ExaSource(add_path=frozenset({IPV4_UNICAST})),
    "qa/api/api-attributes-path.ci": ExaSource(add_path=frozenset({IPV4_UNICAST})),
    "qa/api/api-open.ci": ExaSource(add_path=frozenset({IPV4_UNICAST})),
}


# --- OPEN evidence ------------------------------------------------------------------------------


def decode_open(data: bytes) -> Open | None:
    """The OPEN, or None when it is malformed (such an OPEN never set up a session)."""
    try:
        msg = decode_message(data)
    except DecodeError:
        return None
    return msg if isinstance(msg, Open) else None


def _add_path_modes(o: Open) -> dict[Family, int]:
    modes: dict[Family, int] = {}
    for cap in o.capabilities:
        if isinstance(cap, AddPath):
            for e in cap.entries:
                modes[Family(e.afi, e.safi)] = modes.get(Family(e.afi, e.safi), 0) | e.send_receive
    return modes


def negotiated(sender: Open, receiver: Open, *, ibgp: bool | None = None) -> Context:
    """The context of messages from ``sender`` to ``receiver`` after these two OPENs."""
    send = _add_path_modes(sender)
    recv = _add_path_modes(receiver)
    families = frozenset(
        f for f, m in send.items() if m & ADD_PATH_SEND and recv.get(f, 0) & ADD_PATH_RECEIVE
    )
    if ibgp is None:
        ibgp = sender.effective_asn == receiver.effective_asn
    return Context(
        asn4=sender.capability(65) is not None and receiver.capability(65) is not None,
        add_path=families,
        extended_message=sender.capability(6) is not None and receiver.capability(6) is not None,
        ibgp=ibgp,
    )


def mirrored(one: Open, *, is_sender: bool) -> Context:
    """:attr:`Policy.MIRROR_SENDER`: the missing OPEN is assumed to echo the captured one."""
    modes = _add_path_modes(one)
    need = ADD_PATH_SEND if is_sender else ADD_PATH_RECEIVE
    return Context(
        asn4=one.capability(65) is not None,
        add_path=frozenset(f for f, m in modes.items() if m & need),
        extended_message=one.capability(6) is not None,
    )


def loc_rib(fabricated: Open) -> Context:
    """RFC 9069 section 5: a Loc-RIB peer's OPEN lists what its messages use."""
    return Context(
        asn4=True,
        add_path=frozenset(_add_path_modes(fabricated)),
        extended_message=fabricated.capability(6) is not None,
    )


# --- per source ---------------------------------------------------------------------------------


def resolve(cap: Capture) -> list[Resolution]:
    """One :class:`Resolution` per message of ``cap``, in order."""
    if not cap.messages:
        return []
    if cap.source == "exabgp":
        return _resolve_exabgp(cap)
    if cap.is_mrt_sample:
        return [_resolve_mrt(cap.rel, m) for m in cap.metas]
    if cap.is_bmp:
        return _resolve_bmp(cap)
    if "tcp_stream" in cap.metas[0]:
        return _resolve_pcap(cap)
    if cap.source == "scapy":
        return _resolve_scapy(cap)
    if cap.source == "corpi":
        # FRR fuzzing seeds, written for a session in Established with FRR defaults
        return [Resolution(Context(), "FRR default session (4-octet AS)")] * len(cap.messages)
    raise AssertionError(f"{cap.rel}: no rule gives the decoding context of this capture")


def _resolve_mrt(rel: str, meta: Meta) -> Resolution:
    asn4 = meta["as_size"] == 4
    # RFC 8050 says the message carries path identifiers but not for which families; the
    # samples are IPv4 and IPv6 unicast sessions (BIRD's mrtdump), so both are marked.
    add_path = frozenset({IPV4_UNICAST, IPV6_UNICAST}) if meta["addpath"] else frozenset()
    basis = f"mrt {meta['mrt_type']}/{meta['mrt_subtype']}"
    override = MRT_ADD_PATH.get(rel)
    if override is not None:
        add_path = override[0]
        basis += f" + {override[1]}"
    # An MRT record does not carry the session's capabilities. The collector accepted every
    # message it recorded, so the 4096-octet limit is not ours to enforce here: a longer
    # message (bgpdump's long_withdrawal) proves the session negotiated RFC 8654.
    return Resolution(Context(asn4=asn4, add_path=add_path, extended_message=True), basis)


def _resolve_exabgp(cap: Capture) -> list[Resolution]:
    out: list[Resolution] = []
    for meta in cap.metas:
        src = meta.get("source", "")
        entry = EXABGP_SOURCES.get(src)
        if entry is None:
            out.append(Resolution(Context(), "exabgp default neighbor (4-octet AS)"))
        else:
            ctx = Context(asn4=entry.asn4, add_path=entry.add_path)
            out.append(Resolution(ctx, f"exabgp {src} neighbor config"))
    return out


def _resolve_scapy(cap: Capture) -> list[Resolution]:
    """Byte literals from Scapy's unit tests. Scapy's BGP layer assumes 4-octet AS; the
    "with BGP Additional Path" tests make it parse IPv4 unicast path identifiers."""
    if cap.rel != "scapy/bgp_uts_messages.bgphex":
        return _resolve_pcap(cap)
    from corpus_files import read_jsonl, root

    tests = read_jsonl(root() / "scapy/bgp_uts_messages.jsonl")
    out = []
    for data, test in zip(cap.messages, tests, strict=True):
        assert bytes.fromhex(test["hex"]) == data
        if "Additional Path" in test["title"]:
            ctx = Context(add_path=frozenset({IPV4_UNICAST}))
            out.append(Resolution(ctx, "scapy test with ADD-PATH (IPv4 unicast)"))
        else:
            out.append(Resolution(Context(), "scapy default (4-octet AS)"))
    return out


def _reverse(direction: str) -> str:
    a, b = direction.split(" -> ")
    return f"{b} -> {a}"


def _opens_by_direction(cap: Capture) -> dict[tuple[object, str], Open]:
    """The first well-formed OPEN of each (tcp stream, direction)."""
    opens: dict[tuple[object, str], Open] = {}
    for data, meta in zip(cap.messages, cap.metas, strict=True):
        if meta.get("type") == 1:
            key = (meta["tcp_stream"], meta["direction"])
            o = decode_open(data)
            if o is not None and key not in opens:
                opens[key] = o
    return opens


def _opens_by_address(cap: Capture) -> dict[str, Open]:
    """OPENs keyed by direction only (addresses and ports), for sibling files."""
    return {direction: o for (_, direction), o in _opens_by_direction(cap).items()}


def _resolve_pcap(cap: Capture) -> list[Resolution]:
    from corpus_files import load

    opens = _opens_by_direction(cap)
    sibling = SIBLING_OPENS.get(cap.rel)
    by_addr = _opens_by_address(load(sibling)) if sibling else {}
    guess = PCAP_GUESSES.get(cap.rel)
    out: list[Resolution | None] = []
    probe_groups: dict[tuple[object, str], list[int]] = defaultdict(list)
    for i, meta in enumerate(cap.metas):
        stream, direction = meta["tcp_stream"], meta["direction"]
        sender = opens.get((stream, direction)) or by_addr.get(direction)
        receiver = opens.get((stream, _reverse(direction))) or by_addr.get(_reverse(direction))
        if sender is not None and receiver is not None:
            basis = "opens" if not sibling else f"opens (from {sibling})"
            out.append(Resolution(negotiated(sender, receiver), basis))
            continue
        if meta["type"] != Update.TYPE:
            # the others only differ in their length limit, which a 4096-octet message meets
            out.append(Resolution(Context(), "no session dependency"))
            continue
        if guess is None:
            raise AssertionError(
                f"{cap.rel} line {meta['line']}: no OPEN for stream {stream} {direction}"
                " and no entry in PCAP_GUESSES"
            )
        if guess.policy is Policy.FIXED:
            assert guess.ctx is not None
            out.append(Resolution(guess.ctx, f"guess fixed: {guess.reason}"))
        elif guess.policy is Policy.MIRROR_SENDER and (sender or receiver) is not None:
            if sender is not None:
                ctx = mirrored(sender, is_sender=True)
            else:
                assert receiver is not None
                ctx = mirrored(receiver, is_sender=False)
            out.append(Resolution(ctx, f"guess {guess.policy.value}: {guess.reason}"))
        else:
            out.append(None)
            probe_groups[(stream, direction)].append(i)
    for indices in probe_groups.values():
        res = _probe_as_width(cap, indices)
        for i in indices:
            out[i] = res
    assert all(r is not None for r in out)
    return [r for r in out if r is not None]


_AS_WIDTH_FIELDS = ("(AS_PATH)", "(AGGREGATOR)")


def _as_width_trouble(data: bytes, ctx: Context) -> bool:
    """Does this message fail in an attribute whose shape depends on the AS width?"""
    try:
        decode_message(data, ctx)
    except DecodeError as e:
        if any(f in e.field for f in _AS_WIDTH_FIELDS) or e.subcode == (
            UpdateSubcode.MALFORMED_AS_PATH
        ):
            return True
        if e.update is not None:
            return False
    return False


def _probe_as_width(cap: Capture, indices: Iterable[int]) -> Resolution:
    updates = [cap.messages[i] for i in indices if cap.metas[i]["type"] == Update.TYPE]
    four, two = Context(asn4=True), Context(asn4=False)
    bad4 = sum(_as_width_trouble(d, four) for d in updates)
    if bad4 == 0:
        return Resolution(four, "guess probe-as-width: every AS_PATH parses as 4-octet")
    bad2 = sum(_as_width_trouble(d, two) for d in updates)
    if bad2 < bad4:
        return Resolution(two, f"guess probe-as-width: {bad4} AS_PATHs only parse as 2-octet")
    return Resolution(four, "guess probe-as-width: neither width parses every AS_PATH")


# --- BMP ----------------------------------------------------------------------------------------

_BMP_FLAG_ADJ_RIB_OUT = 0x10
_BMP_FLAG_AS2 = 0x20
_LOC_RIB = 3


def _peer_key(meta: Meta) -> tuple[object, ...]:
    """The monitored peer: the BMP router (source address of the BMP connection), peer type,
    AS, address, BGP ID, RD. Flags are left out (they differ between peer-up and route
    monitoring); the router address, not the TCP stream, so that a capture split in parts
    finds the peer-ups of its sibling parts."""
    words = meta["bmp_peer"].split()
    fields = dict(w.split("=", 1) for w in words)
    router = meta["direction"].split(" -> ")[0].rsplit(":", 1)[0]
    return (router, fields["type"], fields["as"], fields["addr"], fields["bgp_id"], fields["rd"])


def _peer_flags(meta: Meta) -> tuple[int, int]:
    fields = dict(w.split("=", 1) for w in meta["bmp_peer"].split())
    return int(fields["type"]), int(fields["flags"], 16)


def _collect_peer_up(
    data: bytes,
    meta: Meta,
    half: dict[tuple[object, ...], dict[str, Open]],
    peer_ups: dict[tuple[object, ...], tuple[Open, Open]],
) -> None:
    o = decode_open(data)
    if o is None:
        return
    key = _peer_key(meta)
    got = half[key]
    # BMPv4 peer-ups are not labelled: RFC 7854 puts the sent OPEN first
    side = "received" if "received" in meta["bmp_role"] or "sent" in got else "sent"
    got[side] = o
    if len(got) == 2:
        peer_ups[key] = (got["sent"], got["received"])
        del half[key]


def _is_peer_up(meta: Meta) -> bool:
    return bool(meta["type"] == 1 and "PeerUp" in meta.get("bmp_msg_type", ""))


def _resolve_bmp(cap: Capture) -> list[Resolution]:
    from corpus_files import load

    # peer-up OPENs (sent, received); the latest one before a message applies, starting with
    # those of the sibling parts of a split capture
    peer_ups: dict[tuple[object, ...], tuple[Open, Open]] = {}
    half: dict[tuple[object, ...], dict[str, Open]] = defaultdict(dict)
    for sibling in BMP_SIBLINGS.get(cap.rel, ()):
        other = load(sibling)
        for data, meta in zip(other.messages, other.metas, strict=True):
            if _is_peer_up(meta):
                _collect_peer_up(data, meta, half, peer_ups)
    from_sibling = set(peer_ups)
    out: list[Resolution] = []
    guess = BMP_GUESSES.get(cap.rel)
    for data, meta in zip(cap.messages, cap.metas, strict=True):
        if "bmp_peer" not in meta:
            raise AssertionError(f"{cap.rel} line {meta['line']}: BMP message without peer")
        key = _peer_key(meta)
        ptype, flags = _peer_flags(meta)
        if _is_peer_up(meta):
            _collect_peer_up(data, meta, half, peer_ups)
            from_sibling.discard(key)
            out.append(Resolution(Context(), "no session dependency"))
            continue
        asn4 = ptype == _LOC_RIB or not flags & _BMP_FLAG_AS2
        opens = peer_ups.get(key)
        if opens is None:
            if meta["type"] == Update.TYPE and guess is None:
                raise AssertionError(
                    f"{cap.rel} line {meta['line']}: no peer-up for {meta['bmp_peer']}"
                    " and no entry in BMP_GUESSES"
                )
            if guess is None:  # not an UPDATE: no session dependency
                out.append(Resolution(Context(asn4=asn4), "bmp A flag, no peer-up"))
                continue
            add_path = guess.add_path if ptype in guess.peer_types else frozenset()
            ctx = Context(asn4=asn4, add_path=add_path)
            what = "ADD-PATH " + ",".join(map(str, sorted(add_path))) if add_path else "no ADD-PATH"
            out.append(Resolution(ctx, f"guess bmp: A flag, {what} ({guess.reason})"))
            continue
        sent, received = opens
        if ptype == _LOC_RIB:
            ctx = loc_rib(sent)
            basis = "bmp Loc-RIB peer-up (RFC 9069)"
        elif flags & _BMP_FLAG_ADJ_RIB_OUT:
            ctx = negotiated(sent, received)
            basis = "bmp Adj-RIB-Out peer-up"
        else:
            ctx = negotiated(received, sent)
            basis = "bmp Adj-RIB-In peer-up"
        if key in from_sibling:
            basis += " of a sibling capture"
        out.append(
            Resolution(
                Context(asn4=asn4, add_path=ctx.add_path, extended_message=ctx.extended_message),
                basis + " + A flag",
            )
        )
    return out
