"""Faults over real sockets: peers that reset, half-close or send more than we read; methods
that raise, hang or return what JSON cannot carry; and nothing leaks afterwards."""
from __future__ import annotations

import gc
import json
import os
import socket
import time
from typing import Any, Iterator

import gevent
import greenlet
import pytest

import greenrpc
from tests import services
from tests.support import connect, read_lines, read_until_closed

LINGER_RESET = b"\x01\x00\x00\x00\x00\x00\x00\x00"  # SO_LINGER on, 0 s: close sends a reset


def reset(sock: socket.socket) -> None:
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, LINGER_RESET)
    sock.close()


def healthy(address: str) -> None:
    with greenrpc.dial(address, timeout=5, call_timeout=5) as client:
        assert client.call("Arith.Multiply", {"A": 6, "B": 7})["Pro"] == 42


def read_slowly(sock: socket.socket, timeout: float = 10.0) -> bytes:
    """Read until the peer closes, 64 KiB every 2 ms; raise on a reset."""
    sock.settimeout(timeout)
    chunks = []
    while data := sock.recv(65536):
        chunks.append(data)
        gevent.sleep(0.002)
    return b"".join(chunks)


def test_replies_before_bad_input_arrive_whole_though_more_input_went_unread(address: str
                                                                            ) -> None:
    # The reply (8.5 MB) is read slowly, so much of it still waits in the server's socket
    # buffer when the server closes over the bad request; the junk after it was never read.
    # A plain close() would then reset the connection and drop the rest of the reply.
    with connect(address) as sock:
        sock.sendall(b'{"method":"Echo.Slice","params":[1200000],"id":1}\n{"method": bad}'
                     + b"j" * 200_000)
        gevent.sleep(0.3)
        got = read_slowly(sock)
    assert json.loads(got)["result"] == list(range(1200000))
    healthy(address)


class Hang:
    def __init__(self) -> None:
        self.cleaned_up = 0

    @greenrpc.timeout(0.2)
    def Forever(self, _: Any) -> str:
        try:
            time.sleep(60)
        finally:
            self.cleaned_up += 1
        return "never"

    def Sleep(self, seconds: float) -> str:
        time.sleep(seconds)
        return "slept"

    @greenrpc.timeout(None)
    def Unbounded(self, seconds: float) -> str:
        time.sleep(seconds)
        return "slept"

    def Fail(self, _: Any) -> None:
        raise RuntimeError("boom")

    def Unencodable(self, _: Any) -> Any:
        return {"x": float("nan")}


@pytest.fixture
def hang() -> Iterator[tuple[greenrpc.Server, Hang]]:
    server = services.make_server(method_timeout=0.4)
    service = Hang()
    server.register(service)
    server.start()
    yield server, service
    server.stop(timeout=5)


def test_a_hung_method_is_abandoned_with_a_clear_error(hang: Any) -> None:
    server, service = hang
    with greenrpc.dial(server.address, call_timeout=5) as client:
        started = time.monotonic()
        first = client.go("Hang.Forever")   # runs inline on the reading greenlet, then blocks
        second = client.go("Hang.Forever")  # runs in a greenlet of its own
        quick = [client.go("Echo.Int", i) for i in range(50)]
        assert [call.get() for call in quick] == list(range(50))
        for call in (first, second):
            with pytest.raises(greenrpc.ServerError,
                               match=r"^Hang.Forever: no result within 0.2s, call abandoned$"):
                call.get()
        assert time.monotonic() - started < 1.5
        assert service.cleaned_up == 2  # the calls were ended, their finally blocks ran
        with pytest.raises(greenrpc.ServerError, match="no result within 0.4s"):
            client.call("Hang.Sleep", 2)  # the server's method_timeout
        assert client.call("Hang.Unbounded", 0.6) == "slept"  # @timeout(None) opts out
    assert server.gate.count == 0


def test_failing_and_unencodable_methods_answer_with_errors_and_the_connection_goes_on(
        hang: Any) -> None:
    server, _ = hang
    with greenrpc.dial(server.address, call_timeout=5) as client:
        with pytest.raises(greenrpc.ServerError, match="^boom$"):
            client.call("Hang.Fail")
        with pytest.raises(greenrpc.ServerError, match="^json: unsupported value: NaN$"):
            client.call("Hang.Unencodable")
        assert client.call("Echo.Int", 5) == 5


def test_a_peer_reset_mid_reply_leaves_the_server_healthy(address: str,
                                                          server: greenrpc.Server) -> None:
    for _ in range(5):
        sock = connect(address)
        sock.sendall(b'{"method":"Echo.Slice","params":[1200000],"id":1}\n')  # 8.5 MB reply
        assert len(sock.recv(65536)) > 0  # the reply is on its way
        reset(sock)
    for _ in range(50):
        sock = connect(address)
        sock.sendall(b'{"method":"Slow.Sleep","params":[{"Ms":20,"Tag":"x"}],"id":1}\n'
                     b'{"method":"Echo.Str","params":["unfinish')
        reset(sock)  # mid-request, with a call in flight
    healthy(address)
    assert wait_until(lambda: not server.connections)


