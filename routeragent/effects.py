"""The real side effects behind :class:`routeragent.apply.Effects`."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from routeragent import keepalived_control as kc
from routeragent.config_model import Config
from routeragent.files import write_atomic
from routeragent.observations import FrrState
from routeragent.observe import Observer
from routeragent.vtysh import Vtysh


@dataclass
class RealEffects:
    config: Config
    vtysh: Vtysh
    observer: Observer
    #: how long keepalived gets to survive a reload before we call it dead
    reload_grace: float = 0.5

    def track_read(self, path: Path) -> int | None:
        return kc.track_read(path)

    def track_write(self, path: Path, value: int) -> None:
        kc.track_write(path, value)

    def track_remove(self, path: Path) -> None:
        path.unlink(missing_ok=True)

    def keepalived_check(self, text: str) -> None:
        kc.check_config(self.config.keepalived.binary, text)

    def keepalived_write(self, path: Path, text: str) -> None:
        write_atomic(path, text)

    def keepalived_remove(self, path: Path) -> None:
        path.unlink(missing_ok=True)

    def keepalived_reload(self) -> None:
        kc.reload(self.config.keepalived.pid_file)

    def keepalived_running(self) -> bool:
        time.sleep(self.reload_grace)
        return kc.running_pid(self.config.keepalived.pid_file) is not None

    def frr_dry_run(self, text: str) -> None:
        self.vtysh.dry_run(text)

    def frr_configure(self, lines: Sequence[str]) -> None:
        self.vtysh.configure(lines)

    def frr_exec(self, commands: Sequence[str]) -> None:
        self.vtysh.run(commands)

    def frr_observe(self) -> FrrState:
        return self.observer.frr()
