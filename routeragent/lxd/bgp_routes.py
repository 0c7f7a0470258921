"""Announcements -> bgpspeak routes for one neighbor.

Several announcements can share a prefix and a next hop (a forward on the NAT address, the same
external route on two NICs of one network): they become one path carrying the communities of
every kind involved and the lowest MED any of them asks for. Several next hops for one prefix
(anycast over two OVN networks) are several paths: with ADD-PATH each gets its own path id,
kept stable for as long as the path exists so that a change elsewhere never re-sends it;
without ADD-PATH a neighbor can hold only one path per prefix, and gets the one with the lowest
next hop (the choice must not flap between reads).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from bgpspeak import Route
from routeragent.config_model import IPAddress, IPNetwork
from routeragent.lxd.config_model import Kind, LxdConfig
from routeragent.lxd.model import Announcement, sort_key


@dataclass(frozen=True)
class Path:
    prefix: IPNetwork
    next_hop: IPAddress
    kinds: tuple[Kind, ...]
    sources: tuple[str, ...]


def merge(announcements: Iterable[Announcement]) -> list[Path]:
    """One path per (prefix, next hop), in the announcements' order."""
    grouped: dict[tuple[IPNetwork, IPAddress], list[Announcement]] = {}
    for a in sorted(announcements, key=sort_key):
        grouped.setdefault(a.key, []).append(a)
    return [
        Path(
            prefix=prefix,
            next_hop=nh,
            kinds=tuple(dict.fromkeys(a.kind for a in group)),
            sources=tuple(dict.fromkeys(a.source for a in group)),
        )
        for (prefix, nh), group in grouped.items()
    ]


class PathIds:
    """Stable ADD-PATH identifiers: a path keeps its id while it exists; a new path takes the
    lowest id its prefix does not use."""

    def __init__(self) -> None:
        self._ids: dict[IPNetwork, dict[IPAddress, int]] = {}

    def assign(self, paths: Iterable[Path]) -> dict[tuple[IPNetwork, IPAddress], int]:
        wanted: dict[IPNetwork, list[IPAddress]] = {}
        for p in paths:
            wanted.setdefault(p.prefix, []).append(p.next_hop)
        new: dict[IPNetwork, dict[IPAddress, int]] = {}
        for prefix, hops in wanted.items():
            old = self._ids.get(prefix, {})
            kept = {nh: pid for nh, pid in old.items() if nh in hops}
            used = set(kept.values())
            for nh in hops:
                if nh not in kept:
                    pid = 1
                    while pid in used:
                        pid += 1
                    kept[nh] = pid
                    used.add(pid)
            new[prefix] = kept
        self._ids = new
        return {(prefix, nh): pid for prefix, ids in new.items() for nh, pid in ids.items()}


def route_for(path: Path, config: LxdConfig, path_id: int | None) -> Route:
    communities: list[str] = []
    large: list[str] = []
    meds: list[int] = []
    for kind in path.kinds:
        attrs = config.attributes(kind)
        communities += attrs.communities
        large += attrs.large_communities
        if attrs.med is not None:
            meds.append(attrs.med)
    return Route.make(
        str(path.prefix),
        next_hop=path.next_hop,
        communities=tuple(dict.fromkeys(communities)),
        large_communities=tuple(dict.fromkeys(large)),
        med=min(meds) if meds else None,
        path_id=path_id,
    )


def single_paths(paths: Iterable[Path]) -> list[Path]:
    """Without ADD-PATH: the path with the lowest next hop of each prefix."""
    best: dict[IPNetwork, Path] = {}
    for p in paths:
        cur = best.get(p.prefix)
        if cur is None or int(p.next_hop) < int(cur.next_hop):
            best[p.prefix] = p
    return list(best.values())


def routes_for_neighbor(
    paths: list[Path],
    config: LxdConfig,
    add_path_families: frozenset[int],
    ids: dict[tuple[IPNetwork, IPAddress], int],
) -> list[Route]:
    """The routes one neighbor gets: every path in the IP versions it takes ADD-PATH for
    (``add_path_families`` holds 4 and/or 6), one path per prefix in the others."""
    multi = [p for p in paths if p.prefix.version in add_path_families]
    single = single_paths(p for p in paths if p.prefix.version not in add_path_families)
    out = [route_for(p, config, ids[(p.prefix, p.next_hop)]) for p in multi]
    out += [route_for(p, config, None) for p in single]
    return out
