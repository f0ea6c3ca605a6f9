"""What every client's dial accepts, checked the same way whichever shell connects."""
from __future__ import annotations

import socket
import ssl
from typing import Any, Callable, Optional, Union

from .transport import Address, parse_address
from .wire import ClientCodec, gob, jsonrpc1, jsonrpc2

TLS = Union[None, bool, ssl.SSLContext]
_CODECS: dict[str, Callable[[], Any]] = {"json": jsonrpc1.ClientCodec, "gob": gob.ClientCodec}


def new_codec(codec: str, version: int) -> ClientCodec:
    """The client codec for dial's codec= and version=; ValueError for a wrong pair."""
    if codec not in _CODECS:
        raise ValueError(f"unknown codec {codec!r}: use one of {sorted(_CODECS)}")
    if version not in (1, 2) or (version == 2 and codec != "json"):
        raise ValueError(f"version must be 1 (Go's dialect) or 2 (JSON-RPC 2.0, codec 'json'), "
                         f"not {version!r} with codec {codec!r}")
    made: ClientCodec = jsonrpc2.ClientCodec() if version == 2 else _CODECS[codec]()
    return made


def tls_context(tls: TLS) -> Optional[ssl.SSLContext]:
    """None for plain TCP; True checks the server against the system's authorities."""
    if tls is None or tls is False:
        return None
    return ssl.create_default_context() if tls is True else tls


def server_hostname(address: Address) -> Optional[str]:
    """The name TLS checks the server's certificate against: the address's host."""
    family, sockaddr = parse_address(address)
    return None if family == socket.AF_UNIX else str(sockaddr[0])


__all__ = ["Address", "TLS", "new_codec", "parse_address", "server_hostname", "tls_context"]
