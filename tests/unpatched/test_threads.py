"""greenrpc.dial in a plain threaded program: OS threads share one client on one connection."""
from __future__ import annotations

import os
import socket
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Iterator

import gevent
import pytest

import greenrpc
from tests.services import ArithRequest, ArithResponse, SleepArgs
from tests.support import GREENRPC_PEER, ROOT, Peer, greenrpc_peer
from tests.unpatched.conftest import Target, start_target


def multiply(client: Any, a: int, b: int) -> int:
    product: int = client.call("Arith.Multiply", ArithRequest(a, b),
                               result_type=ArithResponse).Pro
    return product


def test_sixteen_threads_share_one_client(target: Target) -> None:
    with greenrpc.dial(target.address, codec=target.codec, call_timeout=10) as client:
        assert client.runtime.name == "threads"

        def work(n: int) -> list[int]:
            return [multiply(client, n, i) for i in range(1000)]
        started = time.monotonic()
        with ThreadPoolExecutor(16) as pool:
            results = list(pool.map(work, range(16)))
        assert results == [[n * i for i in range(1000)] for n in range(16)]
        assert client.pending == 0
        assert time.monotonic() - started < 30


def test_calls_of_many_threads_are_in_flight_together(target: Target) -> None:
    # 8 threads each wait for a 300 ms call; pipelined on one connection they take ~300 ms in
    # all, where one call at a time would take 2.4 s.
    with greenrpc.dial(target.address, codec=target.codec, call_timeout=10) as client:
        started = time.monotonic()
        with ThreadPoolExecutor(8) as pool:
            tags = list(pool.map(lambda n: client.call("Slow.Sleep", SleepArgs(300, f"t{n}")),
                                 range(8)))
        assert tags == [f"t{n}" for n in range(8)]
        assert time.monotonic() - started < 1.5


def test_go_in_one_thread_get_in_another(target: Target) -> None:
    with greenrpc.dial(target.address, codec=target.codec, call_timeout=10) as client:
        calls = [client.go("Arith.Multiply", ArithRequest(i, 3), result_type=ArithResponse)
                 for i in range(50)]
        with ThreadPoolExecutor(4) as pool:
            products = list(pool.map(lambda call: call.get().Pro, calls))
        assert products == [i * 3 for i in range(50)]
        assert all(call.ready() for call in calls)


def test_a_timeout_frees_the_thread_and_the_client_goes_on(target: Target) -> None:
    with greenrpc.dial(target.address, codec=target.codec, call_timeout=0.2) as client:
        started = time.monotonic()
        with pytest.raises(greenrpc.CallTimeout, match="Slow.Sleep: no reply within 0.2s"):
            client.call("Slow.Sleep", SleepArgs(800, "late"))
        assert 0.19 < time.monotonic() - started < 0.7
        late = client.go("Slow.Sleep", SleepArgs(400, "kept"))
        assert late.get(timeout=5) == "kept"  # get(timeout=) keeps a call alive that long
        assert multiply(client, 6, 7) == 42    # the first call's late reply matched nothing


def test_calls_nobody_waits_for_expire(target: Target) -> None:
    with greenrpc.dial(target.address, codec=target.codec, call_timeout=10) as client:
        # Fewer than greenrpc's 128 calls in flight per connection, so the round trips below
        # are not held back behind the slow calls.
        calls = [client.go("Slow.Sleep", SleepArgs(3000, "never"), timeout=0.3)
                 for _ in range(100)]
        assert client.pending == 100
        with pytest.raises(greenrpc.CallTimeout):
            calls[-1].get()  # the latest deadline of them all
        multiply(client, 1, 1)  # two round trips: the reader has swept since the deadline
        multiply(client, 1, 1)
        assert client.pending == 0
        assert all(call.ready() for call in calls)
        with pytest.raises(greenrpc.CallTimeout, match="no reply within 0.3s"):
            calls[0].get()


