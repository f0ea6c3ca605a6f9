"""The bounds every connection is served within: sizes, counts and timeouts, with defaults."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional


@dataclass(frozen=True)
class Limits:
    """Per-connection bounds, and server-wide ones (the *_total); None disables a bound.

    Each is a keyword argument of ``Server`` and a flag of ``greenrpc serve``
    (``max_inflight`` is ``--max-inflight`` and ``GREENRPC_MAX_INFLIGHT``).
    """

    max_message_size: int = 4 << 20       # bytes in one request (an HTTP body too)
    max_depth: int = 512                  # nesting of JSON arrays and objects in one request
    max_batch_size: int = 1000            # requests in one JSON-RPC 2.0 batch
    max_batch_reply_size: int = 4 << 20   # bytes of one batch's replies; past it, errors instead
    max_gob_type_memory: int = 1 << 20    # what a gob peer's type definitions may hold; past it, close
    # What all connections together may hold between reads (messages in progress, HTTP bodies,
    # gob types; budget.py); past it, the connection asking for more is refused. None: no bound.
    max_memory_total: Optional[int] = 256 << 20
    max_inflight: int = 128               # calls running at once; reading pauses at the cap
    max_inflight_total: Optional[int] = 10000  # the same over all connections (gate.py)
    message_timeout: Optional[float] = 30.0  # a started request must complete within this
    idle_timeout: Optional[float] = None  # Go clients break on idle closes (docs/protocol.md 1.2)
    write_timeout: Optional[float] = 30.0  # a reply that cannot be sent for this long: close
    method_timeout: Optional[float] = None  # a call running longer is abandoned (deadline.py)
    # TCP keepalive finds peers that vanished without a word (power loss, a dropped NAT entry):
    # probes start after keepalive_idle quiet seconds, then every keepalive_interval; after
    # keepalive_count unanswered probes the kernel drops the connection. None: no probes.
    keepalive_idle: Optional[float] = 30.0
    keepalive_interval: float = 10.0
    keepalive_count: int = 5
