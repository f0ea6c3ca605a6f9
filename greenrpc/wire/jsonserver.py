"""The server side of a JSON stream: every value is read and answered in its own dialect.

How this works (PROTOCOL.md 5.1): an array is a JSON-RPC 2.0 batch, an object whose "jsonrpc"
member is "2.0" follows 2.0 rules, and any other object is Go's net/rpc/jsonrpc. So a Go client
and a 2.0 client can share one connection, and a Go request costs one extra dict lookup.

Values that neither dialect claims depend on the connection. Invalid JSON breaks the framing, so
the connection closes either way, and a bare string or number is no request at all. Go closes
silently in both cases (PROTOCOL.md 2.2) and a 2.0 peer expects an error reply (spec section 5).
Once a connection has sent a 2.0 message (or the broken bytes mention "jsonrpc"), it gets the 2.0
answer: -32700 with id null before the close, or -32600 for a stray value (the connection lives
on). Before that, it is treated as Go's client would be, which never sends either.
"""
from __future__ import annotations

from operator import itemgetter
from typing import Any, Union

from .. import errors
from ..errors import ProtocolError
from ..messages import Batch, Dialect, Request, Response
from ..schema import describe
from . import jsonrpc1, jsonrpc2
from .jsonstream import DEFAULT_MAX_DEPTH, DEFAULT_MAX_MESSAGE_SIZE, JSONStream

Message = Union[Request, Response, Batch]
_GO_JSON = Dialect.GO_JSON
_decode_go = jsonrpc1.decode_request
_encode_go = jsonrpc1.encode_response
_go_members = itemgetter("method", "params", "id")


def decode(value: Any, raw: bytes, max_batch_size: int, v2_fallback: bool) -> Message:
    """Read one JSON value in the dialect it belongs to.

    v2_fallback: a value no dialect claims (a scalar, null) gets a 2.0 Invalid Request response
    instead of Go's treatment. Raises ProtocolError where Go's dialect closes the connection.
    """
    if type(value) is dict:
        if value.get("jsonrpc") == "2.0":
            return jsonrpc2.decode_request(value, raw)
        return _decode_go(value, raw)
    if type(value) is list:
        return jsonrpc2.decode_batch(value, max_batch_size)
    if v2_fallback:
        return jsonrpc2.invalid_request(errors.V2_NOT_OBJECT.format(kind=describe(value)))
    return _decode_go(value, raw)


def encode(response: Union[Response, list[Response]],
           max_batch_reply_size: int = jsonrpc2.DEFAULT_MAX_BATCH_REPLY_SIZE) -> bytes:
    """Answer in the request's dialect; a batch's responses as one array."""
    if type(response) is Response:
        if response.request.dialect is _GO_JSON:
            return _encode_go(response)
        return jsonrpc2.encode_response(response)
    return jsonrpc2.encode_batch(response, max_batch_reply_size)  # type: ignore[arg-type]


class ServerCodec:
    """One JSON connection's requests in both dialects, decided value by value."""

    # One per connection: no __dict__ each.
    __slots__ = ("stream", "max_batch_size", "max_batch_reply_size", "spoke_v2")

    def __init__(self, max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE,
                 max_batch_size: int = jsonrpc2.DEFAULT_MAX_BATCH_SIZE,
                 max_depth: int = DEFAULT_MAX_DEPTH,
                 max_batch_reply_size: int = jsonrpc2.DEFAULT_MAX_BATCH_REPLY_SIZE) -> None:
        self.stream = JSONStream(max_message_size, max_depth)
        self.max_batch_size = max_batch_size
        self.max_batch_reply_size = max_batch_reply_size
        self.spoke_v2 = False  # this connection has sent a 2.0 request or batch

    @property
    def buffered(self) -> int:
        return self.stream.buffered

    def feed(self, data: bytes) -> list[Message]:
        held = self.stream.pieces  # joined only if the stream breaks: joining costs a copy
        try:
            pairs, broken = self.stream.feed(data), None
        except ProtocolError as err:
            pairs, broken = err.completed, err
        out: list[Message] = []
        for value, raw in pairs:
            if type(value) is dict and len(value) == 3:  # Go's client, the hot path
                try:
                    method, params, id = _go_members(value)
                except KeyError:
                    pass  # other members: one of the cases below
                else:
                    if type(method) is str and type(params) is list \
                            and (type(id) is int or type(id) is str):
                        out.append(Request(method, params, id, _GO_JSON))
                        continue
            if type(value) is dict and "jsonrpc" not in value:  # Go's client in other shapes
                try:
                    out.append(_decode_go(value, raw))
                except ProtocolError as err:
                    err.completed = out  # Go stops reading at the first undecodable request
                    raise
                continue
            if type(value) is list or (type(value) is dict and value.get("jsonrpc") == "2.0"):
                self.spoke_v2 = True
            try:
                out.append(decode(value, raw, self.max_batch_size, self.spoke_v2))
            except ProtocolError as err:
                err.completed = out
                raise
        if broken is not None:
            if self.spoke_v2 or b'"jsonrpc"' in b"".join(held) + data:
                out.append(jsonrpc2.parse_error(str(broken)))
            broken.completed = out
            raise broken
        return out

    def encode(self, response: Union[Response, list[Response]]) -> bytes:
        if type(response) is Response and response.request.dialect is _GO_JSON:
            return _encode_go(response)  # inlined: Go's replies are the hot path
        return encode(response, self.max_batch_reply_size)
