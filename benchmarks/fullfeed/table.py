"""The routing table every sender announces: N prefixes with the shape of a real full table.

Why synthesized: the corpora hold one old full RIB dump (RIPE RIS, 2002, 113k prefixes) and
modern update traces, not a 1M-prefix table. So the table takes from them what makes a full
feed expensive to send and receive, and only the address space is made up:

* attribute sets (AS path, origin, MED, communities, large communities) are the distinct sets
  of the 2019 RIPE RIS update trace, cycled when more are needed (a cycled set gets a
  synthetic private origin AS so it stays distinct);
* how many prefixes share one attribute set follows the 2002 RIB dump's main peer (median 1,
  mean ~5.7, a long tail of sets with thousands of prefixes), which decides how well UPDATEs
  pack;
* prefix lengths follow the update trace's announcements, shifted into the lab's documentation
  space: IPv4 into 10.16.0.0-10.255.255.255 (lengths +8, capped at /32: a real /24 becomes a
  /32), IPv6 into 2001:db8:8000::/33 (lengths +16, capped at /64). A prefix costs one more NLRI
  octet than the real one would (IPv6: two).

Prefixes come out sorted (as a dump lists them); attribute sets are spread over them at random
with a fixed seed, so every run and every sender gets the same table.
"""

from __future__ import annotations

import collections
import ipaddress
import os
import random
from array import array
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from bgpspeak.mrt import Bgp4mpMessage, RibRecord, TableDumpRecord, read_mrt
from bgpspeak.wire import AttributeCache, Update
from bgpspeak.wire.aspath import AsPath
from bgpspeak.wire.attributes import MultiExitDisc, Origin
from bgpspeak.wire.communities import Communities, LargeCommunities
from bgpspeak.wire.prefix import Prefix

RIB_DUMP = "bgpdump/test_data/bview.20020722.2337.gz"
UPDATE_TRACE = "bgp-rs/updates.20190101.0000.gz"
# ASes the lab uses: a path holding one of them would be dropped as a loop by the receiver
LAB_ASES = frozenset({65001, 65002, 65003})
SYNTHETIC_AS = 4_200_000_000  # private 4-octet range (RFC 6996)

V4_BASE, V4_END = int(ipaddress.IPv4Address("10.16.0.0")), int(ipaddress.IPv4Address("11.0.0.0"))
V6_BASE = int(ipaddress.IPv6Address("2001:db8:8000::"))
V6_END = int(ipaddress.IPv6Address("2001:db9::"))


@dataclass(frozen=True, slots=True)
class PathSet:
    """One attribute set as the sender is told to announce it (before it prepends its AS)."""

    as_path: tuple[int, ...]
    origin: int  # 0 IGP, 1 EGP, 2 INCOMPLETE
    med: int | None
    communities: tuple[int, ...]
    large: tuple[tuple[int, int, int], ...]


@dataclass
class Table:
    """``afi`` 1 or 2; prefix i is ``addrs[i]/lengths[i]`` with attributes ``sets[set_of[i]]``."""

    afi: int
    sets: list[PathSet]
    addrs: list[int]
    lengths: bytes
    set_of: array[int]

    def __len__(self) -> int:
        return len(self.addrs)

    def prefix_text(self, i: int) -> str:
        addr = ipaddress.IPv4Address(self.addrs[i]) if self.afi == 1 else None
        if addr is None:
            return f"{ipaddress.IPv6Address(self.addrs[i])}/{self.lengths[i]}"
        return f"{addr}/{self.lengths[i]}"

    def prefixes_text(self) -> Iterator[str]:
        for i in range(len(self.addrs)):
            yield self.prefix_text(i)

    def used_sets(self) -> int:
        return len(set(self.set_of))


@dataclass
class Shape:
    """What the corpora say a table looks like."""

    pool: list[PathSet]  # distinct attribute sets of the update trace
    group_sizes: list[int]  # prefixes per attribute set in the RIB dump (main peer)
    lengths: dict[int, collections.Counter[int]]  # afi -> prefix length histogram


def find_corpora() -> Path | None:
    """Where tests/corpora_path.py looks: BGPSPEAK_CORPORA, ../shared/corpora, /work/shared."""
    env = os.environ.get("BGPSPEAK_CORPORA")
    root = Path(__file__).resolve().parents[2]
    candidates = [Path(env)] if env else []
    candidates += [root.parent / "shared" / "corpora", Path("/work/shared/corpora")]
    for c in candidates:
        if (c / "MANIFEST.tsv").is_file():
            return c
    return None


