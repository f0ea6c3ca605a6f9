"""The server over real sockets on 127.0.0.1: Go's captured behaviour, concurrency, bad input."""
from __future__ import annotations

import json
import socket
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Iterator

import gevent
import gevent.event
import pytest
import requests

import greenrpc
from tests import services
from tests.support import connect, is_open, read_lines, read_until_closed, vectors
from tests.wire.test_jsonrpc1 import DEVIATIONS, same
from tests.wire.test_jsonrpc2 import ANSWERED_AS_JSONRPC2  # tested in test_jsonrpc2_server.py

MULTIPLY = b'{"method":"Arith.Multiply","params":[{"A":7,"B":8}],"id":"probe"}\n'
MULTIPLY_REPLY = {"id": "probe", "result": {"Pro": 56, "Quo": 0, "Rem": 0}, "error": None}
EDGE_CASES = {c["name"]: c for c in vectors("jsonrpc_server_edge_cases.json")}


def lines_of(data: bytes) -> list[str]:
    return [line + "\n" for line in data.decode().splitlines()]


def expected(case: dict) -> list[str]:
    return DEVIATIONS.get(case["name"], case["server_to_client"].splitlines(keepends=True))


def send(sock: socket.socket, data: bytes, byte_by_byte: bool) -> None:
    if not byte_by_byte:
        sock.sendall(data)
        return
    for i in range(len(data)):
        try:
            sock.sendall(data[i:i + 1])
        except OSError:
            return  # the server closed on bad input, as the case may expect
        time.sleep(0.0005)


@pytest.mark.parametrize("byte_by_byte", [False, True], ids=["whole", "byte-by-byte"])
@pytest.mark.parametrize("name", [n for n in EDGE_CASES if n not in (
    "truncated_request_then_eof", "halfclose_with_request_in_flight", *ANSWERED_AS_JSONRPC2)])
def test_go_edge_cases_over_tcp(address: str, name: str, byte_by_byte: bool) -> None:
    case = EDGE_CASES[name]
    want = expected(case)
    with connect(address) as sock:
        send(sock, case["client_to_server"].encode(), byte_by_byte)
        if case["server_closed_connection"]:
            got = read_until_closed(sock, timeout=3)  # closed by the server, not by us
            assert same(lines_of(got), want, any_order=True)
            return
        got_lines = read_lines(sock, len(want))
        assert same([line.decode() for line in got_lines], want,
                    bool(case.get("reply_order_nondeterministic")))
        sock.sendall(MULTIPLY)  # still open and still in step
        assert json.loads(read_lines(sock, 1)[0]) == MULTIPLY_REPLY
        sock.shutdown(socket.SHUT_WR)
        assert read_until_closed(sock) == b""


def test_truncated_request_waits_then_closes_at_eof(address: str) -> None:
    with connect(address) as sock:
        sock.sendall(b'{"method":"Arith.Mul')
        assert is_open(sock, wait=0.3)
        sock.shutdown(socket.SHUT_WR)
        assert read_until_closed(sock) == b""


def test_reply_of_call_in_flight_arrives_after_half_close(address: str) -> None:
    case = EDGE_CASES["halfclose_with_request_in_flight"]
    with connect(address) as sock:
        sock.sendall(case["client_to_server"].encode())
        sock.shutdown(socket.SHUT_WR)
        got = read_until_closed(sock)
    assert json.loads(got) == json.loads(case["after_client_halfclose"])


def test_slow_call_does_not_hold_up_later_calls_on_its_connection(address: str) -> None:
    with connect(address) as sock:
        sock.sendall(b'{"method":"Slow.Sleep","params":[{"Ms":1000,"Tag":"slow"}],"id":1}'
                     + b"".join(b'{"method":"Echo.Int","params":[%d],"id":%d}' % (i, i)
                                for i in range(2, 202)))
        fast = read_lines(sock, 200)  # run in order, the slow reply would come first
        assert sorted(json.loads(line)["id"] for line in fast) == list(range(2, 202))
        [slow] = read_lines(sock, 1)
        assert json.loads(slow) == {"id": 1, "result": "slow", "error": None}


