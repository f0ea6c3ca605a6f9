"""Client and dial(): calls from many threads or greenlets, pipelined over one connection.

How this works: a CallTable (the sans-IO core) numbers, encodes and matches the calls; this
shell does the socket work and the waiting, in the runtime the client was dialed in (gevent's
hub, or OS threads). A caller encodes its request under a short lock, so requests go out
whole and in the order they were numbered (gob's type definitions depend on it), and sends it
without ever waiting on the socket: what the kernel does not take at once is queued, and a
flusher (a greenlet or a thread, started only then) sends the queue as the server reads. So a
call's own timeout bounds everything it waits for. Unsent bytes that outlive every call that
wrote them close the connection: the server has stopped reading. One reader (a greenlet or a
daemon thread) feeds what arrives to the table, wakes each caller, and fails the calls whose
deadline passed whether or not anyone waits for them; when the connection ends every pending
call fails at once with ConnectionClosed.
"""
from __future__ import annotations

import functools
import logging
import math
import socket
import time
from typing import Any, Callable, Literal, Optional, Union, overload

from . import runtime as runtimes
from .calls import DEFAULT_CALL_TIMEOUT, CallTable, Outcome, convert, timed_out
from .clientsocket import ClientSocket
from .errors import CallTimeout, ConnectionClosed, ProtocolError, RPCError, ServerError
from .options import TLS, Address, new_codec, parse_address, server_hostname, tls_context
from .reconnect import Backoff, ReconnectingClient
from .runtime import Runtime
from .wire import ClientCodec, gob, goconnect, jsonrpc1, jsonrpc2

log = logging.getLogger("greenrpc")

DEFAULT_DIAL_TIMEOUT = 10.0
DEFAULT_MAX_PENDING_WRITE = 4 << 20   # bytes queued for a server that reads slowly
_UNSET: Any = object()


class Call:
    """A call in progress: get() waits for its result, or raises what went wrong."""

    __slots__ = ("client", "id", "method", "result_type", "timeout", "deadline", "_done",
                 "_result", "_error")

    def __init__(self, client: Client, method: str, result_type: Any,
                 timeout: Optional[float], deadline: Optional[float]) -> None:
        self.client = client
        self.id = -1                 # the table numbers it when it is sent
        self.method = method
        self.result_type = result_type
        self.timeout = timeout
        self.deadline = deadline     # monotonic time when it fails with CallTimeout
        self._done = client.runtime.signal()
        self._result: Any = None
        self._error: Optional[BaseException] = None

    def ready(self) -> bool:
        return self._done.is_set()

    def get(self, timeout: Any = _UNSET) -> Any:
        """Return the result; raise ServerError, ConnectionClosed or CallTimeout.

        By default this waits until the call's own deadline (its timeout, counted from when it
        was sent). timeout=N waits N seconds from now instead, keeping the call alive that long
        and forgetting it if no reply came; None waits without bound.
        """
        done = self._done
        if not done.is_set():
            client = self.client
            client.runtime.check()
            if timeout is _UNSET:  # the client's timer fails the call at its deadline
                wait = None if self.deadline is None or client._call_at is not None \
                    else self.deadline - time.monotonic()
                shown = self.timeout
            else:
                wait = shown = timeout
                client._extend(self, None if timeout is None else time.monotonic() + timeout)
            if not done.wait(wait):
                if client._forget(self.id):
                    self._resolve(None, timed_out(self.method, shown))
                else:
                    done.wait()  # settled meanwhile: its resolver is about to wake us
        if self._error is not None:
            raise self._error
        return convert(self._result, self.result_type)

    def _resolve(self, result: Any, error: Optional[BaseException]) -> None:
        self._result = result
        self._error = error
        self._done.set()


