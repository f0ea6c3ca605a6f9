"""Operators' log lines: one per failed call, one per connection opened and closed when asked
(access_log), JSON when asked, no payloads."""
from __future__ import annotations

import io
import json
import logging
import os
import re
import signal
import subprocess
import sys
import time
from typing import Any, Callable, Iterator

import gevent
import pytest
import requests

import greenrpc
from greenrpc.logs import MAX_LOGGED_TEXT, TEXT_FORMAT, JSONFormatter, TextFormatter, clean
from tests import services
from tests.support import ROOT, connect, read_lines


@pytest.fixture
def json_lines() -> Iterator[io.StringIO]:
    """What the greenrpc logger writes meanwhile, formatted as --log-format json does."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JSONFormatter())
    logger = logging.getLogger("greenrpc")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield stream
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def records(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def wait_for(condition: Callable[[], bool], timeout: float = 5) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "not within the timeout"
        gevent.sleep(0.01)


def test_json_formatter_writes_one_object_per_line_with_extras() -> None:
    record = logging.LogRecord("greenrpc", logging.WARNING, __file__, 1, "call %s failed",
                               ("Arith.Divide",), None)
    record.peer = "127.0.0.1:5"
    record.method = "Arith.Divide"
    line = JSONFormatter().format(record)
    assert "\n" not in line
    out = json.loads(line)
    assert out["level"] == "warning" and out["logger"] == "greenrpc"
    assert out["message"] == "call Arith.Divide failed"
    assert (out["peer"], out["method"]) == ("127.0.0.1:5", "Arith.Divide")
    assert out["time"].endswith("Z") and "T" in out["time"]
    try:
        raise ValueError("boom\nline two")
    except ValueError:
        record.exc_info = sys.exc_info()
    out = json.loads(JSONFormatter().format(record))
    assert "ValueError: boom" in out["traceback"]


def test_a_line_when_a_connection_opens_and_closes(json_lines: io.StringIO) -> None:
    server = services.make_server(access_log=True)
    server.start()
    try:
        opened_and_closed(server.address, json_lines)
    finally:
        server.stop(timeout=5)


def test_no_line_per_connection_by_default(address: str, json_lines: io.StringIO) -> None:
    with greenrpc.dial(address) as client:
        client.call("Arith.Multiply", {"A": 1, "B": 2})
    with greenrpc.dial(address) as client:
        with pytest.raises(greenrpc.ServerError):
            client.call("Arith.Divide", {"A": 1, "B": 0})
    wait_for(lambda: any(r.get("event") == "call_failed" for r in records(json_lines)))
    assert [r.get("event") for r in records(json_lines)] == ["call_failed"]


def opened_and_closed(address: str, json_lines: io.StringIO) -> None:
    with greenrpc.dial(address) as client:
        local = "%s:%d" % client.transport.sock.getsockname()[:2]
        client.call("Arith.Multiply", {"A": 123456789, "B": 2})
    wait_for(lambda: any(r.get("event") == "close" for r in records(json_lines)))
    lines = [r for r in records(json_lines) if r.get("peer") == local]
    assert [r["event"] for r in lines] == ["open", "close"]
    closed = lines[1]
    assert closed["protocol"] == "json" and closed["bytes_in"] > 0 and closed["bytes_out"] > 0
    assert f"connection from {local} closed" in closed["message"]
    assert "123456789" not in json_lines.getvalue()  # payloads stay out of the log


def test_a_line_per_failed_call_with_method_and_peer(address: str, json_lines: io.StringIO) -> None:
    with greenrpc.dial(address) as client:
        local = "%s:%d" % client.transport.sock.getsockname()[:2]
        for _ in range(3):
            client.call("Arith.Multiply", {"A": 7, "B": 8})
        with pytest.raises(greenrpc.ServerError):
            client.call("Arith.Divide", {"A": 987654321, "B": 0})
    with greenrpc.dial(address, version=2) as client:
        with client.batch() as batch:
            ok = batch.call("Arith.Multiply", [{"A": 1, "B": 1}])
            bad = batch.call("Nope.Nothing", [])
        ok.get(timeout=5)
        with pytest.raises(greenrpc.ServerError):
            bad.get(timeout=5)
    failed = [r for r in records(json_lines) if r.get("event") == "call_failed"]
    assert [(r["method"], r["code"]) for r in failed] == [("Arith.Divide", -32000),
                                                         ("Nope.Nothing", -32601)]
    assert failed[0]["peer"] == local
    assert failed[0]["message"] == f"call Arith.Divide from {local} failed: divide by zero"
    assert "987654321" not in json_lines.getvalue()


def test_failed_calls_over_http_are_reported_too(address: str, json_lines: io.StringIO) -> None:
    answer = requests.post(f"http://{address}/", timeout=5, json={
        "jsonrpc": "2.0", "method": "Arith.Divide", "params": [{"A": 1, "B": 0}], "id": 1})
    assert answer.json()["error"]["message"] == "divide by zero"
    failed = [r for r in records(json_lines) if r.get("event") == "call_failed"]
    assert [r["method"] for r in failed] == ["Arith.Divide"]


@pytest.fixture
def text_lines() -> Iterator[io.StringIO]:
    """What the greenrpc logger writes meanwhile, formatted as --log-format text does."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(TextFormatter(TEXT_FORMAT))
    logger = logging.getLogger("greenrpc")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield stream
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


