"""Client and dial(): many greenlets' calls pipelined over one connection, matched by id."""
from __future__ import annotations

import functools
import logging
import socket
import ssl
from typing import Any, Callable, Literal, Optional, Union, overload

import gevent
from gevent.event import AsyncResult

from .errors import CallTimeout, ConnectionClosed, ProtocolError, RPCError, ServerError
from .messages import NO_ID
from .reconnect import Backoff, ReconnectingClient
from .schema import TypeMismatch, spec_of
from .transport import Address, Transport, connect, parse_address, start_tls
from .wire import gob, goconnect, jsonrpc1, jsonrpc2

log = logging.getLogger("greenrpc")

DEFAULT_DIAL_TIMEOUT = 10.0
DEFAULT_CALL_TIMEOUT = 60.0
_UNSET: Any = object()


class Call:
    """A call in progress: get() waits for its result, or raises what went wrong."""

    __slots__ = ("client", "id", "method", "result_type", "_result")

    def __init__(self, client: Client, id: int, method: str, result_type: Any) -> None:
        self.client = client
        self.id = id
        self.method = method
        self.result_type = result_type
        self._result: AsyncResult[Any] = AsyncResult()

    def ready(self) -> bool:
        return bool(self._result.ready())

    def get(self, timeout: Any = _UNSET) -> Any:
        """Return the result; raise ServerError, ConnectionClosed or CallTimeout.

        timeout defaults to the client's call_timeout; None waits without bound.
        """
        if timeout is _UNSET:
            timeout = self.client.call_timeout
        try:
            value = self._result.get(timeout=timeout)
        except gevent.Timeout:
            self.client._forget(self.id)
            raise CallTimeout(f"{self.method}: no reply within {timeout}s") from None
        if self.result_type is None:
            return value
        try:
            return spec_of(self.result_type).convert(value)
        except TypeMismatch as err:
            raise RPCError(f"reading body {err}") from None

    def _resolve(self, result: Any, error: Optional[BaseException]) -> None:
        if error is None:
            self._result.set(result)
        else:
            self._result.set_exception(error)


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
        call = self.client._new_call(method, result_type)
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
    """An RPC client on one connection, safe to share between greenlets.

    Requests are written whole (concurrent callers' requests share sends); one reader greenlet
    matches replies to calls by id; if the connection is lost every pending call fails at once.
    """

    def __init__(self, sock: Any, codec: Any = None,
                 call_timeout: Optional[float] = DEFAULT_CALL_TIMEOUT) -> None:
        self.codec = codec if codec is not None else jsonrpc1.ClientCodec()
        self.call_timeout = call_timeout
        self.transport = Transport(sock)
        self._pending: dict[int, Call] = {}
        self._next_id = 0  # Go's client numbers calls from 0 (PROTOCOL.md 1.3)
        self._closed: Optional[RPCError] = None
        self._reader = gevent.spawn(self._read_replies)

    @property
    def closed(self) -> bool:
        return self._closed is not None

    def go(self, method: str, params: Any = None, *, result_type: Any = None,
           params_type: Any = None) -> Call:
        """Send a call and return at once; Call.get() waits for the result.

        params_type names the Go type of params for codecs that send types (gob), where the
        value alone does not say it (e.g. greenrpc.gotypes.Uint64, list[str]).
        """
        if self._closed is not None:
            raise self._closed
        call = self._new_call(method, None if self.codec.decodes_results else result_type)
        id = call.id
        data = self.codec.encode(method, params, id, result_type, params_type)
        self._pending[id] = call
        try:
            self.transport.write(data)
        except ConnectionClosed as err:
            self._fail_all(err)
        return call

    def call(self, method: str, params: Any = None, *, timeout: Any = _UNSET,
             result_type: Any = None, params_type: Any = None) -> Any:
        """Call method and wait for its result (raises ServerError with the server's text)."""
        return self.go(method, params, result_type=result_type, params_type=params_type) \
            .get(timeout)

    def notify(self, method: str, params: Any = None) -> None:
        """Send a JSON-RPC 2.0 notification: the server runs it and never answers."""
        self._write(self._v2_codec("notifications").encode_notification(method, params))

    def batch(self) -> Batch:
        """Collect calls and notifications to send as one JSON-RPC 2.0 batch.

        ``with client.batch() as batch: product = batch.call(...)`` sends when the block ends;
        then ``product.get()`` waits for that call's result as for ``go()``.
        """
        self._v2_codec("batches")
        return Batch(self)

    def _v2_codec(self, feature: str) -> jsonrpc2.ClientCodec:
        if not isinstance(self.codec, jsonrpc2.ClientCodec):
            raise RPCError(f"{feature} need JSON-RPC 2.0: dial(address, version=2)")
        return self.codec

    def _write(self, data: bytes) -> None:
        if self._closed is not None:
            raise self._closed
        try:
            self.transport.write(data)
        except ConnectionClosed as err:
            self._fail_all(err)
            raise

    def _send_batch(self, entries: list[tuple[str, Any, Optional[Call]]]) -> None:
        if self._closed is not None:
            raise self._closed
        calls = [(method, params, call.id if call is not None else NO_ID)
                 for method, params, call in entries]
        data = self._v2_codec("batches").encode_batch(calls)
        for _, _, call in entries:
            if call is not None:
                self._pending[call.id] = call
        try:
            self.transport.write(data)
        except ConnectionClosed as err:
            self._fail_all(err)

    def _new_call(self, method: str, result_type: Any) -> Call:
        id = self._next_id
        self._next_id += 1
        return Call(self, id, method, result_type)

    def close(self) -> None:
        """Close the connection; pending calls fail with ConnectionClosed."""
        self._fail_all(ConnectionClosed("client closed"))
        self._reader.kill(block=False)

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def _forget(self, id: int) -> None:
        self._pending.pop(id, None)  # a late reply for it is dropped, as Go drops unknown seqs

    def _read_replies(self) -> None:
        reason: RPCError = ConnectionClosed("connection closed by the server")
        try:
            while True:
                data = self.transport.recv()
                replies = self.codec.feed(data)
                pending = self._pending
                for reply in replies:
                    call = pending.pop(reply.id, None)
                    if call is not None:
                        call._resolve(reply.result, reply.error)
                if not data:
                    break
        except ProtocolError as err:
            for reply in err.completed:  # replies that arrived whole before the break
                call = self._pending.pop(reply.id, None)
                if call is not None:
                    call._resolve(reply.result, reply.error)
            reason = ConnectionClosed(f"bad reply from the server: {err}")
        except ConnectionClosed as err:
            reason = err
        except TimeoutError:
            pass
        except Exception as err:  # a bug here must fail the calls, not leave them waiting
            log.exception("reading replies failed")
            reason = ConnectionClosed(f"reading replies failed: {err}")
        self._fail_all(reason)

    def _fail_all(self, reason: RPCError) -> None:
        if self._closed is None:
            self._closed = reason
        self.transport.close()
        pending, self._pending = self._pending, {}
        for call in pending.values():
            call._resolve(None, reason)


