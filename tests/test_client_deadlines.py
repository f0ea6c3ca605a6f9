"""A call's timeout bounds all of it, writing included, whether or not anyone waits for it."""
from __future__ import annotations

import socket
import time
from typing import Iterator

import gevent
import pytest

import greenrpc
from greenrpc import runtime


@pytest.fixture
def reading_server() -> Iterator[tuple[str, list[int]]]:
    """Reads every byte it is sent and never answers; counts the bytes."""
    listener = socket.create_server(("127.0.0.1", 0))
    received = [0]

    def serve() -> None:
        conn, _ = listener.accept()
        with conn:
            while data := conn.recv(65536):
                received[0] += len(data)
    server = gevent.spawn(serve)
    yield "127.0.0.1:%d" % listener.getsockname()[1], received
    server.kill()
    listener.close()


@pytest.fixture
def stopped_server() -> Iterator[str]:
    """Accepts and never reads, like a server stopped with SIGSTOP."""
    listener = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []
    acceptor = gevent.spawn(lambda: accepted.append(listener.accept()[0]))
    yield "127.0.0.1:%d" % listener.getsockname()[1]
    acceptor.kill()
    for conn in accepted:
        conn.close()
    listener.close()


def test_a_16_mib_call_to_a_stopped_server_ends_at_its_timeout(stopped_server: str) -> None:
    client = greenrpc.dial(stopped_server, call_timeout=30)
    started = time.monotonic()
    with pytest.raises(greenrpc.CallTimeout):
        client.call("Echo.Str", "x" * (16 << 20), timeout=1)
    assert time.monotonic() - started < 2  # 30 s before: the write had a timeout of its own
    # Half a request is on the wire: nothing can follow it, so the connection is closed.
    with pytest.raises(greenrpc.ConnectionClosed, match="write timed out"):
        client.call("Echo.Str", "next", timeout=1)
    client.close()


def test_calls_started_with_go_and_never_waited_on_expire(
        reading_server: tuple[str, list[int]]) -> None:
    address, received = reading_server
    client = greenrpc.dial(address, call_timeout=0.5)
    calls = [client.go("Arith.Multiply", {"A": n, "B": 1}) for n in range(20000)]
    assert client.pending == 20000
    late = client.go("Arith.Multiply", {"A": 0, "B": 0}, timeout=1.0)
    with pytest.raises(greenrpc.CallTimeout):
        late.get()  # meanwhile the reader swept the others at 0.5 s, nobody waiting for them
    assert client.pending == 0
    assert all(call.ready() for call in calls)
    with pytest.raises(greenrpc.CallTimeout, match="no reply within 0.5s"):
        calls[123].get()
    assert received[0] > 20000 * 30  # they were all sent
    client.close()


def test_a_slow_write_does_not_hold_up_a_caller_behind_it(stopped_server: str) -> None:
    client = greenrpc.dial(stopped_server, call_timeout=30)
    big = client.go("Echo.Str", "x" * (8 << 20), timeout=3)  # fills the socket's buffers
    started = time.monotonic()
    with pytest.raises(greenrpc.CallTimeout):
        client.call("Echo.Int", 1, timeout=0.3)  # queued behind it: its own timeout holds
    assert time.monotonic() - started < 0.8
    with pytest.raises(greenrpc.CallTimeout):
        big.get()
    client.close()


def test_a_client_of_one_hub_refuses_another_threads_call_at_once(address: str) -> None:
    with greenrpc.dial(address) as client:
        assert client.runtime.name == "gevent"
        started = time.monotonic()
        pool = gevent.get_hub().threadpool  # a real OS thread, with a hub of its own
        with pytest.raises(RuntimeError, match="belongs to the gevent hub of another thread"):
            pool.apply(client.call, ("Arith.Multiply", {"A": 1, "B": 2}))
        assert time.monotonic() - started < 1
        # Slow enough to be pending when the thread waits (a ready result is simply returned).
        call = client.go("Slow.Sleep", {"Ms": 2000, "Tag": "mine"})
        with pytest.raises(RuntimeError, match="another thread"):
            pool.apply(call.get)
        assert call.get(timeout=10) == "mine"  # its own greenlets still can
        pool.apply(client.close)  # closing is allowed from anywhere: it is handed to the hub
        assert client.closed
        with pytest.raises(greenrpc.ConnectionClosed, match="client closed"):
            client.call("Arith.Multiply", {"A": 1, "B": 1})


def test_the_runtime_follows_the_program() -> None:
    assert runtime.current().name == "gevent"  # this test process is monkey-patched
