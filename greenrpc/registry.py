"""Services and functions by name: registration with Go's rules, lookup, and running calls.

The registry never sees a wire format: codecs look methods up and bind the arguments to their
parameters (wire/), and dispatch runs a request already bound, as Go's service.call does.
"""
from __future__ import annotations

import bisect
import inspect
import logging
import time
import typing
from collections import deque
from typing import Any, Callable, Optional

import gevent

from . import deadline, errors, openrpc
from .errors import ServerError
from .gate import Helpers
from .messages import Batch, Request, Response
from .schema import Kind, TypeSpec, spec_of, warn_gob_names
from .stats import LATENCY_BUCKETS, Latency
from .version import VERSION

log = logging.getLogger("greenrpc")
_clock = time.perf_counter
_bucket = bisect.bisect_left
_FASTEST = LATENCY_BUCKETS[0]

_POSITIONAL = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)


class Param:
    """One parameter of an exposed method: its name, declared type and default."""

    __slots__ = ("name", "spec", "convert", "default", "annotated")

    def __init__(self, name: str, spec: TypeSpec, default: Any, annotated: bool) -> None:
        self.name = name
        self.spec = spec
        self.convert = spec.convert
        self.default = default
        self.annotated = annotated

    @property
    def required(self) -> bool:
        return self.default is inspect.Parameter.empty


class Method:
    """A callable exposed under one name, with what binding and encoding need to know."""

    __slots__ = ("name", "function", "params", "positional", "var_positional", "var_keyword",
                 "keyword_only", "result_spec", "encode_result", "doc", "calls", "errors",
                 "latency")

    def __init__(self, name: str, function: Callable[..., Any],
                 timeout: Optional[float] = None) -> None:
        self.name = name
        self.function = function
        self.doc = inspect.getdoc(function) or ""
        self.calls = 0   # times the method ran (Go counts calls that returned an error too)
        self.errors = 0  # times it raised
        self.latency = Latency(LATENCY_BUCKETS)  # seconds in the method
        if inspect.iscoroutinefunction(function) or inspect.isasyncgenfunction(function):
            raise TypeError(
                f"{name} is an async def: greenrpc runs each call as plain blocking code in a "
                "greenlet (as Go runs it in a goroutine) and would only get an unawaited "
                "coroutine back; write it with def (blocking I/O yields under gevent), and "
                "call async code from it with asyncio.run(...) if you must")
        try:
            signature = inspect.signature(function)
            hints = typing.get_type_hints(function, include_extras=True)
        except (TypeError, ValueError, NameError) as err:
            raise TypeError(f"{name}: cannot read its signature ({err})") from None
        params: list[Param] = []
        keyword_only: list[Param] = []
        self.var_positional = self.var_keyword = False
        for p in signature.parameters.values():
            if p.kind is inspect.Parameter.VAR_POSITIONAL:
                self.var_positional = True
                continue
            if p.kind is inspect.Parameter.VAR_KEYWORD:
                self.var_keyword = True
                continue
            try:
                spec = spec_of(hints.get(p.name, Any))
            except TypeError as err:
                raise TypeError(f"{name}: parameter {p.name!r}: {err}") from None
            param = Param(p.name, spec, p.default, p.name in hints)
            (params if p.kind in _POSITIONAL else keyword_only).append(param)
        self.params = tuple(params)
        self.keyword_only = tuple(keyword_only)
        self.positional = len(params)
        returns = hints.get("return")
        try:
            self.result_spec = spec_of(returns) if returns not in (None, type(None)) else None
        except TypeError as err:
            raise TypeError(f"{name}: return annotation: {err}") from None
        self.encode_result = self.result_spec.encode if self.result_spec is not None else None
        warn_gob_names([self.result_spec, *(p.spec for p in params + keyword_only)])
        timeout = getattr(function, deadline.ATTRIBUTE, timeout)  # @greenrpc.timeout wins
        if timeout is not None:
            self.function = deadline.bounded(function, timeout, name)

    def zero_result(self) -> Any:
        """What a None result means for the declared type: Go's zero value, or None for pointers.

        Go's client drops the whole connection when a reply does not decode into its reply
        type (client.go input()), so a method declared "-> int" that returns None sends 0.
        """
        spec = self.result_spec
        if spec is None or spec.kind in (Kind.POINTER, Kind.ANY):
            return None
        return spec.encode(spec.zero())


EXPOSE = "_greenrpc_expose"  # set by @expose on a function
F = typing.TypeVar("F")


