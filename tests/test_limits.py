"""Every limit and timeout, hit over real sockets: a clear error or close, others unaffected."""
from __future__ import annotations

import json
import logging
import socket
import time
from typing import Any, Iterator

import gevent
import pytest

import greenrpc
from tests import services
from tests.support import connect, host_port, is_open, read_lines, read_until_closed

MULTIPLY = b'{"method":"Arith.Multiply","params":[{"A":7,"B":8}],"id":"probe"}\n'


@pytest.fixture
def make() -> Iterator[Any]:
    """Start a services server with the given limits; stop it after the test."""
    started: list[greenrpc.Server] = []

    def start(**limits: Any) -> greenrpc.Server:
        server = services.make_server(**limits)
        server.start()
        started.append(server)
        return server
    yield start
    for server in started:
        server.stop(timeout=5)


def still_serves(address: str) -> None:
    with connect(address) as sock:
        sock.sendall(MULTIPLY)
        assert json.loads(read_lines(sock, 1)[0])["result"]["Pro"] == 56


def test_a_request_trickled_a_byte_at_a_time_is_dropped_at_the_message_timeout(make: Any) -> None:
    server = make(message_timeout=0.5)
    request = b'{"method":"Echo.Str","params":["' + b"x" * 100 + b'"],"id":1}'
    with connect(server.address) as sock:
        started = time.monotonic()
        closed_after = None
        for byte in request:  # one byte every 50 ms: always progress, never a whole message
            try:
                sock.send(bytes([byte]))
            except OSError:
                closed_after = time.monotonic() - started
                break
            if not is_open(sock, wait=0.05):
                closed_after = time.monotonic() - started
                break
        assert closed_after is not None, "the trickling request was never dropped"
        assert 0.45 < closed_after < 2.0
    still_serves(server.address)


def test_a_steady_stream_of_requests_is_never_cut_by_the_message_timeout(make: Any) -> None:
    # Each request completes well within the bound, though a partial one is always buffered.
    server = make(message_timeout=0.4)
    requests = b"".join(b'{"method":"Echo.Int","params":[%d],"id":%d}' % (i, i) for i in range(12))
    with connect(server.address) as sock:
        step = len(requests) // 24
        for i in range(0, len(requests), step):
            sock.sendall(requests[i:i + step])
            gevent.sleep(0.05)  # 1.2 s in all, three times the bound
        got = read_lines(sock, 12)
    assert sorted(json.loads(line)["result"] for line in got) == list(range(12))


def test_an_http_head_trickled_a_byte_at_a_time_is_dropped_at_the_message_timeout(make: Any
                                                                                  ) -> None:
    server = make(message_timeout=0.5)
    head = b"CONNECT /_goRPC_ HTTP/1.0\r\n" + b"X-Padding: " + b"p" * 200 + b"\r\n\r\n"
    with connect(server.address) as sock:
        started = time.monotonic()
        for byte in head:
            try:
                sock.send(bytes([byte]))
            except OSError:
                break
            if not is_open(sock, wait=0.05):
                break
        assert 0.45 < time.monotonic() - started < 2.0
    still_serves(server.address)


def test_a_peer_that_never_reads_its_big_replies_is_cut_off_with_bounded_memory(make: Any
                                                                               ) -> None:
    import tracemalloc
    server = make(write_timeout=0.5)
    # 300 small requests in one send ask for ~33 MB of replies; the peer reads none of them.
    requests = b"".join(b'{"method":"Echo.Slice","params":[20000],"id":%d}\n' % i
                        for i in range(300))
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(host_port(server.address))
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        started = time.monotonic()
        sock.sendall(requests)
        gevent.sleep(0.1)
        assert server.connections  # stalled on our full receive window, not gone yet
        still_serves(server.address)  # others are served while it stalls
        while server.connections and time.monotonic() - started < 5:
            gevent.sleep(0.05)
        held = tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()
        sock.close()
    assert not server.connections, "the stalled peer was never cut off"
    assert 0.5 < time.monotonic() - started < 3
    assert held < 6_000_000, f"{held} bytes held for a peer that reads nothing"


def test_idle_timeout_is_opt_in_and_closes_only_quiet_connections(make: Any) -> None:
    server = make(idle_timeout=0.4)
    with connect(server.address) as quiet, connect(server.address) as busy:
        started = time.monotonic()
        busy.sendall(b'{"method":"Slow.Sleep","params":[{"Ms":700,"Tag":"t"}],"id":1}')
        assert read_until_closed(quiet, timeout=3) == b""
        assert 0.35 < time.monotonic() - started < 1.5
        # A call that outlasts the idle timeout keeps its connection: nothing is idle yet.
        assert json.loads(read_lines(busy, 1)[0])["result"] == "t"
        busy.sendall(MULTIPLY)
        assert json.loads(read_lines(busy, 1)[0])["result"]["Pro"] == 56
        assert read_until_closed(busy, timeout=3) == b""  # then quiet: closed in turn



