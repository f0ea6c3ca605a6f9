"""greenrpc.aio: the client for asyncio programs (and uvloop): the same calls, awaited.

How this works: an asyncio Protocol feeds what arrives to the same sans-IO CallTable the
blocking client uses, and each call's Future is resolved with its outcome; nothing here knows
a wire format. Requests are written with transport.write, which never blocks, so concurrent
calls (asyncio.gather) go out back to back on the one connection and their replies come back
in any order. One timer, set to the earliest deadline, fails calls that ran out of time,
awaited or not. A caller waits (until its deadline) only for room when more than
max_pending_write bytes are still unsent; unsent bytes that outlive every call that wrote
them close the connection.
"""
from __future__ import annotations

import asyncio
import math
import time
from typing import Any, Generator, Literal, Optional, Union, cast, overload

from .aioreconnect import AsyncReconnectingClient
from .calls import DEFAULT_CALL_TIMEOUT, CallTable, Outcome, convert, timed_out
from .errors import CallTimeout, ConnectionClosed, ProtocolError, RPCError
from .options import TLS, Address, new_codec, parse_address, server_hostname, tls_context
from .reconnect import Backoff
from .wire import ClientCodec, gob, goconnect, jsonrpc2

DEFAULT_DIAL_TIMEOUT = 10.0
DEFAULT_MAX_PENDING_WRITE = 4 << 20
_UNSET: Any = object()


class AsyncCall:
    """A call in progress: ``await call`` (or ``await call.get(timeout)``) gives its result."""

    __slots__ = ("client", "id", "method", "result_type", "timeout", "deadline", "future")

    def __init__(self, client: AsyncClient, method: str, result_type: Any,
                 timeout: Optional[float], deadline: Optional[float]) -> None:
        self.client = client
        self.id = -1
        self.method = method
        self.result_type = result_type
        self.timeout = timeout
        self.deadline = deadline
        self.future: asyncio.Future[Any] = client._loop.create_future()

    def ready(self) -> bool:
        return self.future.done()

    def __await__(self) -> Generator[Any, None, Any]:
        return self.get().__await__()

    async def get(self, timeout: Any = _UNSET) -> Any:
        """The result; raises ServerError, ConnectionClosed or CallTimeout.

        By default this waits until the call's own deadline; timeout=N waits N seconds from
        now instead (keeping the call alive that long), None without bound.
        """
        future = self.future
        if not future.done():
            client = self.client
            client._check_loop()
            scope = None
            try:
                if timeout is _UNSET:
                    await future
                else:
                    client._extend(self, None if timeout is None
                                   else time.monotonic() + timeout)
                    async with asyncio.timeout(timeout) as scope:
                        await future
            except asyncio.CancelledError:
                client._forget(self)  # whoever cancelled us no longer wants the reply
                raise
            except BaseException:
                if scope is not None and scope.expired():
                    client._forget(self)
                    raise timed_out(self.method, timeout) from None
                if not future.done():
                    raise
        error = future.exception()
        if error is not None:
            raise error
        return convert(future.result(), self.result_type)

    def _resolve(self, result: Any, error: Optional[BaseException]) -> None:
        future = self.future
        if future.done():
            return
        if error is None:
            future.set_result(result)
        else:
            future.set_exception(error)
            future.exception()  # marks it retrieved: a call nobody awaits is not an error


class AsyncBatch:
    """Calls and notifications sent as one JSON-RPC 2.0 batch: ``async with client.batch()``."""

    def __init__(self, client: AsyncClient) -> None:
        self.client = client
        self.entries: list[tuple[str, Any, Optional[AsyncCall]]] = []
        self.sent = False

    def call(self, method: str, params: Any = None, *, result_type: Any = None) -> AsyncCall:
        jsonrpc2.params_text(params)  # refuse bad params now, not at send time
        call = AsyncCall(self.client, method, result_type, self.client.call_timeout, None)
        self.entries.append((method, params, call))
        return call

    def notify(self, method: str, params: Any = None) -> None:
        jsonrpc2.params_text(params)
        self.entries.append((method, params, None))

    async def send(self) -> None:
        """Send the batch (once); an empty batch sends nothing, as the spec forbids []."""
        if self.sent:
            raise RPCError("this batch was sent already")
        self.sent = True
        if self.entries:
            await self.client._send_batch(self.entries)

    async def __aenter__(self) -> AsyncBatch:
        return self

    async def __aexit__(self, kind: Any, *exc: Any) -> None:
        if kind is None:
            await self.send()
            return
        self.sent = True
        for _, _, call in self.entries:
            if call is not None:
                call._resolve(None, RPCError("the batch was not sent: its block raised"))