class Batch:
    """Calls and notifications sent together as one JSON-RPC 2.0 batch (Client.batch()).

    The server may run the elements concurrently and answers them in one array; each Call
    resolves on its own, matched by id. Nothing is sent for an empty batch, and nothing is
    sent if the with-block raises (its calls then fail with RPCError).
    """

    def __init__(self, client: Client) -> None:
        self.client = client
        self.entries: list[tuple[str, Any, Optional[Call]]] = []
        self.sent = False

    def call(self, method: str, params: Any = None, *, result_type: Any = None) -> Call:
        """Add a call; returns its Call, whose get() works once the batch is sent."""
        jsonrpc2.params_text(params)  # refuse bad params now, not at send time
        timeout = self.client.call_timeout
        call = Call(self.client, method, result_type, timeout, None)
        self.entries.append((method, params, call))
        return call

    def notify(self, method: str, params: Any = None) -> None:
        """Add a notification (never answered)."""
        jsonrpc2.params_text(params)
        self.entries.append((method, params, None))

    def send(self) -> None:
        """Send the batch (once); an empty batch sends nothing, as the spec forbids []."""
        if self.sent:
            raise RPCError("this batch was sent already")
        self.sent = True
        if self.entries:
            self.client._send_batch(self.entries)

    def __enter__(self) -> Batch:
        return self

    def __exit__(self, kind: Any, *exc: Any) -> None:
        if kind is None:
            self.send()
            return
        self.sent = True
        for _, _, call in self.entries:
            if call is not None:
                call._resolve(None, RPCError("the batch was not sent: its block raised"))


