"""greenrpc: Go's net/rpc for Python on gevent.

Register an object, serve it, and Go's jsonrpc client, a PHP script, curl or a shell can call its
methods over JSON on TCP. Importing greenrpc patches nothing; entry points call
``gevent.monkey.patch_all()`` first. ``greenrpc.dial`` calls from gevent or from threads,
``greenrpc.aio.dial`` from asyncio.
"""
from __future__ import annotations

from . import (
    aio,
    logs,  # noqa: F401 - its filter escapes and cuts client text in greenrpc's records
)
from .auth import CallInfo
from .client import Call, Client, dial, dial_http
from .deadline import timeout
from .errors import CallTimeout, ConnectionClosed, ProtocolError, RPCError, ServerError
from .gonames import GoField, go_enum, go_struct
from .limits import Limits
from .reconnect import Backoff, ReconnectingClient
from .registry import expose
from .schema import GoNameWarning
from .server import Server, serve
from .transport import tls_server_context
from .version import VERSION

__version__ = VERSION

__all__ = [
    "aio",
    "Backoff",
    "Call",
    "CallInfo",
    "CallTimeout",
    "Client",
    "ConnectionClosed",
    "Limits",
    "GoField",
    "GoNameWarning",
    "ProtocolError",
    "ReconnectingClient",
    "RPCError",
    "Server",
    "ServerError",
    "dial",
    "dial_http",
    "expose",
    "go_enum",
    "go_struct",
    "serve",
    "timeout",
    "tls_server_context",
]
