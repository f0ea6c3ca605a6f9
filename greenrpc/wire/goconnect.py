"""Go's HTTP CONNECT handshake for net/rpc (docs/protocol.md 4): bytes in, answers out, both sides.

A Go client sends ``CONNECT /_goRPC_ HTTP/1.0`` and a blank line; the server answers exactly
``HTTP/1.0 200 Connected to Go RPC`` and a blank line, and from then on the connection carries
gob (section 3). Any other method on that path gets Go's 405, any other path its 404. Unlike
Go, the server keeps whatever the client sent right behind its request head (section 4.2).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from ..errors import ProtocolError

RPC_PATH = "/_goRPC_"
CONNECTED_STATUS = "200 Connected to Go RPC"
CONNECTED = b"HTTP/1.0 200 Connected to Go RPC\n\n"
MAX_HEAD_SIZE = 16384  # bytes of a request or response head, its blank line included
_BAD_REQUEST = (b"HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\n"
                b"Connection: close\r\n\r\n400 Bad Request")
_TOO_LARGE = (b"HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Type: text/plain; "
              b"charset=utf-8\r\nConnection: close\r\n\r\n431 Request Header Fields Too Large")


@dataclass(frozen=True)
class Answer:
    """What the server does with a request head: send ``reply``; if ``connected``, serve gob
    starting with ``rest`` (bytes the client sent after its head), else close."""

    reply: bytes
    connected: bool
    rest: bytes = b""


def head_too_large(data: bytes, split: Optional[tuple[bytes, bytes]]) -> bool:
    """Whether the head at the start of data (split by split_head) passes MAX_HEAD_SIZE.

    Exact however the head arrived: a complete head is measured to its blank line, so one that
    came in a single read is held to the same bound as one that came in pieces.
    """
    return (len(data) if split is None else len(data) - len(split[1])) > MAX_HEAD_SIZE


def split_head(data: bytes) -> Optional[tuple[bytes, bytes]]:
    """Split off an HTTP message head ending in a blank line (LF or CRLF); None if incomplete."""
    ends = [(i, 2) for i in (data.find(b"\n\n"),) if i >= 0] + \
        [(i, 3) for i in (data.find(b"\n\r\n"),) if i >= 0]
    if not ends:
        return None
    end, size = min(ends)
    return data[:end + 1], data[end + size:]


def answer_connect(data: bytes, path: str = RPC_PATH, date: str = "") -> Optional[Answer]:
    """Answer the request head at the start of data; None while it is incomplete.

    date fills the Date header of error responses (the module reads no clock).
    """
    split = split_head(data)
    if head_too_large(data, split):
        return Answer(_TOO_LARGE, False)
    if split is None:
        return None
    head, rest = split
    line = head.split(b"\n", 1)[0].rstrip(b"\r")
    parts = line.split(b" ")
    if len(parts) != 3 or not parts[2].startswith(b"HTTP/1."):
        return Answer(_BAD_REQUEST, False)
    method, target, version = (p.decode("latin-1") for p in parts)
    client_closes = b"\nconnection: close" in head.lower()
    reply, connected = respond(method, target, version, path, date, client_closes)
    return Answer(reply, connected, rest if connected else b"")


def respond(method: str, target: str, version: str, path: str = RPC_PATH, date: str = "",
            client_closes: bool = False) -> tuple[bytes, bool]:
    """Go's answer to one request, for routers that parsed the head themselves.

    Returns the response bytes and whether the connection now carries gob. Error responses
    are followed by a close (we never keep an HTTP connection alive here).
    """
    if target != path:
        return _error(version, "404 Not Found", "404 page not found\n", date, nosniff=True,
                      close=client_closes or version != "HTTP/1.0"), False
    if method != "CONNECT":
        return _error(version, "405 Method Not Allowed", "405 must CONNECT\n", date,
                      close=client_closes or version != "HTTP/1.0"), False
    return CONNECTED, True


def _error(version: str, status: str, body: str, date: str, nosniff: bool = False,
           close: bool = False) -> bytes:
    # The same header lines Go's net/http writes for http.Error and the rpc 405.
    lines = [f"{'HTTP/1.0' if version == 'HTTP/1.0' else 'HTTP/1.1'} {status}",
             "Content-Type: text/plain; charset=utf-8"]
    if nosniff:
        lines.append("X-Content-Type-Options: nosniff")
    if date:
        lines.append(f"Date: {date}")
    lines.append(f"Content-Length: {len(body)}")
    if close:
        lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n" + body).encode("latin-1")


def connect_request(path: str = RPC_PATH) -> bytes:
    """The request Go's rpc.DialHTTPPath sends."""
    return f"CONNECT {path} HTTP/1.0\n\n".encode("latin-1")


def read_connect_reply(data: bytes) -> Optional[bytes]:
    """Check the server's answer; return the bytes after it, or None while it is incomplete.

    Raises ProtocolError with Go's text unless the status is exactly ``200 Connected to Go RPC``
    (the HTTP version, line endings and extra headers do not matter, as for Go's client).
    """
    split = split_head(data)
    if head_too_large(data, split):
        raise ProtocolError("unexpected HTTP response: head too large")
    if split is None:
        return None
    head, rest = split
    line = head.split(b"\n", 1)[0].rstrip(b"\r").decode("latin-1")
    version, _, status = line.partition(" ")
    if not version.startswith("HTTP/") or status != CONNECTED_STATUS:
        raise ProtocolError(f"unexpected HTTP response: {status or line}")
    return rest
