"""JSON-RPC 2.0 on both sides: request rules, notifications, batches and error objects.

The server half reads a decoded value already known to be 2.0 (an object with "jsonrpc":"2.0",
or an array) and returns a Request bound to its method, a Batch, or a Response it decided itself
(an invalid request, an unknown method, params that do not fit). Params bind strictly, as Python
binds a call: by position or by name, every required parameter given, nothing extra. A request
without an "id" member is a notification: it runs, and its response encodes to nothing (spec
section 4.1). The client half writes calls, notifications and batches, and reads single replies
or reply arrays.
"""
from __future__ import annotations

from typing import Any, Optional, Union

import ujson

from .. import errors
from ..errors import ProtocolError, ServerError
from ..messages import NO_ID, Batch, Dialect, Reply, Request, Response, Target
from ..schema import TypeMismatch, describe, plain
from . import Lookup
from .jsonrpc1 import RawJSON, id_text, json_result, result_text, string_text, utf8
from .jsonstream import DEFAULT_MAX_MESSAGE_SIZE, JSONStream, member_text

V2 = Dialect.JSON_RPC2
DEFAULT_MAX_BATCH_SIZE = 1000
DEFAULT_MAX_BATCH_REPLY_SIZE = 4 << 20  # bytes of one batch's reply array
_dumps = ujson.dumps


def error_response(code: int, detail: Optional[str] = None, id: Any = None) -> Response:
    """A response the wire layer decides itself: the spec's message, the detail as data."""
    error = ServerError(errors.JSONRPC2_MESSAGES[code], code, detail)
    return Response(Request("", [], id, V2), error=error)


def parse_error(detail: str) -> Response:
    """-32700 with id null: the bytes were not JSON, so no id can be known (spec section 5)."""
    return error_response(errors.PARSE_ERROR, detail)


def invalid_request(detail: str, id: Any = None) -> Response:
    return error_response(errors.INVALID_REQUEST, detail, id)


def _request_id(value: dict[str, Any], raw: Optional[bytes]) -> tuple[Any, bool]:
    """The id to echo and whether it is a valid one (a string, a number or null)."""
    if "id" not in value:
        return NO_ID, True
    id = value["id"]
    kind = type(id)
    if kind is int or kind is str or id is None:
        return id, True
    if kind is float:
        text = member_text(raw, "id") if raw is not None else None  # echo 1.0 or 1e2 as written
        return (RawJSON(text.decode("utf-8", "replace")) if text is not None else id), True
    return None, False  # true/false, arrays and objects are not ids


def decode_request(value: Any, lookup: Lookup, raw: Optional[bytes] = None
                   ) -> Request | Response:
    """Read one 2.0 request and bind it to its method; an invalid one becomes its error response.

    raw (the object's bytes, when known) lets fractional ids be echoed exactly as written.
    """
    request = read_request(value, raw)
    if type(request) is Response:
        return request
    assert type(request) is Request
    try:
        target = lookup(request.method)
        request.args, request.kwargs = bind(target, request.args, request.kwargs or {})
    except ServerError as err:
        return Response(request, error=err)
    request.target = target
    return request


def read_request(value: Any, raw: Optional[bytes] = None) -> Request | Response:
    """Check one 2.0 request: the Request with its params as sent, or the Invalid Request answer."""
    if type(value) is not dict:
        return invalid_request(errors.V2_NOT_OBJECT.format(kind=describe(value)))
    id, valid = _request_id(value, raw)
    if not valid:
        return invalid_request(errors.V2_BAD_ID)
    # An invalid request is answered even without an id, with id null (spec section 7 examples).
    answer_id = None if id is NO_ID else id
    if value.get("jsonrpc") != "2.0":
        return invalid_request('"jsonrpc" must be exactly "2.0"', answer_id)
    method = value.get("method")
    if type(method) is not str:
        return invalid_request(errors.V2_BAD_METHOD, answer_id)
    params = value.get("params")
    if type(params) is list:
        return Request(method, params, id, V2)
    if type(params) is dict:
        return Request(method, [], id, V2, kwargs=params)
    if params is None:  # omitted; an explicit null is read the same way
        return Request(method, [], id, V2)
    return invalid_request(errors.V2_BAD_PARAMS.format(kind=describe(params)), answer_id)


