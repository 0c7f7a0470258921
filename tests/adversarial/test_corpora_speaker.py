"""The FRR and BIRD AFL corpora sent by a peer to a running bgpspeak speaker, over TCP.

``tests/fuzz/test_shared_corpora_session.py`` feeds them to the state machine alone; here they
go through everything a real session runs: the socket, the connection's protocol callbacks,
the peer's RIB handling of what decodes (``bgpspeak/peer.py``), and the answers written back.
An exception anywhere in there would surface in the event loop's exception handler (asyncio
catches what a protocol callback raises, logs it and drops the connection without a
NOTIFICATION): the test collects those and fails on any. The bystander session must stay up.
In CI every eighth input of FRR's corpus and every other of BIRD's (about 15 s);
``BGPSPEAK_CORPORA_EVERY=1`` sends them all.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tarfile
from collections import Counter
from typing import Any

from corpora_path import corpora_dir
from lab import Lab

from .rawpeer import Closed, RawPeer, open_message
from .run import Bystander, NeighborSpec, topology
from .targets import BYSTANDER, BYSTANDER_AS, BgpspeakTarget, neighbor_address, neighbor_as

PEERS = 8  # neighbors, each sending its share of the inputs, all at once
EVERY = int(os.environ.get("BGPSPEAK_CORPORA_EVERY", "8"))  # 1: all of them


def _inputs() -> list[tuple[str, bytes, bool]]:
    """(name, octets, established?) of the inputs to send."""
    out: list[tuple[str, bytes, bool]] = []
    root = corpora_dir()
    for archive, established, every in (
        ("corpi/bgpd/bgpd-gen.tar.gz", True, EVERY),
        ("corpi/bird/bird-gen.tar.gz", False, max(1, EVERY // 4)),
    ):
        with tarfile.open(root / archive) as tf:
            members = [m for m in tf.getmembers() if m.isfile()]
            for m in members[::every]:
                fh = tf.extractfile(m)
                if fh is not None:
                    out.append((f"{archive}:{m.name}", fh.read(), established))
    return out


async def _replay(target: BgpspeakTarget, inputs: list[tuple[str, bytes, bool]]) -> dict[str, Any]:
    errors: list[str] = []
    loop = asyncio.get_running_loop()
    loop.set_exception_handler(lambda _loop, ctx: errors.append(str(ctx.get("exception", ctx))))
    await target.start()
    bystander = Bystander(target)
    tally: Counter[str] = Counter()
    try:
        await bystander.start()

        async def worker(i: int) -> None:
            # one neighbor per worker: its inputs one after the other, the workers at once
            src, asn = neighbor_address(i), neighbor_as(i)
            for name, data, established in inputs[i::PEERS]:
                peer: RawPeer | None = None
                try:
                    peer = await RawPeer.connect(src, target.address, target.port)
                    if established:
                        await peer.handshake(open_message(asn, src))
                    await peer.send(data)
                    got = await peer.outcome(0.2, keepalives=False)
                except (Closed, ConnectionError, TimeoutError) as e:
                    got = f"connection: {type(e).__name__}"
                tally[got or "up"] += 1
                if peer is not None:
                    await peer.close()
                if errors:
                    errors.append(f"after {name}")
                    return

        await asyncio.gather(*(worker(i) for i in range(PEERS)))
        by = await bystander.check()
    finally:
        await target.stop()
        loop.set_exception_handler(None)
    return {"errors": errors, "tally": tally, "bystander": by, "count": len(inputs)}


def test_afl_corpora_against_a_running_speaker(lab: Lab) -> None:
    inputs = _inputs()
    tgt, atk = topology(lab)
    specs = [NeighborSpec(BYSTANDER, BYSTANDER_AS, {})]
    specs += [NeighborSpec(neighbor_address(i), neighbor_as(i), {}) for i in range(PEERS)]
    RawPeer.socket_context = atk.entered
    try:
        with tgt.entered():
            result = asyncio.run(_replay(BgpspeakTarget(specs), inputs))
    finally:
        RawPeer.socket_context = contextlib.nullcontext
    assert result["errors"] == [], result["errors"][:5]
    assert result["bystander"]["established"] and result["bystander"]["route"], result
    assert result["bystander"]["trouble"] == [], result
    tally = result["tally"]
    assert sum(tally.values()) == len(inputs)
    # garbage gets a NOTIFICATION, not a silent close
    notified = sum(v for k, v in tally.items() if k.startswith("notification"))
    assert notified > len(inputs) // 2, tally