class Client:
    """An RPC client on one connection, safe to share between threads (or greenlets).

    dial() makes one for the calling code's runtime: in a gevent program (monkey-patched, or
    dialed from a greenlet) it serves the greenlets of that thread's hub; elsewhere any
    number of OS threads.
    """

    def __init__(self, sock: Any, codec: Optional[ClientCodec] = None,
                 call_timeout: Optional[float] = DEFAULT_CALL_TIMEOUT, *,
                 runtime: Optional[Runtime] = None,
                 max_pending_write: int = DEFAULT_MAX_PENDING_WRITE) -> None:
        self.runtime = runtime if runtime is not None else runtimes.current()
        self.codec: ClientCodec = codec if codec is not None else jsonrpc1.ClientCodec()
        self.call_timeout = call_timeout
        self.max_pending_write = max_pending_write
        self.transport = ClientSocket(sock, self.runtime)
        self._table: CallTable[Call] = CallTable(self.codec)
        self._lock = self.runtime.guard()     # the table and the write queue
        self._queue: list[bytes] = []        # bytes waiting for the flusher, in order
        self._queued = 0
        self._queue_deadline = -math.inf     # the latest deadline of a call with bytes queued
        self._sending = False                # a caller or the flusher is sending
        self._room = self.runtime.event()    # set while the queue is under max_pending_write
        self._room.set()
        # Greenlets take turns: the callers that one read of replies wakes write their next
        # requests in one turn of the hub, and those go out with one send at the end of it
        # (the write is "corked" until then). Any other request is sent before go() returns.
        self._defer = self.runtime.defer
        self._corked = False
        # Where the runtime has cheap timers (gevent), one timer at the earliest deadline fails
        # calls that ran out of time, and nobody else needs a timer; with threads the reader
        # waits for the socket until that deadline instead.
        self._call_at = self.runtime.call_at
        self._timer: Any = None
        self._timer_at = math.inf
        self.runtime.spawn(self._read_replies, "greenrpc client reader")

    @property
    def closed(self) -> bool:
        return self._table.closed is not None

    @property
    def pending(self) -> int:
        """How many calls wait for their reply."""
        return len(self._table.pending)

    def go(self, method: str, params: Any = None, *, result_type: Any = None,
           params_type: Any = None, timeout: Any = _UNSET) -> Call:
        """Send a call and return at once; Call.get() waits for the result.

        The call fails with CallTimeout once timeout seconds (default: the client's
        call_timeout; None: no bound) have passed without its reply, whether or not anyone
        waits for it. params_type names the Go type of params for codecs that send types
        (gob), where the value alone does not say it (e.g. greenrpc.gotypes.Uint64).
        """
        self.runtime.check()
        if timeout is _UNSET:
            timeout = self.call_timeout
        deadline = None if timeout is None else time.monotonic() + timeout
        call = Call(self, method, None if self.codec.decodes_results else result_type,
                    timeout, deadline)
        table = self._table
        self._send(lambda: table.start(call, params, result_type, params_type, deadline),
                   deadline, method, timeout)
        if deadline is not None and deadline < self._timer_at and self._call_at is not None:
            self._arm(deadline)
        return call

    def call(self, method: str, params: Any = None, *, timeout: Any = _UNSET,
             result_type: Any = None, params_type: Any = None) -> Any:
        """Call method and wait for its result (raises ServerError with the server's text)."""
        return self.go(method, params, result_type=result_type, params_type=params_type,
                       timeout=timeout).get()

    def notify(self, method: str, params: Any = None) -> None:
        """Send a JSON-RPC 2.0 notification: the server runs it and never answers."""
        self.runtime.check()
        deadline = self._deadline()
        self._send(lambda: self._table.encode_notification(method, params), deadline, method,
                   self.call_timeout)
        if self._table.closed is not None:
            raise self._table.closed

    def batch(self) -> Batch:
        """Collect calls and notifications to send as one JSON-RPC 2.0 batch.

        ``with client.batch() as batch: product = batch.call(...)`` sends when the block ends;
        then ``product.get()`` waits for that call's result as for ``go()``.
        """
        self._table.v2_codec("batches")
        return Batch(self)

    def _send_batch(self, entries: list[tuple[str, Any, Optional[Call]]]) -> None:
        self.runtime.check()
        deadline = self._deadline()
        for _, _, call in entries:
            if call is not None:
                call.deadline = deadline
        try:
            self._send(lambda: self._table.start_batch(entries, deadline), deadline, "batch",
                       self.call_timeout)
        except RPCError as err:  # not sent: its calls fail with the reason, not wait for it
            for _, _, call in entries:
                if call is not None:
                    call._resolve(None, err)
            raise
        if deadline is not None and deadline < self._timer_at and self._call_at is not None:
            self._arm(deadline)

    def _deadline(self) -> Optional[float]:
        timeout = self.call_timeout
        return None if timeout is None else time.monotonic() + timeout

    def peer_closed(self) -> bool:
        """True if the server has closed the connection (as far as can be seen without waiting)."""
        return self.closed or self.transport.peer_closed()

    def close(self) -> None:
        """Close the connection; pending calls fail with ConnectionClosed. Any thread may."""
        self.runtime.run_here(functools.partial(self._lose, ConnectionClosed("client closed")))

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def _extend(self, call: Call, deadline: Optional[float]) -> None:
        with self._lock:
            if call.deadline is not None and (deadline is None or deadline > call.deadline):
                self._table.extend(call, deadline)

    def _forget(self, id: int) -> bool:
        """Stop waiting for a call; False if it settled meanwhile."""
        with self._lock:
            return self._table.forget(id) is not None

    # Writing -------------------------------------------------------------------------------

    def _send(self, start: Callable[[], bytes], deadline: Optional[float], method: str,
              timeout: Optional[float]) -> None:
        """Encode with start() (in order with every other caller) and send, never waiting on
        the socket; wait only for room in a full queue, until deadline."""
        while True:
            with self._lock:
                if self._queued <= self.max_pending_write or self._table.closed is not None:
                    data = start()  # raises if the connection has closed
                    if self._sending or self._corked:
                        self._enqueue(data, deadline)
                        return
                    self._sending = True
                    break
                self._room.clear()
            if not self._room.wait(None if deadline is None else deadline - time.monotonic()):
                raise CallTimeout(f"{method}: not sent within {timeout}s: the server is not "
                                  "reading what it was sent")
        self._send_now(data, deadline)

    def _enqueue(self, data: bytes, deadline: Optional[float]) -> None:
        self._queue.append(data)
        self._queued += len(data)
        self._queue_deadline = max(self._queue_deadline,
                                   math.inf if deadline is None else deadline)

    def _send_now(self, data: bytes, deadline: Optional[float]) -> None:
        """Send data, then whatever others queued meanwhile, as far as the kernel takes it."""
        while True:
            try:
                sent = self.transport.send(data)
            except OSError as err:
                self._lose(ConnectionClosed(f"write failed: {err}"))
                return
            with self._lock:
                if sent < len(data):  # the kernel's buffer is full: the flusher takes over
                    self._queue.insert(0, data[sent:])
                    self._queued += len(data) - sent
                    self._queue_deadline = max(self._queue_deadline,
                                               math.inf if deadline is None else deadline)
                    break
                if not self._queue:
                    self._sending = False
                    return
                data, queue_deadline = self._take_queue()
                deadline = None if queue_deadline == math.inf else queue_deadline
        self.runtime.spawn(self._flush, "greenrpc client flusher")

    def _uncork(self) -> None:
        """Send what the callers woken by one read of replies wrote, with one send."""
        with self._lock:
            self._corked = False
            if self._sending or not self._queue:  # the flusher has it, or lost meanwhile
                return
            self._sending = True
            data, deadline = self._take_queue()
        self._send_now(data, None if deadline == math.inf else deadline)

    def _take_queue(self) -> tuple[bytes, float]:
        queue, deadline = self._queue, self._queue_deadline
        self._queue, self._queued, self._queue_deadline = [], 0, -math.inf
        self._room.set()
        return (queue[0] if len(queue) == 1 else b"".join(queue)), deadline

    def _flush(self) -> None:
        """Send the queue as the server makes room, until it is empty or nobody waits for it."""
        try:
            while True:
                with self._lock:
                    if not self._queue:
                        self._sending = False
                        return
                    data, deadline = self._take_queue()
                view = memoryview(data)
                while view:
                    sent = self.transport.send(view)
                    if sent:
                        view = view[sent:]
                        continue
                    left = None if deadline == math.inf else deadline - time.monotonic()
                    if (left is not None and left <= 0) or \
                            not self.transport.wait_writable(left):
                        self._expire()  # the calls that timed out say so, the others lose
                        self._lose(ConnectionClosed(
                            "write timed out: the server took no more bytes before every call "
                            "that wrote them had timed out"))
                        return
        except OSError as err:
            self._lose(ConnectionClosed(f"write failed: {err}"))
        except Exception as err:  # a bug here must fail the calls, not leave them waiting
            log.exception("sending requests failed")
            self._lose(ConnectionClosed(f"sending requests failed: {err}"))

    # Reading -------------------------------------------------------------------------------

    def _read_replies(self) -> None:
        transport, table, lock = self.transport, self._table, self._lock
        try:
            while table.closed is None:
                data = transport.recv()
                if data is None:
                    deadline = None if self._call_at is not None else table.next_deadline()
                    wait = None if deadline is None else deadline - time.monotonic()
                    if (wait is not None and wait <= 0) or not transport.wait_readable(wait):
                        self._expire()
                    continue
                with lock:
                    outcomes = table.feed(data)
                _resolve(outcomes)
                if len(outcomes) > 1 and self._defer is not None and not self._corked:
                    self._corked = True
                    self._defer(self._uncork)  # runs after the callers just woken
                if self._call_at is None:
                    deadline = table.next_deadline()
                    if deadline is not None and deadline <= time.monotonic():
                        self._expire()
        except OSError as err:
            self._lose(ConnectionClosed(f"read failed: {err}"))
        except Exception as err:  # a bug here must fail the calls, not leave them waiting
            log.exception("reading replies failed")
            self._lose(ConnectionClosed(f"reading replies failed: {err}"))
        self._lose(ConnectionClosed("connection closed"))  # no-op unless still open

    def _expire(self) -> None:
        with self._lock:
            outcomes = self._table.expire(time.monotonic())
        _resolve(outcomes)

    def _arm(self, when: float) -> None:
        assert self._call_at is not None
        if self._timer is not None:
            self._timer.cancel()
        self._timer_at = when
        self._timer = self._call_at(when, self._on_timer)

    def _on_timer(self) -> None:
        self._timer, self._timer_at = None, math.inf
        self._expire()
        deadline = self._table.next_deadline()
        if deadline is not None and self._table.closed is None:
            self._arm(deadline)

    def _lose(self, reason: RPCError) -> None:
        """End the connection: every pending call fails with reason (the first reason wins)."""
        with self._lock:
            outcomes = self._table.fail_all(reason)
            self._queue, self._queued = [], 0
        self.transport.close()
        self._room.set()
        if self._timer is not None:
            self._timer.cancel()
            self._timer, self._timer_at = None, math.inf
        _resolve(outcomes)


