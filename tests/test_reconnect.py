"""dial(reconnect=...): backoff between attempts, and repeats only for calls marked safe."""
from __future__ import annotations

import itertools
import time
from typing import Iterator

import gevent
import pytest
from gevent.event import Event

import greenrpc
from greenrpc import Backoff


class Counter:
    """Counts how often each call ran, so a test can tell a repeat from a single run."""

    def __init__(self, hold: Event) -> None:
        self.hold = hold
        self.runs = 0

    def Hang(self, tag: str) -> str:
        self.runs += 1
        self.hold.wait(10)  # until the test lets go (or the server closes the connection)
        return tag

    def Pid(self) -> int:
        return 7


class Restartable:
    """Servers started one after the other on the same port, all counting into one Counter."""

    def __init__(self) -> None:
        self.hold = Event()
        self.counter = Counter(self.hold)
        self.server = self._new()
        self.address = self.server.start("127.0.0.1:0")

    def _new(self) -> greenrpc.Server:
        server = greenrpc.Server()
        server.register(self.counter)
        return server

    def kill(self) -> None:
        """Stop at once: calls in flight lose their connection without a reply."""
        self.server.stop(timeout=0)

    def restart(self) -> None:
        self.server = self._new()
        self.server.start(self.address)


@pytest.fixture
def target() -> Iterator[Restartable]:
    target = Restartable()
    yield target
    target.hold.set()
    target.server.stop(timeout=2)


def test_backoff_is_exponential_capped_and_jittered() -> None:
    backoff = Backoff(initial=0.1, maximum=1.0, multiplier=2.0, jitter=0.5)
    assert [backoff.delay(n, rand=lambda: 0.0) for n in range(7)] == \
        [0.0, 0.1, 0.2, 0.4, 0.8, 1.0, 1.0]
    assert backoff.delay(3, rand=lambda: 1.0) == pytest.approx(0.2)  # up to half taken off
    delays = {backoff.delay(5) for _ in range(50)}
    assert len(delays) > 40 and all(0.5 <= d <= 1.0 for d in delays)
    with pytest.raises(ValueError):
        Backoff(initial=2, maximum=1)


def test_reconnects_after_the_server_restarts(target: Restartable) -> None:
    with greenrpc.dial(target.address, reconnect=True, call_timeout=5) as client:
        assert client.call("Counter.Pid") == 7
        target.kill()
        target.restart()
        assert client.call("Counter.Pid") == 7
        assert client.connections == 2


def test_waits_with_backoff_while_the_server_is_down(target: Restartable) -> None:
    attempts = itertools.count()
    client = greenrpc.dial(target.address, reconnect=Backoff(initial=0.05, maximum=0.2),
                           call_timeout=5)
    dial = client.connect

    def counted() -> greenrpc.Client:
        next(attempts)
        return dial()
    client.connect = counted
    with client:
        target.kill()
        gevent.spawn_later(0.8, target.restart)
        started = time.monotonic()
        assert client.call("Counter.Pid") == 7
        assert 0.7 < time.monotonic() - started < 3
        # About 0.8 s of refusals at 0.025-0.2 s apart: a handful of attempts, not a spin.
        assert 4 <= next(attempts) <= 30


def test_gives_up_within_the_call_timeout(target: Restartable) -> None:
    with greenrpc.dial(target.address, reconnect=Backoff(initial=0.05, maximum=0.1)) as client:
        target.kill()
        started = time.monotonic()
        with pytest.raises(greenrpc.ConnectionClosed, match="gave up"):
            client.call("Counter.Pid", timeout=0.5)
        assert time.monotonic() - started < 1.5


def test_a_call_lost_with_its_connection_is_not_repeated(target: Restartable) -> None:
    with greenrpc.dial(target.address, reconnect=True, call_timeout=5) as client:
        call = client.go("Counter.Hang", "once")
        gevent.sleep(0.1)
        assert target.counter.runs == 1
        target.kill()
        with pytest.raises(greenrpc.ConnectionClosed):
            call.get()
        target.restart()
        with pytest.raises(greenrpc.ConnectionClosed):
            restart_then_call(target, client, idempotent=False)
        assert target.counter.runs == 2  # the second call ran once and was not sent again


def restart_then_call(target: Restartable, client: greenrpc.ReconnectingClient,
                      idempotent: bool) -> str:
    """Call Hang; the server is killed while it runs, then comes back."""
    def kill_and_restart() -> None:
        gevent.sleep(0.2)
        target.kill()
        target.hold.set()  # from now on Hang answers at once
        target.restart()
    killer = gevent.spawn(kill_and_restart)
    try:
        result: str = client.call("Counter.Hang", "again", idempotent=idempotent)
        return result
    finally:
        killer.join(5)


def test_an_idempotent_call_is_repeated_on_a_new_connection(target: Restartable) -> None:
    with greenrpc.dial(target.address, reconnect=True, call_timeout=5) as client:
        assert restart_then_call(target, client, idempotent=True) == "again"
        assert target.counter.runs == 2 and client.connections == 2


def test_retries_bound_the_repeats_and_server_errors_are_never_repeated(
        target: Restartable) -> None:
    with greenrpc.dial(target.address, reconnect=True, call_timeout=5) as client:
        with pytest.raises(greenrpc.ServerError, match="can't find method"):
            client.call("Counter.Nothing", idempotent=True)
        call_count = target.counter.runs

        def kill_every_time() -> None:
            for _ in range(3):
                while target.counter.runs == call_count:
                    gevent.sleep(0.01)
                target.kill()
                target.restart()
                gevent.sleep(0.05)
        killer = gevent.spawn(kill_every_time)
        with pytest.raises(greenrpc.ConnectionClosed):
            client.call("Counter.Hang", "x", retries=1)
        killer.kill()
        assert 1 <= target.counter.runs - call_count <= 2


def test_close_stops_reconnecting(target: Restartable) -> None:
    client = greenrpc.dial(target.address, reconnect=True)
    client.close()
    assert client.closed
    with pytest.raises(greenrpc.ConnectionClosed, match="client closed"):
        client.call("Counter.Pid", idempotent=True)


def test_first_connect_still_fails_fast() -> None:
    with pytest.raises(greenrpc.ConnectionClosed, match="dial"):
        greenrpc.dial("127.0.0.1:1", reconnect=True)