class Gauge:
    def __init__(self) -> None:
        self.running = 0
        self.peak = 0

    def Work(self, ms: int) -> int:
        self.running += 1
        self.peak = max(self.peak, self.running)
        try:
            time.sleep(ms / 1000)
        finally:
            self.running -= 1
        return ms


def test_calls_in_flight_across_the_server_are_capped_without_deadlock() -> None:
    server = greenrpc.Server(max_inflight_total=4)
    gauge = Gauge()
    server.register(gauge)
    server.register(services.Echo())
    server.start()
    try:
        clients = [greenrpc.dial(server.address) for _ in range(10)]
        calls = [client.go("Gauge.Work", 5 + (i * 7) % 30) for i in range(20)
                 for client in clients]
        gevent.sleep(0.02)
        quick = clients[0].go("Echo.Int", 7)  # waits for a slot like every other call
        assert [call.get(timeout=20) for call in calls] == [5 + (i * 7) % 30 for i in range(20)
                                                            for _ in clients]
        assert quick.get(timeout=5) == 7
        assert gauge.peak == 4
        assert server.gate.count == 0 and not server.gate.full
        for client in clients:
            client.close()
    finally:
        server.stop(timeout=5)


def test_the_server_wide_cap_holds_under_many_connections() -> None:
    server = greenrpc.Server(max_inflight_total=8)
    gauge = Gauge()
    server.register(gauge)
    server.start()
    try:
        with greenrpc.dial(server.address) as first:
            first.call("Gauge.Work", 1)  # warm up
        clients = [greenrpc.dial(server.address) for _ in range(40)]
        started = time.monotonic()
        calls = [client.go("Gauge.Work", 20) for client in clients for _ in range(5)]
        assert all(call.get(timeout=30) == 20 for call in calls)
        # 200 calls of 20 ms, 8 at a time: about 0.5 s, never all at once
        assert time.monotonic() - started > 0.4
        assert gauge.peak == 8  # though 40 connections asked at the same moment
        assert server.gate.count == 0
        for client in clients:
            client.close()
    finally:
        server.stop(timeout=5)


def test_too_deep_json_closes_its_connection_after_answering_what_came_before(make: Any
                                                                             ) -> None:
    server = make(max_depth=10)
    deep = b'{"method":"Echo.Int","params":' + b"[" * 11 + b"1" + b"]" * 11 + b',"id":2}'
    with connect(server.address) as bad, connect(server.address) as good:
        bad.sendall(b'{"method":"Echo.Int","params":[[[[[[[[[1]]]]]]]]],"id":1}\n' + deep)
        got = read_until_closed(bad)
        assert json.loads(got)["error"].startswith("json: cannot unmarshal array")  # answered
        good.sendall(MULTIPLY)
        assert json.loads(read_lines(good, 1)[0])["result"]["Pro"] == 56


def server_side_socket(server: greenrpc.Server) -> Any:
    deadline = time.monotonic() + 5
    while not server._transports and time.monotonic() < deadline:
        gevent.sleep(0.01)
    [transport] = server._transports
    return transport.sock


@pytest.mark.parametrize("limits,expected", [
    ({}, (1, 30, 10, 5)),
    ({"keepalive_idle": 7, "keepalive_interval": 2.5, "keepalive_count": 3}, (1, 7, 3, 3)),
    ({"keepalive_idle": None}, (0, None, None, None)),
])
def test_accepted_connections_get_tcp_keepalive_to_find_dead_peers(
        make: Any, limits: dict, expected: tuple) -> None:
    server = make(**limits)
    with connect(server.address) as sock:
        sock.sendall(b" ")
        accepted = server_side_socket(server)
        got = [accepted.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) != 0]
        for option in (socket.TCP_KEEPIDLE, socket.TCP_KEEPINTVL, socket.TCP_KEEPCNT):
            got.append(accepted.getsockopt(socket.IPPROTO_TCP, option))
    if expected[0] == 0:
        assert got[0] is False
    else:
        assert tuple(int(v) for v in got) == expected


