"""Go's net/rpc/jsonrpc format (JSON-RPC 1.0 as Go speaks it), for servers and clients.

Requests ``{"method":M,"params":[ARG],"id":ID}`` and responses ``{"id":ID,"result":R,"error":E}``
followed by one newline (docs/protocol.md section 2). The rules that Go clients depend on are
kept here: ids come back as written, errors are strings, a success never carries a null result,
and the argument binds as Go's server decodes it. The server codec that reads this dialect off a
stream is wire/jsonserver.py, beside JSON-RPC 2.0.
"""
from __future__ import annotations

import re
from typing import Any, Optional

import ujson

from .. import errors
from ..errors import ProtocolError, ServerError
from ..messages import Dialect, Reply, Request, Response, Target
from ..schema import TypeMismatch, describe, plain
from . import Lookup
from .jsonstream import DEFAULT_MAX_DEPTH, DEFAULT_MAX_MESSAGE_SIZE, JSONStream, member_text

GO_JSON = Dialect.GO_JSON
# ujson refuses bytes by default (reject_bytes=True since ujson 3), and every keyword argument
# costs about 0.3 us in its argument parsing: the hot paths pass none.
_dumps = ujson.dumps
_SURROGATE = re.compile("[\ud800-\udfff]")


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


def utf8(text: str) -> bytes:
    """Encode a reply's text; a lone surrogate in it becomes U+FFFD.

    JSON's escape "\\ud800" decodes to a lone surrogate, which UTF-8 cannot carry; Go's decoder
    reads it as U+FFFD (encoding/json), so a name or id holding one is answered as Go answers it.
    """
    try:
        return text.encode()
    except UnicodeEncodeError:
        return _SURROGATE.sub("\ufffd", text).encode()


def string_text(text: str) -> str:
    """A string as JSON, UTF-8 kept as it is (lone surrogates become U+FFFD, as in utf8)."""
    try:
        return _dumps(text, ensure_ascii=False, escape_forward_slashes=False)
    except UnicodeEncodeError:
        return _dumps(_SURROGATE.sub("\ufffd", text), ensure_ascii=False,
                      escape_forward_slashes=False)


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
        # (docs/protocol.md 2.4), so a method with nothing to say answers with an empty object.
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


def json_result(response: Response) -> Any:
    """The result as JSON data, by the declared type of the method that made it.

    None from a method with a declared result becomes that type's zero value (Go's client cannot
    read a null where it expects a value). Raises ServerError if the result does not convert.
    """
    result = response.result
    target = response.request.target
    if target is None or target.encode_result is None:
        return result
    try:
        return target.encode_result(result) if result is not None else target.zero_result()
    except Exception as err:  # a result the declared type cannot describe
        raise ServerError(str(err) or type(err).__name__, errors.INTERNAL_ERROR) from None


def encode_response(response: Response) -> bytes:
    """Encode a response in Go's shape: id, result, error, compact, one newline."""
    error = response.error
    if error is None:
        result = response.result
        target = response.request.target
        try:  # the usual result inline; result_text decides None, NaN and unencodable ones
            if target is not None and target.encode_result is not None and result is not None:
                result = target.encode_result(result)  # json_result's usual case, inlined
            else:
                result = json_result(response)
            body = _dumps(result)
        except ServerError as err:
            error = err.with_traceback(None)  # kept: no cycle through this frame
        except (TypeError, OverflowError):
            body = "NaN"
        except Exception as err:  # a result the declared type cannot describe
            error = ServerError(str(err) or type(err).__name__, errors.INTERNAL_ERROR)
        if error is None and (result is None or "NaN" in body or "Infinity" in body):
            try:
                body = result_text(result)
            except ServerError as err:
                error = err.with_traceback(None)
        if error is None:
            id = response.request.id
            if type(id) is int:
                return f'{{"id":{id},"result":{body},"error":null}}\n'.encode()
            text = f'{{"id":{id_text(id)},"result":{body},"error":null}}\n'
            try:  # (a try costs nothing until it catches: utf8 inlined)
                return text.encode()
            except UnicodeEncodeError:
                return utf8(text)
    message = error.message or errors.GO_UNSPECIFIED  # Go's client fails on an empty error
    return utf8('{"id":%s,"result":null,"error":%s}\n'
                % (id_text(response.request.id), string_text(message)))


def bind(target: Target, params: list[Any]) -> list[Any]:
    """Bind params as Go's server decodes them; raise ServerError if they do not fit.

    Go's rules (docs/protocol.md 2.2): the argument is params[0], extra elements are ignored,
    and a missing or null argument stays at its zero value.
    """
    positional = target.params
    try:
        if len(positional) == 1:
            return [positional[0].convert(params[0] if params else None)]
        values = [p.convert(params[i] if i < len(params) else None)
                  for i, p in enumerate(positional)]
    except TypeMismatch as err:
        raise ServerError(str(err), errors.INVALID_PARAMS) from None
    except Exception as err:  # the argument's own type refused the value (__post_init__)
        raise ServerError(str(err) or type(err).__name__, errors.INVALID_PARAMS) from None
    if target.var_positional:
        values.extend(params[len(positional):])
    return values


def decode_request(value: Any, raw: bytes, lookup: Lookup) -> Request | Response:
    """Read one Go-dialect request and bind it to its method.

    An unknown method or params that do not bind become the error response to send, in Go's
    order: the method is looked up before its params are read (docs/protocol.md 2.2). Raises
    ProtocolError where Go closes the connection.
    """
    if type(value) is dict and len(value) == 3 and "method" in value and "id" in value \
            and "params" in value:
        fields = value
    elif type(value) is dict:
        fields = _fold(value)
    elif value is None:
        fields = {}  # Go decodes a bare null as an empty request (docs/protocol.md 2.2)
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
    request = Request(method, [], id, GO_JSON)
    try:
        target = lookup(method)
        if type(params) is not list:
            if params is None:
                raise ServerError(errors.GO_MISSING_PARAMS, errors.INVALID_PARAMS)
            raise ServerError(errors.GO_PARAMS_NOT_ARRAY.format(kind=describe(params)),
                              errors.INVALID_PARAMS)
        request.args = bind(target, params)
    except ServerError as err:
        return Response(request, error=err)
    request.target = target
    return request


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
            try:
                raise broken
            finally:  # else the frame and the error hold each other, with the codec
                broken = None
        return replies

