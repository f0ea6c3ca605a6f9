"""Bytes to messages and back: one codec object per connection, pure, with no I/O.

A server codec's ``feed`` returns what the bytes completed: each ``Request`` goes to the registry,
and a ``Response`` is an immediate answer the codec produced itself (a request it could read but
not accept). ``encode`` turns a Response into the bytes to send. A client codec mirrors it.
``feed(b"")`` means end of stream. Both raise ``ProtocolError`` when the stream cannot go on.
Nothing in this package imports gevent or touches a socket.
"""
from __future__ import annotations

from typing import Any, Protocol, Union

from ..messages import Reply, Request, Response

Incoming = Union[Request, Response]


class ServerCodec(Protocol):
    @property
    def buffered(self) -> int: ...  # bytes of a message that has started but not completed

    def feed(self, data: bytes) -> list[Incoming]: ...

    def encode(self, response: Response) -> bytes: ...


class ClientCodec(Protocol):
    def encode(self, method: str, params: Any, id: int) -> bytes: ...

    def feed(self, data: bytes) -> list[Reply]: ...


def detect_protocol(prefix: bytes) -> str:
    """Name the protocol a connection speaks from its first bytes.

    "json" is Go's jsonrpc value stream (and JSON-RPC 2.0 on the same stream).
    """
    return "json"