def bind(target: Target, args: list[Any], kwargs: dict[str, Any]
         ) -> tuple[list[Any], dict[str, Any]]:
    """Bind params by position and by name, as Python would; raise ServerError if they do not fit."""
    try:
        return _bind(target, args, kwargs)
    except TypeMismatch as err:
        raise ServerError(str(err), errors.INVALID_PARAMS) from None
    except ServerError:
        raise
    except Exception as err:  # an argument's own type refused the value (__post_init__)
        raise ServerError(str(err) or type(err).__name__, errors.INVALID_PARAMS) from None


def _bind(target: Target, args: list[Any], kwargs: dict[str, Any]
          ) -> tuple[list[Any], dict[str, Any]]:
    positional = target.params
    if len(args) > len(positional) and not target.var_positional:
        raise ServerError(f"{target.name} takes {len(positional)} positional arguments but "
                          f"{len(args)} were given", errors.INVALID_PARAMS)
    values = [p.convert(v) for p, v in zip(positional, args)]
    named: dict[str, Any] = {}
    for p in [*positional[len(args):], *target.keyword_only]:
        if p.name in kwargs:
            named[p.name] = p.convert(kwargs[p.name])
        elif p.required:
            raise ServerError(f"{target.name} missing required argument {p.name!r}",
                              errors.INVALID_PARAMS)
    for key in kwargs:
        if key not in named:
            if not target.var_keyword:
                raise ServerError(f"{target.name} got an unexpected argument {key!r}",
                                  errors.INVALID_PARAMS)
            named[key] = kwargs[key]
    if target.var_positional:
        values.extend(args[len(positional):])
    return values, named


def decode_batch(items: list[Any], lookup: Lookup, max_batch_size: int = DEFAULT_MAX_BATCH_SIZE
                 ) -> Union[Batch, Response]:
    """Read a batch; an empty or oversized one is a single Invalid Request response (spec 6)."""
    if not items:
        return invalid_request(errors.V2_EMPTY_BATCH)
    if len(items) > max_batch_size:
        # One error for the whole batch, before any element is looked at: an error per element
        # would let a 4 MiB "[1,1,...]" ask for 280 MiB of replies.
        return invalid_request(errors.V2_BATCH_LIMIT.format(count=len(items),
                                                            limit=max_batch_size))
    return Batch([decode_request(item, lookup) for item in items])


def error_text(error: ServerError) -> str:
    """The error object: code, message and data when there is some."""
    code = error.code if type(error.code) is int else errors.SERVER_ERROR
    text = '{"code":%d,"message":%s' % (code, string_text(str(error.message)))
    if error.data is None:
        return text + "}"
    try:
        data = _dumps(error.data, allow_nan=False)
    except (TypeError, OverflowError, ValueError):
        data = _dumps(str(plain(error.data)))
    return text + ',"data":' + data + "}"


def response_text(response: Response) -> str:
    """The response object without a newline; "" for a notification, which is never answered."""
    id = response.request.id
    if id is NO_ID:
        return ""
    error = response.error
    if error is None:
        try:
            # Unlike Go's dialect, null is a fine result in 2.0: None goes out as null.
            result = json_result(response)
            body = "null" if result is None else result_text(result)
        except ServerError as err:
            error = err.with_traceback(None)  # kept: no cycle through this frame
        else:
            return '{"jsonrpc":"2.0","result":%s,"id":%s}' % (body, id_text(id))
    return '{"jsonrpc":"2.0","error":%s,"id":%s}' % (error_text(error), id_text(id))


def encode_response(response: Response) -> bytes:
    """One response and a newline, or b"" for a notification."""
    text = response_text(response)
    if not text:
        return b""
    try:  # (a try costs nothing until it catches: utf8 inlined)
        return (text + "\n").encode()
    except UnicodeEncodeError:
        return utf8(text + "\n")


