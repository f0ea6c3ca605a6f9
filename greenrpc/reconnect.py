"""A client that reconnects with backoff, and repeats only the calls marked safe to repeat.

How this works: a ReconnectingClient holds one Client at a time. A call takes the current one;
if it has closed (the server restarted, a load balancer dropped the connection), the first
caller to notice dials again while the others wait for it. Failed attempts are spaced by
Backoff: exponential, capped and jittered, so clients that lost the same server do not all
return at the same instant. A call that was written on a connection that then dropped fails
with ConnectionClosed, like any pending call: the server may or may not have run it, so it is
sent again only if the caller said that is harmless (``idempotent=True`` or ``retries=N``).
"""
from __future__ import annotations

import logging
import random
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Optional

from . import runtime as runtimes
from .errors import ConnectionClosed, ProtocolError, RPCError

if TYPE_CHECKING:
    from .client import Batch, Call, Client

log = logging.getLogger("greenrpc")
_UNSET: Any = object()


@dataclass(frozen=True)
class Backoff:
    """How a ReconnectingClient spaces its attempts to reconnect, and retries safe calls.

    The n-th consecutive failed attempt waits ``min(maximum, initial * multiplier**(n-1))``
    seconds, less a random part of up to ``jitter`` of it. ``retries`` is how often a call
    marked idempotent is sent again after its connection dropped.
    """

    initial: float = 0.05
    maximum: float = 5.0
    multiplier: float = 2.0
    jitter: float = 0.5
    retries: int = 2

    def __post_init__(self) -> None:
        if not (0 < self.initial <= self.maximum and self.multiplier >= 1
                and 0 <= self.jitter <= 1 and self.retries >= 0):
            raise ValueError(f"{self}: need 0 < initial <= maximum, multiplier >= 1, "
                             "0 <= jitter <= 1 and retries >= 0")

    def delay(self, failures: int, rand: Callable[[], float] = random.random) -> float:
        """Seconds to wait before the next attempt, after failures consecutive failures."""
        if failures <= 0:
            return 0.0
        ceiling = min(self.maximum, self.initial * self.multiplier ** (failures - 1))
        return ceiling * (1 - self.jitter * rand())


class Redial:
    """What reconnecting clients of every runtime decide alike: when to try, and what to repeat.

    It keeps the count of consecutive failures and when the next attempt may be made, and
    answers the two questions a client asks; the client does the dialing and the waiting.
    """

    def __init__(self, backoff: Backoff, name: str) -> None:
        self.backoff = backoff
        self.name = name               # the address, for log lines and errors
        self.failures = 0              # consecutive failed attempts to connect
        self.next_attempt = 0.0        # monotonic time before which none is made
        self.last_error: Optional[RPCError] = None
        self.connections = 0           # connections made so far
        self.repeats = 0               # calls sent again after their connection dropped

    def wait_before_attempt(self, deadline: Optional[float], timeout: Optional[float]) -> float:
        """Seconds to wait before the next attempt; ConnectionClosed if past the deadline."""
        wait = self.next_attempt - time.monotonic()
        if deadline is not None and time.monotonic() + max(wait, 0) > deadline:
            raise ConnectionClosed(f"reconnect {self.name}: gave up within {timeout}s; "
                                   f"last error: {self.last_error}")
        return wait

    def failed(self, err: RPCError) -> None:
        self.failures += 1
        self.last_error = err
        delay = self.backoff.delay(self.failures)
        self.next_attempt = time.monotonic() + delay
        log.info("connecting to %s failed (%s); next attempt in %.3fs", self.name, err, delay,
                 extra={"peer": self.name})

    def connected(self) -> None:
        if self.connections:
            log.info("reconnected to %s", self.name, extra={"peer": self.name})
        self.failures = 0
        self.connections += 1

    def attempts(self, idempotent: bool, retries: Optional[int]) -> int:
        """How often a call may be sent: once, or more if it is safe to repeat."""
        return 1 + (retries if retries is not None else self.backoff.retries if idempotent else 0)

    def may_repeat(self, method: str, err: ConnectionClosed, attempts_left: int, closed: bool,
                   deadline: Optional[float]) -> bool:
        """Whether a call lost with its connection is sent again (and count it if so)."""
        if attempts_left <= 0 or closed or (deadline is not None
                                             and time.monotonic() >= deadline):
            return False
        self.repeats += 1
        log.info("repeating %s after a dropped connection: %s", method, err,
                 extra={"peer": self.name, "method": method})
        return True


