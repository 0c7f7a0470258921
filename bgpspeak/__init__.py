"""bgpspeak: a BGP-4 speaker library in pure Python (standard library only).

``bgpspeak.wire`` is the sans-I/O codec; later layers (session state machine, asyncio speaker,
RIB) build on it.
"""

__version__ = "0.1.0"
