"""Every corpus message the codec must reject, and every one it may re-encode differently.

Nothing here is a tolerance: each entry names the captures, how many of their messages it
covers, the exact error (code, subcode, RFC 7606 action) and why the RFCs call those bytes
malformed. A count that changes fails the test in either direction, so a codec change that starts
accepting an RFC violation (or rejecting a good message) cannot hide behind an entry.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bgpspeak.wire import Action, DecodeError, ErrorCode, HeaderSubcode, OpenSubcode, UpdateSubcode

U = ErrorCode.UPDATE_MESSAGE
TAW = Action.TREAT_AS_WITHDRAW
RESET = Action.SESSION_RESET


@dataclass(frozen=True)
class Malformed:
    """A class of messages that break an RFC, and the error the codec must give for each."""

    name: str
    why: str
    code: int
    subcode: int
    action: Action
    counts: dict[str, int]  # capture -> how many of its messages are in this class
    field: str = ""  # text the error's field must contain
    data: bytes | None = None  # the exact NOTIFICATION data, when the RFC fixes it

    def matches(self, rel: str, err: DecodeError) -> bool:
        return (
            rel in self.counts
            and err.code == self.code
            and err.subcode == self.subcode
            and err.action == self.action
            and self.field in err.field
            and (self.data is None or err.data == self.data)
        )


_FRR_BMP = (
    "pmacct/205-BMP-6wind-FRR-peer_down/traffic-00.pcap.bgphex",
    "pmacct/206-BMP-high-availability/traffic-00.pcap.bgphex",
    "pmacct/208-BMP-mem-leak-test/bmp-multi-sources-route-monitoring.pcap.bgphex",
)
_RYU_EVPN = (
    "evpn_esi_arbitrary",
    "evpn_esi_as_based",
    "evpn_esi_l2_bridge",
    "evpn_esi_lacp",
    "evpn_esi_mac_base",
    "evpn_esi_router_id",
    "evpn_nlri_eth_a-d",
    "evpn_nlri_eth_seg",
    "evpn_nlri_inc_multi_eth_tag",
    "evpn_nlri_mac_ip_ad",
)

#: Messages of real or hand-made (not fuzzed) captures that the RFCs call malformed.
MALFORMED: tuple[Malformed, ...] = (
    Malformed(
        "frr-bmp-missing-next-hop",
        "FRR 8.0 (6WIND) BMP route monitoring of IPv4 unicast NLRI without NEXT_HOP: RFC 4271"
        " makes NEXT_HOP mandatory with IPv4 NLRI, RFC 7606 section 3d: treat-as-withdraw."
        " pmacct and NetGauze still list the routes (their decode is compared to err.update).",
        U,
        UpdateSubcode.MISSING_WELL_KNOWN_ATTRIBUTE,
        TAW,
        dict(zip(_FRR_BMP, (140, 140, 187), strict=True)),
        data=b"\x03",
    ),
    Malformed(
        "frr-bmp-2-octet-as-path",
        "FRR's BMP encodes the AS_PATH of routes of its own instance (peer 0.0.0.0, Loc-RIB)"
        " with 2-octet ASes although the per-peer A flag is clear and RFC 9069 Loc-RIB is"
        " always 4-octet: one AS_SEQUENCE of 1 AS in 4 octets. Read as 4-octet the segment"
        " overruns: RFC 7606 section 7.2, treat-as-withdraw.",
        U,
        UpdateSubcode.MALFORMED_AS_PATH,
        TAW,
        dict(zip(_FRR_BMP, (2, 2, 3), strict=True)),
        field="(AS_PATH)",
    ),
    Malformed(
        "cisco-bmp-next-hop-length-0",
        "Cisco IOS XR BMP route monitoring with MP_REACH_NLRI next-hop length 0 for IPv4 and"
        " IPv6 unicast. RFC 7606 section 7.11: a next-hop length the family does not allow is"
        " session reset (or AFI/SAFI disable), subcode per RFC 4760 section 7.",
        U,
        UpdateSubcode.OPTIONAL_ATTRIBUTE_ERROR,
        RESET,
        {"traffic-reproducer/examples/pcap_processing/ipfix-bmp.bmp-only.pcap.bgphex": 6},
        field="(MP_REACH_NLRI)",
    ),
    Malformed(
        "ryu-evpn-without-origin-as-path",
        "Ryu's EVPN test captures are packet-library samples that hold MP_REACH_NLRI only: NLRI"
        " without ORIGIN and AS_PATH, RFC 7606 section 3d: treat-as-withdraw.",
        U,
        UpdateSubcode.MISSING_WELL_KNOWN_ATTRIBUTE,
        TAW,
        {f"ryu/bgp4/{name}.pcap.bgphex": 1 for name in _RYU_EVPN},
        data=b"\x01",
    ),
    Malformed(
        "exabgp-generic-attribute-not-optional",
        "ExaBGP's conf-generic-attribute test sends attribute 0x99 with flags 0x60 / 0x70"
        " (optional bit clear): an unrecognized well-known attribute, RFC 4271 section 6.3,"
        " session reset with the attribute as data. ExaBGP itself accepts it.",
        U,
        UpdateSubcode.UNRECOGNIZED_WELL_KNOWN_ATTRIBUTE,
        RESET,
        {"exabgp/qa-messages.bgphex": 2},
        field="(type 153)",
    ),
    Malformed(
        "exabgp-ipv6-nlri-ipv4-next-hop",
        "ExaBGP's extended-nexthop test announces IPv6 unicast with a 4-octet (IPv4) next hop."
        " RFC 8950 only defines IPv4 NLRI over an IPv6 next hop; RFC 4760 / 2545 require 16 or"
        " 32 octets: RFC 7606 section 7.11, session reset.",
        U,
        UpdateSubcode.OPTIONAL_ATTRIBUTE_ERROR,
        RESET,
        {"exabgp/qa-messages.bgphex": 1},
        field="(MP_REACH_NLRI)",
    ),
    Malformed(
        "bgpdump-nlri-trailing-octet",
        "RIS record 'nlri_mask_trailing_bits': after 11.13.0.0/13 one octet (0x0b, a /11 with"
        " no address octets) is left. bgpdump prints the /13 and drops the rest; RFC 7606"
        " section 5.3: NLRI that cannot be parsed is session reset (Invalid Network Field).",
        U,
        UpdateSubcode.INVALID_NETWORK_FIELD,
        RESET,
        {"bgpdump/test_data/updates.nlri_mask_trailing_bits.gz.bgphex": 1},
        field="update.nlri",
    ),
    Malformed(
        "tcpdump-addpath-crafted",
        "tcpdump's bgp-addpath test UPDATE is hand-made: NEXT_HOP of length 0, two"
        " MP_REACH_NLRI and two MP_UNREACH_NLRI, all flagged transitive (0x40) instead of"
        " optional non-transitive. The first MP_REACH_NLRI flags error is session reset"
        " (RFC 7606 sections 3c and 7.11); tcpdump prints what it can.",
        U,
        UpdateSubcode.ATTRIBUTE_FLAGS_ERROR,
        RESET,
        {"tcpdump/bgp-addpath.pcap.bgphex": 1},
        field="(MP_REACH_NLRI)",
    ),
    Malformed(
        "bgpsec-invalid-signature-block",
        "tcpdump's bgpsec_invalid_signature_block_length: a Signature_Block of length 1 (< 3)."
        " RFC 8205 section 5.2: a malformed BGPsec_PATH is treat-as-withdraw.",
        U,
        UpdateSubcode.MALFORMED_AS_PATH,
        TAW,
        {"tcpdump/bgpsec_invalid_signature_block_length.pcap.bgphex": 1},
        field="(BGPSEC_PATH)",
    ),
    Malformed(
        "scapy-header-only-bad-length",
        "Scapy's instantiation tests build bare 19-octet headers of type OPEN, UPDATE,"
        " NOTIFICATION and ROUTE-REFRESH: below each type's minimum length (RFC 4271 section"
        " 6.1, RFC 2918), Bad Message Length with the length field as data.",
        ErrorCode.MESSAGE_HEADER,
        HeaderSubcode.BAD_MESSAGE_LENGTH,
        RESET,
        {"scapy/bgp_uts_messages.bgphex": 4},
        data=b"\x00\x13",
    ),
    Malformed(
        "scapy-type-0",
        "Scapy's 'Instantiation with specific values (1)' is a header of type 0: Bad Message"
        " Type with the type as data (RFC 4271 section 6.1).",
        ErrorCode.MESSAGE_HEADER,
        HeaderSubcode.BAD_MESSAGE_TYPE,
        RESET,
        {"scapy/bgp_uts_messages.bgphex": 1},
        data=b"\x00",
    ),
    Malformed(
        "pcapplusplus-open-too-short",
        "PcapPlusPlus 'too_short_header': an OPEN of length 25 < 29 (RFC 4271 section 6.1).",
        ErrorCode.MESSAGE_HEADER,
        HeaderSubcode.BAD_MESSAGE_LENGTH,
        RESET,
        {
            "pcapplusplus/Bgp_open_too_short_header.dat.bgphex": 1,
            "pcapplusplus/Bgp_open_malformed.pcap.bgphex": 1,
        },
        data=b"\x00\x19",
    ),
    Malformed(
        "pcapplusplus-open-bad-parameters",
        "PcapPlusPlus's malformed OPENs: optional parameters length 5 with 1 octet present, a"
        " parameter of length 16 with 3 octets left, a valid parameter followed by a truncated"
        " one. RFC 4271 section 6.2 has no subcode for these: OPEN Message Error/Unspecific.",
        ErrorCode.OPEN_MESSAGE,
        OpenSubcode.UNSPECIFIC,
        RESET,
        {
            "pcapplusplus/Bgp_open_malformed.pcap.bgphex": 3,
            "pcapplusplus/Bgp_open_malformed_opt_param_len.dat.bgphex": 1,
            "pcapplusplus/Bgp_open_partial_valid_opt_params.dat.bgphex": 1,
            "pcapplusplus/Bgp_open_truncated_opt_param_hdr.dat.bgphex": 1,
        },
        field="open.",
    ),
)

Signature = tuple[int, int, Action]

#: Fuzzed captures (tcpdump's out-of-bounds-read and undefined-behaviour regressions): every
#: message must decode or raise a sensible DecodeError. The errors are pinned by (code, subcode,
#: action) so that a codec change shows up here, but no single message is claimed to be right.
FUZZED: dict[str, dict[Signature, int]] = {
    "tcpdump/bgp-aigp-oobr.pcap.bgphex": {
        (U, UpdateSubcode.UNRECOGNIZED_WELL_KNOWN_ATTRIBUTE, RESET): 112,
        (U, UpdateSubcode.ATTRIBUTE_LENGTH_ERROR, TAW): 2,
    },
    "tcpdump/bgp-as-path-oobr.pcap.bgphex": {
        (U, UpdateSubcode.UNRECOGNIZED_WELL_KNOWN_ATTRIBUTE, RESET): 129,
        (U, UpdateSubcode.ATTRIBUTE_LENGTH_ERROR, TAW): 66,
        (U, UpdateSubcode.INVALID_NETWORK_FIELD, RESET): 1,
    },
    "tcpdump/bgp-bgp_capabilities_print-oobr-1.pcap.bgphex": {
        (ErrorCode.OPEN_MESSAGE, OpenSubcode.UNSPECIFIC, RESET): 1,
    },
    "tcpdump/bgp-bgp_capabilities_print-oobr-2.pcap.bgphex": {
        (ErrorCode.OPEN_MESSAGE, OpenSubcode.UNSPECIFIC, RESET): 1,
    },
    "tcpdump/bgp-infinite-loop.pcap.bgphex": {
        (ErrorCode.MESSAGE_HEADER, HeaderSubcode.BAD_MESSAGE_LENGTH, RESET): 4,
    },
    "tcpdump/bgp-ub.pcap.bgphex": {
        (U, UpdateSubcode.UNRECOGNIZED_WELL_KNOWN_ATTRIBUTE, RESET): 6,
        (U, UpdateSubcode.ATTRIBUTE_FLAGS_ERROR, TAW): 2,
        (U, UpdateSubcode.ATTRIBUTE_LENGTH_ERROR, TAW): 2,
        (U, UpdateSubcode.INVALID_NETWORK_FIELD, RESET): 4,
    },
    "tcpdump/bgp_mp_reach_nlri-oobr.pcap.bgphex": {
        (U, UpdateSubcode.INVALID_NETWORK_FIELD, RESET): 6,
    },
    "tcpdump/bgp_mvpn_6_and_7_oobr.pcap.bgphex": {
        (U, UpdateSubcode.MALFORMED_ATTRIBUTE_LIST, RESET): 1,
    },
    "tcpdump/bgp_pmsi_tunnel-oobr.pcap.bgphex": {
        (U, UpdateSubcode.MALFORMED_ATTRIBUTE_LIST, RESET): 1,
    },
    "tcpdump/bgp_vpn_rt-oobr.pcap.bgphex": {
        (U, UpdateSubcode.MALFORMED_ATTRIBUTE_LIST, RESET): 3,
    },
}


@dataclass(frozen=True)
class NonCanonical:
    """Messages whose re-encoding legitimately differs from the received octets."""

    name: str
    why: str
    counts: dict[str, int] = field(default_factory=dict)


#: The allow-list of non-canonical encodings. Decoding keeps everything a peer can vary (flag
#: bits, the extended-length bit on short values, the MP_REACH reserved octet, segment and
#: parameter grouping, unknown attributes and capabilities), so the real captures re-encode
#: octet for octet. What it cannot keep: bits beyond a prefix's length (RFC 4271 says they are
#: irrelevant; they are cleared on decode), and repeated attributes (RFC 7606 section 3g: later
#: copies are discarded). No well-formed corpus message has either, so the list is empty and
#: any difference is a failure; an entry needs a capture, a count and the reason.
NON_CANONICAL: tuple[NonCanonical, ...] = ()
