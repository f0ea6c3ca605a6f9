"""Operators' log lines: one per failed call, one per connection opened and closed when asked
(access_log), JSON when asked, no payloads."""
from __future__ import annotations

import io
import json
import logging
import sys
import time
from typing import Any, Callable, Iterator

import gevent
import pytest
import requests

import greenrpc
from greenrpc.logs import JSONFormatter
from tests import services


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
