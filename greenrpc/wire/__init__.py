"""Bytes to messages and back: one codec object per connection, pure, with no I/O.

A server codec's ``feed`` returns what the bytes completed, as Go's ServerCodec reads a request:
the header names a method, the codec looks it up (``Lookup``) and binds the arguments to its
parameters, so each ``Request`` it returns is ready to run. A ``Response`` is an answer the codec
produced itself (a request it could read but not run: an unknown method, bad params, an invalid
request), and a ``Batch`` (JSON-RPC 2.0) holds both kinds and is answered as one list. ``encode``
turns a Response, or a batch's list of them, into the bytes to send: b"" when nothing may be sent
(a notification). A client codec mirrors it.
``feed(b"")`` means end of stream. Both raise ``ProtocolError`` when the stream cannot go on.
Nothing in this package imports gevent or touches a socket.
"""
from __future__ import annotations

from typing import Any, Callable, Protocol, Union

from ..messages import Batch, Reply, Request, Response, Target

Incoming = Union[Request, Response, Batch]
Lookup = Callable[[str], Target]
"""The target registered under a method name; raises ServerError with Go's text if none is."""


class ServerCodec(Protocol):
    @property
    def buffered(self) -> int: ...  # bytes of a message that has started but not completed

    @property
    def held(self) -> int: ...  # bytes kept between reads: buffered, and state such as gob's types

    def feed(self, data: bytes) -> list[Incoming]: ...

    def encode(self, response: Union[Response, list[Response]]) -> bytes: ...


class ClientCodec(Protocol):
    # True when feed() returns results already decoded into each call's result_type (gob,
    # whose wire types must be checked while decoding); False when the Client converts them.
    decodes_results: bool

    def encode(self, method: str, params: Any, id: int, result_type: Any = None,
               params_type: Any = None) -> bytes: ...  # types are annotations, for gob

    def feed(self, data: bytes) -> list[Reply]: ...


def detect_protocol(prefix: bytes) -> str:
    """Name the protocol a connection speaks from its first two bytes (or more).

    "json": Go's jsonrpc value stream (and JSON-RPC 2.0 on the same stream); "gob": Go's default
    net/rpc codec; "http": an HTTP request (Go's CONNECT handshake before gob). A gob stream
    opens with a message length and a type id, and multi-byte uints start at 0xf8, so one of
    the first two bytes is non-ASCII; JSON and HTTP start with ASCII, HTTP with a method name.
    With one byte only, gob cannot be ruled out: pass two when the peer has sent them.
    """
    first = prefix[0]
    if first >= 0x80 or (len(prefix) > 1 and prefix[1] >= 0x80):
        return "gob"
    if 0x41 <= first <= 0x5A or prefix.startswith(b"connect "):  # A-Z: no JSON starts so
        return "http"
    return "json"