_CODECS: dict[str, Callable[[], Any]] = {"json": jsonrpc1.ClientCodec, "gob": gob.ClientCodec}


@overload
def dial(address: Address, timeout: Optional[float] = ..., *, codec: str = ...,
         call_timeout: Optional[float] = ..., version: int = ...,
         tls: Union[None, bool, ssl.SSLContext] = ...,
         reconnect: Literal[False] = ...) -> Client: ...


@overload
def dial(address: Address, timeout: Optional[float] = ..., *, codec: str = ...,
         call_timeout: Optional[float] = ..., version: int = ...,
         tls: Union[None, bool, ssl.SSLContext] = ...,
         reconnect: Union[Literal[True], Backoff]) -> ReconnectingClient: ...


def dial(address: Address, timeout: Optional[float] = DEFAULT_DIAL_TIMEOUT, *,
         codec: str = "json", call_timeout: Optional[float] = DEFAULT_CALL_TIMEOUT,
         version: int = 1, tls: Union[None, bool, ssl.SSLContext] = None,
         reconnect: Union[bool, Backoff] = False) -> Union[Client, ReconnectingClient]:
    """Connect to a server; timeout bounds the connect (and the TLS handshake).

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
    if codec not in _CODECS:
        raise ValueError(f"unknown codec {codec!r}: use one of {sorted(_CODECS)}")
    if version not in (1, 2) or (version == 2 and codec != "json"):
        raise ValueError(f"version must be 1 (Go's dialect) or 2 (JSON-RPC 2.0, codec 'json'), "
                         f"not {version!r} with codec {codec!r}")
    try:
        sock = connect(address, timeout)
    except OSError as err:
        raise ConnectionClosed(f"dial {address}: {err}") from None
    if tls is not None and tls is not False:
        context = ssl.create_default_context() if tls is True else tls
        family, sockaddr = parse_address(address)
        host = None if family == socket.AF_UNIX else sockaddr[0]
        try:
            sock = start_tls(sock, context, timeout, server_side=False, server_hostname=host)
        except (OSError, TimeoutError) as err:
            raise ConnectionClosed(f"dial {address}: TLS: {err or 'handshake timed out'}"
                                   ) from None
    return Client(sock, jsonrpc2.ClientCodec() if version == 2 else _CODECS[codec](),
                  call_timeout=call_timeout)


def dial_http(address: Address, path: str = goconnect.RPC_PATH,
              timeout: Optional[float] = DEFAULT_DIAL_TIMEOUT, *,
              call_timeout: Optional[float] = DEFAULT_CALL_TIMEOUT) -> Client:
    """Connect to Go's rpc.HandleHTTP (CONNECT to path, then gob), like rpc.DialHTTPPath.

    Raises ProtocolError if the server does not answer "200 Connected to Go RPC", and
    ConnectionClosed if the connection fails; timeout bounds the connect and the handshake.
    """
    try:
        sock = connect(address, timeout)
    except OSError as err:
        raise ConnectionClosed(f"dial-http {address}: {err}") from None
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
        sock.settimeout(None)
    except ProtocolError as err:
        sock.close()
        raise ProtocolError(f"dial-http {address}: {err}") from None
    except OSError as err:
        sock.close()
        raise ConnectionClosed(f"dial-http {address}: {err}") from None
    except BaseException:
        sock.close()
        raise
    return Client(sock, gob.ClientCodec(), call_timeout=call_timeout)


__all__ = ["Backoff", "Batch", "Call", "Client", "ReconnectingClient", "dial", "dial_http",
           "ServerError"]
