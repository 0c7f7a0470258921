"""bgpspeak: a BGP-4 speaker library in pure Python (standard library only).

``bgpspeak.wire`` is the sans-I/O codec, ``bgpspeak.session`` the sans-I/O state machine, and
:class:`Speaker` the thin asyncio layer that holds sessions with real routers.
"""

from .bfd import BfdConfig
from .neighbor import Neighbor
from .routes import Route
from .speaker import EventStream, PeerStatus, Speaker
from .speaker_events import (
    EndOfRib,
    Event,
    PeerDown,
    PeerError,
    PeerStateChanged,
    PeerUp,
    RouteReceived,
    RouteWithdrawn,
)
from .wire import Family, Prefix

__version__ = "0.1.0"

__all__ = [
    "BfdConfig",
    "EndOfRib",
    "Event",
    "EventStream",
    "Family",
    "Neighbor",
    "PeerDown",
    "PeerError",
    "PeerStateChanged",
    "PeerStatus",
    "PeerUp",
    "Prefix",
    "Route",
    "RouteReceived",
    "RouteWithdrawn",
    "Speaker",
    "__version__",
]