def expose(method: F) -> F:
    """Expose the decorated method wherever register() would not: from a base class, or a
    staticmethod or classmethod (decorate under @staticmethod or over it, either works)."""
    function = method.__func__ if isinstance(method, (staticmethod, classmethod)) else method
    setattr(function, EXPOSE, True)
    return method


def _exposed(member: Any, owner: type, own: bool) -> bool:
    """Whether a public attribute found in owner's body is exposed without being named.

    As in Go, where only the registered type's own methods are callable: a function defined in
    the body of the registered class itself (decorators that keep __qualname__ included), or
    anything marked @expose. Not: methods of base classes (a UserDict's clear and pop, a
    Thread's start), static and class methods, functions stored as attributes (run =
    subprocess.run), other callables.
    """
    function = member.__func__ if isinstance(member, (staticmethod, classmethod)) else member
    if getattr(function, EXPOSE, False) is True:
        return True
    if not own or not inspect.isfunction(member):
        return False
    qualname: str = inspect.unwrap(member).__qualname__
    return qualname.rpartition(".")[0] == owner.__qualname__


def _public_methods(obj: Any, include: typing.Iterable[str] = ()) -> dict[str, Callable[..., Any]]:
    """The methods register() exposes: see _exposed, plus the public names include lists."""
    cls = type(obj)
    found: dict[str, Callable[..., Any]] = {}
    for owner in reversed(cls.__mro__):
        for attr, member in vars(owner).items():
            if attr.startswith("_"):
                continue
            if _exposed(member, owner, owner is cls):
                found[attr] = getattr(obj, attr)
            else:
                found.pop(attr, None)  # a subclass replaced the method with something else
                if owner is cls and inspect.isfunction(member):
                    log.warning("%s.%s is a function defined outside the class (%s.%s): not "
                                "exposed; name it in register(include=...) to expose it",
                                cls.__name__, attr, member.__module__, member.__qualname__)
    for attr in include:
        if attr.startswith("_"):
            raise ValueError(f"include={attr!r}: names starting with '_' stay private")
        value = getattr(obj, attr, None)
        if not callable(value) or isinstance(value, type):
            raise ValueError(f"include={attr!r}: {cls.__name__} has no method {attr}")
        found[attr] = value
    return found


