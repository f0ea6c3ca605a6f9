"""Requests that once cost a connection its other replies: each is answered, the rest go on."""
from __future__ import annotations

import dataclasses
import gc
import json
import logging
import re
import socket
import time
import urllib.request
from typing import Any, Iterator

import gevent
import gevent.event
import pytest

import greenrpc
from tests.support import connect, host_port, is_open, read_lines, read_until_closed
from tests.test_limits import http_body, post


@dataclasses.dataclass
class Point:
    X: int

    def __post_init__(self) -> None:
        if self.X < 0:
            raise ValueError("X must not be negative")


class Plane:
    def Norm(self, point: Point) -> int:
        return abs(point.X)

    def Echo(self, text: str) -> str:
        return text


@pytest.fixture
def plane() -> Iterator[str]:
    server = greenrpc.Server()
    server.register(Plane())
    server.start()
    yield server.address
    server.stop(timeout=5)


def lines(address: str, data: bytes, count: int) -> list[Any]:
    with connect(address) as sock:
        sock.sendall(data)
        replies = read_lines(sock, count, timeout=10)
    assert len(replies) == count, replies
    return [as_go(line) for line in replies]


LONE = "\ufffd"  # what Go's decoder makes of a lone surrogate escape


def as_go(reply: bytes) -> Any:
    """A reply as Go's encoding/json reads it: a surrogate escape (all are lone here) is U+FFFD."""
    return json.loads(re.sub(rb"\\u[dD][89a-fA-F][0-9a-fA-F]{2}", rb"\\ufffd", reply))


def test_a_lone_surrogate_in_an_id_or_a_name_is_answered_and_the_next_request_too(
        plane: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, "greenrpc")
    go = lines(plane, b'{"method":"Plane.Echo","params":["\\ud800"],"id":"\\ud800"}\n'
                      b'{"method":"Plane.\\udc00","params":["x"],"id":2}\n'
                      b'{"method":"Plane.Echo","params":["ok"],"id":3}\n', 3)
    assert go[0] == {"id": LONE, "result": LONE, "error": None}
    assert go[1]["error"] == f"rpc: can't find method Plane.{LONE}"
    assert go[2] == {"id": 3, "result": "ok", "error": None}
    v2 = lines(plane, b'{"jsonrpc":"2.0","method":"Plane.\\ud800","id":"\\udfff"}\n'
                      b'[{"jsonrpc":"2.0","method":"Plane.Echo","params":["\\ud800"],"id":"\\ud800"},'
                      b'{"jsonrpc":"2.0","method":"Plane.Echo","params":["b"],"id":5}]\n', 2)
    assert v2[0]["id"] == LONE and v2[0]["error"]["code"] == -32601
    assert v2[1] == [{"jsonrpc": "2.0", "result": LONE, "id": LONE},
                     {"jsonrpc": "2.0", "result": "b", "id": 5}]
    assert not [r for r in caplog.records if r.exc_info], "a client's input logged a traceback"


def test_a_lone_surrogate_over_http_post_gets_its_reply(plane: str) -> None:
    with connect(plane) as sock:
        sock.sendall(post(b'{"jsonrpc":"2.0","method":"Plane.\\ud800","id":"\\ud800"}'))
        first = as_go(http_body(sock))
        assert first["id"] == LONE and first["error"]["code"] == -32601
        sock.sendall(post(b'{"jsonrpc":"2.0","method":"Plane.Echo","params":["c"],"id":1}'))
        assert json.loads(http_body(sock))["result"] == "c"


