"""Where a blocking client waits: in gevent's hub (greenlets) or in the OS (threads).

How this works: ``current()`` looks at the caller once, when a client is dialed. A program
that monkey-patched its sockets, or code already running in a greenlet, lives in gevent: the
client's reader is a greenlet, waits switch to the hub, and the client belongs to that one hub
(and so to that OS thread: using it from another thread fails at once with RuntimeError, since
a greenlet can only be resumed by its own thread's hub). Anything else is a threaded program:
the reader is a daemon thread, waits block in poll(2) or on locks, and any thread may call.
Both drive non-blocking sockets; only the waiting differs.
"""
from __future__ import annotations

import select
import socket
import ssl
import threading
import time
from typing import Any, Callable, ContextManager, Optional, Protocol

import gevent
from gevent import monkey
from gevent import socket as gsocket
from gevent import ssl as gssl
from gevent.event import Event as GeventEvent
from gevent.hub import Hub, get_hub
from gevent.lock import Semaphore

HANDOVER_TIMEOUT = 5.0  # seconds another thread waits for the owning hub to run its close()
_get_ident: Callable[[], int] = monkey.get_original("_thread", "get_ident")
_allocate_lock: Callable[[], Any] = monkey.get_original("_thread", "allocate_lock")


class Signal(Protocol):
    """A flag threads or greenlets can wait for (a call's result, room in the write queue)."""

    def set(self) -> None: ...

    def is_set(self) -> bool: ...

    def wait(self, timeout: Optional[float] = None) -> bool: ...


class Runtime(Protocol):
    name: str

    def check(self) -> None:
        """Raise RuntimeError if the calling thread cannot use a client of this runtime."""

    def guard(self) -> ContextManager[Any]:
        """A lock for short sections that never wait inside (the table, the write queue)."""

    def lock(self) -> ContextManager[Any]:
        """A lock that may be held while waiting (for one dial at a time)."""

    def signal(self) -> Signal:
        """A one-shot Signal: set at most once, then every wait returns at once."""

    def event(self) -> Any:
        """A resettable Signal with clear()."""

    def spawn(self, function: Callable[[], None], name: str) -> None: ...

    # Run a function that never waits once the callers woken so far have had their turn;
    # None where callers run in parallel (threads), so there is no turn to wait for.
    defer: Optional[Callable[[Callable[[], None]], Any]]

    # Run a function that never waits at a monotonic time; returns something to cancel() it.
    # None where a waiting thread can time out at no extra cost (the reader does it then).
    call_at: Optional[Callable[[float, Callable[[], None]], Any]]

    def sleep(self, seconds: float) -> None: ...

    def create_connection(self, sockaddr: Any, family: int, timeout: Optional[float]) -> Any: ...

    def start_tls(self, sock: Any, context: ssl.SSLContext, hostname: Optional[str],
                  timeout: Optional[float]) -> Any:
        """Wrap a connected socket in TLS, handshake done within timeout (OSError, TimeoutError)."""

    def wait(self, sock: Any, writable: bool, timeout: Optional[float]) -> bool:
        """Wait until sock is readable (or writable); False if timeout passed first."""

    def run_here(self, function: Callable[[], None]) -> None:
        """Run function where this runtime's clients live: now, or soon in their hub."""


def current() -> Runtime:
    """The runtime of the calling code: gevent if patched or inside a greenlet, else threads."""
    if monkey.is_module_patched("socket") or _in_greenlet():
        return GeventRuntime()
    return THREADS


def _in_greenlet() -> bool:
    here = gevent.getcurrent()
    return isinstance(here, Hub) or isinstance(getattr(here, "parent", None), Hub)


class _NoLock:
    """Greenlets switch only where they wait, and nothing waits while holding this."""

    __slots__ = ()

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: Any) -> None:
        return None


_NO_LOCK = _NoLock()


