"""Format-neutral requests and responses that travel between the codecs and the registry."""
from __future__ import annotations

import enum
from typing import TYPE_CHECKING, Any, Callable, Optional, Protocol, Sequence

from .errors import RPCError, ServerError

if TYPE_CHECKING:
    from .schema import TypeSpec
    from .stats import Latency


class Dialect(enum.Enum):
    """How a request arrived: its codec answers it in the same dialect."""

    GO_JSON = "go-json"   # Go's net/rpc/jsonrpc: params[0] is the argument, extras ignored
    JSON_RPC2 = "jsonrpc2.0"
    GOB = "gob"


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


class Target(Protocol):
    """What a request runs: a registered method (registry.Method), as codecs and dispatch see it.

    Codecs bind arguments to its parameters and encode results by its declared types; dispatch
    calls its function and counts and times the call.
    """

    calls: int
    errors: int

    @property
    def name(self) -> str: ...

    @property
    def function(self) -> Callable[..., Any]: ...

    @property
    def latency(self) -> Latency: ...

    @property
    def params(self) -> Sequence[Parameter]: ...

    @property
    def keyword_only(self) -> Sequence[Parameter]: ...

    @property
    def var_positional(self) -> bool: ...

    @property
    def var_keyword(self) -> bool: ...

    @property
    def result_spec(self) -> Optional[TypeSpec]: ...

    @property
    def encode_result(self) -> Optional[Callable[[Any], Any]]: ...

    def zero_result(self) -> Any: ...


class Parameter(Protocol):
    """One parameter of a Target: its name, declared type and converter from JSON data."""

    @property
    def name(self) -> str: ...

    @property
    def spec(self) -> TypeSpec: ...

    @property
    def convert(self) -> Callable[[Any], Any]: ...

    @property
    def annotated(self) -> bool: ...

    @property
    def required(self) -> bool: ...


class Request:
    """One call ready to run: its target, the arguments bound to it, and the id to echo.

    The codec finds the target for the method name and binds the arguments to its parameters
    (in Go's server, ReadRequestHeader, the lookup, then ReadRequestBody into the argument's
    type), so running it needs nothing of the wire format. ``dialect`` is for the codec alone:
    it tells it how to answer.
    """

    __slots__ = ("method", "args", "kwargs", "id", "dialect", "target")

    def __init__(self, method: str, args: list[Any], id: Any, dialect: Dialect,
                 target: Optional[Target] = None, kwargs: Optional[dict[str, Any]] = None
                 ) -> None:
        self.method = method
        self.args = args
        self.id = id
        self.dialect = dialect
        self.target = target
        self.kwargs = kwargs

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
