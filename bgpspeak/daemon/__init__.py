"""``bgpspeak run``: the speaker as a daemon driven by a TOML file, a control socket, health
checks and ExaBGP-style helper processes.

The pure parts (configuration model and validation, the reload plan, the layered route table,
the health state machine, the ExaBGP text parser and JSON writer, Prometheus rendering) hold
every decision and are tested without a network; the asyncio modules only move data between
them, the speaker, sockets and child processes. docs/daemon.md is the user's guide.
"""

from .config_load import ConfigError, load_config, parse_config
from .config_model import DaemonConfig

__all__ = ["ConfigError", "DaemonConfig", "load_config", "parse_config"]
