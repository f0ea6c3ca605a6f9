"""Log output for operators: readable text, or one JSON object per line for log collectors.

greenrpc logs through ``logging.getLogger("greenrpc")`` and passes what a collector should be
able to filter on as ``extra`` fields (``peer``, ``method``, ``event``...); the text format
already names them in the message, the JSON format also puts each in its own key. Payloads
are never logged.
"""
from __future__ import annotations

import logging
import sys
import time
from typing import IO, Any, Optional

import ujson

FORMATS = ("text", "json")
LEVELS = ("debug", "info", "warning", "error")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"

# Attributes every LogRecord has; anything else on a record came from ``extra``.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


class JSONFormatter(logging.Formatter):
    """One JSON object per record: time (UTC, ISO 8601), level, logger, message, extras."""

    def format(self, record: logging.LogRecord) -> str:
        seconds = time.gmtime(record.created)
        out: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", seconds) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and key not in out:
                out[key] = value if isinstance(value, (str, int, float, bool)) else str(value)
        if record.exc_info:
            out["traceback"] = self.formatException(record.exc_info)
        elif record.exc_text:
            out["traceback"] = record.exc_text
        return ujson.dumps(out, ensure_ascii=False, escape_forward_slashes=False)


def configure(level: str = "info", format: str = "text", stream: Optional[IO[str]] = None) -> None:
    """Send every log record at level or above to stream (stderr) in the format chosen."""
    if format not in FORMATS:
        raise ValueError(f"log format {format!r}: use one of {', '.join(FORMATS)}")
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(JSONFormatter() if format == "json" else logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    for old in root.handlers[:]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())


def tag_worker(slot: int) -> None:
    """Mark this process's records as worker slot's: a ``worker`` field, "[worker N]" in text.

    With --workers, the processes share one log stream; without this, their lines (a
    connection opened, a call failed) could not be told apart.
    """
    def add_worker(record: logging.LogRecord) -> bool:
        if not hasattr(record, "worker"):
            record.worker = slot
        return True
    for handler in logging.getLogger().handlers:
        handler.addFilter(add_worker)
        formatter = handler.formatter
        if formatter is not None and getattr(formatter, "_fmt", None) == TEXT_FORMAT:
            handler.setFormatter(logging.Formatter(
                TEXT_FORMAT.replace("%(name)s", f"%(name)s[worker {slot}]")))