def _resolve(outcomes: list[Outcome[Call]]) -> None:
    for call, result, error in outcomes:
        call._resolve(result, error)


@overload
def dial(address: Address, timeout: Optional[float] = ..., *, codec: str = ...,
         call_timeout: Optional[float] = ..., version: int = ..., tls: TLS = ...,
         reconnect: Literal[False] = ...) -> Client: ...


@overload
def dial(address: Address, timeout: Optional[float] = ..., *, codec: str = ...,
         call_timeout: Optional[float] = ..., version: int = ..., tls: TLS = ...,
         reconnect: Union[Literal[True], Backoff]) -> ReconnectingClient: ...


def dial(address: Address, timeout: Optional[float] = DEFAULT_DIAL_TIMEOUT, *,
         codec: str = "json", call_timeout: Optional[float] = DEFAULT_CALL_TIMEOUT,
         version: int = 1, tls: TLS = None,
         reconnect: Union[bool, Backoff] = False) -> Union[Client, ReconnectingClient]:
    """Connect to a server; timeout bounds the connect (and the TLS handshake).

    The client works in the calling code's world: greenlets in a gevent program (patched,
    or dialing from a greenlet), OS threads anywhere else; for asyncio see greenrpc.aio.
    codec "json" speaks Go's net/rpc/jsonrpc, "gob" Go's default net/rpc codec (rpc.ServeConn).
    With codec "json", version=1 is Go's dialect: params is the single argument, sent as
    [params]. version=2 is JSON-RPC 2.0: params is a list (by position), a dict (by name) or
    None (none), and the client can also notify() and send batch()es.
    tls=True speaks TLS and checks the server's certificate against the system's authorities
    and the address's host name; an ssl.SSLContext decides that itself.

    reconnect=True (or a Backoff) returns a ReconnectingClient, which dials again whenever
    its connection is lost, and repeats calls marked idempotent; the first connect still
    happens here and raises if it fails.
    """
    if reconnect is not False:
        backoff = reconnect if isinstance(reconnect, Backoff) else Backoff()
        redial = functools.partial(dial, address, timeout, codec=codec,
                                   call_timeout=call_timeout, version=version, tls=tls)
        return ReconnectingClient(redial, backoff, call_timeout, name=str(address))
    client_codec = new_codec(codec, version)
    context = tls_context(tls)
    runtime = runtimes.current()
    sock = _connect(runtime, address, timeout, "dial")
    if context is not None:
        try:
            sock = runtime.start_tls(sock, context, server_hostname(address), timeout)
        except (OSError, TimeoutError) as err:
            raise ConnectionClosed(f"dial {address}: TLS: {err or 'handshake timed out'}"
                                   ) from None
    return Client(sock, client_codec, call_timeout=call_timeout, runtime=runtime)


