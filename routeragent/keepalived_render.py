"""keepalived.conf from the agent's config: a jinja2 template shipped in the package.

Deterministic (same config -> byte-identical file, so "did anything change" is a string
compare and an unchanged config never causes a reload) and strict (``StrictUndefined``: a
missing variable is an error, never an empty string in a live config).

Priorities are *not* in the rendered file's moving parts: the file carries each instance's
healthy priority and a ``track_file`` with weight 1 whose value the agent writes
(``desired - healthy``); keepalived watches the file with inotify and changes the advertised
priority without a reload. ``init_file`` seeds a missing track file with the demoted offset,
so after a reboot (state dir on tmpfs) keepalived starts as a weak backup until the agent has
seen the router healthy.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import jinja2

from routeragent.config_model import Config, VrrpInstance

TEMPLATE = "keepalived.conf.j2"


@dataclass(frozen=True)
class _InstanceView:
    name: str
    interface: str
    vrid: int
    version: int
    priority: int
    advert_int: str
    unicast_source: str | None
    unicast_peers: tuple[str, ...]
    advertised: tuple[str, ...]
    excluded: tuple[str, ...]
    track_file: str
    boot_offset: int


def track_file_path(config: Config, inst: VrrpInstance) -> Path:
    return config.agent.state_dir / "keepalived" / f"{inst.name}.track"


def track_offset(config: Config, inst: VrrpInstance, priority: int) -> int:
    """The track file value that makes keepalived advertise ``priority``."""
    return priority - config.healthy_priority(inst)


def _advert_int(inst: VrrpInstance) -> str:
    return f"{inst.advert_interval:g}"


def _view(config: Config, inst: VrrpInstance) -> _InstanceView:
    return _InstanceView(
        name=inst.name,
        interface=inst.interface,
        vrid=inst.vrid,
        version=inst.version,
        priority=config.healthy_priority(inst),
        advert_int=_advert_int(inst),
        unicast_source=str(inst.unicast_source) if inst.unicast_source else None,
        unicast_peers=tuple(str(p) for p in inst.unicast_peers),
        advertised=tuple(str(a) for a in inst.advertised),
        excluded=tuple(str(a) for a in inst.excluded),
        track_file=str(track_file_path(config, inst)),
        boot_offset=track_offset(config, inst, config.demoted_priority(inst)),
    )


def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
    )


def render_keepalived(config: Config, source: str = "routeragent config") -> str:
    text = resources.files("routeragent").joinpath("templates", TEMPLATE).read_text()
    template = _environment().from_string(text)
    return template.render(
        router=config.agent.router,
        source=source,
        notify_fifo=str(config.keepalived.notify_fifo) if config.keepalived.notify_fifo else "",
        instances=[_view(config, inst) for inst in config.vrrp],
    )
