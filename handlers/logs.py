"""Structured (JSON-lines) logging; secrets never reach a log record."""

from __future__ import annotations

import json
import logging
import re
import sys
from typing import Any

from aiohttp.http_exceptions import HttpProcessingError

_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}
# Slack tokens, and anything that looks like a bearer credential, are masked wherever they appear.
_SECRET = re.compile(r"(xox[abpre]-[A-Za-z0-9-]+|xapp-[A-Za-z0-9-]+|Bearer\s+[A-Za-z0-9._-]+)")


QUIET = ("sqlalchemy", "aiosqlite", "asyncpg")


def redact(text: str) -> str:
    return _SECRET.sub("[redacted]", text)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": redact(record.getMessage()),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                out[key] = (
                    value if isinstance(value, int | float | bool | None) else redact(str(value))
                )
        if record.exc_info:
            out["exc"] = redact(self.formatException(record.exc_info))
        return json.dumps(out, ensure_ascii=False)


class _BadHttpIsInput(logging.Filter):
    """aiohttp logs a request it cannot even parse (a header line over 8 KB, a broken
    request line) at ERROR with a traceback: that is hostile input, not a fault of ours.
    Such records become warnings without the traceback; aiohttp still answers 400."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, HttpProcessingError) and record.levelno >= logging.ERROR:
            record.levelno, record.levelname = logging.WARNING, "WARNING"
            record.msg, record.args = "unparsable HTTP request refused: %s", (type(exc).__name__,)
            record.exc_info, record.exc_text = None, None
        return True


_BAD_HTTP = _BadHttpIsInput()


def quiet_bad_http() -> None:
    """Install the filter above on aiohttp's server logger (once; idempotent)."""
    logging.getLogger("aiohttp.server").addFilter(_BAD_HTTP)


def setup_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # aiohttp's access log repeats every request line; keep it at warnings.
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    # The database drivers log statements, parameters and rows at DEBUG/INFO (aiosqlite's
    # "executing" records carry each call's arguments): internal fields (margins, costs,
    # notes) would reach the log. Their warnings and errors are kept.
    for name in QUIET:
        logging.getLogger(name).setLevel(logging.WARNING)
