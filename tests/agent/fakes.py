"""Fakes for the apply tests: an in-memory FRR that understands exactly the config lines the
agent sends (and behaves like vtysh: stops at the first failing line), and in-memory files and
keepalived. Failures are injected by pattern."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from routeragent.observations import (
    FrrState,
    NeighborState,
    PrefixListEntry,
    PrefixListState,
    RouteMapEntry,
)


class FakeError(Exception):
    pass


@dataclass
class FakeFrr:
    state: FrrState
    fail_on: str | None = None  # regex: a config line matching it fails (like a vtysh error)
    hang: bool = False  # every call times out
    #: after a ``fail_on`` failure, hang (so that the undo of the partial change fails too)
    hang_after_failure: bool = False
    log: list[str] = field(default_factory=list)

    def configure(self, lines: Sequence[str]) -> None:
        if self.hang:
            raise FakeError("vtysh did not answer within 5 s")
        rms = {k: list(v) for k, v in self.state.route_maps.items()}
        pls = dict(self.state.prefix_lists)
        nbs = dict(self.state.neighbors)
        current_rm: tuple[str, int] | None = None
        try:
            for raw in lines:
                line = raw.strip()
                if self.fail_on and re.search(self.fail_on, line):
                    self.hang = self.hang_after_failure
                    raise FakeError(f"% Unknown command: {line}")
                self.log.append(line)
                if m := re.fullmatch(r"route-map (\S+) (permit|deny) (\d+)", line):
                    name, action, seq = m.group(1), m.group(2), int(m.group(3))
                    entries = [e for e in rms.get(name, []) if e.seq != seq]
                    entries.append(RouteMapEntry(seq, action, (), ()))
                    rms[name] = sorted(entries, key=lambda e: e.seq)
                    current_rm = (name, seq)
                elif line.startswith(("match ", "set ")) and current_rm:
                    name, seq = current_rm
                    e = next(e for e in rms[name] if e.seq == seq)
                    kind, clause = line.split(" ", 1)
                    if kind == "match":
                        new = replace(e, matches=(*e.matches, clause))
                    else:
                        new = replace(e, sets=tuple(sorted((*e.sets, clause))))
                    rms[name] = [new if x is e else x for x in rms[name]]
                elif line in ("exit", "exit-address-family"):
                    current_rm = None
                elif m := re.fullmatch(r"no route-map (\S+)", line):
                    rms.pop(m.group(1), None)
                elif m := re.fullmatch(r"(ip|ipv6) prefix-list (\S+) seq (\d+) (\S+) (\S+)", line):
                    fam = "ipv4" if m.group(1) == "ip" else "ipv6"
                    old = pls.get(m.group(2), PrefixListState(fam, ()))
                    entry = PrefixListEntry(int(m.group(3)), m.group(4), m.group(5))
                    pls[m.group(2)] = PrefixListState(fam, (*old.entries, entry))
                elif m := re.fullmatch(r"no (ip|ipv6) prefix-list (\S+)", line):
                    pls.pop(m.group(2), None)
                elif m := re.fullmatch(r"router bgp (\d+)", line):
                    if self.state.asn is not None and int(m.group(1)) != self.state.asn:
                        raise FakeError(f"% BGP is already running; AS is {self.state.asn}")
                elif re.fullmatch(r"address-family (ipv4|ipv6) unicast", line):
                    pass
                elif m := re.fullmatch(r"(no )?neighbor (\S+) route-map (\S+) (in|out)", line):
                    addr = m.group(2)
                    if addr not in nbs:
                        raise FakeError("% Specify remote-as or peer-group commands first")
                    value = None if m.group(1) else m.group(3)
                    attr = "route_map_in" if m.group(4) == "in" else "route_map_out"
                    nbs[addr] = replace(nbs[addr], **{attr: value})
                else:
                    raise FakeError(f"fake FRR does not know: {line!r}")
        finally:
            # like vtysh: whatever ran before the failing line stays applied
            self.state = replace(
                self.state,
                route_maps={k: tuple(v) for k, v in rms.items()},
                prefix_lists=pls,
                neighbors=nbs,
            )


@dataclass
class FakeEffects:
    frr: FakeFrr
    files: dict[Path, str] = field(default_factory=dict)
    keepalived_rejects: str | None = None
    keepalived_alive: bool = True
    reloads: int = 0
    fail_track_write: Path | None = None
    verify_lies: bool = False  # frr_observe shows the state from before the change
    dry_run_rejects: bool = False
    calls: list[str] = field(default_factory=list)
    _before: FrrState | None = None

    def track_read(self, path: Path) -> int | None:
        text = self.files.get(path)
        return None if text is None else int(text)

    def track_write(self, path: Path, value: int) -> None:
        self.calls.append(f"track_write {path.name} {value}")
        if path == self.fail_track_write:
            raise OSError(28, "No space left on device")
        self.files[path] = f"{value}\n"

    def track_remove(self, path: Path) -> None:
        self.calls.append(f"track_remove {path.name}")
        self.files.pop(path, None)

    def keepalived_check(self, text: str) -> None:
        self.calls.append("keepalived -t")
        if self.keepalived_rejects:
            raise FakeError(self.keepalived_rejects)

    def keepalived_write(self, path: Path, text: str) -> None:
        self.calls.append(f"write {path.name}")
        self.files[path] = text

    def keepalived_remove(self, path: Path) -> None:
        self.calls.append(f"remove {path.name}")
        self.files.pop(path, None)

    def keepalived_reload(self) -> None:
        self.calls.append("reload")
        self.reloads += 1

    def keepalived_running(self) -> bool:
        return self.keepalived_alive

    def frr_dry_run(self, text: str) -> None:
        self.calls.append("dry-run")
        self._before = self.frr.state
        if self.dry_run_rejects:
            raise FakeError("vtysh rejected the change in a dry run: line 2: % Unknown command")

    def frr_configure(self, lines: Sequence[str]) -> None:
        self.calls.append("configure")
        self.frr.configure(lines)

    def frr_exec(self, commands: Sequence[str]) -> None:
        self.calls.append("exec " + "; ".join(commands))

    def frr_observe(self) -> FrrState:
        if self.verify_lies and self._before is not None:
            return self._before
        return self.frr.state


def neighbor(addr: str, rm_in: str | None = None, rm_out: str | None = None) -> NeighborState:
    return NeighborState(
        address=addr,
        family="ipv6" if ":" in addr else "ipv4",
        state="Established",
        prefixes_received=2,
        prefixes_sent=1,
        route_map_in=rm_in,
        route_map_out=rm_out,
    )