class GeventRuntime:
    """Greenlets in the hub of the thread that dialed."""

    name = "gevent"

    def __init__(self) -> None:
        self.hub = get_hub()
        self.thread = _get_ident()
        self.defer: Optional[Callable[[Callable[[], None]], Any]] = self.hub.loop.run_callback
        self.call_at: Optional[Callable[[float, Callable[[], None]], Any]] = self._call_at

    def _call_at(self, when: float, function: Callable[[], None]) -> Any:
        timer = self.hub.loop.timer(max(0.0, when - time.monotonic()))
        timer.start(function)
        return _Timer(timer)

    def check(self) -> None:
        if _get_ident() != self.thread:
            raise RuntimeError(
                "this greenrpc client belongs to the gevent hub of another thread and cannot "
                "wait here: dial one client per thread (or use it from greenlets of its own "
                "thread)")

    def guard(self) -> ContextManager[Any]:
        return _NO_LOCK

    def lock(self) -> ContextManager[Any]:
        return Semaphore()

    def signal(self) -> Signal:
        event: Signal = GeventEvent()  # type: ignore[assignment]  # wait's overloads
        return event

    def event(self) -> Any:
        return GeventEvent()

    def spawn(self, function: Callable[[], None], name: str) -> None:
        gevent.spawn(function).name = name

    def sleep(self, seconds: float) -> None:
        gevent.sleep(seconds)

    def create_connection(self, sockaddr: Any, family: int, timeout: Optional[float]) -> Any:
        if family == socket.AF_UNIX:
            sock = gsocket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            _connect_unix(sock, sockaddr, timeout)
            return sock
        return gsocket.create_connection(sockaddr, timeout=timeout)

    def start_tls(self, sock: Any, context: ssl.SSLContext, hostname: Optional[str],
                  timeout: Optional[float]) -> Any:
        # gevent's SSLSocket whichever ssl module made the context, so the handshake yields.
        tls = gssl.SSLSocket(sock=sock, server_hostname=hostname, do_handshake_on_connect=False,
                             _context=context)
        try:
            with gevent.Timeout(timeout, TimeoutError):
                tls.do_handshake()
        except BaseException:
            tls.close()
            raise
        return tls

    def wait(self, sock: Any, writable: bool, timeout: Optional[float]) -> bool:
        # What hub.wait(watcher) does, without its Waiter and its copy of the stack per idle
        # client. A stray switch into us is harmless: callers retry and wait again.
        watcher = sock._write_event if writable else sock._read_event
        watcher.start(gevent.getcurrent().switch)
        try:
            if timeout is None:
                self.hub.switch()
            else:
                with gevent.Timeout(max(timeout, 0.0), False):  # type: ignore[arg-type]
                    self.hub.switch()
                    return True
                return False
        finally:
            watcher.stop()
        return True

    def run_here(self, function: Callable[[], None]) -> None:
        if _get_ident() == self.thread:
            function()
        else:  # close() from another thread: hand it to the hub that owns the client
            done = Latch()

            def run() -> None:
                try:
                    function()
                finally:
                    done.set()
            self.hub.loop.run_callback_threadsafe(run)
            done.wait(HANDOVER_TIMEOUT)  # bounded: that hub may have stopped running


class _Timer:
    __slots__ = ("watcher",)

    def __init__(self, watcher: Any) -> None:
        self.watcher = watcher

    def cancel(self) -> None:
        self.watcher.close()


class Latch:
    """A one-shot Signal for threads: a lock held until set, the cheapest wake-up CPython has."""

    __slots__ = ("_lock",)

    def __init__(self) -> None:
        self._lock = _allocate_lock()
        self._lock.acquire()

    def set(self) -> None:
        self._lock.release()

    def is_set(self) -> bool:
        return not self._lock.locked()

    def wait(self, timeout: Optional[float] = None) -> bool:
        if not self._lock.acquire(True, -1 if timeout is None else max(timeout, 0.0)):
            return False
        self._lock.release()  # let every other waiter through too
        return True


class ThreadRuntime:
    """OS threads, no gevent involved."""

    name = "threads"
    defer: Optional[Callable[[Callable[[], None]], Any]] = None
    call_at: Optional[Callable[[float, Callable[[], None]], Any]] = None

    def check(self) -> None:
        return None

    def guard(self) -> ContextManager[Any]:
        lock: ContextManager[Any] = _allocate_lock()
        return lock

    def lock(self) -> ContextManager[Any]:
        return threading.Lock()

    def signal(self) -> Signal:
        return Latch()

    def event(self) -> Any:
        return threading.Event()

    def spawn(self, function: Callable[[], None], name: str) -> None:
        threading.Thread(target=function, name=name, daemon=True).start()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)

    def create_connection(self, sockaddr: Any, family: int, timeout: Optional[float]) -> Any:
        if family == socket.AF_UNIX:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            _connect_unix(sock, sockaddr, timeout)
            return sock
        return socket.create_connection(sockaddr, timeout=timeout)

    def start_tls(self, sock: Any, context: ssl.SSLContext, hostname: Optional[str],
                  timeout: Optional[float]) -> Any:
        sock.settimeout(timeout)
        try:
            return context.wrap_socket(sock, server_hostname=hostname)
        except BaseException:
            sock.close()
            raise

    def wait(self, sock: Any, writable: bool, timeout: Optional[float]) -> bool:
        if hasattr(select, "poll"):
            poll = select.poll()
            poll.register(sock, select.POLLOUT if writable else select.POLLIN)
            return bool(poll.poll(None if timeout is None else max(timeout, 0.0) * 1000))
        ready = select.select([], [sock], [], timeout) if writable \
            else select.select([sock], [], [], timeout)  # pragma: no cover - systems without poll
        return any(ready)

    def run_here(self, function: Callable[[], None]) -> None:
        function()


THREADS = ThreadRuntime()


def _connect_unix(sock: Any, path: str, timeout: Optional[float]) -> None:
    sock.settimeout(timeout)
    try:
        sock.connect(path)
    except BaseException:
        sock.close()
        raise