@pytest.mark.parametrize("part", ["head", "body"])
def test_an_http_request_trickled_a_byte_at_a_time_is_dropped_at_the_message_timeout(
        make: Any, part: str) -> None:
    server = make(message_timeout=0.5)
    body = b'{"jsonrpc":"2.0","method":"Echo.Str","params":["' + b"x" * 200 + b'"],"id":1}'
    head = (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n" % len(body))
    with connect(server.address) as sock:
        if part == "body":
            sock.sendall(head)
        started = time.monotonic()
        for byte in (head if part == "head" else body):
            try:
                sock.send(bytes([byte]))
            except OSError:
                break
            if not is_open(sock, wait=0.05):
                break
        assert 0.45 < time.monotonic() - started < 2.0
    still_serves(server.address)


def post(body: bytes) -> bytes:
    return (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n" % len(body)) + body


def http_body(sock: socket.socket, timeout: float = 10.0) -> bytes:
    """Read one HTTP response with a Content-Length; return its body."""
    sock.settimeout(timeout)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
    while len(body) < length:
        chunk = sock.recv(65536)
        assert chunk, head
        body += chunk
    return body


@pytest.mark.parametrize("transport", ["tcp", "http"])
def test_a_batch_over_max_batch_size_gets_one_small_error(make: Any, transport: str) -> None:
    # The probe's batch at an eighth of its size: 512 KiB of "[1,1,...]" (262,144 elements)
    # was answered with an error object per element, 35 MiB in all, seconds of CPU.
    server = make()
    batch = b"[" + b",".join([b"1"] * 262_144) + b"]\n"
    with connect(server.address) as sock:
        cpu = time.process_time()  # the server runs in this process
        if transport == "tcp":
            sock.sendall(batch)
            reply = read_lines(sock, 1, timeout=20)[0]
        else:
            sock.sendall(post(batch))
            reply = http_body(sock, timeout=20)
        cpu = time.process_time() - cpu
        assert len(reply) < 200, len(reply)
        error = json.loads(reply)["error"]
        assert error["code"] == -32600
        assert error["data"] == "batch of 262144 requests exceeds the limit of 1000"
        assert cpu < 1.5  # parsing 512 KiB of JSON once; measured ~0.05 s
    still_serves(server.address)


@pytest.mark.parametrize("transport", ["tcp", "http"])
def test_a_batch_reply_past_max_batch_reply_size_becomes_errors(make: Any, transport: str
                                                                 ) -> None:
    server = make(max_batch_reply_size=1 << 20)
    # 20 calls for 110 KB each: 2.2 MB of replies asked for with a 1.4 KB request.
    batch = b"[" + b",".join(b'{"jsonrpc":"2.0","method":"Echo.Slice","params":[20000],"id":%d}'
                             % i for i in range(20)) + b"]\n"
    with connect(server.address) as sock:
        if transport == "tcp":
            sock.sendall(batch)
            reply = read_lines(sock, 1)[0]
        else:
            sock.sendall(post(batch))
            reply = http_body(sock)
    assert len(reply) < (1 << 20) + 20 * 200
    replies = json.loads(reply)
    assert sorted(r["id"] for r in replies) == list(range(20))  # every call answered
    ok = [r for r in replies if "result" in r]
    refused = [r for r in replies if "error" in r]
    assert len(ok) == 9 and all(r["result"] == list(range(20000)) for r in ok)
    assert len(refused) == 11 and {r["error"]["code"] for r in refused} == {-32001}


def gob_definition(id: int, fields: int) -> bytes:
    """A gob message defining type id as a struct of that many fields, each named F<n>."""
    from greenrpc.wire.gob.primitives import int_bytes, message, string_bytes, uint_bytes
    listing = b"".join(b"\x01" + string_bytes(f"F{i}") + b"\x01\x04\x00" for i in range(fields))
    return message(int_bytes(-id) + b"\x03\x02" + uint_bytes(fields) + listing + b"\x00\x00")


@pytest.mark.parametrize("attack", ["a million empty fields", "definitions past the budget"])
def test_gob_type_definitions_past_their_budget_close_the_connection(
        make: Any, attack: str, caplog: pytest.LogCaptureFixture) -> None:
    import tracemalloc

    from greenrpc.wire.gob.primitives import int_bytes, message, uint_bytes
    server = make()
    if attack == "a million empty fields":  # the probe's 4 MiB definition held 290 MB
        data = message(int_bytes(-65) + b"\x03\x02" + uint_bytes(1 << 20) + b"\x00" * (1 << 20)
                       + b"\x00\x00")
    else:  # each of 1500 fields fits in the 1 MiB budget, two do not
        data = b"".join(gob_definition(id, 1500) for id in range(65, 73))
    tracemalloc.start()
    try:
        with caplog.at_level(logging.INFO, logger="greenrpc"), \
                connect(server.address) as sock:
            sock.sendall(data)
            assert read_until_closed(sock) == b""
            still_serves(server.address)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 * len(data) + (4 << 20)  # the message itself; not 70-290 bytes per field
    reasons = [r.getMessage() for r in caplog.records if "bad message" in r.getMessage()]
    assert len(reasons) == 1 and ("gob struct definition of 1048576 fields" in reasons[0]
                                  or "gob type definitions exceed their budget" in reasons[0])
