"""BFD tied to BGP neighbors: a path BFD declares down takes the BGP session down with it.

What happens, per neighbor with a :class:`BfdConfig`:

* BFD goes from Up to Down for a reason that means the path may be gone (detection time
  expired, or the peer signalled Down): the BGP session ends at once, with Cease/BFD Down
  (RFC 9384, 6/10) where a NOTIFICATION can still be sent, and its routes are withdrawn as on
  any session loss that is not graceful: with the RFC 8538 N bit on both sides the Cease goes
  inside a Hard Reset so that neither side keeps the other's routes as stale (see
  :func:`bfd_down_notification`). BGP then reconnects as usual.
* An administrative Down, ours or the peer's, is not a failure (RFC 5882 section 3.2): BGP is
  left alone.
* ``strict``: BGP is kept from starting while BFD is not Up (Down or Init), and is released
  the moment it comes Up; FRR 9's ``neighbor X bfd strict`` does the same.

The BGP side is reached through :class:`PeerControl`, three operations on a neighbor: drop the
session, hold it down, release it. :class:`StopStartControl` does them with the Speaker's
public API of today (``Peer.stop`` / ``Peer.start``), which is why :meth:`BgpBfd.start` must
come after ``Speaker.start``. With the Speaker integration, Peer has
those operations itself (:class:`PeerHooks`) and the Speaker runs this for every
``Neighbor(..., bfd=BfdConfig(...))``.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, cast

from ..wire.errors import CeaseSubcode
from ..wire.simple_messages import Notification
from .codes import State
from .config import BfdConfig, IPAddress, SessionKey
from .service import BfdService, SessionEvent
from .status import SessionStatus

if TYPE_CHECKING:
    from ..session.negotiate import Negotiated
    from ..speaker import Speaker

log = logging.getLogger("bgpspeak.bfd.bgp")


def bfd_down_notification(negotiated: Negotiated | None, local_n_bit: bool) -> Notification:
    """Cease/BFD Down (RFC 9384), wrapped in Hard Reset (RFC 8538) when both sides set the N
    bit. With the N bit, a plain Cease lets both speakers keep each other's routes as stale
    for the restart time, i.e. keep forwarding into the path BFD has just declared dead; the
    Hard Reset makes both flush at once, which is what FRR does on BFD down (bgpd stops the
    peer without graceful restart). Without the N bit any NOTIFICATION already flushes."""
    note = Notification.cease(CeaseSubcode.BFD_DOWN)
    if negotiated is None or negotiated.peer_restart is None:
        return note
    both = negotiated.peer_restart.notification and local_n_bit and negotiated.local_restart
    return note.hard_reset() if both else note


class PeerControl(Protocol):
    """What BFD needs from the BGP side for one neighbor address."""

    def drop(self, address: IPAddress, notification: Notification) -> None:
        """End the session now (NOTIFICATION where one can be sent), routes handled as on any
        session loss; reconnect as usual unless held."""

    def hold(self, address: IPAddress, notification: Notification) -> None:
        """Keep BGP from starting (and end a session in progress with ``notification``)."""

    def release(self, address: IPAddress) -> None:
        """Let BGP start again."""


class StopStartControl:
    """:class:`PeerControl` with the Peer's stop/start: a held neighbor is a stopped one, a
    drop is ``Peer.drop`` (which waits before dialling again, see docs/bfd.md). Must act
    after ``Speaker.start``, since that starts every neighbor."""

    def __init__(self, speaker: Speaker) -> None:
        self.speaker = speaker
        self.held: set[IPAddress] = set()

    def drop(self, address: IPAddress, notification: Notification) -> None:
        peer = self.speaker.peer(address)
        if address in self.held:
            peer.stop(notification)
        else:
            # not stop + start: Peer.drop dials again only after the peer has closed the
            # old connection, i.e. read our NOTIFICATION (docs/bfd.md, "Dropping BGP")
            peer.drop(notification)

    def hold(self, address: IPAddress, notification: Notification) -> None:
        if address in self.held:
            return
        self.held.add(address)
        self.speaker.peer(address).stop(notification)

    def release(self, address: IPAddress) -> None:
        if address not in self.held:
            return
        self.held.discard(address)
        self.speaker.peer(address).start(asyncio.get_running_loop())


class HookedPeer(Protocol):
    """The three Peer methods BFD drives (drop, hold, release)."""

    def drop(self, notification: Notification | None) -> None: ...

    def hold(self, reason: str, notification: Notification | None = None) -> None: ...

    def release(self) -> None: ...


class PeerHooks:
    """:class:`PeerControl` through the Peer methods drop, hold and release: no
    restart dance, and holding works before ``Speaker.start`` too."""

    def __init__(self, speaker: Speaker) -> None:
        self.speaker = speaker

    def _peer(self, address: IPAddress) -> HookedPeer:
        return cast(HookedPeer, self.speaker.peer(address))

    def drop(self, address: IPAddress, notification: Notification) -> None:
        self._peer(address).drop(notification)

    def hold(self, address: IPAddress, notification: Notification) -> None:
        self._peer(address).hold("BFD is not Up", notification)

    def release(self, address: IPAddress) -> None:
        self._peer(address).release()


@dataclass
class _Binding:
    neighbor: IPAddress
    config: BfdConfig
    key: SessionKey
    held: bool = False
    bgp_drops: int = 0
    last_drop: str = ""


@dataclass(frozen=True)
class NeighborBfdStatus:
    """One neighbor's BFD for ``show bfd`` / ``show neighbors``: the session and what it did
    to BGP (``held``: strict mode is keeping BGP down; ``bgp_drops``: sessions BFD ended)."""

    neighbor: IPAddress
    strict: bool
    held: bool
    bgp_drops: int
    last_drop: str
    session: SessionStatus

    def as_dict(self) -> dict[str, Any]:
        out = self.session.as_dict()
        out.update(
            {
                "neighbor": str(self.neighbor),
                "strict": self.strict,
                "bgp-held": self.held,
                "bgp-drops": self.bgp_drops,
                "last-bgp-drop": self.last_drop,
            }
        )
        return out


@dataclass
class BgpBfdCounters:
    """What BFD did to BGP, over all neighbors."""

    drops: int = 0  # sessions ended because BFD declared the path down
    holds: int = 0  # times strict mode started holding a neighbor
    releases: int = 0


class BgpBfd:
    """BFD sessions for a Speaker's neighbors (see the module docstring).

    ::

        speaker = Speaker(65002, "192.0.2.2", listen=())
        speaker.add_neighbor(Neighbor("192.0.2.1", remote_as=65001))
        bfd = BgpBfd(speaker)
        bfd.attach("192.0.2.1", BfdConfig(min_tx_ms=100, min_rx_ms=100, multiplier=3))
        await speaker.start()
        await bfd.start()
        ...
        await bfd.stop()
        await speaker.stop()
    """

    def __init__(
        self,
        speaker: Speaker,
        service: BfdService | None = None,
        control: PeerControl | None = None,
    ) -> None:
        self.speaker = speaker
        self.service = service if service is not None else BfdService()
        self.control: PeerControl = control if control is not None else StopStartControl(speaker)
        self._bindings: dict[IPAddress, _Binding] = {}
        self._by_key: dict[SessionKey, _Binding] = {}
        self._unsubscribe: Any = None
        self._started = False
        self.counters = BgpBfdCounters()

    # --- configuration --------------------------------------------------------------------

    def attach(self, neighbor: str | IPAddress, config: BfdConfig) -> SessionKey:
        """Run BFD toward a configured neighbor. The session's local address is the config's,
        else the neighbor's ``local_address``, else the kernel's choice."""
        peer = self.speaker.peer(neighbor)  # KeyError for a neighbor that is not configured
        address = peer.address
        if address in self._bindings:
            raise ValueError(f"neighbor {address} already has BFD")
        key = self.service.add_peer(address, config, local=peer.neighbor.local_ip)
        binding = _Binding(address, config, key)
        self._bindings[address] = binding
        self._by_key[key] = binding
        if self._started:
            self._gate(binding, self.service.state(key))
        return key

    def detach(self, neighbor: str | IPAddress) -> None:
        """Stop BFD toward a neighbor (the peer hears AdminDown); BGP is released if held."""
        address = _normal(neighbor)
        binding = self._bindings.pop(address)
        del self._by_key[binding.key]
        self.service.remove(binding.key)
        if binding.held:
            binding.held = False
            self.control.release(address)

    def reconfigure(self, neighbor: str | IPAddress, config: BfdConfig) -> None:
        """New intervals for a neighbor's session; an Up session negotiates them with a Poll
        Sequence and stays Up. Changing the addresses or the hop mode needs detach + attach."""
        binding = self._bindings[_normal(neighbor)]
        peer = self.speaker.peer(binding.neighbor)
        if config.key(binding.neighbor, peer.neighbor.local_ip) != binding.key:
            raise ValueError("addresses, interface or multihop changed: detach and attach")
        self.service.reconfigure(binding.key, config.params())
        if config.shutdown != binding.config.shutdown:
            self.service.set_admin_down(binding.key, config.shutdown)
        binding.config = config
        self._gate(binding, self.service.state(binding.key))

    def __contains__(self, neighbor: object) -> bool:
        try:
            return _normal(neighbor) in self._bindings  # type: ignore[arg-type]
        except ValueError:
            return False

    def key(self, neighbor: str | IPAddress) -> SessionKey:
        return self._bindings[_normal(neighbor)].key

    # --- lifecycle --------------------------------------------------------------------------

    async def start(self) -> None:
        """Start BFD (after ``Speaker.start`` when using :class:`StopStartControl`): strict
        neighbors are held at once, before their first connection attempt runs."""
        self._started = True
        self._unsubscribe = self.service.subscribe(self._on_event)
        for binding in self._bindings.values():
            self._gate(binding, self.service.state(binding.key))
        await self.service.start()

    async def stop(self) -> None:
        """Stop BFD and forget the sessions: peers hear AdminDown, which RFC 5882 says is
        not a failure (FRR 8.4's bgpd resets BGP on it all the same, docs/bfd.md). Holds of
        strict mode stay as they are (releasing one would start a neighbor of a speaker that
        may be stopping): stop BFD together with the speaker."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        self._started = False
        await self.service.stop()
        self._bindings.clear()
        self._by_key.clear()

    # --- reacting to BFD --------------------------------------------------------------------

    def _on_event(self, event: SessionEvent) -> None:
        binding = self._by_key.get(event.key)
        if binding is None or not self._started:
            return
        if event.path_down:
            binding.bgp_drops += 1
            binding.last_drop = f"BFD down: {event.diag.name.lower().replace('_', ' ')}"
            self.counters.drops += 1
            log.warning("BGP %s: %s", binding.neighbor, binding.last_drop)
            note = self._notification(binding.neighbor)
            if binding.config.strict:
                binding.held = True
                self.counters.holds += 1
                self.control.hold(binding.neighbor, note)
            else:
                self.control.drop(binding.neighbor, note)
            return
        self._gate(binding, event.new)

    def _notification(self, neighbor: IPAddress) -> Notification:
        peer = self.speaker.peer(neighbor)
        gr = peer.config.graceful_restart
        return bfd_down_notification(peer.negotiated, gr.enabled and gr.notification)

    def _gate(self, binding: _Binding, state: State) -> None:
        """Strict mode: held exactly while BFD is Down or Init. An administrative Down (ours or
        the peer's) does not hold BGP: BFD was switched off, the path is not known bad."""
        remote_admin = self.service.session_status(binding.key).remote_state is State.ADMIN_DOWN
        want_held = binding.config.strict and state in (State.DOWN, State.INIT) and not remote_admin
        if want_held and not binding.held:
            binding.held = True
            self.counters.holds += 1
            self.control.hold(binding.neighbor, self._notification(binding.neighbor))
        elif not want_held and binding.held:
            binding.held = False
            self.counters.releases += 1
            self.control.release(binding.neighbor)

    # --- status -----------------------------------------------------------------------------

    def status(self) -> list[NeighborBfdStatus]:
        out = []
        for binding in self._bindings.values():
            out.append(
                NeighborBfdStatus(
                    neighbor=binding.neighbor,
                    strict=binding.config.strict,
                    held=binding.held,
                    bgp_drops=binding.bgp_drops,
                    last_drop=binding.last_drop,
                    session=self.service.session_status(binding.key),
                )
            )
        return out

    def neighbor_status(self, neighbor: str | IPAddress) -> NeighborBfdStatus:
        address = _normal(neighbor)
        return next(s for s in self.status() if s.neighbor == address)


def _normal(address: str | IPAddress) -> IPAddress:
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip
