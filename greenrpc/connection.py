"""One server connection, served as Go's ServeCodec serves one: read requests, run them, reply.

How this works: the greenlet reading the socket runs the loop in _read_and_answer: feed what was
read to the codec, answer every request that completed (each call runs inline; one that blocks
leaves the reading to a fresh greenlet: handover.py), write the replies of that read with one
send, and read again. Every read waits for the socket to become readable first, through the
hub, so a client that never stops sending cannot keep the others from their turn. On end of
stream, a protocol error, a timeout or stop(): stop reading, let the calls in flight answer
(docs/protocol.md 1.2), close.
"""
from __future__ import annotations

import logging
import time
from typing import Any, Callable, Optional, Sequence, Union

from gevent import getcurrent

from .budget import Budget, Holding
from .errors import ConnectionClosed, ProtocolError
from .gate import Helpers
from .handover import HandOver, Watcher
from .limits import Limits
from .messages import Batch, Request, Response
from .registry import report, run_batch
from .transport import Transport
from .wire import Incoming, ServerCodec

log = logging.getLogger("greenrpc")

FLUSH_SIZE = 256 << 10  # bytes of replies held before the reader writes them mid-read


class Connection:
    """The requests and replies of one accepted socket; each failed call is logged with peer."""

    __slots__ = ("transport", "codec", "dispatch", "watcher", "limits", "peer", "handover",
                 "pending", "next_pending", "batch", "draining", "eof", "requests",
                 "_sent_before", "deadline", "idle_deadline", "helpers",
                 "holding")  # one per connection: no __dict__ each

    def __init__(self, transport: Transport, codec: ServerCodec,
                 dispatch: Callable[[Request], Response], watcher: Watcher, limits: Limits,
                 peer: str = "", holding: Optional[Holding] = None) -> None:
        self.transport = transport
        self.codec = codec
        self.dispatch = dispatch
        self.watcher = watcher
        self.limits = limits
        self.peer = peer
        self.handover: Optional[HandOver] = None  # made by serve()
        # Decoded requests: those from pending[next_pending] on have not started. An idle
        # connection holds the empty tuple, not a deque (760 bytes) or the last read's list.
        self.pending: Sequence[Incoming] = ()
        self.next_pending = 0
        self.batch: list[bytes] = []  # encoded replies not yet written
        self.draining = False  # stop reading: answer what was read, then close
        self.eof = False       # the peer has ended its side: nothing unread can follow
        self.requests = 0      # messages read that are owed a reply (not notifications)
        self._sent_before = transport.messages_out  # an HTTP handshake's answer is no reply
        # When the request that has started arriving must be complete (None: none has started).
        # A trickle of bytes does not move it: only completing a message does (slowloris).
        self.deadline: Optional[float] = None
        # When an idle connection closes, once bytes that start no message (whitespace between
        # JSON values) have arrived: they must not keep it open forever (None: no such bytes).
        self.idle_deadline: Optional[float] = None
        self.helpers: Optional[Helpers] = None  # run batches' calls; made by the first batch
        # This connection's share of the server's memory budget (budget.py), told once per read.
        self.holding = holding if holding is not None else Holding(Budget(None))

    @property
    def replies(self) -> int:
        """Replies handed to the kernel so far."""
        return int(self.transport.messages_out - self._sent_before)

    def serve(self, initial: bytes = b"") -> None:
        """Run the connection until the peer is gone and every reply is written; then close."""
        me = getcurrent()
        handover = self.handover = HandOver(self.watcher, self._read_and_answer, me)
        if initial:
            self._feed(initial)
        self._read_and_answer()
        while handover.take_back(me):  # our call blocked and was answered: read again
            self._read_and_answer()

    def stop(self) -> None:
        """Stop reading (the reader sees end of stream) and let calls in flight answer."""
        self.draining = True
        self.transport.shutdown_read()

    def _read_and_answer(self) -> None:
        """Go's ServeCodec loop, run by whichever greenlet reads the connection now."""
        me = getcurrent()
        handover = self.handover
        assert handover is not None
        transport = self.transport
        limits = self.limits
        try:
            while True:
                if self.pending and not self._answer(me):
                    return  # our call blocked: we answer it, another greenlet reads on
                if self.draining:
                    break
                try:
                    data = handover.read(me, transport, self._time_left()
                                         if self.deadline is not None else limits.idle_timeout
                                         if self.idle_deadline is None else self._idle_left())
                except TimeoutError:
                    if self.deadline is None and handover.inflight:
                        continue  # quiet, but calls are still running: not idle
                    raise
                if data is None:
                    return  # the first greenlet reads from here on
                self._feed(data)
        except TimeoutError:
            log.info("closing %s: no progress within the timeout", self.peer)
        except ConnectionClosed:
            pass
        except Exception:  # a bug here must not leave the connection half-alive
            log.exception("closing %s after an internal error", self.peer)
        self._finish()

    def _time_left(self) -> float:
        """Seconds until the request in progress must be complete (slowloris)."""
        assert self.deadline is not None
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("request not complete in time")
        return left

    def _idle_left(self) -> float:
        """Seconds until a connection that sent only whitespace since its last message closes."""
        assert self.idle_deadline is not None and self.handover is not None
        left = self.idle_deadline - time.monotonic()
        if left > 0:
            return left
        if self.handover.inflight:  # calls are running: not idle, the clock starts again
            self.idle_deadline = None
            return self.limits.idle_timeout  # type: ignore[return-value]
        raise TimeoutError("nothing but whitespace within the idle timeout")

    def _feed(self, data: bytes) -> None:
        try:
            messages = self.codec.feed(data)
        except ProtocolError as err:
            if data:
                log.info("closing %s after a bad message: %s", self.peer, err)
            self.draining = True
            messages = err.completed  # whole requests before the break still count
        if not data:
            self.eof = self.draining = True
        if messages:
            if self.pending:  # reading stopped before all were run (a drain): keep their order
                messages = [*self.pending[self.next_pending:], *messages]
            self.pending, self.next_pending = messages, 0
        self.requests += len(messages)
        holding = self.holding
        if self.codec.held != holding.held and not holding.set(self.codec.held):
            log.warning("closing %s: its message in progress would pass the server's memory "
                        "budget of %d bytes", self.peer, holding.budget.limit)
            self.draining = True  # the requests it completed are still answered
        if messages:
            self.idle_deadline = None
        elif data and self.limits.idle_timeout is not None and not self.codec.buffered \
                and self.idle_deadline is None:  # bytes that began nothing: idle goes on
            self.idle_deadline = time.monotonic() + self.limits.idle_timeout
        message_timeout = self.limits.message_timeout
        if message_timeout is not None:
            if not self.codec.buffered:
                self.deadline = None
            elif messages or self.deadline is None:  # the buffered request began in this read
                self.deadline = time.monotonic() + message_timeout

    def _answer(self, me: Any) -> bool:
        """Answer the decoded requests; False if a call blocked and the reading moved on."""
        pending = self.pending
        batch = self.batch
        encode = self.codec.encode
        dispatch = self.dispatch
        handover = self.handover
        assert handover is not None
        max_inflight = self.limits.max_inflight
        size = 0
        while (index := self.next_pending) < len(pending):
            if handover.inflight >= max_inflight:
                self._flush()
                handover.wait_calls(max_inflight)
            message = pending[index]
            self.next_pending = index + 1  # before the call: a new reader goes on after it
            if type(message) is Response:  # the codec answered it: no such method, bad params
                if message.error is not None:
                    report(message, self.peer, decoded=True)
                data = encode(message)
            else:
                while not handover.before_call():  # the server-wide cap: replies out, wait
                    self._flush()
                    handover.wait_at_gate()
                response: Union[Response, list[Response]]
                try:
                    if type(message) is Batch:
                        if self.helpers is None:
                            self.helpers = Helpers(self.watcher.gate, max_inflight)
                        response = run_batch(message, dispatch, self.helpers, self.peer)
                    else:
                        assert type(message) is Request
                        response = dispatch(message)
                        if response.error is not None:
                            report(response, self.peer)
                except BaseException:  # killed inside the call (stop's grace ran out)
                    if not handover.after_call(me):
                        handover.call_done()
                    raise
                if not handover.after_call(me):
                    self._answer_late(response)
                    return False
                data = encode(response)
            if not data:  # b"" answers a notification: nothing is sent, nothing was owed
                self.requests -= 1
                continue
            batch.append(data)
            size += len(data)
            if size > FLUSH_SIZE:
                # Small requests may ask for big replies: send them as they are made, so a peer
                # that does not read stalls this loop (until write_timeout), not our memory.
                self._flush()
                size = 0
        self.pending = ()
        count = len(batch)
        if count:  # the replies of one read go out with one send (_flush, inlined)
            data = batch[0] if count == 1 else b"".join(batch)
            batch.clear()
            self.transport.write(data, count)
        return True

    def _flush(self) -> None:
        batch = self.batch
        count = len(batch)
        if count:
            data = batch[0] if count == 1 else b"".join(batch)
            batch.clear()
            self.transport.write(data, count)

    def _answer_late(self, response: Union[Response, list[Response]]) -> None:
        """Send the reply of a call that blocked, from the greenlet that ran it."""
        handover = self.handover
        assert handover is not None
        try:
            # Through the batch, so replies reach the wire in the order they were encoded: a
            # stateful codec (gob) defines a type in the first reply that uses it.
            data = self.codec.encode(response)
            if data:
                self.batch.append(data)
                self._flush()
            else:  # b"" answers a notification: nothing is sent, nothing was owed
                self.requests -= 1
        except ConnectionClosed:
            handover.stop_reading()  # the socket is closed: nobody may read it again
        finally:
            handover.call_done()

    def _finish(self) -> None:
        # Stop reading, let every call already running write its reply, then close
        # (docs/protocol.md 1.2: replies to in-flight calls still arrive after a half-close).
        handover = self.handover
        assert handover is not None
        handover.stop_reading()
        self.draining = True
        try:
            self._flush()
            handover.wait_calls(1)
        except ConnectionClosed:
            pass
        finally:
            if self.eof or self.transport.closed:
                self.transport.close()
            else:  # we stop reading first (stop(), bad input, a timeout): keep the replies safe
                self.transport.close_gracefully(self.limits.write_timeout)
            handover.close()
            self.holding.release()
