"""Structured logs: one JSON object per line, every decision with its reason.

{"ts": 1795319260.412, "level": "info", "router": "r1", "event": "decision",
 "subject": "priority lan", "from": 200, "to": 50,
 "reason": "upstream-bgp down (0/4 upstream sessions Established ...)"}
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Any

LOGGER = "routeragent"


class JsonLines(logging.Formatter):
    def __init__(self, router: str) -> None:
        super().__init__()
        self.router = router

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": round(record.created, 3),
            "level": record.levelname.lower(),
            "router": self.router,
            "event": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            out.update(fields)
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str)


def setup(router: str, log_file: Path | None = None, level: int = logging.INFO) -> logging.Logger:
    logger = logging.getLogger(LOGGER)
    logger.handlers.clear()
    handler: logging.Handler
    if log_file is not None:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(log_file)
    else:
        handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonLines(router))
    logger.addHandler(handler)
    logger.setLevel(level)
    logger.propagate = False
    return logger


def emit(logger: logging.Logger, event: str, level: int = logging.INFO, **fields: Any) -> None:
    logger.log(level, event, extra={"fields": fields})
