"""Go's HTTP CONNECT handshake with bytes alone, against the captured Go server and client."""
from __future__ import annotations

import re
from typing import Any

import pytest

from greenrpc.errors import ProtocolError
from greenrpc.wire import detect_protocol
from greenrpc.wire.goconnect import (
    CONNECTED,
    MAX_HEAD_SIZE,
    answer_connect,
    connect_request,
    read_connect_reply,
    respond,
)
from tests.support import connect_head, splits, vectors

DATE = "Wed, 25 Nov 2026 19:30:08 GMT"
SERVER_CASES = [c for c in vectors("http_edge_cases.json") if "client_to_server" in c
                and c["name"] != "get_debug_rpc_after_calls"]  # /debug/rpc: the HTTP router's


@pytest.mark.parametrize("case", SERVER_CASES, ids=lambda c: c["name"])
def test_server_answers_as_go_does(case: dict[str, Any]) -> None:
    data = case["client_to_server"].encode()
    assert detect_protocol(data) == "http"
    for cut in range(len(data)):  # an incomplete head waits for more
        assert answer_connect(data[:cut], date=DATE) is None
    answer = answer_connect(data, date=DATE)
    assert answer is not None
    assert answer.reply.decode() == case["server_to_client"]
    assert answer.connected is not case["server_closed_connection"]


def test_bytes_behind_the_connect_request_are_kept() -> None:
    case = next(c for c in vectors("http_edge_cases.json")
                if c["name"] == "connect_and_gob_request_in_one_write")
    data = bytes.fromhex(case["client_to_server_hex"])
    answer = answer_connect(data)
    assert answer is not None and answer.connected and answer.reply == CONNECTED
    assert data == connect_request() + answer.rest  # Go loses these bytes; we serve them


def test_respond_serves_routers_that_parsed_the_head() -> None:
    assert respond("CONNECT", "/_goRPC_", "HTTP/1.1") == (CONNECTED, True)
    reply, connected = respond("GET", "/_goRPC_", "HTTP/1.1")
    assert not connected and reply.startswith(b"HTTP/1.1 405 Method Not Allowed\r\n")
    assert reply.endswith(b"\r\n\r\n405 must CONNECT\n")
    assert respond("CONNECT", "/x", "HTTP/1.0", path="/x") == (CONNECTED, True)


@pytest.mark.parametrize("data", [b"CONNECT\n\n", b"CONNECT /_goRPC_ SPDY/3\n\n",
                                  b"CONNECT " + b"x" * 20000])
def test_malformed_or_huge_heads_are_refused(data: bytes) -> None:
    answer = answer_connect(data)
    assert answer is not None and not answer.connected
    assert re.match(rb"HTTP/1.1 4(00|31) ", answer.reply)


@pytest.mark.parametrize("way", ["whole", "under-then-rest", "blank-line-cut", "1000s", "bytes"])
def test_the_head_limit_is_exact_however_the_head_arrives(way: str) -> None:
    for size, allowed in ((MAX_HEAD_SIZE, True), (MAX_HEAD_SIZE + 1, False),
                          (3 * MAX_HEAD_SIZE, False)):
        data = b""
        answer = None
        for piece in splits(connect_head(size) + b"\x03\x04\x00\x54")[way]:
            data += piece  # what the server has read so far, asked after every read
            answer = answer_connect(data)
            if answer is not None:
                break
        assert answer is not None and answer.connected is allowed, (size, way)
        if not allowed:
            assert answer.reply.startswith(b"HTTP/1.1 431 ")
    reply = b"HTTP/1.0 200 Connected to Go RPC\nX-Pad: " + b"p" * MAX_HEAD_SIZE + b"\n\n"
    with pytest.raises(ProtocolError, match="head too large"):
        read_connect_reply(reply)


@pytest.mark.parametrize("case", vectors("go_client_vs_fake_servers.json")["http"],
                         ids=lambda c: c["name"])
def test_client_accepts_what_go_s_client_accepts(case: dict[str, Any]) -> None:
    assert connect_request() == case["go_client_sent"].encode()
    reply = case["server_handshake"].encode()
    assert read_connect_reply(reply[:-1]) is None
    if case["go_client_result"].startswith("DIAL ERROR"):
        go_text = case["go_client_result"].split(": ", 2)[2]
        with pytest.raises(ProtocolError) as raised:
            read_connect_reply(reply)
        assert str(raised.value) == go_text
    else:
        assert read_connect_reply(reply + b"\x03\x04\x00\x54") == b"\x03\x04\x00\x54"


@pytest.mark.parametrize("prefix, protocol", [
    (b'{"method"', "json"), (b" {", "json"), (b"[{", "json"), (b"null", "json"),
    (b"\n{", "json"), (b"\x2f\xff\x81", "gob"), (b"\xf8\x01", "gob"), (b"\x05\xff", "gob"),
    (b"CONNECT /_goRPC_", "http"), (b"GET /", "http"), (b"POST /", "http"),
    (b"connect /_goRPC_ HTTP/1.0", "http"),
])
def test_detect_protocol_from_the_first_bytes(prefix: bytes, protocol: str) -> None:
    assert detect_protocol(prefix) == protocol
