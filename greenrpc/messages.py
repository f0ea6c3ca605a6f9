"""Format-neutral requests and responses that travel between the codecs and the registry."""
from __future__ import annotations

import enum
from typing import Any, Optional

from .errors import RPCError, ServerError


class Dialect(enum.Enum):
    """How a request arrived, which decides how its params bind and how it is answered."""

    GO_JSON = "go-json"   # Go's net/rpc/jsonrpc: params[0] is the argument, extras ignored
    JSON_RPC2 = "jsonrpc2.0"
    GOB = "gob"

    @property
    def lenient(self) -> bool:
        """Go's binding: missing arguments take their zero value and extra ones are ignored."""
        return self is not Dialect.JSON_RPC2


class _NoId:
    """The id of a request that carried no id member (a JSON-RPC 2.0 notification)."""

    _instance: Optional[_NoId] = None

    def __new__(cls) -> _NoId:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "NO_ID"


NO_ID: Any = _NoId()


class Request:
    """One call: method name, positional or named arguments, the id to echo, and its dialect.

    ``error`` holds a params problem found while decoding; Go reports it only after the method
    was found (PROTOCOL.md 2.2), so the registry raises it after lookup. ``context`` belongs to
    the codec (gob keeps its undecoded body there).
    """

    __slots__ = ("method", "args", "kwargs", "id", "dialect", "error", "context")

    def __init__(self, method: str, args: Any, id: Any, dialect: Dialect,
                 kwargs: Optional[dict[str, Any]] = None, error: Optional[ServerError] = None,
                 context: Any = None) -> None:
        self.method = method
        self.args = args
        self.kwargs = kwargs
        self.id = id
        self.dialect = dialect
        self.error = error
        self.context = context

    def __repr__(self) -> str:
        return f"Request({self.method!r}, args={self.args!r}, kwargs={self.kwargs!r}, id={self.id!r})"


class Response:
    """The outcome of one request: a result, or a ServerError to send back."""

    __slots__ = ("request", "result", "error")

    def __init__(self, request: Request, result: Any = None,
                 error: Optional[ServerError] = None) -> None:
        self.request = request
        self.result = result
        self.error = error

    def __repr__(self) -> str:
        return f"Response(id={self.request.id!r}, result={self.result!r}, error={self.error!r})"


class Batch:
    """A JSON-RPC 2.0 batch: its elements, each a Request to run or a Response already decided.

    The elements may run concurrently; the batch is answered with one array holding the
    responses of every element that was not a notification, in any order (spec section 6).
    """

    __slots__ = ("items",)

    def __init__(self, items: list[Request | Response]) -> None:
        self.items = items

    def __repr__(self) -> str:
        return f"Batch({self.items!r})"


class Reply:
    """What a client reads back: the id it sent, and a result or the server's error."""

    __slots__ = ("id", "result", "error")

    def __init__(self, id: Any, result: Any = None, error: Optional[RPCError] = None) -> None:
        self.id = id
        self.result = result
        self.error = error

    def __repr__(self) -> str:
        return f"Reply(id={self.id!r}, result={self.result!r}, error={self.error!r})"
