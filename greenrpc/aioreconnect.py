"""The asyncio client that reconnects with backoff, repeating only calls marked safe to repeat.

The same rules as greenrpc.ReconnectingClient (see reconnect.py), decided by the same Redial;
only the dialing and the waiting are awaited here.
"""
from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any, Awaitable, Callable, Optional

from .errors import ConnectionClosed, ProtocolError
from .reconnect import Backoff, Redial

if TYPE_CHECKING:
    from .aio import AsyncBatch, AsyncCall, AsyncClient

_UNSET: Any = object()


class AsyncReconnectingClient:
    """An AsyncClient that dials again when its connection is lost (aio.dial(reconnect=))."""

    def __init__(self, connect: Callable[[], Awaitable[AsyncClient]],
                 backoff: Optional[Backoff] = None, call_timeout: Optional[float] = None,
                 name: str = "") -> None:
        self.connect = connect
        self.backoff = backoff = backoff if backoff is not None else Backoff()
        self.call_timeout = call_timeout
        self.name = name
        self.redial = Redial(backoff, name)
        self._dialing = asyncio.Lock()
        self._client: Optional[AsyncClient] = None
        self._closed = False

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def connections(self) -> int:
        return self.redial.connections

    @property
    def repeats(self) -> int:
        return self.redial.repeats

    async def current(self, timeout: Optional[float] = None) -> AsyncClient:
        """The connected AsyncClient, dialing again (with backoff) for up to timeout seconds."""
        client = self._client
        if client is not None and not client.closed:
            return client
        deadline = None if timeout is None else time.monotonic() + timeout
        async with self._dialing:  # one task dials; the others find its connection afterwards
            while True:
                if self._closed:
                    raise ConnectionClosed("client closed")
                client = self._client
                if client is not None and not client.closed:
                    return client
                wait = self.redial.wait_before_attempt(deadline, timeout)
                if wait > 0:
                    await asyncio.sleep(wait)
                try:
                    client = await self.connect()
                except (ConnectionClosed, ProtocolError) as err:
                    if self._client is None:
                        raise  # the first connect fails at once, as dial's does
                    self.redial.failed(err)
                    continue
                self.redial.connected()
                self._client = client

    async def go(self, method: str, params: Any = None, *, result_type: Any = None,
                 params_type: Any = None, timeout: Any = _UNSET) -> AsyncCall:
        """Send a call on the current connection (reconnecting first if it is down)."""
        if timeout is _UNSET:
            timeout = self.call_timeout
        deadline = None if timeout is None else time.monotonic() + timeout
        client = await self.current(timeout)
        left = None if deadline is None else max(0.0, deadline - time.monotonic())
        return await client.go(method, params, result_type=result_type,
                               params_type=params_type, timeout=left)

    async def call(self, method: str, params: Any = None, *, timeout: Any = _UNSET,
                   result_type: Any = None, params_type: Any = None, idempotent: bool = False,
                   retries: Optional[int] = None) -> Any:
        """Call method; repeated on a new connection only if idempotent (see Client.call)."""
        if timeout is _UNSET:
            timeout = self.call_timeout
        attempts = self.redial.attempts(idempotent, retries)
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            attempts -= 1
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            try:
                call = await self.go(method, params, result_type=result_type,
                                     params_type=params_type, timeout=left)
                return await call.get()
            except ConnectionClosed as err:
                if not self.redial.may_repeat(method, err, attempts, self._closed, deadline):
                    raise

    async def notify(self, method: str, params: Any = None) -> None:
        """Send a JSON-RPC 2.0 notification on the current connection (never repeated)."""
        await (await self.current(self.call_timeout)).notify(method, params)

    async def batch(self) -> AsyncBatch:
        """A JSON-RPC 2.0 batch on the current connection (never repeated)."""
        return (await self.current(self.call_timeout)).batch()

    def close(self) -> None:
        """Close the connection and stop reconnecting; pending calls fail with ConnectionClosed."""
        self._closed = True
        if self._client is not None:
            self._client.close()

    async def wait_closed(self) -> None:
        if self._client is not None:
            await self._client.wait_closed()

    async def __aenter__(self) -> AsyncReconnectingClient:
        return self

    async def __aexit__(self, *exc: Any) -> None:
        self.close()
        await self.wait_closed()

