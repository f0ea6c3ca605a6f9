"""The hand-over: a call that blocks hands the reading of its connection to a fresh greenlet.

How this works: the greenlet reading a connection (its reader) runs each call inline, which costs
nothing when the call returns without blocking. A call that blocks switches to the hub; the hub's
next round of callbacks (Watcher.check) finds that reader still inside its call and spawns a new
reader for the connection, while the old one finishes its call, sends its reply and ends. So a
slow call never holds up the calls behind it, as with Go's goroutine per call, and a fast call
does not pay for a greenlet.

The first reader is the server's own greenlet, which must outlive the connection (the server
closes the socket when it returns). After its call blocked and was answered it takes the reading
back, so that an idle connection keeps one greenlet, not two (about 9 KiB each): at once if the
reader waits for bytes with nothing read (it is ended there with TakeBack), else the reader gives
the reading back before it next waits. Once the connection stops reading (end of stream, an error,
a reply that could not be written) nobody takes the reading again: the last reader answers what
is owed, closes, and the first greenlet returns.

A reader is in one of three states, changed only here:

    IDLE ──before_call──> CALLING ──after_call──> IDLE ──read──> PARKED ──(bytes)──> IDLE
                             └──(blocked: check)──> the call leaves; a new reader starts IDLE
"""
from __future__ import annotations

from typing import Any, Callable, Optional, Protocol

import gevent
from gevent.event import Event

from .gate import Gate

IDLE, CALLING, PARKED = 0, 1, 2  # plain ints: compared on every call


class Reading(Protocol):
    """What a reader reads from (transport.Transport)."""

    def recv(self, timeout: Optional[float], wait_first: bool) -> bytes: ...


class TakeBack(BaseException):
    """Thrown into a reader parked in recv with nothing read: the first greenlet reads again."""


class Watcher:
    """Server-wide: once per hub turn, hands over every connection whose reader blocked in a call.

    It also counts the calls that may be in flight for the gate (gate.py): a reader inside a
    call counts as starting until the hub has looked at it.
    """

    def __init__(self, gate: Optional[Gate] = None,
                 spawn: Callable[..., Any] = gevent.spawn) -> None:
        self.gate = gate if gate is not None else Gate(None)
        self.spawn = spawn
        self._watched: list[HandOver] = []
        self._loop = gevent.get_hub().loop

    def watch(self, handover: HandOver) -> bool:
        """Look at handover's reader in this hub turn's check; False if the gate is full."""
        gate = self.gate
        if gate.full:
            return False
        watched = self._watched
        if not watched:
            self._loop.run_callback(self.check)
        watched.append(handover)
        handover.watched = True
        if len(watched) + gate.count >= gate.limit:  # each reader in a call may take a slot
            gate.starting(len(watched))
        return True

    def check(self) -> None:
        # A hub callback: every reader is suspended here, so one still inside a call blocked in it.
        watched, self._watched = self._watched, []
        gate = self.gate
        for handover in watched:
            handover.watched = False
            if handover.state == CALLING and handover.lead is not None:
                handover.hand_over(self.spawn)
                gate.enter()
        gate.settle()


class HandOver:
    """One connection's reader and the calls that left it.

    The reader calls before_call and after_call around each call, and read around each read;
    a call that left answers itself and then calls call_done. lead is what a new reader runs.
    """

    # One per connection: no __dict__ each.
    __slots__ = ("watcher", "lead", "reader", "first", "state", "watched", "inflight",
                 "wants_back", "over", "finished", "_changed")

    def __init__(self, watcher: Watcher, lead: Callable[[], None], first: Any) -> None:
        self.watcher = watcher
        self.lead: Optional[Callable[[], None]] = lead
        self.reader = first   # the greenlet reading now
        self.first = first    # the server's greenlet, which takes the reading back
        self.state = IDLE
        self.watched = False  # the watcher looks at us in this hub turn's check
        self.inflight = 0     # calls that blocked and run in their own greenlet
        self.wants_back = False  # the first greenlet waits for the reader to let go
        self.over = False      # nobody reads again: the connection is finishing
        self.finished = False  # the connection is closed
        # Set whenever a call that left ends, the reading is given back, or the connection
        # finishes; made at the first hand-over (most connections never need it).
        self._changed: Optional[Event] = None

    def before_call(self) -> bool:
        """The reader is about to run a call inline; False: the server-wide gate is full.

        Telling the watcher once per hub turn is enough: a reader only adds to the count of
        calls in flight when a call blocks, and then the hub has looked at it.
        """
        if not self.watched and not self.watcher.watch(self):
            return False
        self.state = CALLING
        return True

    def wait_at_gate(self) -> None:
        """Wait until a call ends somewhere and it is this connection's turn (before_call said no)."""
        gate = self.watcher.gate
        gate.wait()
        gate.pass_on()  # room for more than us: the next in line goes on too

    def after_call(self, me: Any) -> bool:
        """The call returned: True if me still reads; False if the call left (see call_done)."""
        if self.reader is me:
            self.state = IDLE
            return True
        return False

    def hand_over(self, spawn: Callable[..., Any]) -> None:
        """From the watcher's check: the reader blocked in its call; a new one reads on."""
        assert self.lead is not None
        self.inflight += 1
        if self._changed is None:
            self._changed = Event()
        self.state = IDLE
        self.reader = spawn(self.lead)

    def call_done(self) -> None:
        """A call that left its reader has answered (or failed to)."""
        self.inflight -= 1
        self.watcher.gate.leave()
        self._notify()

    def wait_calls(self, limit: int) -> None:
        """Wait until fewer than limit calls that left are still running."""
        while self.inflight >= limit:
            changed = self._changed
            assert changed is not None  # made by the hand-over that started a call
            changed.clear()
            changed.wait()

    def read(self, me: Any, transport: Reading, timeout: Optional[float]) -> Optional[bytes]:
        """Read as the reader (see Transport.recv); None if me must stop reading, since the
        first greenlet reads from now on."""
        if self.wants_back and me is not self.first:
            self.wants_back = False
            self.reader = self.first
            self._notify()
            return None
        self.state = PARKED
        try:
            return transport.recv(timeout, True)
        except TakeBack:
            return None
        finally:
            if self.reader is me:
                self.state = IDLE

    def stop_reading(self) -> None:
        """Nobody reads again (end of stream, an error, a reply that could not be written)."""
        self.over = True

    def take_back(self, me: Any) -> bool:
        """The first greenlet, whenever its reading ended: True to read again, False once closed.

        After its call left and was answered, it waits for the reading to come back; if the
        connection stops reading meanwhile, it waits for the close instead.
        """
        while not self.finished:
            if self.reader is me:
                return not self.over
            if not self.over and self.state == PARKED:
                reader, self.reader = self.reader, me
                self.state = IDLE
                gevent.get_hub().loop.run_callback(me.switch)  # resumes us once it has ended
                reader.throw(TakeBack)
                return True
            else:
                self.wants_back = not self.over
            changed = self._changed
            if changed is None:  # never handed over, and over: the reader is me, finishing
                return False
            changed.clear()
            changed.wait()
        return False

    def close(self) -> None:
        """The connection is closed: wake the first greenlet, forget the reader's loop."""
        self.over = self.finished = True
        self.lead = None
        self._notify()

    def _notify(self) -> None:
        if self._changed is not None:
            self._changed.set()