class AsyncClient(asyncio.Protocol):
    """An RPC client on one connection, for the tasks of one event loop."""

    def __init__(self, codec: ClientCodec, call_timeout: Optional[float] = DEFAULT_CALL_TIMEOUT,
                 max_pending_write: int = DEFAULT_MAX_PENDING_WRITE) -> None:
        self._loop = asyncio.get_running_loop()
        self.codec = codec
        self.call_timeout = call_timeout
        self.max_pending_write = max_pending_write
        self.transport: Optional[asyncio.Transport] = None
        self._table: CallTable[AsyncCall] = CallTable(codec)
        self._timer: Optional[asyncio.TimerHandle] = None
        self._room: Optional[asyncio.Future[None]] = None  # while writing is paused
        self._paused = False
        self._unsent_deadline = -math.inf  # the latest deadline of a call with bytes unsent
        self._outbox: list[bytes] = []      # requests of this turn of the loop, not yet written
        self._outbox_deadline = -math.inf
        self._corked = False
        self._closed_event = asyncio.Event()
        self._handshake: Optional[asyncio.Future[None]] = None  # Go's CONNECT, for dial_http
        self._head = b""

    @property
    def closed(self) -> bool:
        return self._table.closed is not None

    @property
    def pending(self) -> int:
        """How many calls wait for their reply."""
        return len(self._table.pending)

    async def call(self, method: str, params: Any = None, *, timeout: Any = _UNSET,
                   result_type: Any = None, params_type: Any = None) -> Any:
        """Call method and return its result (raises ServerError with the server's text)."""
        if self._paused:
            return await (await self.go(method, params, result_type=result_type,
                                        params_type=params_type, timeout=timeout)).get()
        # What go() then get() do, in one coroutine: this is the hot path.
        self._check_loop()
        call = self._start(method, params, result_type, params_type,
                           self.call_timeout if timeout is _UNSET else timeout)
        try:
            result = await call.future
        except asyncio.CancelledError:
            self._forget(call)  # whoever cancelled us no longer wants the reply
            raise
        return convert(result, call.result_type)

    async def go(self, method: str, params: Any = None, *, result_type: Any = None,
                 params_type: Any = None, timeout: Any = _UNSET) -> AsyncCall:
        """Send a call and return it unawaited; it fails with CallTimeout after timeout
        seconds (default: call_timeout; None: no bound) whether or not it is awaited."""
        self._check_loop()
        if timeout is _UNSET:
            timeout = self.call_timeout
        if self._paused:
            await self._wait_for_room(None if timeout is None else time.monotonic() + timeout,
                                      method, timeout)
        return self._start(method, params, result_type, params_type, timeout)

    def _start(self, method: str, params: Any, result_type: Any, params_type: Any,
               timeout: Optional[float]) -> AsyncCall:
        deadline = None if timeout is None else time.monotonic() + timeout
        call = AsyncCall(self, method, None if self.codec.decodes_results else result_type,
                         timeout, deadline)
        self._write(self._table.start(call, params, result_type, params_type, deadline),
                    deadline)
        return call

    async def notify(self, method: str, params: Any = None) -> None:
        """Send a JSON-RPC 2.0 notification: the server runs it and never answers."""
        self._check_loop()
        deadline = self._deadline()
        if self._paused:
            await self._wait_for_room(deadline, method, self.call_timeout)
        self._write(self._table.encode_notification(method, params), deadline)

    def batch(self) -> AsyncBatch:
        """Collect calls and notifications to send as one JSON-RPC 2.0 batch when the
        ``async with`` block ends; then ``await`` each call."""
        self._table.v2_codec("batches")
        return AsyncBatch(self)

    async def _send_batch(self, entries: list[tuple[str, Any, Optional[AsyncCall]]]) -> None:
        self._check_loop()
        deadline = self._deadline()
        try:
            if self._paused:
                await self._wait_for_room(deadline, "batch", self.call_timeout)
            self._write(self._table.start_batch(entries, deadline), deadline)
        except RPCError as err:  # not sent: its calls fail with the reason, not wait for it
            for _, _, call in entries:
                if call is not None:
                    call._resolve(None, err)
            raise

    def close(self) -> None:
        """Close the connection; pending calls fail with ConnectionClosed."""
        self._lose(ConnectionClosed("client closed"))

    async def wait_closed(self) -> None:
        await self._closed_event.wait()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: Any) -> None:
        self.close()
        await self.wait_closed()

    def _deadline(self) -> Optional[float]:
        timeout = self.call_timeout
        return None if timeout is None else time.monotonic() + timeout

    def _check_loop(self) -> None:
        if asyncio.get_running_loop() is not self._loop:
            raise RuntimeError("this greenrpc AsyncClient belongs to another event loop: "
                               "dial one in each loop")

    def _extend(self, call: AsyncCall, deadline: Optional[float]) -> None:
        if call.deadline is not None and (deadline is None or deadline > call.deadline):
            self._table.extend(call, deadline)

    def _forget(self, call: AsyncCall) -> None:
        if self._table.forget(call.id) is not None:
            call._resolve(None, timed_out(call.method, call.timeout))

    # Writing -------------------------------------------------------------------------------

    def _write(self, data: bytes, deadline: Optional[float]) -> None:
        # The tasks that one read of replies wakes write their next requests in one turn of
        # the loop; those go out with one write at the end of it (the write is "corked" until
        # then), not one system call each. Any other request is written at once.
        self._outbox.append(data)
        self._outbox_deadline = max(self._outbox_deadline,
                                    math.inf if deadline is None else deadline)
        if not self._corked:
            self._flush()

    def _uncork(self) -> None:
        self._corked = False
        self._flush()

    def _flush(self) -> None:
        outbox, deadline = self._outbox, self._outbox_deadline
        self._outbox, self._outbox_deadline = [], -math.inf
        transport = self.transport
        if not outbox or transport is None or self._table.closed is not None:
            return
        transport.write(outbox[0] if len(outbox) == 1 else b"".join(outbox))
        if transport.get_write_buffer_size():
            self._unsent_deadline = max(self._unsent_deadline, deadline)
        else:
            self._unsent_deadline = -math.inf
        self._schedule()

    async def _wait_for_room(self, deadline: Optional[float], method: str,
                             timeout: Optional[float]) -> None:
        while self._paused and self._table.closed is None:
            if self._room is None:
                self._room = self._loop.create_future()
            try:
                async with asyncio.timeout_at(None if deadline is None
                                              else self._loop.time() + deadline - time.monotonic()):
                    await asyncio.shield(self._room)
            except TimeoutError:
                raise CallTimeout(f"{method}: not sent within {timeout}s: the server is not "
                                  "reading what it was sent") from None

    def pause_writing(self) -> None:  # more than max_pending_write bytes are unsent
        self._paused = True

    def resume_writing(self) -> None:
        self._paused = False
        if self._room is not None:
            self._room.set_result(None)
            self._room = None

    # Reading -------------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # A stream transport (uvloop's are not asyncio.Transport subclasses, hence the cast).
        self.transport = stream = cast(asyncio.Transport, transport)
        stream.set_write_buffer_limits(high=self.max_pending_write)

    def data_received(self, data: bytes) -> None:
        if self._handshake is not None:
            self._read_handshake(data)
            return
        outcomes = self._table.feed(data)
        _resolve(outcomes)
        if len(outcomes) > 1 and not self._corked:
            self._corked = True
            self._loop.call_soon(self._uncork)  # after the tasks just woken
        self._schedule()
        if self._table.closed is not None:
            self._lose(self._table.closed)

    def eof_received(self) -> bool:
        if self._handshake is not None and not self._handshake.done():
            self._handshake.set_exception(ConnectionClosed("closed during the handshake"))
        _resolve(self._table.feed(b""))
        return False  # close our side too

    def connection_lost(self, exc: Optional[Exception]) -> None:
        if self._handshake is not None and not self._handshake.done():
            self._handshake.set_exception(ConnectionClosed(f"closed during the handshake: {exc}"))
        reason = ConnectionClosed(f"connection lost: {exc}" if exc else "connection closed")
        _resolve(self._table.fail_all(reason))
        self.resume_writing()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._closed_event.set()

    def _lose(self, reason: RPCError) -> None:
        _resolve(self._table.fail_all(reason))
        transport = self.transport
        if transport is not None:  # close() would first wait to send what is still unsent
            transport.abort() if transport.get_write_buffer_size() else transport.close()

    def _read_handshake(self, data: bytes) -> None:
        assert self._handshake is not None
        self._head += data
        try:
            rest = goconnect.read_connect_reply(self._head)
            if rest:  # a net/rpc server speaks only when spoken to
                raise ProtocolError("unexpected bytes after the handshake")
        except ProtocolError as err:
            self._handshake.set_exception(err)
            return
        if rest is not None:
            self._handshake.set_result(None)
            self._handshake = None

    # Deadlines -----------------------------------------------------------------------------

    def _schedule(self) -> None:
        """Keep the one timer at the earliest deadline the table knows."""
        deadline = self._table.next_deadline()
        timer = self._timer
        if deadline is None:
            return
        when = self._loop.time() + deadline - time.monotonic()
        if timer is not None:
            if timer.when() <= when:
                return
            timer.cancel()
        self._timer = self._loop.call_at(when, self._expire)

    def _expire(self) -> None:
        self._timer = None
        now = time.monotonic()
        _resolve(self._table.expire(now))
        transport = self.transport
        if transport is not None and transport.get_write_buffer_size() and \
                self._unsent_deadline <= now:
            self._lose(ConnectionClosed("write timed out: the server took no more bytes before "
                                        "every call that wrote them had timed out"))
            return
        self._schedule()