def encode_batch(responses: list[Response],
                 max_reply_size: int = DEFAULT_MAX_BATCH_REPLY_SIZE) -> bytes:
    """A batch's responses as one array and a newline; b"" when every element was a notification.

    Responses are added in order while the array stays within max_reply_size bytes; one that
    would pass it is replaced by a short error saying so (the call ran, its reply is dropped),
    so a thousand small requests cannot ask for an unbounded reply.
    """
    texts = []
    size = 0
    for response in responses:
        text = response_text(response)
        if not text:
            continue
        if size + len(text) > max_reply_size:
            detail = errors.V2_BATCH_REPLY_LIMIT.format(limit=max_reply_size)
            text = response_text(error_response(errors.BATCH_TOO_LARGE, detail,
                                                response.request.id))
        size += len(text) + 1
        texts.append(text)
    return utf8("[" + ",".join(texts) + "]\n") if texts else b""


# Client side -------------------------------------------------------------------------------------

def params_text(params: Any) -> Optional[str]:
    """A list or tuple goes by position, a dict by name, None leaves params out."""
    if params is None:
        return None
    if not isinstance(params, (list, tuple, dict)):
        raise TypeError(f"JSON-RPC 2.0 params must be a list (by position) or a dict (by name), "
                        f"not {type(params).__name__}: wrap one argument as [value]")
    try:
        return _dumps(params, ensure_ascii=False)
    except TypeError:
        return _dumps(plain(params), ensure_ascii=False)


def request_text(method: str, params: Any, id: Any) -> str:
    """One request object; id NO_ID makes it a notification."""
    text = '{"jsonrpc":"2.0","method":' + _dumps(method, ensure_ascii=False)
    body = params_text(params)
    if body is not None:
        text += ',"params":' + body
    if id is not NO_ID:
        text += ',"id":' + id_text(id)
    return text + "}"


def decode_reply(value: Any) -> Reply:
    """Read one response object into a Reply (id None when the server could not tell the id)."""
    if type(value) is not dict:
        raise ProtocolError(f"response is a JSON {describe(value)}, not an object")
    id = value.get("id")
    error = value.get("error")
    if error is None:
        return Reply(id, value.get("result"))
    if type(error) is dict:
        code = error.get("code")
        return Reply(id, error=ServerError(str(error.get("message")),
                                           code if type(code) is int else errors.SERVER_ERROR,
                                           error.get("data")))
    return Reply(id, error=ServerError(error if type(error) is str else _dumps(error)))


class ClientCodec:
    """Client side of JSON-RPC 2.0 on one connection: calls, notifications and batches."""

    decodes_results = False

    def __init__(self, max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE) -> None:
        self.stream = JSONStream(max_message_size)

    def encode(self, method: str, params: Any, id: Any, result_type: Any = None,
               params_type: Any = None) -> bytes:
        # JSON carries no types: the Client converts results, and params go as they are.
        return (request_text(method, params, id) + "\n").encode()

    def encode_notification(self, method: str, params: Any) -> bytes:
        return (request_text(method, params, NO_ID) + "\n").encode()

    def encode_batch(self, calls: list[tuple[str, Any, Any]]) -> bytes:
        """calls are (method, params, id) with id NO_ID for notifications."""
        return ("[" + ",".join(request_text(*call) for call in calls) + "]\n").encode()

    def feed(self, data: bytes) -> list[Reply]:
        try:
            pairs, broken = self.stream.feed(data), None
        except ProtocolError as err:
            pairs, broken = err.completed, err
        replies: list[Reply] = []
        for value, _ in pairs:  # replies that arrived whole count, however the stream broke
            try:
                if type(value) is list:  # a batch's replies
                    replies.extend([decode_reply(item) for item in value])
                else:
                    replies.append(decode_reply(value))
            except ProtocolError as err:
                err.completed = replies
                raise
        if broken is not None:
            broken.completed = replies
            try:
                raise broken
            finally:  # else the frame and the error hold each other, with the codec
                broken = None
        return replies
