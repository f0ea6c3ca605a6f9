"""The hand-over on its own (handover.py): real greenlets and hub turns, no sockets; then the
races it must survive on a real connection."""
from __future__ import annotations

import logging
import socket
import time
from typing import Any, Callable, Optional

import gevent
import gevent.event
import pytest
from gevent import getcurrent

import greenrpc
from greenrpc.gate import Gate
from greenrpc.handover import IDLE, PARKED, HandOver, Watcher
from tests.support import connect, read_lines

LINGER_RESET = b"\x01\x00\x00\x00\x00\x00\x00\x00"  # SO_LINGER on, 0 s: close sends a reset


class Source:
    """Bytes to read: recv waits until the test gives some."""

    def __init__(self) -> None:
        self.bytes = gevent.event.AsyncResult()

    def recv(self, timeout: Optional[float], wait_first: bool) -> bytes:
        data: bytes = self.bytes.get(timeout=timeout)
        return data


class Reader:
    """A connection's reading side as the tests drive it: a log of what each greenlet did."""

    def __init__(self, watcher: Watcher) -> None:
        self.first = getcurrent()
        self.handover = HandOver(watcher, self.lead, self.first)
        self.started: list[Any] = []     # new readers the watcher spawned
        self.source = Source()
        self.read_results: list[Optional[bytes]] = []

    def lead(self) -> None:
        self.started.append(getcurrent())
        self.read_results.append(self.handover.read(getcurrent(), self.source, None))

    def call(self, body: Callable[[], Any]) -> bool:
        """Run body as an inline call; the after_call answer."""
        me = getcurrent()
        assert self.handover.before_call()
        body()
        return self.handover.after_call(me)


def test_a_call_that_returns_at_once_stays_inline() -> None:
    reader = Reader(Watcher())
    assert reader.call(lambda: None) is True
    gevent.sleep(0)  # the watcher's check runs: nothing blocked
    assert reader.started == [] and reader.handover.inflight == 0
    assert reader.handover.state == IDLE


def test_a_call_that_blocks_hands_the_reading_to_a_new_greenlet() -> None:
    gate = Gate(None)
    reader = Reader(Watcher(gate))
    assert reader.call(lambda: gevent.sleep(0.01)) is False  # it blocked: the reading moved on
    assert len(reader.started) == 1 and reader.handover.reader is reader.started[0]
    assert reader.handover.inflight == 1 and gate.count == 1
    reader.handover.call_done()  # its reply is written
    assert reader.handover.inflight == 0 and gate.count == 0


def test_the_first_greenlet_takes_back_a_parked_reading_and_ends_the_reader() -> None:
    reader = Reader(Watcher())
    me = getcurrent()
    assert reader.call(lambda: gevent.sleep(0.01)) is False
    second = reader.started[0]
    assert reader.handover.state == PARKED  # it waits for bytes, having read nothing
    reader.handover.call_done()
    assert reader.handover.take_back(me) is True
    assert reader.handover.reader is me and reader.read_results == [None]
    gevent.sleep(0)
    assert second.dead and second.successful()


def test_a_reader_not_yet_reading_gives_the_reading_back_itself() -> None:
    # The call yields once: the watcher hands over, and the call is answered before the new
    # reader has even run. The first greenlet waits; the reader lets go before its first read.
    reader = Reader(Watcher())
    me = getcurrent()
    assert reader.call(lambda: gevent.sleep(0)) is False
    handover = reader.handover
    assert reader.started == [] and handover.state == IDLE  # spawned, not started
    handover.call_done()
    assert handover.take_back(me) is True
    assert handover.reader is me and reader.read_results == [None]
    assert not handover.wants_back


def test_a_connection_that_stopped_reading_is_never_read_again() -> None:
    # A late reply that cannot be written means the socket is closed: the first greenlet must
    # wait for the close, not take the reading back (a read on the closed socket failed).
    reader = Reader(Watcher())
    me = getcurrent()
    assert reader.call(lambda: gevent.sleep(0.01)) is False
    handover = reader.handover
    assert handover.state == PARKED
    handover.stop_reading()
    handover.call_done()
    taking = gevent.spawn(handover.take_back, me)
    gevent.sleep(0.01)
    assert not taking.ready() and reader.read_results == []  # the parked reader was left alone
    handover.close()
    assert taking.get(timeout=1) is False


def test_at_the_gate_s_cap_no_call_starts_until_one_ends() -> None:
    gate = Gate(1)
    watcher = Watcher(gate)
    blocked = Reader(watcher)
    assert blocked.call(lambda: gevent.sleep(0.01)) is False  # now one call in flight
    other = Reader(watcher)
    assert other.handover.before_call() is False  # full
    waiting = gevent.spawn(other.handover.wait_at_gate)
    gevent.sleep(0.01)
    assert not waiting.ready()
    blocked.handover.call_done()
    waiting.get(timeout=1)
    assert other.handover.before_call() is True


def test_a_blocking_call_whose_client_resets_leaves_no_error(caplog: pytest.LogCaptureFixture
                                                            ) -> None:
    # The call blocks (a new reader parks in recv), then the client resets, then the call
    # returns: its reply cannot be written and the socket closes. The first greenlet then used
    # to take the reading back and read the closed socket: "AttributeError: 'NoneType' object
    # has no attribute 'start'" in Transport._wait, logged as an internal error.
    clients: list[socket.socket] = []

    class Resetting:
        def Call(self, n: int) -> int:
            time.sleep(0.01)  # blocks: the reading is handed to a new greenlet
            sock = clients.pop()
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, LINGER_RESET)
            sock.close()  # the reset is in the server's socket before this call returns
            return n

    server = greenrpc.Server()
    server.register(Resetting())
    server.start()
    try:
        with caplog.at_level(logging.INFO, logger="greenrpc"):
            for _ in range(20):
                sock = connect(server.address)
                clients.append(sock)
                sock.sendall(b'{"method":"Resetting.Call","params":[1],"id":1}\n')
                deadline = time.monotonic() + 5
                while (clients or server.connections) and time.monotonic() < deadline:
                    gevent.sleep(0.005)
                assert not clients and not server.connections
            with connect(server.address) as sock:  # and the server still serves
                sock.sendall(b'{"method":"Resetting.Call","params":[2],"id":2}\n')
                clients.append(socket.socket())  # a spare for the method to close
                assert b'"result":2' in read_lines(sock, 1)[0]
        assert not [r for r in caplog.records if r.levelno >= logging.WARNING], caplog.text
        assert server.gate.count == 0
    finally:
        server.stop(timeout=5)
