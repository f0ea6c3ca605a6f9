"""Client and dial(): many greenlets' calls pipelined over one connection, matched by id."""
from __future__ import annotations

import logging
from typing import Any, Callable, Optional

import gevent
from gevent.event import AsyncResult

from .errors import CallTimeout, ConnectionClosed, ProtocolError, RPCError, ServerError
from .schema import TypeMismatch, spec_of
from .transport import Address, Transport, connect
from .wire import gob, goconnect, jsonrpc1

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
        id = self._next_id
        self._next_id += 1
        data = self.codec.encode(method, params, id, result_type, params_type)
        call = Call(self, id, method, None if self.codec.decodes_results else result_type)
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
        self._fail_all(reason)

    def _fail_all(self, reason: RPCError) -> None:
        if self._closed is None:
            self._closed = reason
        self.transport.close()
        pending, self._pending = self._pending, {}
        for call in pending.values():
            call._resolve(None, reason)


_CODECS: dict[str, Callable[[], Any]] = {"json": jsonrpc1.ClientCodec, "gob": gob.ClientCodec}


def dial(address: Address, timeout: Optional[float] = DEFAULT_DIAL_TIMEOUT, *,
         codec: str = "json", call_timeout: Optional[float] = DEFAULT_CALL_TIMEOUT) -> Client:
    """Connect to a server; timeout bounds the connect.

    codec "json" speaks Go's net/rpc/jsonrpc, "gob" Go's default net/rpc codec (rpc.ServeConn).
    """
    if codec not in _CODECS:
        raise ValueError(f"unknown codec {codec!r}: use one of {sorted(_CODECS)}")
    try:
        sock = connect(address, timeout)
    except OSError as err:
        raise ConnectionClosed(f"dial {address}: {err}") from None
    return Client(sock, _CODECS[codec](), call_timeout=call_timeout)


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


__all__ = ["Call", "Client", "dial", "dial_http", "ServerError"]
