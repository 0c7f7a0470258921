#!/bin/bash
# Health check for the "dns" service of speaker.toml: exit 0 when the resolver answers.
# bgpspeak runs it every `interval` seconds with a `timeout`; anything but exit 0 is a failure.
set -eu
server=${1:-127.0.0.1}
if command -v dig >/dev/null 2>&1; then
    dig +time=1 +tries=1 +short @"$server" localhost. A >/dev/null
else
    # no dig: at least the port must accept connections
    exec 3<>"/dev/tcp/$server/53"
fi
