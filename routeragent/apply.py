"""Carrying out a plan: each transaction all-or-nothing, verified, rolled back on failure.

The side effects go through :class:`Effects` (real ones in :mod:`routeragent.effects`), so the
transaction logic (ordering, undo, verification) is tested with a fake that fails on demand.

- ``vrrp``: write each track file (atomically), read it back; on a failure restore the previous
  values.
- ``keepalived``: ``keepalived -t`` on the new text *before* anything is written; write
  atomically; reload; check keepalived is still running. On a failure put the old file back
  (and reload again if we had reloaded).
- ``frr``: dry-run the whole change with ``vtysh -C``; then apply action by action, each undone
  in reverse order if a later one fails; finally re-observe FRR and check the result is the
  desired policy, rolling back if it is not.

A rollback that itself fails is reported as such (the next pass re-observes and plans again:
the loop converges from whatever state it finds).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from routeragent.bgp_policy import (
    BgpPolicy,
    as_config_text,
    attachment_lines,
    delete_prefix_list_lines,
    delete_route_map_lines,
    prefix_list_lines,
    route_map_lines,
)
from routeragent.observations import FrrState
from routeragent.plan import (
    Attach,
    CreatePrefixList,
    CreateRouteMap,
    DeleteRouteMap,
    FrrAction,
    Plan,
    WriteKeepalivedConfig,
    WriteTrackFile,
)


class ApplyError(Exception):
    pass


class Effects(Protocol):
    def track_read(self, path: Path) -> int | None: ...
    def track_write(self, path: Path, value: int) -> None: ...
    def track_remove(self, path: Path) -> None: ...
    def keepalived_check(self, text: str) -> None: ...
    def keepalived_write(self, path: Path, text: str) -> None: ...
    def keepalived_remove(self, path: Path) -> None: ...
    def keepalived_reload(self) -> None: ...
    def keepalived_running(self) -> bool: ...
    def frr_dry_run(self, text: str) -> None: ...
    def frr_configure(self, lines: Sequence[str]) -> None: ...
    def frr_exec(self, commands: Sequence[str]) -> None: ...
    def frr_observe(self) -> FrrState: ...


@dataclass
class TxReport:
    name: str
    applied: list[str] = field(default_factory=list)
    error: str | None = None
    rolled_back: bool = False
    rollback_error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass
class ApplyReport:
    transactions: list[TxReport] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(t.ok for t in self.transactions)

    @property
    def changed(self) -> bool:
        return any(t.ok and t.applied for t in self.transactions)


Undo = Callable[[], None]


def _run_tx(
    report: TxReport, steps: list[tuple[str, Callable[[], Undo]]], verify: Callable[[], None]
) -> None:
    """Run ``steps`` (each returns its undo); on any exception undo what was done, newest first."""
    undos: list[Undo] = []
    try:
        for text, do in steps:
            undos.append(do())
            report.applied.append(text)
        verify()
    except Exception as e:
        report.error = f"{type(e).__name__}: {e}" if not isinstance(e, ApplyError) else str(e)
        errors = []
        for undo in reversed(undos):
            try:
                undo()
            except Exception as ue:
                errors.append(str(ue))
        report.rolled_back = bool(undos)
        report.rollback_error = "; ".join(errors) or None


# --------------------------------------------------------------------------- vrrp


def _track_step(fx: Effects, a: WriteTrackFile) -> Callable[[], Undo]:
    def do() -> Undo:
        fx.track_write(a.path, a.value)

        def undo() -> None:
            if a.previous is None:
                fx.track_remove(a.path)
            else:
                fx.track_write(a.path, a.previous)

        return undo

    return do


def apply_vrrp(fx: Effects, actions: Sequence[WriteTrackFile]) -> TxReport:
    report = TxReport("vrrp")
    if not actions:
        return report

    def verify() -> None:
        for a in actions:
            got = fx.track_read(a.path)
            if got != a.value:
                raise ApplyError(f"track file {a.path} reads {got} after writing {a.value}")

    _run_tx(report, [(a.describe(), _track_step(fx, a)) for a in actions], verify)
    return report


# --------------------------------------------------------------------------- keepalived


def apply_keepalived(fx: Effects, actions: Sequence[WriteKeepalivedConfig]) -> TxReport:
    report = TxReport("keepalived")
    if not actions:
        return report
    steps: list[tuple[str, Callable[[], Undo]]] = []
    reloads = False
    for a in actions:

        def check(a: WriteKeepalivedConfig = a) -> Undo:
            fx.keepalived_check(a.text)
            return lambda: None

        def write(a: WriteKeepalivedConfig = a) -> Undo:
            fx.keepalived_write(a.path, a.text)

            def undo() -> None:
                if a.previous is None:
                    fx.keepalived_remove(a.path)
                else:
                    fx.keepalived_write(a.path, a.previous)

            return undo

        steps.append((f"keepalived -t accepted {a.path}", check))
        steps.append((a.describe(), write))
        reloads = reloads or a.reload

    if reloads:

        def reload() -> Undo:
            fx.keepalived_reload()
            return fx.keepalived_reload  # after the files are restored, reload them

        steps.append(("keepalived reloaded", reload))

    def verify() -> None:
        if reloads and not fx.keepalived_running():
            raise ApplyError("keepalived is not running after the reload")

    _run_tx(report, steps, verify)
    return report


# --------------------------------------------------------------------------- frr


def _frr_do_undo(asn: int, a: FrrAction) -> tuple[list[str], list[str], list[str]]:
    """(config lines to do, config lines to undo, exec commands after doing)."""
    if isinstance(a, CreatePrefixList):
        do = prefix_list_lines(a.spec)
        undo = delete_prefix_list_lines(a.spec.name, a.spec.family)
        if a.previous is not None:
            do = delete_prefix_list_lines(a.spec.name, a.previous.family) + do
            undo = undo + [
                f"{'ip' if a.previous.family == 'ipv4' else 'ipv6'} prefix-list {a.spec.name} "
                f"seq {e.seq} {e.action} {e.prefix}"
                for e in a.previous.entries
            ]
        return do, undo, []
    if isinstance(a, CreateRouteMap):
        do = route_map_lines(a.spec.name, a.spec.entries)
        undo = delete_route_map_lines(a.spec.name)
        after: list[str] = []
        if a.previous is not None:
            do = delete_route_map_lines(a.spec.name) + do
            undo = undo + route_map_lines(a.spec.name, a.previous)
            after = [f"clear bgp {fam} unicast {nb} soft {d}" for nb, fam, d in a.refresh]
        return do, undo, after
    if isinstance(a, Attach):
        do = attachment_lines(asn, a.neighbor, a.family, a.direction, a.route_map, a.previous)
        undo = attachment_lines(asn, a.neighbor, a.family, a.direction, a.previous, a.route_map)
        return do, undo, []
    if isinstance(a, DeleteRouteMap):
        return delete_route_map_lines(a.name), route_map_lines(a.name, a.entries), []
    prev = a.previous
    kw = "ip" if prev.family == "ipv4" else "ipv6"
    recreate = [
        f"{kw} prefix-list {a.name} seq {e.seq} {e.action} {e.prefix}" for e in prev.entries
    ]
    return delete_prefix_list_lines(a.name, prev.family), recreate, []


def frr_mismatches(policy: BgpPolicy, frr: FrrState) -> list[str]:
    """What in ``frr`` still differs from ``policy`` (empty: verified)."""
    out = []
    for pl in policy.prefix_lists:
        have = frr.prefix_lists.get(pl.name)
        if have is None or have.entries != pl.entries:
            out.append(f"prefix-list {pl.name} missing or different")
    for rm in policy.route_maps:
        if frr.route_maps.get(rm.name) != rm.entries:
            out.append(f"route-map {rm.name} missing or different")
    for att in policy.attachments:
        nb = frr.neighbors.get(att.neighbor)
        if nb is None:
            continue  # reported as blocked by the plan
        used = nb.route_map_in if att.direction == "in" else nb.route_map_out
        if used != att.route_map:
            out.append(f"neighbor {att.neighbor} {att.direction} uses {used}, not {att.route_map}")
    return out


def apply_frr(fx: Effects, actions: Sequence[FrrAction], policy: BgpPolicy) -> TxReport:
    report = TxReport("frr")
    if not actions:
        return report
    planned = [_frr_do_undo(policy.asn, a) for a in actions]
    try:
        fx.frr_dry_run(as_config_text([line for do, _, _ in planned for line in do]))
    except Exception as e:
        report.error = f"dry run failed, nothing applied: {e}"
        return report

    steps: list[tuple[str, Callable[[], Undo]]] = []
    partial_undo_errors: list[str] = []
    for a, (do, undo, after) in zip(actions, planned, strict=True):

        def step(do: list[str] = do, undo: list[str] = undo, after: list[str] = after) -> Undo:
            try:
                fx.frr_configure(do)
            except Exception:
                # vtysh stops at the failing line: the lines before it may be in; undo them.
                # If that fails too (FRR hung), what is left is an object nobody uses yet
                # (creations come before switches), which the next pass replaces or deletes.
                try:
                    fx.frr_configure(undo)
                except Exception as ue:
                    partial_undo_errors.append(f"undo of the partial action: {ue}")
                raise
            if after:
                fx.frr_exec(after)
            return lambda: fx.frr_configure(undo)

        steps.append((a.describe(), step))

    def verify() -> None:
        left = frr_mismatches(policy, fx.frr_observe())
        if left:
            raise ApplyError("FRR does not show the change: " + "; ".join(left))

    _run_tx(report, steps, verify)
    if partial_undo_errors:
        report.rolled_back = True
        report.rollback_error = "; ".join(
            [*partial_undo_errors, *([report.rollback_error] if report.rollback_error else [])]
        )
    return report


def apply_plan(fx: Effects, plan: Plan, policy: BgpPolicy) -> ApplyReport:
    return ApplyReport(
        [
            apply_vrrp(fx, plan.vrrp),
            apply_keepalived(fx, plan.keepalived),
            apply_frr(fx, plan.frr, policy),
        ]
    )
