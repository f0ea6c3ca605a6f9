"""The exceptions greenrpc raises and the error texts and codes it puts on the wire."""
from __future__ import annotations

from typing import Any, Optional

# JSON-RPC 2.0 reserved codes (spec section 5.1).
PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603
# Implementation-defined server errors live in -32000..-32099. greenrpc uses three of them:
SERVER_ERROR = -32000       # a method raised ServerError without choosing a code
BATCH_TOO_LARGE = -32001    # a batch's replies would pass the server's max_batch_reply_size
FORBIDDEN = -32002          # the server's auth hook refused the call (auth.py)

# The spec's messages for the errors the wire layer reports itself; the detail goes in "data".
JSONRPC2_MESSAGES = {
    PARSE_ERROR: "Parse error",
    INVALID_REQUEST: "Invalid Request",
    METHOD_NOT_FOUND: "Method not found",
    INVALID_PARAMS: "Invalid params",
    INTERNAL_ERROR: "Internal error",
    SERVER_ERROR: "Server error",
    BATCH_TOO_LARGE: "Batch too large",
    FORBIDDEN: "Forbidden",
}
# Details of invalid JSON-RPC 2.0 requests (spec section 4), sent as the error's data.
V2_NOT_OBJECT = "a request must be a JSON object, not a JSON {kind}"
V2_BAD_METHOD = "method must be a string"
V2_BAD_PARAMS = "params must be an array or an object, not a JSON {kind}"
V2_BAD_ID = "id must be a string, a number or null"
V2_EMPTY_BATCH = "empty batch"
V2_BATCH_LIMIT = "batch of {count} requests exceeds the limit of {limit}"
V2_BATCH_REPLY_LIMIT = ("the replies to this batch exceed the limit of {limit} bytes: "
                        "the call ran, its reply was dropped")

# Go's exact texts (docs/protocol.md 1.2, 2.2); clients compare them as opaque strings.
GO_ILL_FORMED = "rpc: service/method request ill-formed: {name}"
GO_NO_SERVICE = "rpc: can't find service {name}"
GO_NO_METHOD = "rpc: can't find method {name}"
GO_MISSING_PARAMS = "jsonrpc: request body missing params"
GO_PARAMS_NOT_ARRAY = "json: cannot unmarshal {kind} into Go value of type [1]interface {{}}"
# Go's client turns an empty error string into this text; we never send "" (docs/protocol.md 2.4).
GO_UNSPECIFIED = "unspecified error"
# greenrpc's own: a method that ran past its timeout (deadline.py); Go has no such bound.
METHOD_TIMED_OUT = "{name}: no result within {seconds}s, call abandoned"
# greenrpc's own: the auth hook said no (auth.py).
PERMISSION_DENIED = "permission denied: {name}"


class RPCError(Exception):
    """Base class of every error greenrpc raises."""


class ServerError(RPCError):
    """A remote call failed; raise it from a method to choose the reply's message, code and data."""

    def __init__(self, message: str, code: int = SERVER_ERROR, data: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.data = data

    def __repr__(self) -> str:
        return f"ServerError({self.message!r}, code={self.code})"


class ProtocolError(RPCError):
    """Bytes broke the wire format; the connection cannot continue.

    ``completed`` holds the messages that arrived whole before the break: Go still answers
    them (docs/protocol.md 2.2), so the reader handles them before it stops.
    """

    def __init__(self, message: str, completed: Optional[list[Any]] = None) -> None:
        super().__init__(message)
        self.completed: list[Any] = completed if completed is not None else []


class ConnectionClosed(RPCError):
    """The peer went away or the client was closed; pending calls fail with it."""


class CallTimeout(RPCError, TimeoutError):
    """A call got no reply within its timeout."""