class Registry:
    """Every exposed method by its full name, and dispatch of requests to them."""

    def __init__(self, method_timeout: Optional[float] = None) -> None:
        self.method_timeout = method_timeout  # for methods without @greenrpc.timeout
        self.methods: dict[str, Method] = {}
        self.services: dict[str, dict[str, Method]] = {}
        # What rpc.discover names the API (OpenRPC's info object); set them to describe yours.
        self.title = "greenrpc"
        self.version = VERSION
        self.started = time.time()  # when serving began (Server.start resets it): the uptime
        # Methods every server answers, found after the registered ones and not listed with them.
        self.builtins: dict[str, Method] = {openrpc.DISCOVER: Method(openrpc.DISCOVER, self.discover)}

    def discover(self) -> Any:
        """Return the OpenRPC document of this server's methods (the rpc.discover method)."""
        return openrpc.document(self, self.title, self.version)

    def register(self, obj: Any, name: Optional[str] = None, *,
                 include: typing.Iterable[str] = ()) -> None:
        """Expose obj's methods as "Name.Method" (Name defaults to its class name).

        Exposed are the public methods defined by obj's class itself and any marked @expose;
        include names more (a base class's, a staticmethod, a function stored as attribute).
        """
        if isinstance(obj, type):
            raise ValueError(f"register an instance, not the class: register({obj.__name__}())")
        service = type(obj).__name__ if name is None else name
        if not service:
            raise ValueError(f"no service name for type {type(obj).__name__}: pass name=")
        if service in self.services:
            raise ValueError(f"service already defined: {service} "
                             "(pass name= to register another instance under a new name)")
        functions = _public_methods(obj, include)
        if not functions:
            raise ValueError(f"type {service} has no public methods to expose (names starting "
                             "with '_' stay private; methods of base classes, static and class "
                             "methods need @greenrpc.expose or register(include=[...]))")
        methods = {attr: Method(f"{service}.{attr}", fn, self.method_timeout)
                   for attr, fn in sorted(functions.items())}
        self.services[service] = methods
        for method in methods.values():
            self.methods[method.name] = method

    def register_function(self, function: Callable[..., Any], name: Optional[str] = None) -> None:
        """Expose one function under name (default: its __name__), exactly as written."""
        full = name if name is not None else getattr(function, "__name__", "")
        if not full or full == "<lambda>":
            raise ValueError("a function needs a name: pass name=")
        if full in self.methods:
            raise ValueError(f"method already defined: {full}")
        self.methods[full] = Method(full, function, self.method_timeout)

    def lookup(self, name: str) -> Method:
        """Return the method called name; raise ServerError with Go's text if there is none."""
        method = self.methods.get(name) or self.builtins.get(name)
        if method is not None:
            return method
        dot = name.rfind(".")  # Go splits at the last dot (docs/protocol.md 1.1)
        if dot < 0:
            text = errors.GO_ILL_FORMED
        elif name[:dot] not in self.services:
            text = errors.GO_NO_SERVICE
        else:
            text = errors.GO_NO_METHOD
        raise ServerError(text.format(name=name), errors.METHOD_NOT_FOUND)

    def dispatch(self, request: Request) -> Response:
        """Run a request's target with its bound arguments and return its response.

        Whatever the method raises becomes an error response. Raises ValueError for a request
        that no codec bound (it has no target).
        """
        method = request.target
        if method is None:
            raise ValueError(f"request for {request.method} has no target: decode it with a codec")
        function = method.function
        kwargs = request.kwargs
        method.calls += 1
        start = _clock()
        try:
            result = function(*request.args, **kwargs) if kwargs else function(*request.args)
        except ServerError as err:
            method.errors += 1
            method.latency.observe(_clock() - start)
            return Response(request, error=err)
        except Exception as err:  # a failing method must never take its connection down
            method.errors += 1
            method.latency.observe(_clock() - start)
            log.exception("method %s raised", method.name)
            return Response(request, error=ServerError(str(err) or type(err).__name__,
                                                       errors.INTERNAL_ERROR))
        # Latency.observe inlined, and no bisect for a call faster than the first bucket's bound:
        # this costs about 0.15 us a call, against 0.25 us through the method call.
        elapsed = _clock() - start
        latency = method.latency
        latency.counts[0 if elapsed <= _FASTEST else _bucket(latency.bounds, elapsed)] += 1
        latency.sum += elapsed
        return Response(request, result)


def run_batch(batch: Batch, dispatch: Callable[[Request], Response], helpers: Helpers,
              peer: str) -> list[Response]:
    """Run a batch's requests, several at once where helpers has room; return every response.

    The calling greenlet takes requests off the batch one by one, and helper greenlets do the
    same beside it (as many as there is room for on the connection and server-wide, gate.py).
    Each call that fails is logged, as report() does. On a connection the batch occupies one
    call slot: if a call blocks, the reading moves on as for any blocking call (handover.py),
    and the batch answers when all are done.
    """
    items = batch.items
    responses: list[Optional[Response]] = [item if isinstance(item, Response) else None
                                           for item in items]
    todo = deque(index for index, item in enumerate(items) if isinstance(item, Request))

    def work() -> None:
        while todo:
            index = todo.popleft()
            responses[index] = dispatch(items[index])  # type: ignore[arg-type]

    started = helpers.spawn(work, len(todo) - 1) if len(todo) > 1 else []
    try:
        work()
        gevent.joinall(started)
    except BaseException:  # killed (stop's grace ran out): the helpers go too
        gevent.killall(started)
        raise
    done: list[Response] = []
    for item, response in zip(items, responses):
        if response is None:  # a helper was killed in its call
            response = Response(item, error=ServerError("internal error",  # type: ignore[arg-type]
                                                        errors.INTERNAL_ERROR))
        report(response, peer, decoded=item is response)
        done.append(response)
    return done


# Errors a codec finds in a call it read (no such method, params that do not bind), logged like
# a failed call; an invalid request or a refused batch is no call, and not logged.
_CALL_ERRORS = (errors.METHOD_NOT_FOUND, errors.INVALID_PARAMS, errors.FORBIDDEN)


def report(response: Response, peer: str, decoded: bool = False) -> None:
    """Log one line if response is a failed call: its method, peer and error.

    decoded: the codec answered it while reading (it never ran). The payload is never logged.
    """
    error = response.error
    if error is None or (decoded and error.code not in _CALL_ERRORS):
        return
    request = response.request
    log.info("call %s from %s failed: %s", request.method, peer, error.message,
             extra={"event": "call_failed", "peer": peer, "method": request.method,
                    "code": error.code})
