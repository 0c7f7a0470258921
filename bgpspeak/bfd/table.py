"""Every BFD session of one system, and the demultiplexing of received datagrams to them.

Pure like the sessions it holds: datagrams (bytes plus what the kernel said about them:
addresses, interface, TTL) and the time go in, tagged outputs come out. This is where the
checks that need more than one packet but less than a session live (RFC 5880 section 6.8.6
session selection, RFC 5881 section 5 / RFC 5883 section 5 TTL rules), and where local
discriminators are handed out: random, non-zero and unique (section 6.8.1), from the
injected ``random.Random``.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from .codes import MAX_TTL, State
from .config import IPAddress, SessionKey, SessionParams
from .counters import TableCounters
from .events import AdminDown, Input, Output, Received, Tick, Transmit
from .packet import PacketError, decode
from .session import BfdSession


@dataclass(frozen=True, slots=True)
class Datagram:
    """One UDP payload as received: ``multihop`` says which port it came to (4784 or 3784);
    ``ttl`` is None when the kernel did not report it (then single hop cannot trust it)."""

    data: bytes
    source: IPAddress
    source_port: int = 0
    destination: IPAddress | None = None
    interface: str | None = None
    ttl: int | None = None
    multihop: bool = False


@dataclass(frozen=True, slots=True)
class SessionOutput:
    """An output of the session ``key``."""

    key: SessionKey
    output: Output


class BfdTable:
    """All sessions. Not thread-safe: one driver (the asyncio service) calls it."""

    def __init__(self, rng: random.Random | None = None) -> None:
        self._rng = rng if rng is not None else random.Random()
        self.sessions: dict[SessionKey, BfdSession] = {}
        self._by_discr: dict[int, SessionKey] = {}
        self._by_peer: dict[tuple[IPAddress, bool], list[SessionKey]] = {}
        # the UDP source port each peer sends from (fixed per session, RFC 5881 section 4):
        # lets the transport give an Up session a socket of its own, out of reach of floods
        self.peer_ports: dict[SessionKey, int] = {}
        self.counters = TableCounters()

    # --- configuration --------------------------------------------------------------------

    def add(
        self, key: SessionKey, params: SessionParams, *, admin_down: bool = False
    ) -> BfdSession:
        if key in self.sessions:
            raise ValueError(f"BFD session {key} already exists")
        discr = self._new_discriminator()
        session = BfdSession(discr, params, rng=self._rng, admin_down=admin_down)
        self.sessions[key] = session
        self._by_discr[discr] = key
        self._by_peer.setdefault((key.peer, key.multihop), []).append(key)
        return session

    def remove(self, key: SessionKey, now: int) -> list[SessionOutput]:
        """Forget a session; its last packet says AdminDown, so the peer does not take the
        removal for a failure (RFC 5882 section 3.2)."""
        session = self.sessions.get(key)
        if session is None:
            raise KeyError(f"no BFD session {key}")
        out = self._tag(key, session.handle(AdminDown(), now))
        if not any(isinstance(o.output, Transmit) for o in out):
            out.append(SessionOutput(key, Transmit(session.packet())))
        del self.sessions[key]
        del self._by_discr[session.local_discr]
        self.peer_ports.pop(key, None)
        peers = self._by_peer[(key.peer, key.multihop)]
        peers.remove(key)
        if not peers:
            del self._by_peer[(key.peer, key.multihop)]
        return out

    def _new_discriminator(self) -> int:
        for _ in range(1000):
            discr = self._rng.randrange(1, 1 << 32)
            if discr not in self._by_discr:
                return discr
        raise RuntimeError("no free BFD discriminator after 1000 tries")  # pragma: no cover

    def __contains__(self, key: object) -> bool:
        return key in self.sessions

    def __iter__(self) -> Iterator[SessionKey]:
        return iter(self.sessions)

    def __len__(self) -> int:
        return len(self.sessions)

    # --- driving ---------------------------------------------------------------------------

    def handle(self, key: SessionKey, event: Input, now: int) -> list[SessionOutput]:
        """Feed one session directly (admin changes, reconfiguration)."""
        return self._tag(key, self.sessions[key].handle(event, now))

    def tick(self, now: int) -> list[SessionOutput]:
        out: list[SessionOutput] = []
        for key, session in list(self.sessions.items()):
            deadline = session.next_deadline()
            if deadline is not None and deadline <= now:
                out += self._tag(key, session.handle(Tick(), now))
        return out

    def next_deadline(self) -> int | None:
        deadlines = (s.next_deadline() for s in self.sessions.values())
        return min((d for d in deadlines if d is not None), default=None)

    def receive(self, dgram: Datagram, now: int) -> list[SessionOutput]:
        self.counters.rx_datagrams += 1
        try:
            packet = decode(dgram.data)
        except PacketError as e:
            self.counters.discard(e.kind.value)
            return []
        key = self._select(packet.your_discriminator, dgram)
        if key is None:
            return []
        session = self.sessions[key]
        if not _ttl_ok(dgram, session.params.min_ttl):
            # RFC 5881 section 5: single hop accepts only 255; RFC 5883: at least min_ttl
            session.counters.discard("ttl")
            return []
        if dgram.source_port:
            self.peer_ports[key] = dgram.source_port
        return self._tag(key, session.handle(Received(packet), now))

    def _select(self, your_discr: int, dgram: Datagram) -> SessionKey | None:
        """RFC 5880 section 6.8.6: by Your Discriminator when set, otherwise by addresses
        (RFC 5881 section 3: source address and interface; RFC 5883: the address pair)."""
        if your_discr != 0:
            key = self._by_discr.get(your_discr)
            if key is None:
                self.counters.discard("unknown-discriminator")
                return None
            if key.peer != dgram.source or key.multihop != dgram.multihop:
                # a right guess of a 32-bit discriminator from elsewhere is still not the peer
                self.counters.discard("discriminator-address-mismatch")
                return None
            return key
        for key in self._by_peer.get((dgram.source, dgram.multihop), ()):
            if (
                key.local is not None
                and dgram.destination is not None
                and key.local != dgram.destination
            ):
                continue
            if key.interface is not None and dgram.interface != key.interface:
                continue
            return key
        self.counters.discard("no-session")
        return None

    @staticmethod
    def _tag(key: SessionKey, outputs: Iterable[Output]) -> list[SessionOutput]:
        return [SessionOutput(key, o) for o in outputs]

    def up_count(self) -> int:
        return sum(1 for s in self.sessions.values() if s.state is State.UP)


def _ttl_ok(dgram: Datagram, min_ttl: int) -> bool:
    if dgram.ttl is None:
        return False
    if not dgram.multihop:
        return dgram.ttl == MAX_TTL
    return dgram.ttl >= min_ttl
