"""The FRR objects that express a desired BGP state, and the vtysh lines for each (pure).

The agent owns every route-map and prefix-list whose name starts with ``RA-`` and the
``neighbor X route-map ... in|out`` lines of the upstream neighbors; the rest of FRR's config
(``router bgp``, neighbors, ``network`` statements) is the operator's.

Names carry a hash of their content (``RA-OUT-1a2b3c4d``). A change is never an in-place edit
of a live route-map (FRR would apply that only after ``bgp route-map delay-timer``, 5 s by
default, or a ``clear ... soft``): the agent creates the new object, switches the neighbor to
it (FRR re-evaluates at once, sessions stay up: route-refresh inbound, re-advertisement
outbound) and deletes the old one. Same content -> same name -> nothing to do.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Literal

from routeragent.config_model import Attributes, Config
from routeragent.observations import Family, PrefixListEntry, RouteMapEntry

OWNED_PREFIX = "RA-"
Direction = Literal["in", "out"]


@dataclass(frozen=True)
class Announcement:
    """What we send upstream: ``announce`` false withdraws our prefixes."""

    announce: bool
    attributes: Attributes


@dataclass(frozen=True)
class PrefixListSpec:
    name: str
    family: Family
    entries: tuple[PrefixListEntry, ...]


@dataclass(frozen=True)
class RouteMapSpec:
    name: str
    #: in the exact form FRR reports them (``show route-map json``), sets sorted
    entries: tuple[RouteMapEntry, ...]


@dataclass(frozen=True)
class Attachment:
    neighbor: str
    family: Family
    direction: Direction
    route_map: str


@dataclass(frozen=True)
class BgpPolicy:
    asn: int
    prefix_lists: tuple[PrefixListSpec, ...]
    route_maps: tuple[RouteMapSpec, ...]
    attachments: tuple[Attachment, ...]

    @property
    def names(self) -> frozenset[str]:
        return frozenset(p.name for p in self.prefix_lists) | frozenset(
            r.name for r in self.route_maps
        )


def _digest(*parts: object) -> str:
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:8]


def _set_clauses(asn: int, attrs: Attributes) -> tuple[str, ...]:
    sets = []
    if attrs.med is not None:
        sets.append(f"metric {attrs.med}")
    if attrs.prepend:
        sets.append("as-path prepend " + " ".join([str(asn)] * attrs.prepend))
    if attrs.communities:
        sets.append("community " + " ".join(attrs.communities) + " additive")
    return tuple(sorted(sets))


def _prefix_list(config: Config, family: Family) -> PrefixListSpec | None:
    version = 4 if family == "ipv4" else 6
    nets = [p for p in config.prefixes if p.version == version]
    if not nets:
        return None
    entries = tuple(PrefixListEntry(5 * (i + 1), "permit", str(n)) for i, n in enumerate(nets))
    tag = "P4" if family == "ipv4" else "P6"
    return PrefixListSpec(f"{OWNED_PREFIX}{tag}-{_digest(entries)}", family, entries)


def _outbound(config: Config, ann: Announcement, lists: list[PrefixListSpec]) -> RouteMapSpec:
    if not ann.announce or not lists:
        entries: tuple[RouteMapEntry, ...] = (RouteMapEntry(10, "deny", (), ()),)
    else:
        sets = _set_clauses(config.frr.asn, ann.attributes)
        entries = tuple(
            RouteMapEntry(
                10 * (i + 1),
                "permit",
                (f"{'ip' if pl.family == 'ipv4' else 'ipv6'} address prefix-list {pl.name}",),
                sets,
            )
            for i, pl in enumerate(lists)
        )
    return RouteMapSpec(f"{OWNED_PREFIX}OUT-{_digest(entries)}", entries)


def _inbound(local_preference: int) -> RouteMapSpec:
    entries = (RouteMapEntry(10, "permit", (), (f"local-preference {local_preference}",)),)
    return RouteMapSpec(f"{OWNED_PREFIX}IN-{_digest(entries)}", entries)


def build_policy(config: Config, ann: Announcement) -> BgpPolicy:
    lists = [pl for fam in ("ipv4", "ipv6") if (pl := _prefix_list(config, fam)) is not None]
    out = _outbound(config, ann, lists)
    maps: dict[str, RouteMapSpec] = {out.name: out}
    attachments = []
    for up in config.upstreams:
        rin = _inbound(up.local_preference)
        maps[rin.name] = rin
        attachments.append(Attachment(str(up.neighbor), up.family, "in", rin.name))
        attachments.append(Attachment(str(up.neighbor), up.family, "out", out.name))
    return BgpPolicy(
        asn=config.frr.asn,
        prefix_lists=tuple(lists),
        route_maps=tuple(sorted(maps.values(), key=lambda m: m.name)),
        attachments=tuple(attachments),
    )


# --------------------------------------------------------------------------- vtysh lines


def prefix_list_lines(spec: PrefixListSpec) -> list[str]:
    kw = "ip" if spec.family == "ipv4" else "ipv6"
    return [f"{kw} prefix-list {spec.name} seq {e.seq} {e.action} {e.prefix}" for e in spec.entries]


def delete_prefix_list_lines(name: str, family: Family) -> list[str]:
    return [f"no {'ip' if family == 'ipv4' else 'ipv6'} prefix-list {name}"]


def route_map_lines(name: str, entries: tuple[RouteMapEntry, ...]) -> list[str]:
    lines = []
    for e in entries:
        lines.append(f"route-map {name} {e.action} {e.seq}")
        lines += [f" match {m}" for m in e.matches]
        lines += [f" set {s}" for s in e.sets]
        lines.append(" exit")
    return lines


def delete_route_map_lines(name: str) -> list[str]:
    return [f"no route-map {name}"]


def attachment_lines(
    asn: int,
    neighbor: str,
    family: Family,
    direction: Direction,
    route_map: str | None,
    old: str | None,
) -> list[str]:
    """Point a neighbor at ``route_map`` (or remove its route-map when None)."""
    if route_map is not None:
        line = f"neighbor {neighbor} route-map {route_map} {direction}"
    elif old is not None:
        line = f"no neighbor {neighbor} route-map {old} {direction}"
    else:
        return []
    return [
        f"router bgp {asn}",
        f" address-family {family} unicast",
        f"  {line}",
        " exit-address-family",
        "exit",
    ]


def as_config_text(lines: list[str]) -> str:
    """The same lines as a config file fragment, for ``vtysh -C -f`` (dry run)."""
    return "\n".join(lines) + "\n"