class HeldPeer:
    """A TCP server that answers each connection only once the test releases it."""

    def __init__(self, release: gevent.event.Event) -> None:
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.port = self.listener.getsockname()[1]
        self.release = release

    def serve_one(self) -> None:
        conn, _ = self.listener.accept()
        with conn:
            self.release.wait(timeout=20)
            conn.sendall(b"late")


class BlockingIO:
    """Methods doing ordinary blocking I/O: sleep, a socket, an HTTP request."""

    def __init__(self, peer_port: int, http_url: str) -> None:
        self.peer_port = peer_port
        self.http_url = http_url

    def Sleep(self, seconds: float) -> str:
        time.sleep(seconds)
        return "slept"

    def Socket(self, _: Any) -> str:
        with socket.create_connection(("127.0.0.1", self.peer_port), timeout=20) as sock:
            return sock.recv(10).decode()

    def Urllib(self, _: Any) -> str:
        with urllib.request.urlopen(self.http_url, timeout=20) as reply:
            return str(reply.read().decode())

    def Requests(self, _: Any) -> str:
        return str(requests.get(self.http_url, timeout=20).text)


@pytest.fixture
def release() -> gevent.event.Event:
    return gevent.event.Event()


@pytest.fixture
def blocking_server(release: gevent.event.Event) -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            release.wait(timeout=20)  # answers only once the test has seen the others through
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"http-ok")

        def log_message(self, *args: Any) -> None:
            pass

    http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    http_thread = threading.Thread(target=http.serve_forever, daemon=True)
    http_thread.start()
    peer = HeldPeer(release)
    server = services.make_server()
    url = f"http://127.0.0.1:{http.server_address[1]}/"
    server.register(BlockingIO(peer.port, url))
    server.start("127.0.0.1:0")
    peer_greenlet = gevent.spawn(peer.serve_one)
    yield server.address
    release.set()
    server.stop(timeout=5)
    peer_greenlet.kill()
    peer.listener.close()
    http.shutdown()
    http.server_close()


@pytest.mark.parametrize("method,params,result", [
    ("BlockingIO.Sleep", 3.0, "slept"),  # time cannot be held: a wide margin instead
    ("BlockingIO.Socket", None, "late"),
    ("BlockingIO.Urllib", None, "http-ok"),
    ("BlockingIO.Requests", None, "http-ok"),
])
def test_blocking_io_in_a_method_does_not_stall_other_connections(
        blocking_server: str, release: gevent.event.Event, method: str, params: Any,
        result: str) -> None:
    with greenrpc.dial(blocking_server) as slow_client, greenrpc.dial(blocking_server) as other:
        slow = slow_client.go(method, params)
        for i in range(100):
            assert other.call("Echo.Int", i) == i
        # The others finished while the blocking call still waits: for the socket and HTTP
        # peers it cannot finish before the release below, whatever the machine's load.
        assert not slow.ready()
        release.set()
        assert slow.get(timeout=10) == result


class Gauge:
    def __init__(self) -> None:
        self.running = 0
        self.peak = 0

    def Work(self, ms: int) -> int:
        self.running += 1
        self.peak = max(self.peak, self.running)
        time.sleep(ms / 1000)
        self.running -= 1
        return self.peak


def test_calls_in_flight_per_connection_are_capped() -> None:
    server = greenrpc.Server(max_inflight=4)
    gauge = Gauge()
    server.register(gauge)
    server.start()
    try:
        with greenrpc.dial(server.address) as client:
            calls = [client.go("Gauge.Work", 50) for _ in range(20)]
            assert [c.get(timeout=5) <= 5 for c in calls] == [True] * 20
        # the leader runs one more call inline while four are parked: at most five at once
        assert 4 <= gauge.peak <= 5
    finally:
        server.stop(timeout=5)


def test_pipelined_burst_in_one_send_is_answered_completely(address: str) -> None:
    burst = b"".join(b'{"method":"Echo.Int","params":[%d],"id":%d}\n' % (i, i) for i in range(3000))
    with connect(address) as sock:
        sock.sendall(burst)
        got = read_lines(sock, 3000)
    assert sorted(json.loads(line)["result"] for line in got) == list(range(3000))


