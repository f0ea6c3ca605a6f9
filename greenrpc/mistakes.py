"""What the greenrpc command says about a user's mistake: one line, a hint, an exit status.

The commands raise ``Mistake`` (or let ``RPCError``/``ValueError`` through from the library);
``cli.main`` prints ``greenrpc: <what went wrong>`` and returns the status, never a traceback.
A traceback from the command means a bug in greenrpc, not in how it was used.
"""
from __future__ import annotations

import json
import socket
import traceback
from typing import Any, Optional

USAGE = 2        # the command could not do what was asked: bad arguments, no connection
FAILED = 1       # it ran and the answer was no: the call's error, an unhealthy server
INTERRUPTED = 130  # Ctrl-C, as a shell reports SIGINT


class Mistake(Exception):
    """A mistake in how greenrpc was used: message for stderr, and the exit status."""

    def __init__(self, message: str, status: int = USAGE) -> None:
        super().__init__(message)
        self.status = status


def params_error(text: str) -> str:
    """Why text is not JSON, in the words of Python's json module (ujson's are cryptic)."""
    try:
        json.loads(text)
    except ValueError as err:
        return f"params are not JSON: {err} in {text!r} (quote names: '{{\"A\": 7}}')"
    return f"params are not JSON: {text!r}"


def import_error(module: str, err: BaseException) -> str:
    """Why module did not import: a missing module by name, else where the user's code failed."""
    if isinstance(err, ModuleNotFoundError) and err.name and module.startswith(err.name):
        return (f"no module named {err.name!r} (run from the directory that holds it, "
                "or set PYTHONPATH)")
    where = _user_frame(err)
    return f"importing {module} failed: {type(err).__name__}: {err}{where}"


def _user_frame(err: BaseException) -> str:
    """ " at file:line" of the innermost frame outside importlib, if any."""
    if isinstance(err, SyntaxError) and err.filename:
        return ""  # its message already names the file and line
    frames = [f for f in traceback.extract_tb(err.__traceback__) if "importlib" not in f.filename]
    return f" at {frames[-1].filename}:{frames[-1].lineno}" if frames else ""


def connection_hint(err: BaseException, args: Any) -> str:
    """A hint for a call that failed on the wire: the protocol the peer may speak instead."""
    text = str(err)
    tls = bool(getattr(args, "tls", False) or getattr(args, "tls_ca", None))
    http = bool(getattr(args, "http", False))
    codec = getattr(args, "codec", "json")
    if "TLS" in text and any(reason in text for reason in (
            "WRONG_VERSION_NUMBER", "UNEXPECTED_EOF", "EOF occurred", "RECORD_LAYER",
            "record layer", "wrong version")):
        return "the server does not seem to speak TLS: drop --tls/--tls-ca"
    shows_certificate = bool(getattr(args, "tls_client_cert", None))
    if "CERTIFICATE_REQUIRED" in text and not shows_certificate:
        return "the server requires a client certificate: add --tls-client-cert PEM"
    if "CERTIFICATE_VERIFY_FAILED" in text or "certificate verify failed" in text:
        return "the server's certificate is not trusted: pass its CA with --tls-ca PEM"
    if "HTTP/" in text or "answered HTTP" in text:
        return ("the server answered with HTTP: a Go server using rpc.HandleHTTP needs --http"
                if not http else "")
    if ("invalid JSON" in text or "Expected object" in text) and not http and \
            speaks_http(getattr(args, "address", ""), tls):
        return "the server answered with HTTP: Go's rpc.HandleHTTP servers need --http"
    if "invalid JSON" in text or "Expected object" in text:
        hints = [] if http else ["--http for Go's rpc.HandleHTTP"]
        hints += [] if codec == "gob" else ["--codec gob for Go's rpc.ServeConn"]
        return "the reply is not JSON-RPC: try " + " or ".join(hints) if hints else ""
    if "no reply within" in text or "timed out" in text:
        hints = [] if codec == "gob" or http else ["--codec gob if it is Go's rpc.ServeConn"]
        hints += [] if http else ["--http if it is Go's rpc.HandleHTTP"]
        return ("a server of another protocol waits for bytes it never gets: try "
                + " or ".join(hints) + "; a slow method: raise --timeout") if hints else ""
    if "refused" in text:
        return "is the server running, and listening on that address?"
    if any(word in text for word in ("closed", "reset", "EOF", "Connection reset")):
        hints = [] if tls else ["--tls (or --tls-ca PEM) if it serves TLS"]
        # TLS 1.3 refuses a missing client certificate after the handshake: a closed connection.
        hints += ["--tls-client-cert PEM if it requires client certificates"] \
            if tls and not shows_certificate else []
        hints += [] if http else ["--http for Go's rpc.HandleHTTP"]
        hints += [] if codec == "gob" else ["--codec gob for Go's gob servers"]
        return ("the server closed the connection without a reply; "
                + ("try " + ", ".join(hints) if hints else "check the server's log"))
    return ""


def speaks_http(address: str, tls: bool, timeout: float = 2.0) -> bool:
    """Whether the server at address answers a JSON request with an HTTP status line.

    Only asked after a reply failed to parse, to tell Go's HTTP-only server (which answers
    "HTTP/1.1 400 Bad Request") from other peers; one short connection, then closed.
    """
    if tls or address.startswith("unix:"):
        return False
    host, _, port = address.rpartition(":")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout) as sock:
            sock.sendall(b'{"method":"rpc.discover","params":[],"id":0}\n')
            return sock.recv(16).startswith(b"HTTP/")
    except (OSError, ValueError):
        return False


def with_hint(message: str, hint: Optional[str]) -> str:
    return f"{message}\n  hint: {hint}" if hint else message
