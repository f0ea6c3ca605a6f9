"""Go's net/rpc/jsonrpc format (JSON-RPC 1.0 as Go speaks it), for servers and clients.

Requests ``{"method":M,"params":[ARG],"id":ID}`` and responses ``{"id":ID,"result":R,"error":E}``
followed by one newline (PROTOCOL.md section 2). The rules that Go clients depend on are kept
here: ids come back as written, errors are strings, and a success never carries a null result.
"""
from __future__ import annotations

from typing import Any, Optional

import ujson

from .. import errors
from ..errors import ProtocolError, ServerError
from ..messages import Dialect, Reply, Request, Response
from ..schema import describe, plain
from .jsonstream import DEFAULT_MAX_DEPTH, DEFAULT_MAX_MESSAGE_SIZE, JSONStream, member_text

GO_JSON = Dialect.GO_JSON
# ujson refuses bytes by default (reject_bytes=True since ujson 3), and every keyword argument
# costs about 0.3 us in its argument parsing: the hot paths pass none.
_dumps = ujson.dumps


class RawJSON:
    """JSON text echoed exactly as it arrived (ids such as 1.0, 1e2 or objects)."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def __json__(self) -> str:
        return self.text

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RawJSON) and other.text == self.text

    def __hash__(self) -> int:
        return hash(self.text)

    def __repr__(self) -> str:
        return f"RawJSON({self.text!r})"


def _fold(value: dict[str, Any]) -> dict[str, Any]:
    """Match member names case-insensitively, the last one winning, as Go's decoder does."""
    folded: dict[str, Any] = {}
    for key, item in value.items():
        lower = key.lower()
        if lower in ("method", "params", "id"):
            folded[lower] = item
    return folded


def id_text(id: Any) -> str:
    """Render an id for a response: raw ids verbatim, everything else as JSON."""
    if type(id) is int:
        return str(id)
    if id is None:
        return "null"
    if type(id) is RawJSON:
        return id.text
    return _dumps(id, ensure_ascii=False, escape_forward_slashes=False)


def result_text(result: Any) -> str:
    """Encode a result as JSON text; raise ServerError with Go's text if it cannot be."""
    if result is None:
        # Go's client treats "result":null with "error":null as a fatal protocol error
        # (PROTOCOL.md 2.4), so a method with nothing to say answers with an empty object.
        return "{}"
    try:
        text = _dumps(result)
    except TypeError:
        try:
            text = _dumps(plain(result))
        except TypeError:
            raise ServerError(f"json: unsupported type: {type(result).__name__}",
                              errors.INTERNAL_ERROR) from None
    except OverflowError:
        raise _unsupported(result) from None
    if "NaN" in text or "Infinity" in text:
        # ujson writes NaN and Infinity by default; JSON has neither, so check precisely.
        try:
            _dumps(plain(result), allow_nan=False)
        except OverflowError:
            raise _unsupported(result) from None
    return text


def _unsupported(result: Any) -> ServerError:
    """Go's error for a float JSON cannot carry, naming it as Go does (NaN, +Inf, -Inf)."""
    pending = [plain(result)]
    while pending:
        value = pending.pop()
        if type(value) is float and value != value:
            name = "NaN"
            break
        if type(value) is float and value in (float("inf"), float("-inf")):
            name = "+Inf" if value > 0 else "-Inf"
            break
        if type(value) is list:
            pending.extend(value)
        elif type(value) is dict:
            pending.extend(value.values())
    else:
        name = "NaN"
    return ServerError(f"json: unsupported value: {name}", errors.INTERNAL_ERROR)


def encode_response(response: Response) -> bytes:
    """Encode a response in Go's shape: id, result, error, compact, one newline."""
    error = response.error
    if error is None:
        result = response.result
        try:  # the usual result inline; result_text decides None, NaN and unencodable ones
            body = _dumps(result)
        except (TypeError, OverflowError):
            body = "NaN"
        if result is None or "NaN" in body or "Infinity" in body:
            try:
                body = result_text(result)
            except ServerError as err:
                error = err
        if error is None:
            id = response.request.id
            if type(id) is int:
                return f'{{"id":{id},"result":{body},"error":null}}\n'.encode()
            return f'{{"id":{id_text(id)},"result":{body},"error":null}}\n'.encode()
    message = error.message or errors.GO_UNSPECIFIED  # Go's client fails on an empty error
    return ('{"id":%s,"result":null,"error":%s}\n'
            % (id_text(response.request.id),
               _dumps(message, ensure_ascii=False, escape_forward_slashes=False))).encode()


