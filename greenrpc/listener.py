"""Accept connections, each served by a greenlet of its own, pausing when there are too many.

How this works: gevent's StreamServer already stops accepting after a failed accept() and
retries after a delay that doubles up to max_delay, but it prints a traceback to stderr for
every failure and treats a peer that gave up before we accepted it (ECONNABORTED) as a reason
to pause. Here a lack of resources (EMFILE, ENFILE, ENOBUFS, ENOMEM) pauses accepting with the
same doubling delay and one log line per episode; the pending connections wait in the listen
backlog and are served once descriptors are free again. A vanished peer is skipped at once.

Every listener of a server shares one Connections tally: at max_connections, all of them stop
accepting until a connection ends. Each connection's greenlet is a plain greenlet, not gevent's
Greenlet in a Pool: at thousands of connections a second (connect, one call, close) and tens of
thousands idle, a Greenlet's links and a pool's semaphore cost time and about 600 bytes each.
"""
from __future__ import annotations

import errno
import logging
from typing import Any, Callable, Optional

import gevent
from gevent import getcurrent
from gevent.event import Event
from gevent.server import StreamServer

log = logging.getLogger("greenrpc")

OUT_OF_RESOURCES = {errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM}
PEER_GAVE_UP = {errno.ECONNABORTED, errno.EPROTO, errno.ECONNRESET}


KEEP_PARKED = 64  # greenlets kept for the next connections: a new one costs ~6 us (its stack)


class Connections:
    """The greenlets serving accepted connections, across listeners; at limit, accepting pauses.

    A greenlet whose connection has ended waits (parked) to serve the next one, up to
    KEEP_PARKED of them: starting a greenlet maps and faults in a fresh stack for Python's
    frames, the largest single cost of a connection that makes one call and closes.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.running: set[Any] = set()
        self.parked: list[Any] = []
        self.released = False  # the server stops: no greenlet is parked any more
        self.listeners: list[Listener] = []
        self._idle = Event()
        self._idle.set()
        self._loop = gevent.get_hub().loop

    def __len__(self) -> int:
        return len(self.running)

    def full(self) -> bool:
        return len(self.running) >= self.limit

    def spawn(self, handle: Callable[[Any, Any], None], close: Callable[[Any, Any], None],
              sock: Any, address: Any) -> None:
        """Serve one accepted socket in a greenlet of its own; close it when handle returns."""
        work = (handle, close, sock, address)
        if self.parked:
            greenlet = self.parked.pop()
            self._loop.run_callback(greenlet.switch, work)
        else:
            greenlet = gevent.spawn_raw(self._serve, work)
        self.running.add(greenlet)
        self._idle.clear()

    def _serve(self, work: Optional[tuple[Any, ...]]) -> None:
        me = getcurrent()
        while work is not None:
            handle, close, sock, address = work
            work = None
            try:
                handle(sock, address)
            except gevent.GreenletExit:
                self._ended(me, close, sock, address)
                return  # killed by kill()
            except Exception:
                log.exception("connection handler failed")
            self._ended(me, close, sock, address)
            del handle, close, sock, address
            if len(self.parked) >= KEEP_PARKED or self.released:
                return
            work = self._park(me)

    def _park(self, me: Any) -> Optional[tuple[Any, ...]]:
        """Wait for the next connection's work; None if released or killed meanwhile."""
        parked = self.parked
        parked.append(me)
        hub = gevent.get_hub()
        try:
            while True:
                work = hub.switch()
                if type(work) is tuple and len(work) == 4:
                    return work
                if work is None:
                    return None  # released
                # anything else is a stray switch (a late watcher callback): keep waiting
        except gevent.GreenletExit:
            if me in parked:
                parked.remove(me)
            return None

    def _ended(self, me: Any, close: Callable[[Any, Any], None], sock: Any, address: Any
               ) -> None:
        close(sock, address)
        running = self.running
        was_full = len(running) >= self.limit
        running.discard(me)
        if was_full:
            for listener in self.listeners:
                listener.resume()
        if not running:
            self._idle.set()

    def join(self, timeout: Optional[float]) -> bool:
        """Wait until every connection has ended; False if some still run after timeout."""
        return bool(self._idle.wait(timeout))

    def release(self) -> None:
        """End the parked greenlets (the server stops)."""
        self.released = True
        parked, self.parked = self.parked, []
        for greenlet in parked:
            self._loop.run_callback(greenlet.switch, None)

    def kill(self, timeout: float) -> None:
        """End every connection's greenlet (GreenletExit), waiting up to timeout for them."""
        for greenlet in list(self.running):
            gevent.kill(greenlet)
        if not self.join(timeout):  # a greenlet killed before it started never ran _serve
            self.running = {greenlet for greenlet in self.running if not greenlet.dead}
            if not self.running:
                self._idle.set()


class Listener(StreamServer):
    """A StreamServer that backs off while accept() lacks resources, and recovers by itself."""

    min_delay = 0.05  # first pause, doubling while accept() keeps failing
    max_delay = 1.0

    paused = False  # an episode of failed accepts is in progress

    # Set by gevent's BaseServer (not in its type stubs): the handler for one accepted socket.
    _handle: Callable[..., Any]

    def __init__(self, sock: Any, handle: Callable[[Any, Any], None],
                 connections: Connections) -> None:
        super().__init__(sock, handle)
        self.connections = connections
        connections.listeners.append(self)

    def full(self) -> bool:  # gevent's accept loop asks before each accept
        return self.connections.full()

    def resume(self) -> None:
        """A connection ended: accept again if the tally had stopped us."""
        if self.started:
            self.start_accepting()

    def do_read(self) -> Any:
        try:
            accepted = super().do_read()
        except OSError as err:
            if err.errno in PEER_GAVE_UP:
                return None
            if err.errno not in OUT_OF_RESOURCES:
                raise
            self._pause(err)
            return None
        if self.paused and accepted:
            self.paused = False
            log.info("accepting connections again")
        return accepted

    def do_handle(self, *args: Any) -> None:
        # StreamServer runs each handler as handle(*args), a call that CPython 3.11 makes in a C
        # frame of its own. While a connection waits, gevent keeps a copy of its greenlet's C
        # stack on the heap: that frame alone is about 370 bytes per idle connection. The
        # handler is taken now: close() drops it, and a connection accepted just before a close
        # starts only after it.
        try:
            self.connections.spawn(self._handle, self.do_close, *args)
        except BaseException:
            self.do_close(*args)
            raise

    def _pause(self, err: OSError) -> None:
        if not self.paused:
            self.paused = True
            log.warning("cannot accept connections (%s): pausing, retrying in up to %ss",
                        err.strerror, self.max_delay)
        # As gevent's own retry does: stop watching the socket, look again after delay (in
        # _timer, which stop_accepting() cancels).
        self.stop_accepting()
        self._timer = self.loop.timer(self.delay)
        self._timer.start(self._resume)
        self.delay = min(self.max_delay, self.delay * 2)

    def _resume(self) -> None:
        if self.started:
            self.start_accepting()
