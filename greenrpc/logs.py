"""Log output for operators: readable text, or one JSON object per line for log collectors.

greenrpc logs through ``logging.getLogger("greenrpc")`` and passes what a collector should be
able to filter on as ``extra`` fields (``peer``, ``method``, ``event``...); the text format
already names them in the message, the JSON format also puts each in its own key. Payloads
are never logged.

Names and error texts in greenrpc's records may come from clients, so a filter on that logger
(whatever handlers the application set up) escapes their control characters and cuts each to
MAX_LOGGED_TEXT characters: a newline in a method name cannot forge a line, and a 3 MiB name
does not write megabytes of log. The text format also escapes control characters in every
record's line and indents tracebacks, so each record's own line is the only one that starts
with a timestamp.
"""
from __future__ import annotations

import logging
import re
import sys
import time
from typing import IO, Any, Optional

import ujson

FORMATS = ("text", "json")
LEVELS = ("debug", "info", "warning", "error")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"
MAX_LOGGED_TEXT = 256  # characters of one name, error text or other value in a log line

# Attributes every LogRecord has; anything else on a record came from ``extra``.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}
# Characters that could start a line or disguise one in a terminal or viewer: C0 and C1 controls,
# DEL, Unicode line and paragraph separators, bidirectional overrides and isolates; and lone
# surrogates, which a stream cannot even encode (JSON's "\ud800" decodes to one).
_CONTROLS = r"\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff"
_CONTROL = re.compile(f"[{_CONTROLS}]")
_CONTROL_OR_BACKSLASH = re.compile(rf"[{_CONTROLS}\\]")
_NAMED = {"\n": r"\n", "\r": r"\r", "\t": r"\t", "\\": r"\\"}


def _escape_one(match: re.Match[str]) -> str:
    char = match.group()
    named = _NAMED.get(char)
    if named is not None:
        return named
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def escape_controls(text: str) -> str:
    """text with control characters written as escapes (\\n, \\x1b, \\u2028)."""
    return text if _CONTROL.search(text) is None else _CONTROL.sub(_escape_one, text)


def clean(value: str, limit: int = MAX_LOGGED_TEXT) -> str:
    """A client-supplied value fit for a log line: cut to limit characters, then escaped.

    Backslashes are escaped too, so an escape in the log always stands for one character.
    """
    cut = len(value) - limit
    if cut > 0:
        value = value[:limit]
    if _CONTROL_OR_BACKSLASH.search(value) is not None:
        value = _CONTROL_OR_BACKSLASH.sub(_escape_one, value)
    return value + f"...[{cut} more characters]" if cut > 0 else value


def _clean_arg(value: Any) -> Any:
    if isinstance(value, (int, float)) or value is None:  # numbers keep %d and %.3f working
        return value
    return clean(value if isinstance(value, str) else str(value))


class CleanRecords(logging.Filter):
    """Cut and escape every argument and string extra of a record (see the module's docstring)."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple):
            record.args = tuple(_clean_arg(arg) for arg in args)
        elif isinstance(args, dict):
            record.args = {key: _clean_arg(arg) for key, arg in args.items()}
        for key, value in list(vars(record).items()):
            if key not in _STANDARD and isinstance(value, str):
                setattr(record, key, clean(value))
        return True


class TextFormatter(logging.Formatter):
    """The text format: control characters escaped in the line, tracebacks indented under it."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        return escape_controls(super().formatMessage(record))

    def formatException(self, ei: Any) -> str:
        return _indent(super().formatException(ei))

    def formatStack(self, stack_info: str) -> str:
        return _indent(super().formatStack(stack_info))


def _indent(text: str) -> str:
    return "\n".join("    " + escape_controls(line) for line in text.splitlines())


_CLEAN = CleanRecords()
logging.getLogger("greenrpc").addFilter(_CLEAN)  # the records, whatever handlers show them


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
        for key, value in list(vars(record).items()):
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
    handler.setFormatter(JSONFormatter() if format == "json" else TextFormatter(TEXT_FORMAT))
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
            handler.setFormatter(TextFormatter(
                TEXT_FORMAT.replace("%(name)s", f"%(name)s[worker {slot}]")))