def _resolve(outcomes: list[Outcome[AsyncCall]]) -> None:
    for call, result, error in outcomes:
        call._resolve(result, error)


@overload
async def dial(address: Address, timeout: Optional[float] = ..., *, codec: str = ...,
               call_timeout: Optional[float] = ..., version: int = ..., tls: TLS = ...,
               reconnect: Literal[False] = ...) -> AsyncClient: ...


@overload
async def dial(address: Address, timeout: Optional[float] = ..., *, codec: str = ...,
               call_timeout: Optional[float] = ..., version: int = ..., tls: TLS = ...,
               reconnect: Union[Literal[True], Backoff]) -> AsyncReconnectingClient: ...


async def dial(address: Address, timeout: Optional[float] = DEFAULT_DIAL_TIMEOUT, *,
               codec: str = "json", call_timeout: Optional[float] = DEFAULT_CALL_TIMEOUT,
               version: int = 1, tls: TLS = None, reconnect: Union[bool, Backoff] = False
               ) -> Union[AsyncClient, AsyncReconnectingClient]:
    """Connect to a server: greenrpc.dial's options, for asyncio (see greenrpc.dial)."""
    if reconnect is not False:
        backoff = reconnect if isinstance(reconnect, Backoff) else Backoff()

        async def redial() -> AsyncClient:
            return await dial(address, timeout, codec=codec, call_timeout=call_timeout,
                              version=version, tls=tls)
        client = AsyncReconnectingClient(redial, backoff, call_timeout, name=str(address))
        await client.current(timeout)
        return client
    client_codec = new_codec(codec, version)
    context = tls_context(tls)
    return await _open(address, timeout, "dial", AsyncClient(client_codec, call_timeout),
                       context)


