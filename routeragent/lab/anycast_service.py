"""The anycast service instance each lab host runs: a tiny HTTP server answering with the
host's name, so a client (or the speaker's health check) sees which instance it reached.

``python -m http.server`` would do, except that it looks up its own address in DNS when it
binds (``socket.getfqdn``), which inside a namespace without a resolver takes ~10 s.
"""

from __future__ import annotations

import argparse
import socketserver
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler


def make_handler(name: str) -> type[BaseHTTPRequestHandler]:
    body = f"{name}\n".encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass  # one health check every half second: not worth a log line

    return Handler


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--bind", required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--name", required=True)
    p.add_argument("--run-dir", help="the lab's run directory (only so the lab can find us)")
    args = p.parse_args(argv)
    with Server((args.bind, args.port), make_handler(args.name)) as server:
        print(f"serving {args.name} on {args.bind}:{args.port}", flush=True)
        server.serve_forever()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