def test_oversized_message_closes_only_its_connection() -> None:
    server = services.make_server(max_message_size=1000)
    server.start()
    try:
        with connect(server.address) as bad, connect(server.address) as good:
            good.sendall(MULTIPLY)
            assert json.loads(read_lines(good, 1)[0]) == MULTIPLY_REPLY
            bad.sendall(b'{"method":"Echo.Str","params":["' + b"x" * 5000)
            assert read_until_closed(bad) == b""
            good.sendall(MULTIPLY)
            assert json.loads(read_lines(good, 1)[0]) == MULTIPLY_REPLY
    finally:
        server.stop(timeout=5)


def test_message_just_under_the_limit_is_served() -> None:
    server = services.make_server(max_message_size=200_000)
    server.start()
    try:
        with greenrpc.dial(server.address) as client:
            assert client.call("Echo.Str", "y" * 150_000) == "y" * 150_000
    finally:
        server.stop(timeout=5)


def test_deeply_nested_json_closes_the_connection_not_the_server(address: str) -> None:
    with connect(address) as sock:
        sock.sendall(b'{"method":"Echo.Str","params":' + b"[" * 200_000 + b"]" * 200_000 + b"}")
        assert read_until_closed(sock) == b""
    with greenrpc.dial(address) as client:
        assert client.call("Echo.Int", 5) == 5


def test_non_utf8_is_replaced_like_go(address: str) -> None:
    with connect(address) as sock:
        sock.sendall(b'{"method":"Echo.Str","params":["a\xff\xfeb"],"id":1}\n')
        [line] = read_lines(sock, 1)
    assert json.loads(line)["result"] == "a\ufffd\ufffdb"


def test_vanishing_clients_leave_the_server_healthy(address: str) -> None:
    for i in range(200):
        sock = connect(address)
        sock.sendall(b'{"method":"Slow.Sleep","params":[{"Ms":20,"Tag":"x"}],"id":1}'
                     if i % 2 else b'{"method":"Arith.Mul')
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        sock.close()  # a reset, mid-request or mid-call
    with greenrpc.dial(address) as client:
        assert client.call("Arith.Multiply", {"A": 3, "B": 4})["Pro"] == 12


def test_idle_connection_is_never_closed_by_default(address: str) -> None:
    with connect(address) as sock:
        assert is_open(sock, wait=0.5)
        sock.sendall(MULTIPLY)
        assert json.loads(read_lines(sock, 1)[0]) == MULTIPLY_REPLY


def test_slowloris_message_is_dropped_after_the_message_timeout() -> None:
    server = services.make_server(message_timeout=0.3)
    server.start()
    try:
        with connect(server.address) as sock:
            sock.sendall(b'{"method":')
            started = time.monotonic()
            assert read_until_closed(sock, timeout=3) == b""
            assert 0.25 < time.monotonic() - started < 2
    finally:
        server.stop(timeout=5)


def test_stop_drains_calls_in_flight_and_refuses_new_connections() -> None:
    server = services.make_server()
    server.start()
    address = server.address
    with connect(address) as sock:
        sock.sendall(b'{"method":"Slow.Sleep","params":[{"Ms":300,"Tag":"drained"}],"id":9}')
        gevent.sleep(0.05)
        stopper = gevent.spawn(server.stop, 5)
        got = read_until_closed(sock)
    assert json.loads(got) == {"id": 9, "result": "drained", "error": None}
    stopper.join(timeout=5)
    assert stopper.successful()
    with pytest.raises(OSError):
        connect(address, timeout=1)


def test_stop_closes_calls_that_outlive_the_grace_period() -> None:
    server = services.make_server()
    server.start()
    with connect(server.address) as sock:
        sock.sendall(b'{"method":"Slow.Sleep","params":[{"Ms":5000,"Tag":"x"}],"id":1}')
        gevent.sleep(0.05)
        started = time.monotonic()
        server.stop(timeout=0.3)
        assert time.monotonic() - started < 2
        assert read_until_closed(sock) == b""
