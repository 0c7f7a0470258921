"""Interop lab for tests: real FRR, BIRD and GoBGP in network namespaces we create and always
tear down. Start with tests/lab/README.md; the fixtures are in ``lab.pytest_support``."""

from .bird import BirdInstance
from .frr import FrrConfigError, FrrInstance, FrrNeighbor, best_path, bgpd_config, next_hops
from .gobgp import GobgpInstance, GobgpNeighbor, gobgp_config
from .netns import Endpoint, Lan, Link, Namespace
from .nsenter import NsProcess, call_in, entered
from .preflight import require
from .procs import CommandError
from .testlab import Footprint, Lab
from .wait import Deadline, WaitTimeout, wait_until

__all__ = [
    "BirdInstance",
    "CommandError",
    "Deadline",
    "Endpoint",
    "Footprint",
    "FrrConfigError",
    "FrrInstance",
    "FrrNeighbor",
    "GobgpInstance",
    "GobgpNeighbor",
    "Lab",
    "Lan",
    "Link",
    "Namespace",
    "NsProcess",
    "WaitTimeout",
    "best_path",
    "bgpd_config",
    "call_in",
    "entered",
    "gobgp_config",
    "next_hops",
    "require",
    "wait_until",
]
