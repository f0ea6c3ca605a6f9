"""The exceptions greenrpc raises and the error texts and codes it puts on the wire."""
from __future__ import annotations

from typing import Any, Optional

# JSON-RPC 2.0 reserved codes (spec section 5.1).
PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603
# Implementation-defined server errors live in -32000..-32099; a method error uses the top of it.
SERVER_ERROR = -32000

# Go's exact texts (PROTOCOL.md 1.2, 2.2); clients compare them as opaque strings.
GO_ILL_FORMED = "rpc: service/method request ill-formed: {name}"
GO_NO_SERVICE = "rpc: can't find service {name}"
GO_NO_METHOD = "rpc: can't find method {name}"
GO_MISSING_PARAMS = "jsonrpc: request body missing params"
GO_PARAMS_NOT_ARRAY = "json: cannot unmarshal {kind} into Go value of type [1]interface {{}}"
# Go's client turns an empty error string into this text; we never send "" (PROTOCOL.md 2.4).
GO_UNSPECIFIED = "unspecified error"


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
    them (PROTOCOL.md 2.2), so the reader handles them before it stops.
    """

    def __init__(self, message: str, completed: Optional[list[Any]] = None) -> None:
        super().__init__(message)
        self.completed: list[Any] = completed if completed is not None else []


class ConnectionClosed(RPCError):
    """The peer went away or the client was closed; pending calls fail with it."""


class CallTimeout(RPCError, TimeoutError):
    """A call got no reply within its timeout."""