def test_an_argument_type_that_refuses_its_value_is_invalid_params_on_json_and_http(
        plane: str) -> None:
    replies = lines(plane, b'{"method":"Plane.Norm","params":[{"X":-1}],"id":1}\n'
                           b'{"jsonrpc":"2.0","method":"Plane.Norm","params":[{"X":-2}],"id":2}\n'
                           b'{"method":"Plane.Norm","params":[{"X":-3}],"id":3}\n', 3)
    assert replies[0] == {"id": 1, "result": None, "error": "X must not be negative"}
    assert replies[1]["error"] == {"code": -32602, "message": "X must not be negative"}
    assert replies[2]["id"] == 3
    with connect(plane) as sock:
        sock.sendall(post(b'{"jsonrpc":"2.0","method":"Plane.Norm","params":[{"X":-1}],"id":1}'))
        assert json.loads(http_body(sock))["error"]["code"] == -32602
        sock.sendall(post(b'{"jsonrpc":"2.0","method":"Plane.Norm","params":[{"X":4}],"id":2}'))
        assert json.loads(http_body(sock))["result"] == 4


def test_an_argument_type_that_refuses_its_value_is_an_error_reply_over_gob(plane: str) -> None:
    with greenrpc.dial(plane, codec="gob") as client:
        calls = [client.go("Plane.Norm", Point(1)) for _ in range(2)]
        with pytest.raises(greenrpc.ServerError, match="X must not be negative"):
            bad = Point(1)
            bad.X = -5
            client.call("Plane.Norm", bad)
        assert [call.get(timeout=10) for call in calls] == [1, 1]
        assert client.call("Plane.Norm", Point(7)) == 7


def test_whitespace_does_not_keep_a_connection_from_its_idle_timeout() -> None:
    server = greenrpc.Server(idle_timeout=0.5)
    server.register(Plane())
    server.start()
    try:
        with connect(server.address) as sock:
            sock.sendall(b'{"method":"Plane.Echo","params":["a"],"id":1}\n')
            assert read_lines(sock, 1)[0].startswith(b'{"id":1')
            started = time.monotonic()
            closed = None
            for _ in range(100):  # a space every 50 ms: bytes, but never a message
                try:
                    sock.sendall(b" ")
                except OSError:
                    closed = time.monotonic() - started
                    break
                if not is_open(sock, wait=0.05):
                    closed = time.monotonic() - started
                    break
            assert closed is not None, "whitespace kept the connection open for 5 s"
            assert closed < 2.5  # idle_timeout after the first byte that began nothing
        assert lines(server.address, b'{"method":"Plane.Echo","params":["b"],"id":2}\n', 1)[0][
            "result"] == "b"
    finally:
        server.stop(timeout=5)


class Gauge:
    """Counts the calls running at once."""

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


def batch_of(count: int, ms: int, first_id: int) -> bytes:
    return json.dumps([{"jsonrpc": "2.0", "method": "Gauge.Work", "params": [ms],
                        "id": first_id + i} for i in range(count)]).encode() + b"\n"


@pytest.mark.parametrize("transport", ["tcp", "http"])
def test_batches_of_a_blocking_method_stay_within_the_in_flight_caps(transport: str) -> None:
    # Each batch ran its calls in a pool of max_inflight greenlets of its own, so one connection
    # with max_inflight batches in flight ran max_inflight squared calls (16,644 greenlets).
    if transport == "tcp":
        server = greenrpc.Server(max_inflight=4, max_inflight_total=None)
    else:  # one call at a time per connection, each batch's calls counted by the server's gate
        server = greenrpc.Server(max_inflight=16, max_inflight_total=4)
    gauge = Gauge()
    server.register(gauge)
    server.start()
    socks = [connect(server.address) for _ in range(3 if transport == "http" else 1)]
    try:
        batches = [batch_of(20, 20, 100 * n) for n in range(12)]
        if transport == "tcp":
            socks[0].sendall(b"".join(batches))
            replies = [json.loads(line) for line in read_lines(socks[0], 12, timeout=30)]
        else:
            for sock, batch in zip(socks, batches):
                sock.sendall(post(batch))
            replies = [json.loads(http_body(sock, timeout=30)) for sock in socks]
        assert all(len(reply) == 20 and all(r["result"] == 20 for r in reply)
                   for reply in replies)
        # tcp: 4 batches in flight, each running a call, and 4 helpers for the connection (was
        # 4 x 4 = 16); http: a batch running a call per connection and 4 helpers (was 3 x 16)
        assert gauge.peak <= (8 if transport == "tcp" else 7), gauge.peak
        assert server.gate.count == 0
    finally:
        for sock in socks:
            sock.close()
        server.stop(timeout=5)


