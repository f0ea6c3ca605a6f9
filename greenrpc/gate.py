"""A server-wide cap on calls in flight: at the cap, connections stop starting calls and reading.

How this works: a call counts from the moment it starts until it returns, but cheaply. A reader
that starts a call tells the watcher (handover.Watcher) once per hub turn, which reports how many
readers are inside calls as ``starting``; when the hub next looks, each call that blocked has its
own greenlet and joins ``count`` (enter), and those that returned drop out (settle). Readers
look at ``full`` before their calls; at the cap they wait here, first come first served. Each
call that ends lets one waiter go on, and a waiter that got through passes the turn on if there
is still room, so a free slot never sits unused while connections wait.
"""
from __future__ import annotations

import sys
from collections import deque
from typing import Any, Callable, Optional

import gevent
from gevent.event import Event


class Gate:
    """Counts the calls in flight across connections and holds readers back at the cap."""

    def __init__(self, limit: Optional[int]) -> None:
        self.limit = limit if limit is not None else sys.maxsize
        self.count = 0      # calls that blocked and run in their own greenlet
        self._starting = 0  # readers inside a call the hub has not looked at yet
        self.full = False
        self._waiters: deque[Event] = deque()

    def starting(self, readers: int) -> None:
        """readers are inside calls this hub turn; each may block and take a slot.

        (Told only when it may fill the gate: below that, full stays False either way.)
        """
        self._starting = readers
        if readers + self.count >= self.limit:
            self.full = True

    def enter(self) -> None:
        """A call has blocked and now runs in its own greenlet."""
        self.count += 1

    def leave(self) -> None:
        """A call that had its own greenlet has ended."""
        self.count -= 1
        self._update()

    def settle(self) -> None:
        """The hub has looked at every reader that started a call: each blocked or returned."""
        self._starting = 0
        self.full = full = self.count >= self.limit
        if self._waiters and not full:
            self._waiters.popleft().set()

    def _update(self) -> None:
        self.full = self.count + self._starting >= self.limit
        self.pass_on()

    def pass_on(self) -> None:
        """Let the longest-waiting reader go on, if there is room."""
        if self._waiters and not self.full:
            self._waiters.popleft().set()

    def wait(self) -> None:
        """Block until a call ends and it is this caller's turn."""
        waiter = Event()
        self._waiters.append(waiter)
        try:
            waiter.wait()
        finally:
            if not waiter.is_set():  # killed while waiting (server stop)
                self._waiters.remove(waiter)


class Helpers:
    """Greenlets that run a batch's calls beside the batch, for one connection.

    At most limit run at once on the connection, and each counts at the server-wide gate as a
    call in flight. Nobody waits for room: a batch that finds none runs its calls one after
    another itself, so batches can neither pile up greenlets nor deadlock on the gate.
    """

    def __init__(self, gate: Gate, limit: int) -> None:
        self.gate = gate
        self.limit = limit
        self.running = 0

    def spawn(self, work: Callable[[], None], wanted: int) -> list[Any]:
        """Start up to wanted greenlets running work, as many as there is room for now."""
        gate = self.gate
        count = min(wanted, self.limit - self.running, gate.limit - gate.count - gate._starting)
        if count <= 0:
            return []
        self.running += count
        gate.count += count
        gate.full = gate.count + gate._starting >= gate.limit
        return [gevent.spawn(self._run, work) for _ in range(count)]

    def _run(self, work: Callable[[], None]) -> None:
        try:
            work()
        finally:
            self.running -= 1
            self.gate.leave()
