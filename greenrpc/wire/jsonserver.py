"""The server codec of a JSON stream: every value is read and answered in its own dialect.

How this works (docs/protocol.md 5.1): an array is a JSON-RPC 2.0 batch, an object whose "jsonrpc"
member is "2.0" follows 2.0 rules, and any other object is Go's net/rpc/jsonrpc. So a Go client
and a 2.0 client can share one connection, and a Go request costs one extra dict lookup.

Values that neither dialect claims depend on the connection. Invalid JSON breaks the framing, so
the connection closes either way, and a bare string or number is no request at all. Go closes
silently in both cases (docs/protocol.md 2.2) and a 2.0 peer expects an error reply (spec section 5).
Once a connection has sent a 2.0 message (or the broken value mentions "jsonrpc"), it gets the 2.0
answer: -32700 with id null before the close, or -32600 for a stray value (the connection lives
on). Before that, it is treated as Go's client would be, which never sends either.
"""
from __future__ import annotations

from operator import itemgetter
from typing import Any, Union

import ujson

from .. import errors
from ..errors import ProtocolError, ServerError
from ..messages import Batch, Dialect, Request, Response
from ..schema import describe
from . import Lookup, jsonrpc1, jsonrpc2
from .jsonstream import DEFAULT_MAX_DEPTH, DEFAULT_MAX_MESSAGE_SIZE, BrokenValue, JSONStream

Message = Union[Request, Response, Batch]
_GO_JSON = Dialect.GO_JSON
_decode_go = jsonrpc1.decode_request
_encode_go = jsonrpc1.encode_response
_bind_go = jsonrpc1.bind
_go_members = itemgetter("method", "params", "id")
_loads = ujson.loads


def decode(value: Any, raw: bytes, lookup: Lookup, max_batch_size: int, v2_fallback: bool
           ) -> Message:
    """Read one JSON value in the dialect it belongs to, bound to its method.

    v2_fallback: a value no dialect claims (a scalar, null) gets a 2.0 Invalid Request response
    instead of Go's treatment. Raises ProtocolError where Go's dialect closes the connection.
    """
    if type(value) is dict:
        if value.get("jsonrpc") == "2.0":
            return jsonrpc2.decode_request(value, lookup, raw)
        return _decode_go(value, raw, lookup)
    if type(value) is list:
        return jsonrpc2.decode_batch(value, lookup, max_batch_size)
    if v2_fallback:
        return jsonrpc2.invalid_request(errors.V2_NOT_OBJECT.format(kind=describe(value)))
    return _decode_go(value, raw, lookup)


def encode(response: Union[Response, list[Response]],
           max_batch_reply_size: int = jsonrpc2.DEFAULT_MAX_BATCH_REPLY_SIZE) -> bytes:
    """Answer in the request's dialect; a batch's responses as one array."""
    if type(response) is Response:
        if response.request.dialect is _GO_JSON:
            return _encode_go(response)
        return jsonrpc2.encode_response(response)
    return jsonrpc2.encode_batch(response, max_batch_reply_size)  # type: ignore[arg-type]


class ServerCodec(JSONStream):
    """One JSON connection's requests in both dialects, decided value by value.

    It is the connection's JSON stream (it cuts the bytes into values), with a fast path for
    the usual read: whole lines that are each a Go request of the usual shape (three members,
    a string method, params an array, an integer or string id) become bound Requests in one
    loop. From the first line that is anything else, the stream's general path takes over.
    """

    # One per connection: no __dict__ each.
    __slots__ = ("lookup", "max_batch_size", "max_batch_reply_size", "spoke_v2")

    def __init__(self, lookup: Lookup, max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE,
                 max_batch_size: int = jsonrpc2.DEFAULT_MAX_BATCH_SIZE,
                 max_depth: int = DEFAULT_MAX_DEPTH,
                 max_batch_reply_size: int = jsonrpc2.DEFAULT_MAX_BATCH_REPLY_SIZE) -> None:
        super().__init__(max_message_size, max_depth)
        self.lookup = lookup
        self.max_batch_size = max_batch_size
        self.max_batch_reply_size = max_batch_reply_size
        self.spoke_v2 = False  # this connection has sent a 2.0 request or batch

    def feed(self, data: bytes) -> list[Message]:  # type: ignore[override]
        out: list[Message] = []
        pos = 0
        if self._state is None:  # no value in progress: whole lines can be read on their own
            limit = min(self.max_message_size, self.max_depth)  # too short to nest too deep
            lookup = self.lookup
            append = out.append
            for line in data.split(b"\n")[:-1]:
                if len(line) > limit:
                    break
                try:
                    value = _loads(line)
                    method, params, id = _go_members(value)
                except (ValueError, KeyError, TypeError):
                    break
                if len(value) != 3 or type(method) is not str or type(params) is not list \
                        or not (type(id) is int or type(id) is str):
                    break
                # jsonrpc1.decode_request, inlined: look the method up, then bind params
                request = Request(method, params, id, _GO_JSON)
                try:
                    target = request.target = lookup(method)
                    first = target.params
                    if len(first) == 1:  # jsonrpc1.bind's usual case, inlined
                        try:
                            request.args = [first[0].convert(params[0] if params else None)]
                        except Exception:
                            request.args = _bind_go(target, params)  # says what is wrong
                    else:
                        request.args = _bind_go(target, params)
                except ServerError as err:
                    append(Response(request, error=err))
                else:
                    append(request)
                pos += len(line) + 1
            if pos == len(data) and data:
                return out
        return self._feed_values(data[pos:] if pos else data, out)

    def _feed_values(self, data: bytes, out: list[Message]) -> list[Message]:
        """The general path: any values, any framing, either dialect."""
        try:
            pairs, broken = JSONStream.feed(self, data), None
        except ProtocolError as err:
            pairs, broken = err.completed, err
        lookup = self.lookup
        for value, raw in pairs:
            if type(value) is dict and "jsonrpc" not in value:  # Go's client
                try:
                    out.append(_decode_go(value, raw, lookup))
                except ProtocolError as err:
                    err.completed = out  # Go stops reading at the first undecodable request
                    raise
                continue
            if type(value) is list or (type(value) is dict and value.get("jsonrpc") == "2.0"):
                self.spoke_v2 = True
            try:
                out.append(decode(value, raw, lookup, self.max_batch_size, self.spoke_v2))
            except ProtocolError as err:
                err.completed = out
                raise
        if broken is not None:
            if self.spoke_v2 or (isinstance(broken, BrokenValue) and b'"jsonrpc"' in broken.value):
                out.append(jsonrpc2.parse_error(str(broken)))
            broken.completed = out
            try:
                raise broken
            finally:  # else the frame and the error hold each other, with the whole connection
                broken = None
        return out

    def encode(self, response: Union[Response, list[Response]]) -> bytes:
        if type(response) is Response and response.request.dialect is _GO_JSON:
            return _encode_go(response)  # inlined: Go's replies are the hot path
        return encode(response, self.max_batch_reply_size)
