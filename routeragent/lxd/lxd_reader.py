"""Reading LXD through pylxd: one full snapshot of raw JSON, and the lifecycle event stream.

pylxd is synchronous (requests, ws4py threads) and untyped, so it is used only here, and every
call here blocks: the announcer runs them in worker threads (``asyncio.to_thread``) and the
event stream in a thread of its own that hands each message to the event loop. A snapshot is
read with a few recursive GETs (``recursion=1``) through ``client.api`` rather than pylxd's
object managers, which issue one request per object and lose fields such as an instance's
``state`` (its ``state()`` method shadows the key).

Any failure of LXD (socket gone, daemon restarting, TLS, HTTP errors, bad JSON) is raised as
:class:`LxdUnavailable`, which the announcer answers by keeping what it announces and trying
again: a restarting LXD must never withdraw routes.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import pylxd  # type: ignore[import-untyped]
import requests
from pylxd.client import EventType, get_session_for_url  # type: ignore[import-untyped]
from ws4py.client import WebSocketBaseClient  # type: ignore[import-untyped]

from routeragent.lxd.config_model import LxdSettings
from routeragent.lxd.lxd_objects import RawSnapshot, networks_of_projects


class LxdUnavailable(Exception):
    """LXD could not be read (for now)."""


@dataclass(frozen=True)
class StreamMessage:
    """What the event thread hands to the loop: an event, or the end of the stream."""

    event: dict[str, Any] | None = None
    closed: int | None = None


def _quote(name: str) -> str:
    return quote(name, safe="")


class LxdReader:
    """A connection to one LXD server. Not thread-safe: one call at a time."""

    def __init__(self, settings: LxdSettings) -> None:
        self.settings = settings
        self._client: Any = None
        self.server: dict[str, Any] = {}

    # --- connection ----------------------------------------------------------------------
    def connect(self) -> dict[str, Any]:
        """(Re)connect; returns the server's ``/1.0`` (environment, API extensions)."""
        s = self.settings
        try:
            if s.endpoint is not None:
                verify: bool | str = str(s.server_cert) if s.server_cert else s.verify
                cert = (str(s.client_cert), str(s.client_key))
                session = get_session_for_url(s.endpoint, verify=verify, cert=cert)
                if isinstance(verify, str):
                    # requests lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE override the session's
                    # verify, and pylxd then pins the bundle's first certificate instead of
                    # the server's: with a pinned certificate the environment must not count
                    session.trust_env = False
                self._client = pylxd.Client(
                    endpoint=s.endpoint,
                    cert=cert,
                    verify=verify,
                    timeout=s.timeout,
                    session=session,
                )
            else:
                assert s.socket is not None
                if not s.socket.exists():
                    raise LxdUnavailable(f"no LXD socket at {s.socket}")
                self._client = pylxd.Client(endpoint=str(s.socket), timeout=s.timeout)
            self.server = dict(self._client.host_info)
        except LxdUnavailable:
            raise
        except Exception as e:  # pylxd raises many kinds; all mean "not now"
            self._client = None
            raise LxdUnavailable(f"cannot connect to LXD: {e}") from e
        if self.server.get("auth") != "trusted":
            raise LxdUnavailable("LXD does not trust this client (auth is not 'trusted')")
        return self.server

    @property
    def extensions(self) -> frozenset[str]:
        return frozenset(self.server.get("api_extensions") or ())

    def _get(self, parts: tuple[str, ...], **params: str | int) -> Any:
        if self._client is None:
            self.connect()
        node = self._client.api
        for part in parts:
            node = node[_quote(part)]
        try:
            response = node.get(params=params)
            return response.json()["metadata"]
        except (requests.RequestException, ValueError, KeyError, OSError) as e:
            self._client = None
            raise LxdUnavailable(f"GET /1.0/{'/'.join(parts)}: {e}") from e
        except Exception as e:  # pylxd.exceptions.* (HTTP errors from LXD)
            self._client = None
            raise LxdUnavailable(f"GET /1.0/{'/'.join(parts)}: {e}") from e

    # --- one full read -------------------------------------------------------------------
    def read(self) -> RawSnapshot:
        """Everything the model needs, as LXD sent it."""
        server = self._get(())
        self.server = dict(server)
        exts = self.extensions
        selected = self.settings.projects
        projects: list[dict[str, Any]] = (
            list(self._get(("projects",), recursion=1))
            if "projects" in exts
            else [{"name": "default", "config": {}}]
        )
        raw: RawSnapshot = {
            "server": server,
            "projects": projects,
            "networks": {},
            "forwards": {},
            "load_balancers": {},
            "instances": [],
        }
        own = networks_of_projects(raw)
        # default holds the uplinks and the networks of projects without their own
        wanted = {"default"} | {
            p for p, np in own.items() if np == p and (selected is None or p in selected)
        }
        for project in sorted(wanted):
            raw["networks"][project] = list(self._get(("networks",), recursion=1, project=project))
        for project, nets in raw["networks"].items():
            for net in nets:
                if net.get("type") != "ovn":
                    continue
                if (net.get("config") or {}).get("network") not in self.settings.uplinks:
                    continue
                name = str(net["name"])
                key = f"{project}/{name}"
                if "network_forward" in exts:
                    raw["forwards"][key] = list(
                        self._get(("networks", name, "forwards"), recursion=1, project=project)
                    )
                if "network_load_balancer" in exts:
                    raw["load_balancers"][key] = list(
                        self._get(
                            ("networks", name, "load-balancers"), recursion=1, project=project
                        )
                    )
        if selected is None and "instance_all_projects" in exts:
            raw["instances"] = list(
                self._get(("instances",), recursion=1, **{"all-projects": "true"})
            )
        else:
            names = selected if selected is not None else tuple(str(p["name"]) for p in projects)
            for project in names:
                raw["instances"] += list(self._get(("instances",), recursion=1, project=project))
        return raw

    # --- events --------------------------------------------------------------------------
    def open_events(self, deliver: Callable[[StreamMessage], None]) -> Callable[[], None]:
        """Connect the lifecycle event stream; ``deliver`` is called from the stream's thread
        for every event and once when it ends. Returns a function that closes the stream."""
        if self._client is None:
            self.connect()
        selected = self.settings.projects

        class _Stream(WebSocketBaseClient):  # type: ignore[misc]
            def __init__(self, url: str, **kw: Any) -> None:
                kw.setdefault("exclude_headers", ["origin"])
                super().__init__(url, **kw)

            def received_message(self, message: Any) -> None:
                try:
                    data = json.loads(message.data.decode())
                except (ValueError, UnicodeDecodeError):
                    return
                if isinstance(data, dict):
                    deliver(StreamMessage(event=data))

            def closed(self, code: int, reason: Any = None) -> None:
                deliver(StreamMessage(closed=code))

        try:
            ws = self._client.events(websocket_client=_Stream, event_types={EventType.Lifecycle})
            if selected is None:
                if "event_project" in self.extensions:
                    ws.resource += "&all-projects=true"
            elif len(selected) == 1:
                ws.resource += f"&project={_quote(selected[0])}"
            elif "event_project" in self.extensions:
                ws.resource += "&all-projects=true"  # filtered by project in the announcer
            ws.connect()
            self._check_pin(ws)
        except LxdUnavailable:
            raise
        except Exception as e:
            raise LxdUnavailable(f"cannot open the LXD event stream: {e}") from e
        thread = threading.Thread(target=ws.run, name="lxd-events", daemon=True)
        thread.start()

        def close() -> None:
            with contextlib.suppress(Exception):  # closing a stream that may be dead
                ws.close()
            ws.close_connection()
            thread.join(timeout=2.0)

        return close

    def _check_pin(self, ws: Any) -> None:
        """ws4py checks no server certificate: compare it with the pinned one ourselves."""
        cert = self.settings.server_cert
        if cert is None or not getattr(ws, "_is_secure", False):
            return
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes

        pinned = x509.load_pem_x509_certificate(cert.read_bytes()).fingerprint(hashes.SHA256())
        der = ws.sock.getpeercert(binary_form=True)
        if hashlib.sha256(der).digest() != pinned:
            ws.close_connection()
            raise LxdUnavailable("the event stream's server certificate is not the pinned one")