class ReconnectingClient:
    """A Client that dials again when its connection is lost (see greenrpc.dial(reconnect=)).

    It offers call, go, notify, batch and close like Client; call also takes ``idempotent``
    and ``retries``. Waiting for a connection counts against a call's timeout.
    """

    def __init__(self, connect: Callable[[], Client], backoff: Backoff = Backoff(),
                 call_timeout: Optional[float] = None, name: str = "") -> None:
        self.connect = connect
        self.backoff = backoff
        self.call_timeout = call_timeout
        self.name = name
        self.redial = Redial(backoff, name)
        self.runtime = runtimes.current()
        self._dialing = self.runtime.lock()
        self._closed = False
        self._client: Optional[Client] = self._dial()

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def connections(self) -> int:
        return self.redial.connections

    @property
    def repeats(self) -> int:
        return self.redial.repeats

    def current(self, timeout: Optional[float] = None) -> Client:
        """The connected Client, dialing again (with backoff) for up to timeout seconds if needed."""
        client = self._client
        if client is not None and not client.closed:
            # A server that drained and closed has sent its FIN already; noticing it here
            # keeps a call from being written to a connection that cannot answer it.
            if not client.peer_closed():
                return client
            client.close()
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._dialing:  # one caller dials; the others find its connection afterwards
            while True:
                if self._closed:
                    raise ConnectionClosed("client closed")
                client = self._client
                if client is not None and not client.closed:
                    return client
                wait = self.redial.wait_before_attempt(deadline, timeout)
                if wait > 0:
                    self.runtime.sleep(wait)
                try:
                    self._client = self._dial()
                except RPCError:
                    continue

    def _dial(self) -> Client:
        try:
            client = self.connect()
        except (ConnectionClosed, ProtocolError) as err:
            self.redial.failed(err)
            raise
        self.redial.connected()
        return client

    def go(self, method: str, params: Any = None, *, result_type: Any = None,
           params_type: Any = None, timeout: Any = _UNSET) -> Call:
        """Send a call on the current connection (reconnecting first if it is down)."""
        if timeout is _UNSET:
            timeout = self.call_timeout
        deadline = None if timeout is None else time.monotonic() + timeout
        client = self.current(timeout)
        left = None if deadline is None else max(0.0, deadline - time.monotonic())
        return client.go(method, params, result_type=result_type, params_type=params_type,
                         timeout=left)

    def call(self, method: str, params: Any = None, *, timeout: Any = _UNSET,
             result_type: Any = None, params_type: Any = None, idempotent: bool = False,
             retries: Optional[int] = None) -> Any:
        """Call method and wait for its result.

        If the connection drops before the reply, the call fails with ConnectionClosed, unless
        it is safe to repeat: with idempotent=True it is sent again on a new connection up to
        backoff.retries times (retries=N sets the count and implies idempotent). Server errors
        and timeouts are never repeated.
        """
        if timeout is _UNSET:
            timeout = self.call_timeout
        attempts = self.redial.attempts(idempotent, retries)
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            attempts -= 1
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            try:
                return self.go(method, params, result_type=result_type,
                               params_type=params_type, timeout=left).get()
            except ConnectionClosed as err:
                if not self.redial.may_repeat(method, err, attempts, self._closed, deadline):
                    raise

    def notify(self, method: str, params: Any = None) -> None:
        """Send a JSON-RPC 2.0 notification on the current connection (never repeated)."""
        self.current(self.call_timeout).notify(method, params)

    def batch(self) -> Batch:
        """A JSON-RPC 2.0 batch on the current connection (never repeated)."""
        return self.current(self.call_timeout).batch()

    def close(self) -> None:
        """Close the connection and stop reconnecting; pending calls fail with ConnectionClosed."""
        self._closed = True
        if self._client is not None:
            self._client.close()

    def __enter__(self) -> ReconnectingClient:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