def dial_http(address: Address, path: str = goconnect.RPC_PATH,
              timeout: Optional[float] = DEFAULT_DIAL_TIMEOUT, *,
              call_timeout: Optional[float] = DEFAULT_CALL_TIMEOUT) -> Client:
    """Connect to Go's rpc.HandleHTTP (CONNECT to path, then gob), like rpc.DialHTTPPath.

    Raises ProtocolError if the server does not answer "200 Connected to Go RPC", and
    ConnectionClosed if the connection fails; timeout bounds the connect and the handshake.
    """
    runtime = runtimes.current()
    sock = _connect(runtime, address, timeout, "dial-http")
    try:
        sock.settimeout(timeout)
        sock.sendall(goconnect.connect_request(path))
        data = b""
        while (rest := goconnect.read_connect_reply(data)) is None:
            more = sock.recv(4096)
            if not more:
                raise ConnectionClosed(f"dial-http {address}: closed during the handshake")
            data += more
        if rest:  # a net/rpc server speaks only when spoken to
            raise ProtocolError("unexpected bytes after the handshake")
    except ProtocolError as err:
        sock.close()
        raise ProtocolError(f"dial-http {address}: {err}") from None
    except OSError as err:
        sock.close()
        raise ConnectionClosed(f"dial-http {address}: {err}") from None
    except BaseException:
        sock.close()
        raise
    return Client(sock, gob.ClientCodec(), call_timeout=call_timeout, runtime=runtime)


def _connect(runtime: Runtime, address: Address, timeout: Optional[float], verb: str) -> Any:
    """A connected socket of the runtime's kind (TCP with Nagle off, or a unix socket)."""
    family, sockaddr = parse_address(address)
    try:
        sock = runtime.create_connection(sockaddr, family, timeout)
        if family != socket.AF_UNIX:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except OSError as err:
        raise ConnectionClosed(f"{verb} {address}: {err}") from None
    return sock


__all__ = ["Backoff", "Batch", "Call", "Client", "ReconnectingClient", "dial", "dial_http",
           "ServerError"]
