"""Bound how long a method may run: the ``timeout`` decorator and the wrapper that enforces it.

How this works: the wrapper starts a gevent timer in the greenlet running the call. When it
fires, gevent raises ``gevent.Timeout`` inside the call at the point where it is blocked; the
call's ``finally`` blocks run, and the caller gets an error reply. The hand-over gives a call
that blocks its own greenlet (handover.py), and the timer belongs to that greenlet, so it works for calls
running inline and handed over alike. A call that never blocks (a busy loop) cannot be
interrupted this way: greenlets are cooperative.
"""
from __future__ import annotations

import logging
from typing import Any, Callable, Optional, TypeVar

import gevent

from . import errors
from .errors import ServerError

log = logging.getLogger("greenrpc")

ATTRIBUTE = "_greenrpc_timeout"
F = TypeVar("F", bound=Callable[..., Any])


def timeout(seconds: Optional[float]) -> Callable[[F], F]:
    """Abandon calls of the decorated method after seconds, answering them with an error.

    Overrides the server's ``method_timeout`` for this method; ``None`` means no bound.
    """
    if seconds is not None and not seconds > 0:
        raise ValueError(f"timeout must be positive seconds or None, not {seconds!r}")

    def mark(function: F) -> F:
        setattr(function, ATTRIBUTE, seconds)
        return function
    return mark


def bounded(function: Callable[..., Any], seconds: float, name: str) -> Callable[..., Any]:
    """Wrap function so that a call running past seconds raises ServerError instead."""
    message = errors.METHOD_TIMED_OUT.format(name=name, seconds=seconds)

    def call(*args: Any, **kwargs: Any) -> Any:
        timer = gevent.Timeout(seconds)
        timer.start()
        try:
            return function(*args, **kwargs)
        except gevent.Timeout as err:
            if err is not timer:
                raise  # someone else's timer
            log.warning("%s: abandoned after %ss", name, seconds)
            raise ServerError(message) from None
        finally:
            timer.close()
    return call
