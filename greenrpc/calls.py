"""The client's sans-IO core: numbers calls, encodes them, matches replies, and ends them all.

How this works: a shell (gevent, threads, asyncio) owns the socket and the waiting; this table
owns everything else about the calls on one connection. ``start`` gives a call the next id
(Go's client counts from 0, PROTOCOL.md 1.3), encodes its request with the connection's codec
and keeps it pending; the shell writes the bytes. ``feed`` takes the bytes the shell read and
returns what they settled: each reply matched to its call by id (a reply to no pending call is
dropped, as Go drops unknown sequence numbers), and, once the stream ends or breaks, every call
still pending failed with ConnectionClosed. ``expire`` fails the calls whose deadline passed,
whether or not anyone waits for them, so a ``go()`` nobody collects still leaves the table.
Nothing here blocks, sleeps or touches a socket; the shells resolve the outcomes it returns.
"""
from __future__ import annotations

import heapq
from typing import Any, Generic, Optional, Protocol, TypeVar

from .errors import CallTimeout, ConnectionClosed, ProtocolError, RPCError
from .messages import NO_ID
from .schema import TypeMismatch, spec_of
from .wire import ClientCodec, jsonrpc2

DEFAULT_CALL_TIMEOUT = 60.0


class Pending(Protocol):
    """What the table keeps for a call: a shell's call object."""

    id: int                    # set by start()
    method: str
    timeout: Optional[float]   # seconds the call may take, for CallTimeout's message
    deadline: Optional[float]  # monotonic time it fails at; None: never

    def _resolve(self, result: Any, error: Optional[BaseException]) -> None: ...


C = TypeVar("C", bound=Pending)
Outcome = tuple[C, Any, Optional[BaseException]]   # (call, result, error): resolve call with it


class CallTable(Generic[C]):
    """The calls in flight on one connection, from request bytes to settled outcomes."""

    def __init__(self, codec: ClientCodec) -> None:
        self.codec = codec
        self.pending: dict[int, C] = {}
        self.closed: Optional[RPCError] = None   # why no more calls can start
        self._next_id = 0
        # (deadline, id) of calls that have one. Entries of settled calls stay until their
        # deadline passes or the heap is rebuilt from the pending calls, which happens once it
        # holds twice as many entries as there are pending calls: O(1) amortised per call.
        self._deadlines: list[tuple[float, int]] = []

    def start(self, call: C, params: Any, result_type: Any = None, params_type: Any = None,
              deadline: Optional[float] = None) -> bytes:
        """Encode call's request and keep it pending until its reply, deadline or the end.

        Raises the reason the connection closed, or TypeError for params the codec cannot send
        (nothing is kept then).
        """
        if self.closed is not None:
            raise self.closed
        id = self._next_id
        data = self.codec.encode(call.method, params, id, result_type, params_type)
        call.id = id
        self._next_id = id + 1
        self._keep(call, deadline)
        return data

    def start_batch(self, entries: list[tuple[str, Any, Optional[C]]],
                    deadline: Optional[float] = None) -> bytes:
        """Encode a JSON-RPC 2.0 batch of (method, params, call or None for a notification)."""
        if self.closed is not None:
            raise self.closed
        codec = self.v2_codec("batches")
        for _, _, call in entries:
            if call is not None:
                call.id = self._next_id
                self._next_id += 1
        data = codec.encode_batch([(method, params, call.id if call is not None else NO_ID)
                                   for method, params, call in entries])
        for _, _, call in entries:
            if call is not None:
                self._keep(call, deadline)
        return data

    def encode_notification(self, method: str, params: Any) -> bytes:
        if self.closed is not None:
            raise self.closed
        return self.v2_codec("notifications").encode_notification(method, params)

    def v2_codec(self, feature: str) -> jsonrpc2.ClientCodec:
        """The JSON-RPC 2.0 codec, or RPCError naming the feature that needs it."""
        if not isinstance(self.codec, jsonrpc2.ClientCodec):
            raise RPCError(f"{feature} need JSON-RPC 2.0: dial(address, version=2)")
        return self.codec

    def _keep(self, call: C, deadline: Optional[float]) -> None:
        self.pending[call.id] = call
        call.deadline = deadline
        if deadline is not None:
            self._remember(deadline, call.id)

    def extend(self, call: C, deadline: Optional[float]) -> None:
        """Move a pending call's deadline (a waiter asked for longer); None: never."""
        if self.pending.get(call.id) is call:
            call.deadline = deadline
            if deadline is not None:
                self._remember(deadline, call.id)

    def _remember(self, deadline: float, id: int) -> None:
        heap = self._deadlines
        heapq.heappush(heap, (deadline, id))
        if len(heap) > 2 * len(self.pending) + 64:
            self._rebuild_deadlines()

    def _rebuild_deadlines(self) -> None:
        pending = self.pending
        self._deadlines = [(call.deadline, id) for id, call in pending.items()
                           if call.deadline is not None]
        heapq.heapify(self._deadlines)

    def feed(self, data: bytes) -> list[Outcome[C]]:
        """Settle the calls these bytes answer; b"" (end of stream) or bad bytes settle all."""
        try:
            replies = self.codec.feed(data)
        except ProtocolError as err:
            outcomes = self._match(err.completed)   # replies that arrived whole before the break
            return outcomes + self.fail_all(ConnectionClosed(f"bad reply from the server: {err}"))
        outcomes = self._match(replies)
        if not data:
            outcomes += self.fail_all(ConnectionClosed("connection closed by the server"))
        return outcomes

    def _match(self, replies: list[Any]) -> list[Outcome[C]]:
        pop = self.pending.pop
        outcomes: list[Outcome[C]] = []
        for reply in replies:
            call = pop(reply.id, None)
            if call is not None:
                outcomes.append((call, reply.result, reply.error))
        return outcomes

    def forget(self, id: int) -> Optional[C]:
        """Stop waiting for a call (its waiter gave up); a late reply is then dropped.

        Returns the call if it was still pending, None if it has settled meanwhile.
        """
        return self.pending.pop(id, None)

    def fail_all(self, reason: RPCError) -> list[Outcome[C]]:
        """Close the table: no call starts any more and every pending one fails with reason."""
        if self.closed is None:
            self.closed = reason
        pending, self.pending = self.pending, {}
        self._deadlines = []
        return [(call, None, reason) for call in pending.values()]

    def next_deadline(self) -> Optional[float]:
        """When expire() may next have work (possibly early: settled calls leave entries)."""
        return self._deadlines[0][0] if self._deadlines else None

    def expire(self, now: float) -> list[Outcome[C]]:
        """Fail the pending calls whose deadline is at or before now, with CallTimeout."""
        heap, pending = self._deadlines, self.pending
        outcomes: list[Outcome[C]] = []
        while heap and heap[0][0] <= now:
            _, id = heapq.heappop(heap)
            call = pending.get(id)
            # A call whose deadline moved has a later entry too; None: it waits for ever now.
            if call is not None and call.deadline is not None and call.deadline <= now:
                del pending[id]
                outcomes.append((call, None, timed_out(call.method, call.timeout)))
        return outcomes


def timed_out(method: str, timeout: Optional[float]) -> CallTimeout:
    return CallTimeout(f"{method}: no reply within {timeout}s")


def convert(value: Any, result_type: Any) -> Any:
    """Convert a JSON result into result_type (None: as decoded), as Go's client unmarshals it."""
    if result_type is None:
        return value
    try:
        return spec_of(result_type).convert(value)
    except TypeMismatch as err:
        raise RPCError(f"reading body {err}") from None
