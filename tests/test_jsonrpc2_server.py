"""JSON-RPC 2.0 on the server's TCP stream, next to Go's dialect: real sockets on 127.0.0.1."""
from __future__ import annotations

import json
import socket
import time
from typing import Any, Iterator

import pytest

import greenrpc
from tests import services
from tests.support import connect, is_open, read_lines, read_until_closed, vectors
from tests.wire.test_jsonrpc2 import ANSWERED_AS_JSONRPC2, normal


def v2(method: str, params: Any = None, id: Any = "absent") -> bytes:
    message: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
    if params is not None:
        message["params"] = params
    if id != "absent":
        message["id"] = id
    return json.dumps(message).encode()


def sleep(ms: int, tag: str, id: Any = "absent") -> bytes:
    return v2("Slow.Sleep", [{"Ms": ms, "Tag": tag}], id)


def test_go_and_v2_clients_share_a_connection(address: str) -> None:
    with connect(address) as sock:
        sock.sendall(b'{"method":"Arith.Multiply","params":[{"A":7,"B":8}],"id":0}\n'
                     + v2("Arith.Multiply", [{"A": 2, "B": 3}], 0) + b"\n"
                     + v2("Arith.Multiply", {"args": {"A": 4, "B": 5}}, "named"))
        got = [json.loads(line) for line in read_lines(sock, 3)]
    assert got == [{"id": 0, "result": {"Pro": 56, "Quo": 0, "Rem": 0}, "error": None},
                   {"jsonrpc": "2.0", "result": {"Pro": 6, "Quo": 0, "Rem": 0}, "id": 0},
                   {"jsonrpc": "2.0", "result": {"Pro": 20, "Quo": 0, "Rem": 0}, "id": "named"}]


def test_notifications_are_never_answered(address: str) -> None:
    with connect(address) as sock:
        sock.sendall(v2("Arith.Multiply", [{"A": 1, "B": 1}]) + v2("No.Such")
                     + b'[' + v2("Echo.Int", [1]) + b',' + v2("Echo.Int", ["bad"]) + b']'
                     + v2("Echo.Int", [9], "last"))
        assert json.loads(read_lines(sock, 1)[0]) == {"jsonrpc": "2.0", "result": 9, "id": "last"}
        assert is_open(sock, wait=0.3)  # and nothing else arrived


def test_batch_elements_run_concurrently(address: str) -> None:
    with connect(address) as sock:
        started = time.monotonic()
        sock.sendall(b"[" + b",".join(sleep(300, str(i), i) for i in range(5)) + b"]")
        (line,) = read_lines(sock, 1)
        elapsed = time.monotonic() - started
    assert sorted(r["result"] for r in json.loads(line)) == ["0", "1", "2", "3", "4"]
    assert elapsed < 1.2  # five 0.3 s calls one after another would take 1.5 s


def test_a_blocked_batch_does_not_stall_the_connection(address: str) -> None:
    with connect(address) as sock:
        sock.sendall(b"[" + sleep(400, "slow", 1) + b"," + v2("Echo.Int", [2], 2) + b"]\n"
                     + v2("Echo.Int", [3], 3) + b"\n")
        first, second = (json.loads(line) for line in read_lines(sock, 2))
    assert first == {"jsonrpc": "2.0", "result": 3, "id": 3}
    assert sorted(r["id"] for r in second) == [1, 2]


def test_batch_size_limit() -> None:
    server = services.make_server(max_batch_size=2)
    address = server.start("127.0.0.1:0")
    try:
        with connect(address) as sock:
            sock.sendall(b"[" + b",".join(v2("Echo.Int", [i], i) for i in range(3)) + b"]\n")
            (line,) = read_lines(sock, 1)
    finally:
        server.stop(timeout=5)
    reply = json.loads(line)  # one error for the whole batch, nothing ran
    assert reply["id"] is None and reply["error"]["code"] == -32600
    assert reply["error"]["data"] == "batch of 3 requests exceeds the limit of 2"


def test_invalid_json_from_a_go_client_closes_silently(address: str) -> None:
    with connect(address) as sock:
        sock.sendall(b'{"method":"Echo.Int","params":[1],"id":1}\n{"method": bad}\n')
        got = read_until_closed(sock)
    assert [json.loads(line)["id"] for line in got.splitlines()] == [1]


def test_invalid_json_after_v2_gets_a_parse_error_then_close(address: str) -> None:
    with connect(address) as sock:
        sock.sendall(v2("Echo.Int", [1], 1) + b"\n" + b'{"jsonrpc": bad}\n')
        got = [json.loads(line) for line in read_until_closed(sock).splitlines()]
    assert got[0] == {"jsonrpc": "2.0", "result": 1, "id": 1}
    assert got[1]["error"]["code"] == -32700 and got[1]["id"] is None and len(got) == 2


@pytest.mark.parametrize("name", sorted(ANSWERED_AS_JSONRPC2))
def test_go_vectors_answered_as_jsonrpc2(address: str, name: str) -> None:
    case = {c["name"]: c for c in vectors("jsonrpc_server_edge_cases.json")}[name]
    want, _ = ANSWERED_AS_JSONRPC2[name]
    with connect(address) as sock:
        sock.sendall(case["client_to_server"].encode())
        got = [json.loads(line) for line in read_lines(sock, len(want))]
        assert normal(got) == normal(want)
        sock.shutdown(socket.SHUT_WR)
        assert read_until_closed(sock) == b""


@pytest.fixture
def functions() -> Iterator[str]:
    server = greenrpc.Server()

    def subtract(minuend: int, subtrahend: int) -> int:
        return minuend - subtrahend

    def reject(code: int) -> None:
        raise greenrpc.ServerError("rejected", code, {"why": "testing"})

    server.register_function(subtract)
    server.register_function(reject)
    yield server.start("127.0.0.1:0")
    server.stop(timeout=5)


def test_methods_choose_their_error_codes(functions: str) -> None:
    with connect(functions) as sock:
        sock.sendall(v2("reject", [-32099], 1) + v2("reject", {"code": 7}, 2)
                     + v2("subtract", {"minuend": 1}, 3) + v2("subtract", [5, 3], 4))
        got = {r["id"]: r for r in (json.loads(line) for line in read_lines(sock, 4))}
    assert got[1]["error"] == {"code": -32099, "message": "rejected", "data": {"why": "testing"}}
    assert got[2]["error"]["code"] == 7
    assert got[3]["error"]["code"] == -32602
    assert got[4]["result"] == 2


def test_batch_concurrency_is_bounded_by_max_inflight() -> None:
    server = services.make_server(max_inflight=2)
    address = server.start("127.0.0.1:0")
    try:
        with connect(address) as sock:
            started = time.monotonic()
            sock.sendall(b"[" + b",".join(sleep(200, str(i), i) for i in range(4)) + b"]")
            (line,) = read_lines(sock, 1)
            elapsed = time.monotonic() - started
    finally:
        server.stop(timeout=5)
    assert len(json.loads(line)) == 4
    assert 0.4 <= elapsed < 0.75  # two at a time: two rounds of 0.2 s, not one and not four