def decode_request(value: Any, raw: bytes) -> Request:
    """Read one Go-dialect request object; raise ProtocolError where Go closes the connection."""
    if type(value) is dict and len(value) == 3 and "method" in value and "id" in value \
            and "params" in value:
        fields = value
    elif type(value) is dict:
        fields = _fold(value)
    elif value is None:
        fields = {}  # Go decodes a bare null as an empty request (PROTOCOL.md 2.2)
    else:
        raise ProtocolError(f"request is a JSON {describe(value)}, not an object")
    method = fields.get("method")
    if method is None:
        method = ""
    elif type(method) is not str:
        raise ProtocolError(f"request method is a JSON {describe(method)}, not a string")
    id = fields.get("id")
    if type(id) is float or type(id) is list or type(id) is dict:
        text = member_text(raw, "id")  # echo 1.0, 1e2 and object ids exactly as written
        id = RawJSON(text.decode("utf-8", "replace")) if text is not None else id
    params = fields.get("params")
    if type(params) is list:
        return Request(method, params, id, GO_JSON)
    if params is None:
        error = ServerError(errors.GO_MISSING_PARAMS, errors.INVALID_PARAMS)
    else:
        error = ServerError(errors.GO_PARAMS_NOT_ARRAY.format(kind=describe(params)),
                            errors.INVALID_PARAMS)
    return Request(method, [], id, GO_JSON, error=error)


class ServerCodec:
    """Server side of Go's JSON dialect on one connection."""

    def __init__(self, max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE,
                 max_depth: int = DEFAULT_MAX_DEPTH) -> None:
        self.stream = JSONStream(max_message_size, max_depth)

    @property
    def buffered(self) -> int:
        return self.stream.buffered

    def feed(self, data: bytes) -> list[Any]:
        try:
            pairs, broken = self.stream.feed(data), None
        except ProtocolError as err:
            pairs, broken = err.completed, err
        requests: list[Any] = []
        for value, raw in pairs:
            try:
                requests.append(decode_request(value, raw))
            except ProtocolError as err:
                err.completed = requests  # Go stops reading at the first undecodable request
                raise
        if broken is not None:
            broken.completed = requests
            raise broken
        return requests

    def encode(self, response: Response) -> bytes:
        return encode_response(response)


def encode_request(method: str, params: Any, id: int) -> bytes:
    """Encode a call as Go's client does: the params value is the single array element."""
    try:
        body = _dumps(params)
    except TypeError:
        body = _dumps(plain(params))
    return ('{"method":%s,"params":[%s],"id":%d}\n'
            % (_dumps(method, ensure_ascii=False), body, id)).encode()


def decode_reply(value: Any) -> Optional[Reply]:
    """Read one response; None for a reply that matches no call (no usable id)."""
    if type(value) is not dict:
        raise ProtocolError(f"response is a JSON {describe(value)}, not an object")
    if not ("id" in value and "result" in value and "error" in value and len(value) == 3):
        value = {key.lower(): item for key, item in value.items()}
    id = value.get("id")
    if type(id) is not int:
        if id is None:
            return None
        raise ProtocolError(f"response id is a JSON {describe(id)}, not a number")
    error = value.get("error")
    if error is None:
        return Reply(id, value.get("result"))
    if type(error) is str:
        return Reply(id, error=ServerError(error or errors.GO_UNSPECIFIED))
    if type(error) is dict:  # a JSON-RPC 2.0 error object from a non-Go server
        message = error.get("message")
        code = error.get("code")
        return Reply(id, error=ServerError(str(message), code if type(code) is int
                                           else errors.SERVER_ERROR, error.get("data")))
    return Reply(id, error=ServerError(_dumps(error)))


class ClientCodec:
    """Client side of Go's JSON dialect on one connection."""

    decodes_results = False

    def __init__(self, max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE,
                 max_depth: int = DEFAULT_MAX_DEPTH) -> None:
        self.stream = JSONStream(max_message_size, max_depth)

    def encode(self, method: str, params: Any, id: int, result_type: Any = None,
               params_type: Any = None) -> bytes:
        # JSON carries no types: the Client converts results, and params go as they are.
        return encode_request(method, params, id)

    def feed(self, data: bytes) -> list[Reply]:
        try:
            pairs, broken = self.stream.feed(data), None
        except ProtocolError as err:
            pairs, broken = err.completed, err
        replies: list[Reply] = []
        for value, _ in pairs:  # replies that arrived whole count, as on the server side
            try:
                reply = decode_reply(value)
            except ProtocolError as err:
                err.completed = replies
                raise
            if reply is not None:
                replies.append(reply)
        if broken is not None:
            broken.completed = replies
            raise broken
        return replies