def _path_set(attributes: Iterable[object]) -> PathSet | None:
    path: list[int] = []
    origin, med = 0, None
    comms: tuple[int, ...] = ()
    large: tuple[tuple[int, int, int], ...] = ()
    for a in attributes:
        if isinstance(a, AsPath) and a.type_code == 2:
            for seg in a.segments:
                if seg.type in (1, 2):
                    path += seg.asns
        elif isinstance(a, Origin):
            origin = int(a.value)
        elif isinstance(a, MultiExitDisc):
            med = a.value
        elif isinstance(a, Communities):
            comms = tuple(a.values)
        elif isinstance(a, LargeCommunities):
            large = tuple(a.values)
    if not path or any(not 1 <= x < SYNTHETIC_AS for x in path) or LAB_ASES & set(path):
        return None
    return PathSet(tuple(path), origin, med, comms, large)


def load_shape(corpora: Path, limit: int | None = None) -> Shape:
    """``limit``: read at most this many records of each file (a quick, rougher shape)."""
    pool: dict[PathSet, None] = {}
    lengths: dict[int, collections.Counter[int]] = {
        1: collections.Counter(),
        2: collections.Counter(),
    }
    cache = AttributeCache()
    for k, rec in enumerate(read_mrt(corpora / UPDATE_TRACE)):
        if limit is not None and k >= limit:
            break
        if not isinstance(rec, Bgp4mpMessage) or rec.msg_type != 2:
            continue
        upd = rec.decode(cache)
        if not isinstance(upd, Update):
            continue
        announced = list(upd.announced())
        if not announced:
            continue
        ps = _path_set(upd.attributes)
        if ps is not None:
            pool.setdefault(ps, None)
        for _family, p in announced:
            if isinstance(p, Prefix):
                lengths[p.afi][p.length] += 1
    per_peer: dict[object, collections.Counter[object]] = collections.defaultdict(
        collections.Counter
    )
    for k, rec in enumerate(read_mrt(corpora / RIB_DUMP)):
        if limit is not None and k >= limit:
            break
        if isinstance(rec, RibRecord | TableDumpRecord):
            for e in rec.entries:
                key = tuple(a for a in e.attributes if a.type_code != 3)  # next hop aside
                per_peer[e.peer.ip][key] += 1
    main = max(per_peer.values(), key=lambda c: sum(c.values()))
    return Shape(list(pool), sorted(main.values()), lengths)


def _lengths(hist: collections.Counter[int], n: int, rng: random.Random) -> list[int]:
    items = sorted(hist.items())
    total = sum(c for _, c in items)
    out: list[int] = []
    for length, count in items:
        out += [length] * round(n * count / total)
    while len(out) < n:
        out.append(items[-1][0] if not out else rng.choice(out))
    rng.shuffle(out)
    return out[:n]


def _allocate(afi: int, real_lengths: list[int]) -> tuple[list[int], bytes]:
    """Distinct prefixes with the shifted lengths. Each length has its own allocation pointer
    (so equal lengths never collide); a length whose space runs out spills into the next
    longer one, handled after it."""
    bits, shift, lo, hi, base, end = (
        (32, 8, 16, 32, V4_BASE, V4_END) if afi == 1 else (128, 16, 33, 64, V6_BASE, V6_END)
    )
    want = collections.Counter(max(lo, min(hi, length + shift)) for length in real_lengths)
    out: list[tuple[int, int]] = []
    carry = 0
    for length in range(lo, hi + 1):
        count = want.get(length, 0) + carry
        step = 1 << (bits - length)
        first = (base + step - 1) // step * step
        room = (end - first) // step
        take = min(count, room)
        out += [(first + k * step, length) for k in range(take)]
        carry = count - take
    if carry:
        raise ValueError(f"table: {carry} prefixes do not fit the lab's address space")
    out.sort()
    return [a for a, _ in out], bytes(length for _, length in out)


def _group_sizes(sizes: list[int], n: int, rng: random.Random) -> list[int]:
    out: list[int] = []
    total = 0
    while total < n:
        s = min(rng.choice(sizes), n - total)
        out.append(s)
        total += s
    return out


def build(shape: Shape, afi: int, n: int, seed: int = 5) -> Table:
    if n < 1:
        raise ValueError(f"table: n={n} must be at least 1")
    rng = random.Random(seed * 1000 + afi)
    addrs, lengths = _allocate(afi, _lengths(shape.lengths[afi], n, rng))
    groups = _group_sizes(shape.group_sizes, n, rng)
    sets: list[PathSet] = []
    for i in range(len(groups)):
        base = shape.pool[i % len(shape.pool)]
        if i >= len(shape.pool):  # cycled: a distinct origin AS keeps the set distinct
            base = PathSet(
                (*base.as_path[:-1], SYNTHETIC_AS + i),
                base.origin,
                base.med,
                base.communities,
                base.large,
            )
        sets.append(base)
    set_of = array("I")
    for i, size in enumerate(groups):
        set_of.extend([i] * size)
    order = list(set_of)
    rng.shuffle(order)
    return Table(afi, sets, addrs, lengths, array("I", order))
