"""The client over real sockets: pipelining, errors, timeouts, lost connections, Go's bytes."""
from __future__ import annotations

import socket
import time
from typing import Any, Callable, Iterator

import gevent
import pytest

import greenrpc
from tests import services
from tests.support import vectors


def test_many_greenlets_share_one_connection(address: str) -> None:
    with greenrpc.dial(address) as client:
        def worker(n: int) -> list[int]:
            return [client.call("Arith.Multiply", {"A": n, "B": i})["Pro"] for i in range(50)]
        jobs = [gevent.spawn(worker, n) for n in range(40)]
        gevent.joinall(jobs, timeout=20, raise_error=True)
        assert [job.value for job in jobs] == [[n * i for i in range(50)] for n in range(40)]


def test_server_error_carries_the_servers_text(address: str) -> None:
    with greenrpc.dial(address) as client:
        with pytest.raises(greenrpc.ServerError) as info:
            client.call("Arith.Divide", {"A": 1, "B": 0})
        assert str(info.value) == "divide by zero"
        assert client.call("Arith.Multiply", {"A": 2, "B": 2})["Pro"] == 4  # still usable


def test_typed_results(address: str) -> None:
    with greenrpc.dial(address) as client:
        reply = client.call("Arith.Multiply", services.ArithRequest(6, 7),
                            result_type=services.ArithResponse)
        assert reply == services.ArithResponse(Pro=42)
        with pytest.raises(greenrpc.RPCError, match="reading body json: cannot unmarshal object"):
            client.call("Arith.Multiply", {"A": 1, "B": 1}, result_type=int)


def test_call_timeout_then_late_reply_is_dropped(address: str) -> None:
    with greenrpc.dial(address, call_timeout=0.2) as client:
        started = time.monotonic()
        with pytest.raises(greenrpc.CallTimeout):
            client.call("Slow.Sleep", {"Ms": 1000, "Tag": "late"})
        assert time.monotonic() - started < 0.9  # the timeout, well before the reply
        with pytest.raises(greenrpc.CallTimeout):
            client.call("Slow.Sleep", {"Ms": 1000, "Tag": "late"}, timeout=0.05)
        gevent.sleep(1.1)  # both late replies arrive and match nothing
        assert client.call("Echo.Int", 3) == 3
        assert client.go("Slow.Sleep", {"Ms": 300, "Tag": "t"}).get(timeout=2) == "t"


@pytest.fixture
def fake_server() -> Iterator[Callable[[Callable[[socket.socket], None]], str]]:
    """A one-connection TCP server whose behaviour the test supplies."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    greenlets = []

    def start(behaviour: Callable[[socket.socket], None]) -> str:
        def serve() -> None:
            conn, _ = listener.accept()
            with conn:
                behaviour(conn)
        greenlets.append(gevent.spawn(serve))
        return f"127.0.0.1:{listener.getsockname()[1]}"
    yield start
    for g in greenlets:
        g.kill()
    listener.close()


def test_lost_connection_fails_every_pending_call_at_once(fake_server: Any) -> None:
    def read_then_vanish(conn: socket.socket) -> None:
        received = b""
        while received.count(b"\n") < 20:
            received += conn.recv(65536)
    address = fake_server(read_then_vanish)
    client = greenrpc.dial(address, call_timeout=30)
    calls = [client.go("Arith.Multiply", {"A": i, "B": 1}) for i in range(20)]
    started = time.monotonic()
    for call in calls:
        with pytest.raises(greenrpc.ConnectionClosed):
            call.get()
    assert time.monotonic() - started < 2  # not the 30 s call timeout
    with pytest.raises(greenrpc.ConnectionClosed):
        client.call("Arith.Multiply", {"A": 1, "B": 1})
    client.close()


def test_garbage_from_the_server_fails_pending_calls(fake_server: Any) -> None:
    def garbage(conn: socket.socket) -> None:
        conn.recv(1000)
        conn.sendall(b"<html>not json</html>\n")
        gevent.sleep(1)
    client = greenrpc.dial(fake_server(garbage))
    with pytest.raises(greenrpc.ConnectionClosed, match="bad reply"):
        client.call("Arith.Multiply", {"A": 1, "B": 1}, timeout=5)
    client.close()


@pytest.mark.parametrize("case", [c for c in vectors("jsonrpc_tcp.json")
                                  if c["name"] in ("multiply", "divide", "divzero", "two_calls",
                                                   "unknown_method", "error_then_ok")],
                         ids=lambda c: c["name"])
def test_client_writes_go_clients_bytes_and_reads_go_servers(fake_server: Any, case: dict) -> None:
    expected_request = bytes.fromhex(case["client_to_server_hex"])
    canned_reply = bytes.fromhex(case["server_to_client_hex"])
    received = []

    def replay(conn: socket.socket) -> None:
        data = b""
        while len(data) < len(expected_request):
            chunk = conn.recv(65536)
            if not chunk:
                break
            data += chunk
        received.append(data)
        conn.sendall(canned_reply)
        gevent.sleep(0.5)

    import json
    requests = [json.loads(text) for text in case["client_to_server_json"]]
    with greenrpc.dial(fake_server(replay)) as client:
        calls = [client.go(r["method"], r["params"][0]) for r in requests]
        outcomes = []
        for call in calls:
            try:
                outcomes.append(call.get(timeout=5))
            except greenrpc.ServerError as err:
                outcomes.append(f"error: {err}")
    assert received == [expected_request]
    replies = {json.loads(t)["id"]: json.loads(t) for t in case["server_to_client_json"]}
    for request, outcome in zip(requests, outcomes):
        reply = replies[request["id"]]
        assert outcome == (reply["result"] if reply["error"] is None else f"error: {reply['error']}")


def test_dial_refused_is_a_clear_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(greenrpc.ConnectionClosed, match="dial 127.0.0.1:"):
        greenrpc.dial(f"127.0.0.1:{port}", timeout=2)


def test_unix_socket_serve_and_dial(tmp_path: Any) -> None:
    server = services.make_server()
    address = server.start(f"unix:{tmp_path}/rpc.sock")
    try:
        with greenrpc.dial(address) as client:
            assert client.call("Echo.Str", "over unix") == "over unix"
    finally:
        server.stop(timeout=5)


def test_closed_client_refuses_new_calls(address: str) -> None:
    client = greenrpc.dial(address)
    client.close()
    with pytest.raises(greenrpc.ConnectionClosed, match="client closed"):
        client.go("Echo.Int", 1)


def test_a_good_reply_before_garbage_is_delivered_and_the_rest_fail_at_once(
        fake_server: Any) -> None:
    def reply_then_garbage(conn: socket.socket) -> None:
        received = b""
        while received.count(b"\n") < 2:
            received += conn.recv(65536)
        conn.sendall(b'{"id":0,"result":7,"error":null}\nxyz\n')
        gevent.sleep(3)
    with greenrpc.dial(fake_server(reply_then_garbage), call_timeout=10) as client:
        first, second = client.go("X.Y", 1), client.go("X.Z", 2)
        started = time.monotonic()
        assert first.get() == 7
        with pytest.raises(greenrpc.ConnectionClosed, match="bad reply from the server"):
            second.get()
        assert time.monotonic() - started < 1