async def dial_http(address: Address, path: str = goconnect.RPC_PATH,
                    timeout: Optional[float] = DEFAULT_DIAL_TIMEOUT, *,
                    call_timeout: Optional[float] = DEFAULT_CALL_TIMEOUT) -> AsyncClient:
    """Connect to Go's rpc.HandleHTTP (CONNECT to path, then gob), like rpc.DialHTTPPath."""
    client = AsyncClient(gob.ClientCodec(), call_timeout)
    client._handshake = asyncio.get_running_loop().create_future()
    return await _open(address, timeout, "dial-http", client, None, path)


async def _open(address: Address, timeout: Optional[float], verb: str, client: AsyncClient,
                context: Any, path: Optional[str] = None) -> AsyncClient:
    loop = asyncio.get_running_loop()
    family, sockaddr = parse_address(address)
    try:
        async with asyncio.timeout(timeout):
            if isinstance(sockaddr, str):
                await loop.create_unix_connection(lambda: client, sockaddr, ssl=context,
                                                  server_hostname=None if context is None
                                                  else "")
            else:
                await loop.create_connection(
                    lambda: client, sockaddr[0], sockaddr[1], ssl=context,
                    server_hostname=None if context is None else server_hostname(address))
            if client._handshake is not None:
                assert client.transport is not None
                client.transport.write(goconnect.connect_request(path or goconnect.RPC_PATH))
                await client._handshake
    except ProtocolError as err:
        client.close()
        raise ProtocolError(f"{verb} {address}: {err}") from None
    except (OSError, TimeoutError, ConnectionClosed) as err:
        client.close()
        raise ConnectionClosed(f"{verb} {address}: {err or 'timed out'}") from None
    return client


__all__ = ["AsyncBatch", "AsyncCall", "AsyncClient", "AsyncReconnectingClient", "Backoff",
           "CallTimeout", "ConnectionClosed", "RPCError", "dial", "dial_http"]
