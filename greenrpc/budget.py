"""The server's memory budget: bytes held for clients between reads, counted across connections.

How this works: each connection's limits bound what it may hold (a message in progress by
max_message_size, gob's type definitions by max_gob_type_memory, unsent replies by the
transport's queue bound), but ten thousand connections each within their own limits can still
hold gigabytes. So every connection tells the budget what it holds whenever that changes, once
per read (never per call): the bytes of a message still arriving (a JSON value, an HTTP body, a
gob message), its gob type definitions, and replies queued for a peer that reads slowly. Past
the process-wide limit, the connection asking for more is refused (it closes, or gets an error
reply where its protocol has one) and every other connection goes on as before.

Memory given back is returned to the system too: a large buffer freed among small live objects
leaves free pages inside the allocator's heap, which it keeps (a 4 MiB message in progress
on each of 30 connections left 127 MiB of RSS after they closed). After a holder gives back
TRIM_AFTER bytes or more, the allocator is asked once, soon after, to return free pages
(glibc's malloc_trim; elsewhere nothing is done).
"""
from __future__ import annotations

import ctypes
import ctypes.util
import functools
import sys
from typing import Any, Callable, Optional

DEFAULT_MAX_MEMORY_TOTAL = 256 << 20  # fits a 512 MiB container beside the process itself
TRIM_AFTER = 1 << 20   # bytes given back at once that make the allocator return free pages
TRIM_DELAY = 0.05      # seconds: many connections closing at once trim once


@functools.lru_cache(maxsize=None)
def _malloc_trim() -> Optional[Callable[[int], int]]:
    """glibc's malloc_trim, looked up once; None elsewhere (musl, macOS)."""
    if not sys.platform.startswith("linux"):
        return None
    for name in ("libc.so.6", None):  # None: ask find_library, which runs a subprocess
        try:
            trim: Callable[[int], int] = ctypes.CDLL(name or ctypes.util.find_library("c")
                                                     ).malloc_trim
            return trim
        except (OSError, AttributeError, TypeError):
            continue
    return None


class Budget:
    """Bytes held across a server's connections, against one limit (None: count, never refuse)."""

    def __init__(self, limit: Optional[int] = DEFAULT_MAX_MEMORY_TOTAL,
                 schedule: Optional[Callable[[float, Callable[[], None]], Any]] = None) -> None:
        self.limit = limit if limit is not None else sys.maxsize
        self.used = 0
        self.refused = 0  # holders refused so far, for the log and /metrics
        self._schedule = schedule  # (delay, callback): run callback later; None: trim at once
        self._trim = _malloc_trim()
        self._trim_pending = False

    def hold(self, held: int, size: int) -> bool:
        """A holder that held `held` bytes now holds `size`; False, counting nothing, if that
        growth would pass the limit. Shrinking always succeeds."""
        used = self.used + size - held
        if size > held and used > self.limit:
            self.refused += 1
            return False
        self.used = used
        if held - size >= TRIM_AFTER:
            self._given_back()
        return True

    def _given_back(self) -> None:
        if self._trim is None or self._trim_pending:
            return
        if self._schedule is None:
            self.trim()
            return
        self._trim_pending = True
        self._schedule(TRIM_DELAY, self.trim)

    def trim(self) -> None:
        """Ask the allocator to return its free pages to the system."""
        self._trim_pending = False
        if self._trim is not None:
            self._trim(0)


class Holding:
    """What one connection holds of the budget: tell it each new size with set()."""

    __slots__ = ("budget", "held")

    def __init__(self, budget: Budget) -> None:
        self.budget = budget
        self.held = 0

    def set(self, size: int) -> bool:
        """Hold size bytes now; False (the old amount still counted) if over the budget."""
        if size == self.held:
            return True
        if not self.budget.hold(self.held, size):
            return False
        self.held = size
        return True

    def release(self) -> None:
        """The connection is gone: give everything back."""
        self.budget.hold(self.held, 0)
        self.held = 0