def test_the_server_dying_fails_every_pending_call_at_once(own_target: Target) -> None:
    client = greenrpc.dial(own_target.address, codec=own_target.codec, call_timeout=30)
    failures: list[BaseException] = []
    waiting = threading.Barrier(9)

    def wait_for_a_slow_call(n: int) -> None:
        call = client.go("Slow.Sleep", SleepArgs(20000, f"t{n}"))
        waiting.wait(5)
        try:
            call.get()
        except greenrpc.RPCError as err:
            failures.append(err)
    threads = [threading.Thread(target=wait_for_a_slow_call, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    waiting.wait(5)
    assert client.pending == 8
    started = time.monotonic()
    own_target.peer.kill()
    for thread in threads:
        thread.join(5)
    assert time.monotonic() - started < 2  # not the 30 s timeout
    assert len(failures) == 8 and all(isinstance(f, greenrpc.ConnectionClosed) for f in failures)
    with pytest.raises(greenrpc.ConnectionClosed):
        multiply(client, 1, 1)
    client.close()


def test_close_from_another_thread_fails_pending_calls(target: Target) -> None:
    client = greenrpc.dial(target.address, codec=target.codec, call_timeout=30)
    call = client.go("Slow.Sleep", SleepArgs(5000, "closed"))
    closer = threading.Thread(target=client.close)
    started = time.monotonic()
    closer.start()
    with pytest.raises(greenrpc.ConnectionClosed, match="client closed"):
        call.get()
    assert time.monotonic() - started < 2
    closer.join(5)
    assert client.closed and client.pending == 0
    with pytest.raises(greenrpc.ConnectionClosed, match="client closed"):
        client.go("Arith.Multiply", ArithRequest(1, 1))


def test_reconnects_after_the_server_restarts() -> None:
    peer = greenrpc_peer()
    try:
        client = greenrpc.dial(peer.address, reconnect=greenrpc.Backoff(initial=0.02),
                               call_timeout=10)
        with client:
            assert multiply(client, 2, 3) == 6
            lost = client.go("Slow.Sleep", SleepArgs(5000, "lost"))
            assert multiply(client, 2, 3) == 6  # the slow call is in flight
            peer.stop()  # killed
            with pytest.raises(greenrpc.ConnectionClosed):
                lost.get()  # lost with its connection: it is not repeated
            peer = restart_on(peer.address)
            with ThreadPoolExecutor(4) as pool:
                results = list(pool.map(lambda n: client.call(
                    "Arith.Multiply", ArithRequest(n, 2), result_type=ArithResponse,
                    idempotent=True).Pro, range(40)))
            assert results == [n * 2 for n in range(40)]
            assert client.connections == 2
    finally:
        peer.stop()


def restart_on(address: str) -> Peer:
    return Peer([sys.executable, "-c", GREENRPC_PEER, address],
                env=dict(os.environ, PYTHONPATH=str(ROOT)))


def test_tls_between_threads(certificate: tuple[Path, Path]) -> None:
    import ssl
    context = ssl.create_default_context(cafile=str(certificate[0]))
    with greenrpc_peer(tls=certificate) as peer, \
            greenrpc.dial(peer.address, tls=context, call_timeout=10) as client:
        with ThreadPoolExecutor(8) as pool:
            results = list(pool.map(lambda n: [multiply(client, n, i) for i in range(200)],
                                    range(8)))
        assert results == [[n * i for i in range(200)] for n in range(8)]
        big = "x" * (1 << 20)  # records split across reads and writes, both ways at once
        with ThreadPoolExecutor(4) as pool:
            assert list(pool.map(lambda _: client.call("Echo.Str", big), range(4))) == [big] * 4


def test_dial_http_to_gos_handle_http() -> None:
    target = start_target("go-gob")
    try:
        assert target.http_address is not None
        with greenrpc.dial_http(target.http_address, call_timeout=10) as client:
            with ThreadPoolExecutor(4) as pool:
                assert list(pool.map(lambda n: multiply(client, n, n), range(20))) == \
                    [n * n for n in range(20)]
    finally:
        target.peer.stop()


@pytest.fixture
def silent_server() -> Iterator[str]:
    """Accepts one connection and never reads from it, like a stopped (SIGSTOP) process."""
    listener = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []
    thread = threading.Thread(target=lambda: accepted.append(listener.accept()[0]), daemon=True)
    thread.start()
    yield "127.0.0.1:%d" % listener.getsockname()[1]
    thread.join(5)
    for conn in accepted:
        conn.close()
    listener.close()


def test_a_big_write_to_a_server_that_stopped_reading_ends_at_the_call_timeout(
        silent_server: str) -> None:
    client = greenrpc.dial(silent_server, call_timeout=30)
    started = time.monotonic()
    with pytest.raises(greenrpc.CallTimeout):
        client.call("Echo.Str", "x" * (16 << 20), timeout=1)
    assert time.monotonic() - started < 2  # was 30 s: the write waited for its own timeout
    with pytest.raises(greenrpc.ConnectionClosed, match="write timed out"):  # half a request
        client.call("Echo.Str", "after", timeout=1)                          # went out
    client.close()


def test_a_gevent_client_used_from_another_thread_fails_at_once() -> None:
    peer = greenrpc_peer()
    try:
        client = gevent.spawn(greenrpc.dial, peer.address).get(timeout=10)  # in a greenlet
        assert client.runtime.name == "gevent"
        outcome: list[BaseException] = []

        def use() -> None:
            try:
                client.call("Arith.Multiply", ArithRequest(1, 1))
            except BaseException as err:
                outcome.append(err)
        started = time.monotonic()
        thread = threading.Thread(target=use)
        thread.start()
        thread.join(5)
        assert time.monotonic() - started < 1
        assert len(outcome) == 1 and isinstance(outcome[0], RuntimeError)
        assert "belongs to the gevent hub of another thread" in str(outcome[0])
        gevent.spawn(client.close).join(5)
    finally:
        peer.stop()