def wait_until(condition: Any, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        gevent.sleep(0.01)
    return True


def test_half_close_still_gets_every_reply_in_flight(address: str) -> None:
    with connect(address) as sock:
        sock.sendall(b"".join(
            b'{"method":"Slow.Sleep","params":[{"Ms":%d,"Tag":"t%d"}],"id":%d}' % (50 * i, i, i)
            for i in range(1, 6)) + b'{"method":"Echo.Int","params":[6],"id":6}')
        sock.shutdown(socket.SHUT_WR)  # as Go's client may: we send no more, but still read
        got = read_until_closed(sock)
    replies = {json.loads(line)["id"]: json.loads(line)["result"] for line in got.splitlines()}
    assert replies == {1: "t1", 2: "t2", 3: "t3", 4: "t4", 5: "t5", 6: 6}


def live_greenlets(server: greenrpc.Server | None = None) -> int:
    """Greenlets alive, less those server keeps parked for its next connections."""
    parked = len(server._connections.parked) if server is not None else 0
    return sum(1 for obj in gc.get_objects()
               if isinstance(obj, greenlet.greenlet) and not obj.dead) - parked


def open_descriptors() -> int:
    return len(os.listdir("/proc/self/fd"))


BEHAVIOURS = [
    b'{"method":"Echo.Int","params":[1],"id":1}\n',                      # call, read, close
    b'{"method":"Slow.Sleep","params":[{"Ms":5,"Tag":"x"}],"id":1}\n',   # leave mid-call
    b'{"method":"Echo.Str","params":["half',                            # leave mid-request
    b'{"method": bad}\n',                                                # garbage
    b'{"method":"Echo.Int","params":[1],"id":1}{"method":"Echo.Int","params":[2],"id":2}',
]


def test_nothing_leaks_after_ten_thousand_connections_come_and_go() -> None:
    server = services.make_server()
    server.start()
    address = server.address

    def client(worker: int, count: int = 200) -> None:
        for n in range(count):
            case = (worker + n) % (len(BEHAVIOURS) + 2)  # the last: connect, say nothing
            sock = connect(address)
            try:
                if case < len(BEHAVIOURS):
                    sock.sendall(BEHAVIOURS[case])
                if case == 0:
                    sock.recv(100)
                elif case == len(BEHAVIOURS):  # half-close, then read the reply
                    sock.sendall(BEHAVIOURS[0])
                    sock.shutdown(socket.SHUT_WR)
                    read_until_closed(sock)
            finally:
                if case % 2:
                    reset(sock)
                else:
                    sock.close()

    def settled() -> bool:
        return not server.connections and not server._transports

    try:
        # Warm up, including the resolver's thread pool that connecting uses in this process.
        gevent.joinall([gevent.spawn(client, w, 7) for w in range(50)], raise_error=True)
        assert wait_until(settled, 10)
        gevent.sleep(0.1)
        gc.collect()
        greenlets, descriptors = live_greenlets(server), open_descriptors()
        workers = [gevent.spawn(client, w) for w in range(50)]  # 50 x 200 = 10,000
        gevent.joinall(workers, timeout=60, raise_error=True)
        assert all(w.successful() for w in workers)
        assert wait_until(settled, 10)
        gevent.sleep(0.1)  # greenlets that ended are switched out of for the last time
        gc.collect()
        assert (live_greenlets(server), open_descriptors()) == (greenlets, descriptors)
        assert server.call_counts()[0] > 5000 and server.gate.count == 0
        healthy(address)
    finally:
        server.stop(timeout=5)


def test_replies_owed_and_sent_balance_with_notifications(server: greenrpc.Server) -> None:
    with connect(server.address) as sock:
        sock.sendall(b'{"jsonrpc":"2.0","method":"Echo.Int","params":[1]}\n'     # notification
                     b'{"jsonrpc":"2.0","method":"Slow.Sleep","params":[{"Ms":20,"Tag":"t"}]}\n'
                     b'{"jsonrpc":"2.0","method":"Echo.Int","params":[2],"id":2}\n'
                     b'[{"jsonrpc":"2.0","method":"Echo.Int","params":[3]}]\n'  # all notifications
                     b'{"method":"Echo.Int","params":[4],"id":4}\n')
        replies = read_lines(sock, 2)
    assert sorted(json.loads(line)["id"] for line in replies) == [2, 4]
    assert wait_until(lambda: not server.connections)
    read, sent = server.call_counts()
    assert read == sent == 2


@pytest.mark.parametrize("ms", [30, 0], ids=["leader-parked", "leader-not-yet-reading"])
def test_after_a_call_that_blocked_an_idle_connection_keeps_one_greenlet(ms: int) -> None:
    # A blocking call gets the connection a second reading greenlet; once the call is answered
    # the first one reads again and the second ends, so idle memory does not double. 30 ms: the
    # second waits in recv by then and is ended there; 0 ms (one yield): the call is answered
    # before the second greenlet has run, and it gives the reading back itself.
    server = services.make_server()
    server.start()
    try:
        with connect(server.address) as warm:  # the resolver's thread pool starts here
            warm.sendall(b'{"method":"Echo.Int","params":[1],"id":1}\n')
            read_lines(warm, 1)
        assert wait_until(lambda: not server.connections, 5)
        gevent.sleep(0.05)
        gc.collect()
        before = live_greenlets(server)
        socks = [connect(server.address) for _ in range(20)]
        request = b'{"method":"Slow.Sleep","params":[{"Ms":%d,"Tag":"a"}],"id":1}\n' % ms
        for sock in socks:
            sock.sendall(request)
        for sock in socks:
            assert b'"result":"a"' in read_lines(sock, 1)[0]
        gevent.sleep(0.1)
        gc.collect()
        assert live_greenlets(server) - before == len(socks)  # one per idle connection
        for sock in socks:  # and each still answers, from the greenlet that took it back
            sock.sendall(b'{"method":"Slow.Sleep","params":[{"Ms":1,"Tag":"c"}],"id":3}\n')
            assert b'"result":"c"' in read_lines(sock, 1)[0]
        for sock in socks:
            sock.close()
        assert wait_until(lambda: not server.connections, 5)
        gevent.sleep(0.1)
        gc.collect()
        assert live_greenlets(server) == before
    finally:
        server.stop(timeout=5)
