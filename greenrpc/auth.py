"""Who may call what: the hook a server asks about each call before anything of it runs.

How this works: a codec looks every request's method up by name before it binds the
arguments (wire/__init__.py, Lookup). With an auth hook, each connection's codec gets a lookup
that first asks the hook, with the peer's address, its TLS client certificate and the method's
name; a refusal becomes the request's error reply exactly as an unknown method does, on every
protocol, so neither the method nor its argument types' constructors ever see the request.
Without a hook, the codecs get the registry's lookup itself: nothing is added to a call.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Callable, Optional

from . import errors
from .errors import ServerError
from .messages import Target

log = logging.getLogger("greenrpc")


@dataclass(frozen=True)
class CallInfo:
    """What an auth hook knows about a call: who asks, and for what."""

    peer: str                     # "host:port", "[v6]:port" or "unix:/path"
    method: str                   # the full name requested, e.g. "Arith.Multiply"
    # The peer's verified TLS client certificate, as ssl.SSLSocket.getpeercert() gives it (a
    # dict with "subject", "issuer", "notAfter"...), or None without TLS client certificates.
    certificate: Optional[dict[str, Any]] = None


Auth = Callable[[CallInfo], object]
"""Returns true to let the call run; false, or raising ServerError (whose message and code the
client gets), refuses it. Runs in the connection's reader: keep it quick, or cache."""


def guard(lookup: Callable[[str], Target], auth: Auth, peer: str,
          certificate: Optional[dict[str, Any]]) -> Callable[[str], Target]:
    """lookup for one connection, asking auth first; a refusal raises ServerError."""
    def lookup_if_allowed(name: str) -> Target:
        try:
            allowed = auth(CallInfo(peer, name, certificate))
        except ServerError:
            raise
        except Exception:  # a bug in the hook: refuse, and say where
            log.exception("auth hook failed on %s from %s: call refused", name, peer)
            allowed = False
        if not allowed:
            raise ServerError(errors.PERMISSION_DENIED.format(name=name), errors.FORBIDDEN)
        return lookup(name)
    return lookup_if_allowed


def peer_certificate(sock: Any) -> Optional[dict[str, Any]]:
    """The verified client certificate of a TLS socket; None for plain sockets or none sent."""
    getpeercert = getattr(sock, "getpeercert", None)
    if getpeercert is None:
        return None
    certificate = getpeercert()
    return certificate or None  # {} when the server did not ask for one
