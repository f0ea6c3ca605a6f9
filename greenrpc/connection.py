"""One server connection: read requests, run them concurrently as Go does, write the replies.

How this works: the greenlet reading the socket (the leader) runs each call inline, which costs
nothing when the call returns without blocking. A call that blocks (sleeps, does I/O, waits on a
lock) switches to the hub; the hub's next round of callbacks finds a leader stuck inside a call
and hands the reading to a fresh greenlet, while the stuck one finishes its call, sends its reply
and ends. So a slow call never holds up the calls behind it, as with Go's goroutine per call,
and a fast call does not pay for a greenlet. Every request completed by one read is handled
before the next read, and the replies ready by then go out in one send.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any, Callable, Optional, Sequence, Union

import gevent
from gevent import getcurrent
from gevent.event import Event
from gevent.pool import Pool

from . import errors
from .errors import ConnectionClosed, ProtocolError, ServerError
from .gate import Gate
from .messages import Batch, Request, Response
from .registry import report_failure, reporting_failures
from .transport import Transport

log = logging.getLogger("greenrpc")

FLUSH_SIZE = 256 << 10  # bytes of replies held before the leader writes them mid-batch


@dataclass(frozen=True)
class Limits:
    """Per-connection bounds; None disables a timeout."""

    max_message_size: int = 4 << 20       # bytes in one request (an HTTP body too)
    max_depth: int = 512                  # nesting of JSON arrays and objects in one request
    max_batch_size: int = 1000            # requests in one JSON-RPC 2.0 batch
    max_batch_reply_size: int = 4 << 20   # bytes of one batch's replies; past it, errors instead
    max_gob_type_memory: int = 1 << 20    # what a gob peer's type definitions may hold; past it, close
    max_inflight: int = 128               # calls running at once; reading pauses at the cap
    max_inflight_total: Optional[int] = 10000  # the same over all connections (gate.py)
    message_timeout: Optional[float] = 30.0  # a started request must complete within this
    idle_timeout: Optional[float] = None  # Go clients break on idle closes (PROTOCOL.md 1.2)
    write_timeout: Optional[float] = 30.0  # a reply that cannot be sent for this long: close
    method_timeout: Optional[float] = None  # a call running longer is abandoned (deadline.py)
    # TCP keepalive finds peers that vanished without a word (power loss, a dropped NAT entry):
    # probes start after keepalive_idle quiet seconds, then every keepalive_interval; after
    # keepalive_count unanswered probes the kernel drops the connection. None: no probes.
    keepalive_idle: Optional[float] = 30.0
    keepalive_interval: float = 10.0
    keepalive_count: int = 5


def run_batch(batch: Batch, dispatch: Callable[[Request], Response],
              concurrency: int) -> list[Response]:
    """Run a batch's requests concurrently, at most concurrency at once, and return every response.

    The batch occupies one call slot of its connection: if an element blocks, the takeover
    hands the reading on as for any blocking call, and the batch answers when all are done.
    """
    requests = [item for item in batch.items if isinstance(item, Request)]
    if len(requests) <= 1:
        return [dispatch(item) if isinstance(item, Request) else item for item in batch.items]
    pool = Pool(concurrency)
    running = {id(request): pool.spawn(dispatch, request) for request in requests}
    pool.join()
    responses = []
    for item in batch.items:
        if isinstance(item, Response):
            responses.append(item)
            continue
        response = running[id(item)].value
        if response is None:  # dispatch answers every failure itself: a bug, logged by gevent
            response = Response(item, error=ServerError("internal error", errors.INTERNAL_ERROR))
        responses.append(response)
    return responses


class TakeBack(BaseException):
    """Thrown into a leader parked in recv: the connection's first greenlet reads again."""


class Takeover:
    """Finds leaders that yielded inside a call and starts a new leader for their connection."""

    def __init__(self, spawn: Callable[..., Any] = gevent.spawn, gate: Optional[Gate] = None
                 ) -> None:
        self.spawn = spawn
        self.gate = gate if gate is not None else Gate(None)
        self._watched: list[Connection] = []
        self._loop = gevent.get_hub().loop

    def watch(self, conn: Connection) -> None:
        """A leader is about to run a call (told once per hub turn); at the gate's cap it waits.

        Checking here rather than before every call is enough: a leader only adds to the count
        when a call blocks, and then the hub has looked at it and it comes here again.
        """
        gate = self.gate
        while gate.full:
            conn.wait_at_gate()
        conn.watched = True
        watched = self._watched
        if not watched:
            self._loop.run_callback(self._check)
        watched.append(conn)
        gate.starting = len(watched)  # each leader inside a call may block and take a slot
        if gate.starting + gate.count >= gate.limit:
            gate.full = True

    def _check(self) -> None:
        # Callbacks run in the hub, so every leader is suspended here: one still inside a call
        # is blocked in it.
        watched, self._watched = self._watched, []
        for conn in watched:
            conn.watched = False
            if conn.calling:
                conn.hand_over(self.spawn)
        self.gate.settle()