def test_batches_count_against_the_server_wide_cap() -> None:
    server = greenrpc.Server(max_inflight_total=6)
    gauge = Gauge()
    server.register(gauge)
    server.start()
    socks = [connect(server.address) for _ in range(4)]
    try:
        for n, sock in enumerate(socks):
            sock.sendall(b"".join(batch_of(25, 20, 1000 * n + 100 * k) for k in range(4)))
        for sock in socks:
            replies = [json.loads(line) for line in read_lines(sock, 4, timeout=30)]
            assert [len(reply) for reply in replies] == [25] * 4
        assert gauge.peak <= 6 + 4, gauge.peak  # the cap, and a reader per connection starting
        assert server.gate.count == 0 and not server.gate.full
        assert lines(server.address, b'{"method":"Gauge.Work","params":[1],"id":1}\n', 1)[0][
            "result"] == 1
    finally:
        for sock in socks:
            sock.close()
        server.stop(timeout=5)


def wait_for(condition: Any, timeout: float = 10.0) -> None:
    """Let the server (in this process) run until condition() holds; fail after timeout."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        gevent.sleep(0.01)


def test_messages_in_progress_share_one_memory_budget_and_give_it_back() -> None:
    # Connections each holding an unterminated message just under the size limit held
    # 4 MiB apiece without a total bound: 1,000 of them held 4 GB.
    server = greenrpc.Server(max_message_size=256 << 10, max_memory_total=1 << 20)
    server.register(Plane())
    server.start()
    part = b'{"method":"Plane.Echo","params":["' + b"x" * (200 << 10)  # 200 KiB, unterminated
    socks = []
    try:
        size = len(part)
        for count in range(1, 6):  # five fit in 1 MiB
            sock = connect(server.address)
            socks.append(sock)
            sock.sendall(part)
            wait_for(lambda held=count * size: server.budget.used >= held)
        assert server.budget.used == 5 * len(part)
        refused = connect(server.address)  # a sixth would pass it: closed, the others go on
        refused.sendall(part)
        assert read_until_closed(refused, timeout=10) == b""
        refused.close()
        with connect(server.address) as http:  # an HTTP body the same: 503
            http.sendall(post(b"[" + b"1," * (100 << 10) + b"1]")[:-10])
            reply = read_until_closed(http, timeout=10)
            assert reply.startswith(b"HTTP/1.1 503 "), reply[:100]
        assert lines(server.address, b'{"method":"Plane.Echo","params":["p"],"id":1}\n', 1)[0][
            "result"] == "p"
        assert all(is_open(sock, wait=0.01) for sock in socks)
        socks[0].sendall(b'"],"id":7}\n')  # a held message completes: answered, given back
        assert json.loads(read_lines(socks[0], 1)[0])["id"] == 7
        wait_for(lambda: server.budget.used == 4 * len(part))
        for sock in socks:
            sock.close()
        wait_for(lambda: server.budget.used == 0)
        assert server.budget.refused == 2
        with urllib.request.urlopen(f"http://{server.address}/metrics", timeout=10) as page:
            metrics = page.read().decode()
        assert "greenrpc_memory_refusals_total 2.0" in metrics
        assert "greenrpc_memory_held_bytes 0.0" in metrics
    finally:
        for sock in socks:
            sock.close()
        server.stop(timeout=5)


def test_gob_messages_in_progress_and_type_definitions_count_against_the_budget() -> None:
    server = greenrpc.Server(max_memory_total=64 << 10)
    server.register(Plane())
    server.start()
    try:
        with greenrpc.dial(server.address, codec="gob") as client:
            assert client.call("Plane.Norm", Point(3)) == 3
            wait_for(lambda: server.budget.used > 0)  # the types the client defined
            types = server.budget.used
        wait_for(lambda: server.budget.used == 0)
        with connect(server.address) as sock:
            sock.sendall(b"\xfe\xff\xff" + b"\x00" * (60 << 10))  # a 64 KiB message begins
            wait_for(lambda: server.budget.used > 0)
            sock.sendall(b"\x00" * (8 << 10))  # and would pass the budget: closed
            assert read_until_closed(sock, timeout=10) == b""
        assert 0 < types < 64 << 10
        with greenrpc.dial(server.address, codec="gob") as client:
            assert client.call("Plane.Norm", Point(4)) == 4
    finally:
        server.stop(timeout=5)


class Big:
    def Slice(self, count: int) -> list[int]:
        return list(range(count))


def test_replies_queued_for_a_peer_that_does_not_read_count_against_the_budget() -> None:
    server = greenrpc.Server(max_memory_total=100 << 10, write_timeout=60)
    server.register(Big())
    server.register(Plane())
    server.start()
    sock = socket.socket()
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect(host_port(server.address))
        # 300 small requests ask for ~33 MB of replies; the peer reads none. The kernel's
        # buffers fill, then replies queue in the server, past the budget: closed long before
        # write_timeout, not after holding max_pending_write for a minute.
        sock.sendall(b"".join(b'{"method":"Big.Slice","params":[20000],"id":%d}\n' % i
                              for i in range(300)))
        wait_for(lambda: server.budget.refused == 1, timeout=20)
        assert lines(server.address, b'{"method":"Plane.Echo","params":["q"],"id":1}\n', 1)[0][
            "result"] == "q"
        wait_for(lambda: not server.connections and server.budget.used == 0)
    finally:
        sock.close()
        server.stop(timeout=5)


def test_connections_trickling_whitespace_do_not_lock_out_new_clients_at_max_connections(
        ) -> None:
    # 1,000 connections sending a space a second held --max-connections 1000 forever, though
    # --idle-timeout was 5 s: whitespace reset the idle clock.
    server = greenrpc.Server(max_connections=3, idle_timeout=0.5)
    server.register(Plane())
    server.start()
    tricklers = [connect(server.address) for _ in range(3)]
    stop = gevent.event.Event()

    def trickle(sock: socket.socket) -> None:
        for _ in range(200):  # at most 10 s
            try:
                sock.sendall(b" ")
            except OSError:
                return
            if stop.wait(0.05):
                return

    running = [gevent.spawn(trickle, sock) for sock in tricklers]
    try:
        wait_for(lambda: len(server.connections) == 3)
        # accepting has paused: the newcomer waits in the backlog until a trickler is closed
        reply = lines(server.address, b'{"method":"Plane.Echo","params":["in"],"id":1}\n', 1)
        assert reply[0]["result"] == "in"
    finally:
        stop.set()
        gevent.joinall(running, timeout=5)
        for sock in tricklers:
            sock.close()
        server.stop(timeout=5)


def test_a_connection_that_broke_mid_message_is_freed_at_once_not_by_a_later_gc() -> None:
    # The broken stream's error and the codec's frame held each other, so each connection
    # that ended inside a message kept its buffer (up to max_message_size) until the cycle
    # collector ran: 16 such connections held 64 MiB on an idle server.
    from greenrpc.wire import jsonserver
    server = greenrpc.Server()
    server.register(Plane())
    server.start()
    gc.collect()
    gc.disable()
    try:
        for ending in (b"", b"\"}}\n"):  # end of stream inside a message; invalid JSON
            with connect(server.address) as sock:
                sock.sendall(b'{"method":"Plane.Echo","params":["' + b"x" * 50_000 + ending)
                if ending:
                    assert read_until_closed(sock) == b""
            wait_for(lambda: not server.connections)
            alive = [o for o in gc.get_objects() if isinstance(o, jsonserver.ServerCodec)]
            assert not alive, f"a codec outlived its connection ({ending!r})"
    finally:
        gc.enable()
        server.stop(timeout=5)