FORGED = "Nope\n2026-12-05 12:00:00,000 ERROR greenrpc forged line\x1b[2K\u2028\\"


def test_text_lines_escape_control_characters_and_indent_tracebacks() -> None:
    record = logging.LogRecord("app", logging.ERROR, __file__, 1, "user said %s", (FORGED,), None)
    try:
        raise ValueError("bad input\n2026-12-05 12:00:00,000 ERROR app forged")
    except ValueError:
        record.exc_info = sys.exc_info()
    first, *traceback = TextFormatter(TEXT_FORMAT).format(record).split("\n")
    assert first.endswith(r"user said Nope\n2026-12-05 12:00:00,000 ERROR greenrpc forged line"
                          r"\x1b[2K\u2028" "\\")  # another logger's record: escaped, not cut
    assert traceback and all(line.startswith("    ") for line in traceback)
    assert traceback[-1] == "    2026-12-05 12:00:00,000 ERROR app forged"


def test_clean_cuts_and_escapes_client_text() -> None:
    assert clean("Arith.Multiply") == "Arith.Multiply"
    assert clean("a\\b\nc\ud800") == r"a\\b\nc\ud800"  # a backslash is never half an escape
    cut = clean("x" * (3 << 20))
    assert cut == "x" * MAX_LOGGED_TEXT + f"...[{(3 << 20) - MAX_LOGGED_TEXT} more characters]"


def test_a_forged_method_name_is_one_escaped_line(address: str, text_lines: io.StringIO) -> None:
    with connect(address) as sock:
        sock.sendall(json.dumps({"method": FORGED, "params": [], "id": 1}).encode() + b"\n")
        assert json.loads(read_lines(sock, 1)[0])["error"].startswith("rpc: ")
    wait_for(lambda: "failed" in text_lines.getvalue())
    lines = text_lines.getvalue().splitlines()
    stamp = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} INFO greenrpc ")
    assert all(stamp.match(line) for line in lines), lines  # every line is a record of ours
    (failed,) = [line for line in lines if "failed" in line]  # one line, no traceback
    assert r"call Nope\n2026-12-05 12:00:00,000 ERROR greenrpc forged line\x1b[2K\u2028\\ from" \
        in failed


@pytest.mark.parametrize("format", ["text", "json"])
def test_a_huge_method_name_writes_a_short_line(address: str, format: str,
                                                text_lines: io.StringIO,
                                                json_lines: io.StringIO) -> None:
    # A 3 MiB name wrote 6 MiB of log (the name, then the error quoting it); here 1 MiB.
    name = "N" * (1 << 20)
    with connect(address) as sock:
        sock.sendall(json.dumps({"method": name, "params": [], "id": 1}).encode() + b"\n")
        read_lines(sock, 1)
    stream = text_lines if format == "text" else json_lines
    wait_for(lambda: "failed" in stream.getvalue())
    (line,) = [line for line in stream.getvalue().splitlines() if "failed" in line]
    assert len(line) < 4 * MAX_LOGGED_TEXT + 300
    if format == "json":
        assert json.loads(line)["method"].endswith(f"...[{(1 << 20) - MAX_LOGGED_TEXT} more "
                                                   "characters]")


def test_serve_says_once_that_it_is_ready_even_with_no_logging_set_up() -> None:
    program = ("from gevent import monkey; monkey.patch_all()\n"
               "import greenrpc\nfrom examples.arith import Arith\n"
               "greenrpc.serve('127.0.0.1:0', Arith())\n")
    process = subprocess.Popen([sys.executable, "-c", program], cwd=ROOT, text=True,
                               stderr=subprocess.PIPE, env=dict(os.environ, PYTHONPATH=str(ROOT)))
    try:
        assert process.stderr is not None
        first = process.stderr.readline()
        address = re.search(r"ready on (127\.0\.0\.1:\d+): Arith \(2 methods\); pid (\d+), "
                            r"1 process$", first)
        assert address and int(address.group(2)) == process.pid, first
        assert f"greenrpc {greenrpc.__version__} ready" in first
        with greenrpc.dial(address.group(1)) as client:
            client.call("Arith.Multiply", {"A": 7, "B": 8})
        process.send_signal(signal.SIGTERM)
        rest = process.communicate(timeout=15)[1]
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
    assert process.returncode == 0 and "connection" not in rest and "ready" not in rest, rest
