"""Accept connections, pausing quietly while the process is out of file descriptors.

How this works: gevent's StreamServer already stops accepting after a failed accept() and
retries after a delay that doubles up to max_delay, but it prints a traceback to stderr for
every failure and treats a peer that gave up before we accepted it (ECONNABORTED) as a reason
to pause. Here a lack of resources (EMFILE, ENFILE, ENOBUFS, ENOMEM) pauses accepting with the
same doubling delay and one log line per episode; the pending connections wait in the listen
backlog and are served once descriptors are free again. A vanished peer is skipped at once.
"""
from __future__ import annotations

import errno
import logging
from typing import Any, Callable, Optional

from gevent.server import StreamServer

log = logging.getLogger("greenrpc")

OUT_OF_RESOURCES = {errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM}
PEER_GAVE_UP = {errno.ECONNABORTED, errno.EPROTO, errno.ECONNRESET}


class Listener(StreamServer):
    """A StreamServer that backs off while accept() lacks resources, and recovers by itself."""

    min_delay = 0.05  # first pause, doubling while accept() keeps failing
    max_delay = 1.0

    paused = False  # an episode of failed accepts is in progress

    # Set by gevent's BaseServer (not in its type stubs): the pool's spawn, or None, and the
    # handler for one accepted socket.
    _spawn: Optional[Callable[..., Any]]
    _handle: Callable[..., Any]

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
        # stack on the heap: that frame alone is about 370 bytes per idle connection.
        try:
            if self._spawn is None:
                self._handle_and_close(*args)
            else:
                self._spawn(self._handle_and_close, *args)
        except BaseException:
            self.do_close(*args)
            raise

    def _handle_and_close(self, sock: Any, address: Any) -> None:
        try:
            self._handle(sock, address)
        finally:
            self.do_close(sock, address)

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