class Connection:
    """The requests and replies of one accepted socket; each failed call is logged with peer."""

    __slots__ = ("transport", "codec", "dispatch", "takeover", "limits", "peer", "gate",
                 "pending", "next_pending", "batch", "leader", "calling", "watched", "resumed",
                 "inflight", "draining", "eof", "requests", "one_by_one", "_sent_before",
                 "deadline", "_wakeup", "_finished", "first", "parked", "wants_back", "_turn")
    # (one per connection: no __dict__ each)

    def __init__(self, transport: Transport, codec: Any, dispatch: Callable[[Request], Response],
                 takeover: Takeover, limits: Limits, peer: str = "") -> None:
        self.transport = transport
        self.codec = codec
        self.dispatch = dispatch
        self.takeover = takeover
        self.limits = limits
        self.peer = peer
        self.gate = takeover.gate
        # Decoded requests: those from pending[next_pending] on have not started. An idle
        # connection holds the empty tuple, not a deque (760 bytes) or the last read's list.
        self.pending: Sequence[Any] = ()
        self.next_pending = 0
        self.batch: list[bytes] = []        # encoded replies not yet written
        self.leader: Any = None
        self.calling = False   # the leader is inside a call
        self.watched = False   # takeover will look at us in its next check
        self.resumed = False   # the leader waited at the gate, so it passes the turn on
        self.inflight = 0      # calls handed over to their own greenlet, not yet answered
        self.draining = False
        self.eof = False       # the peer has ended its side: nothing unread can follow
        self.requests = 0      # messages read that are owed a reply (not notifications)
        # The last read held exactly one whole request: the peer sends one at a time and waits
        # for each reply, so once we have answered, nothing is waiting to be read.
        self.one_by_one = False
        self._sent_before = transport.messages_out  # an HTTP handshake's answer is no reply
        # When the request that has started arriving must be complete (None: none has started).
        # A trickle of bytes does not move it: only completing a message does (slowloris).
        self.deadline: Optional[float] = None
        self._wakeup: Optional[Event] = None    # set whenever an in-flight call ends
        self._finished: Optional[Event] = None  # set when the last leader has closed the socket
        # After a hand-over the first greenlet (the server's, which must outlive the connection)
        # takes the reading back once its call is answered, so that an idle connection keeps one
        # greenlet, not two (about 9 KiB each): see _take_back.
        self.first: Any = None
        self.parked = False      # the leader waits in recv and has read nothing
        self.wants_back = False  # the first greenlet waits for the leader to give the reading back
        self._turn: Optional[Event] = None  # set when it may: the reading is back, or all is over

    @property
    def replies(self) -> int:
        """Replies handed to the kernel so far."""
        return int(self.transport.messages_out - self._sent_before)

    def serve(self, initial: bytes = b"") -> None:
        """Run the connection until the peer is gone and every reply is written; then close."""
        me = self.first = self.leader = getcurrent()
        if initial:
            self._feed(initial)
        self._lead()
        while self.leader is not me and self._take_back(me):
            self._lead()
        if self._finished is not None:
            self._finished.wait()

    def _take_back(self, me: Any) -> bool:
        """Our call blocked and was answered late: become the leader again; False if all is over.

        A leader parked in recv has read nothing, so it is ended right there; a busy one gives
        the reading back itself before it next waits (in _lead).
        """
        assert self._turn is not None and self._finished is not None  # made by hand_over
        if self.parked:
            self.parked = False
            leader, self.leader = self.leader, me
            gevent.get_hub().loop.run_callback(me.switch)  # resumes us once it has ended
            leader.throw(TakeBack)
            return True
        self.wants_back = True
        self._turn.wait()
        self._turn.clear()
        return self.leader is me and not self._finished.is_set()

    def stop(self) -> None:
        """Stop reading (the leader sees end of stream) and let in-flight calls answer."""
        self.draining = True
        self.transport.shutdown_read()

    def hand_over(self, spawn: Callable[..., Any]) -> None:
        """Called by Takeover from the hub: the leader is stuck in a call; start a new one."""
        self.calling = False
        self.inflight += 1
        self.gate.enter()
        if self._wakeup is None:
            self._wakeup = Event()
            self._finished = Event()
            self._turn = Event()
        self.leader = spawn(self._lead)

    def _lead(self) -> None:
        me = getcurrent()
        transport = self.transport
        limits = self.limits
        try:
            while True:
                if self.pending and not self._run_pending(me):
                    return  # handed over inside a call; the new leader goes on
                if self.batch:
                    self._flush_batch()
                if self.draining:
                    break
                if self.wants_back and me is not self.first:
                    self.wants_back = False
                    self.leader = self.first
                    assert self._turn is not None
                    self._turn.set()
                    return  # the first greenlet reads from here on
                if self.deadline is None:
                    timeout = limits.idle_timeout
                else:
                    timeout = self.deadline - time.monotonic()
                    if timeout <= 0:
                        raise TimeoutError("request not complete in time")
                self.parked = True
                try:
                    data = transport.recv(timeout, self.one_by_one)
                except TimeoutError:
                    if self.deadline is None and self.inflight:
                        continue  # quiet, but calls are still running: not idle
                    raise
                finally:
                    self.parked = False
                self._feed(data)
                if not data:
                    self.eof = self.draining = True
        except TimeoutError:
            log.info("closing %s: no progress within the timeout", self.peer)
        except ConnectionClosed:
            pass
        except TakeBack:
            return  # parked in recv, nothing read: the first greenlet reads from here on
        except Exception:  # a bug here must not leave the connection half-alive
            log.exception("closing %s after an internal error", self.peer)
        self._finish()

    def _feed(self, data: bytes) -> None:
        try:
            messages = self.codec.feed(data)
        except ProtocolError as err:
            if data:
                log.info("closing %s after a bad message: %s", self.peer, err)
            self.draining = True
            messages = err.completed  # whole requests before the break still count
        if messages:
            if self.pending:  # reading stopped before all were run (a drain): keep their order
                messages = [*self.pending[self.next_pending:], *messages]
            self.pending, self.next_pending = messages, 0
        count = len(messages)
        self.requests += count
        buffered = self.codec.buffered
        self.one_by_one = count == 1 and not buffered
        message_timeout = self.limits.message_timeout
        if message_timeout is not None:
            if not buffered:
                self.deadline = None
            elif messages or self.deadline is None:  # the buffered request began in this read
                self.deadline = time.monotonic() + message_timeout

    def _run_pending(self, me: Any) -> bool:
        """Answer the decoded requests; False if this greenlet stopped being the leader."""
        pending = self.pending
        batch = self.batch
        encode = self.codec.encode
        dispatch = self.dispatch
        max_inflight = self.limits.max_inflight
        size, flush_size = 0, FLUSH_SIZE
        while (index := self.next_pending) < len(pending):
            if self.inflight >= max_inflight:
                self._wait_for_slot()
            message = pending[index]
            self.next_pending = index + 1  # before the call: a new leader goes on after it
            if type(message) is Response:  # the codec answered it already
                data = encode(message)
            else:
                if not self.watched:
                    self.takeover.watch(self)  # may wait for room in the server-wide gate
                self.calling = True
                response: Union[Response, list[Response]]
                try:
                    if type(message) is Batch:
                        response = run_batch(message, reporting_failures(dispatch, self.peer),
                                             max_inflight)
                    else:
                        response = dispatch(message)
                        if response.error is not None:
                            report_failure(message, response.error, self.peer)
                except BaseException:  # killed inside the call (stop's grace ran out)
                    if self.leader is not me:
                        self._call_ended()
                    raise
                if self.leader is not me:
                    self._answer_late(response)
                    return False
                self.calling = False
                data = encode(response)
            if not data:  # b"" answers a notification: nothing is sent, nothing was owed
                self.requests -= 1
                continue
            batch.append(data)
            size += len(data)
            if size > flush_size:
                # Small requests may ask for big replies: send them as they are made, so a peer
                # that does not read stalls this loop (until write_timeout), not our memory.
                self._flush_batch()
                size = 0
        self.pending = ()
        if self.resumed:  # this leader waited at the gate: pass the turn on
            self.resumed = False
            self.gate.pass_on()
        return True

    def _flush_batch(self) -> None:
        batch = self.batch
        count = len(batch)
        data = batch[0] if count == 1 else b"".join(batch)
        batch.clear()
        self.transport.write(data, count)

    def _wait_for_slot(self) -> None:
        if self.batch:
            self._flush_batch()
        assert self._wakeup is not None  # inflight > 0 means a hand-over created it
        while self.inflight >= self.limits.max_inflight:
            self._wakeup.clear()
            self._wakeup.wait()

    def wait_at_gate(self) -> None:
        """Wait for a turn at the server-wide gate (Takeover.watch), replies sent first."""
        if self.batch:
            self._flush_batch()
        self.gate.wait()
        self.resumed = True

    def _answer_late(self, response: Union[Response, list[Response]]) -> None:
        """Send the reply of a call that blocked, from the greenlet that ran it."""
        try:
            # Through the batch, so replies reach the wire in the order they were encoded: a
            # stateful codec (gob) defines a type in the first reply that uses it.
            data = self.codec.encode(response)
            if data:
                self.batch.append(data)
                self._flush_batch()
            else:  # b"" answers a notification: nothing is sent, nothing was owed
                self.requests -= 1
        except ConnectionClosed:
            pass
        finally:
            self._call_ended()

    def _call_ended(self) -> None:
        self.inflight -= 1
        self.gate.leave()
        assert self._wakeup is not None
        self._wakeup.set()

    def _finish(self) -> None:
        # Stop reading, let every call already running write its reply, then close
        # (PROTOCOL.md 1.2: replies to in-flight calls still arrive after a half-close).
        self.draining = True
        try:
            if self.batch:
                self._flush_batch()
            while self.inflight:
                assert self._wakeup is not None
                self._wakeup.clear()
                self._wakeup.wait()
        except ConnectionClosed:
            pass
        finally:
            if self.eof:
                self.transport.close()
            else:  # we stop reading first (stop(), bad input, a timeout): keep the replies safe
                self.transport.close_gracefully(self.limits.write_timeout)
            if self._finished is not None:
                self._finished.set()
            if self._turn is not None:
                self._turn.set()
