"""Registration with Go's rules, lookup, and dispatch; arguments bound by each dialect's codec."""
from __future__ import annotations

import collections
import functools
import json
import logging
import operator
import os
import re
import subprocess
import threading
from dataclasses import dataclass
from typing import Any

import pytest

import greenrpc
from greenrpc import errors
from greenrpc.errors import ServerError
from greenrpc.messages import Response
from greenrpc.registry import Registry
from greenrpc.wire import jsonserver


@dataclass
class Args:
    A: int
    B: int


class Calc:
    calls = 0  # a class attribute, not a method: never exposed

    def Add(self, args: Args) -> int:
        return args.A + args.B

    def Pair(self, a: int, b: str = "x") -> list[Any]:
        return [a, b]

    def Fail(self, code: int) -> None:
        if code:
            raise ServerError("custom", code=code, data={"why": "asked"})
        raise KeyError("k")

    def _hidden(self) -> int:
        return 1

    @staticmethod
    @greenrpc.expose
    def Static(x: int) -> int:
        return x * 2


class Base:
    def Inherited(self) -> str:
        return "base"


class Child(Base):
    pass


class Call:
    """A request as the JSON codec reads it; run() dispatches it if it bound."""

    def __init__(self, message: dict[str, Any]) -> None:
        self.message = message

    def run(self, registry: Registry) -> Response:
        codec = jsonserver.ServerCodec(registry.lookup)
        [decoded] = codec.feed(json.dumps(self.message).encode() + b"\n")
        return decoded if isinstance(decoded, Response) else registry.dispatch(decoded)

    def reply(self, registry: Registry) -> Any:
        """The reply the JSON codec sends, decoded."""
        codec = jsonserver.ServerCodec(registry.lookup)
        [decoded] = codec.feed(json.dumps(self.message).encode() + b"\n")
        response = decoded if isinstance(decoded, Response) else registry.dispatch(decoded)
        return json.loads(codec.encode(response))


def go(method: str, *args: Any) -> Call:
    return Call({"method": method, "params": list(args), "id": 1})


def strict(method: str, args: Any = None, kwargs: Any = None) -> Call:
    message = {"jsonrpc": "2.0", "method": method, "id": 1}
    if args is not None or kwargs is not None:
        message["params"] = args if args is not None else kwargs
    return Call(message)


def dispatch(registry: Registry, call: Call) -> Response:
    return call.run(registry)


@pytest.fixture
def registry() -> Registry:
    reg = Registry()
    reg.register(Calc())
    reg.register(Child(), include=["Inherited"])
    reg.register(Calc(), name="Calc.v1")
    return reg


def test_public_methods_only(registry: Registry) -> None:
    assert set(registry.services["Calc"]) == {"Add", "Pair", "Fail", "Static"}
    assert "Child.Inherited" in registry.methods
    for name in ("Calc._hidden", "Calc.calls", "Calc.__init__", "Calc.__class__", "Child.__eq__"):
        assert dispatch(registry, go(name)).error is not None


def wrapped(function: Any) -> Any:
    @functools.wraps(function)
    def call(*args: Any) -> Any:
        return function(*args)
    return call


def unwrapped(function: Any) -> Any:
    def call(*args: Any) -> Any:
        return function(*args)
    return call


class Store(collections.UserDict):  # type: ignore[type-arg]
    def Get(self, key: str) -> Any:
        return self.data.get(key)


class Worker(threading.Thread):
    def Status(self) -> str:
        return "idle"


def helper() -> str:
    return "helper"


class Shared:
    @greenrpc.expose
    def Ping(self) -> str:
        return "pong"

    def Internal(self) -> str:  # a base class's method: exposed only where a subclass says so
        return "internal"


class Tools(Shared):
    getcwd = staticmethod(os.getcwd)
    run = subprocess.run  # functions stored as attributes
    help = helper
    plus = operator.add

    def Ok(self) -> str:
        return "ok"

    Alias = Ok  # another name for a method defined here

    @staticmethod
    def Static() -> str:
        return "static"

    @classmethod
    def Class(cls) -> str:
        return "class"

    @wrapped
    def Wrapped(self) -> str:
        return "wrapped"

    @unwrapped
    def Unwrapped(self) -> str:  # its decorator lost the name: it looks like an outside function
        return "unwrapped"

    def Internal(self) -> str:  # overridden here: this class's own
        return "own"


def test_only_methods_defined_by_the_class_itself_are_exposed_as_in_go(
        caplog: pytest.LogCaptureFixture) -> None:
    reg = Registry()
    reg.register(Store())
    reg.register(Worker())
    with caplog.at_level(logging.WARNING, logger="greenrpc"):
        reg.register(Tools())
    assert set(reg.services["Store"]) == {"Get"}  # not clear, pop, update, get, keys...
    assert set(reg.services["Worker"]) == {"Status"}  # not start, join, run, is_alive...
    assert set(reg.services["Tools"]) == {"Ok", "Alias", "Wrapped", "Internal", "Ping"}
    for name in ("Store.clear", "Store.pop", "Worker.start", "Tools.getcwd", "Tools.run",
                 "Tools.help", "Tools.plus", "Tools.Static", "Tools.Class", "Tools.Unwrapped"):
        assert registry_error(reg, name) == errors.METHOD_NOT_FOUND, name
    assert dispatch(reg, go("Tools.Internal")).result == "own"
    assert dispatch(reg, go("Tools.Ping")).result == "pong"  # @expose in a base class
    warned = [r.getMessage() for r in caplog.records]
    assert any(re.match(r"Tools.run is a function defined outside the class \((gevent\.)?"
                        r"subprocess\.run\)", w) for w in warned)  # (gevent's, patched)
    assert any("Tools.Unwrapped" in w for w in warned)
    # What is not exposed is not listed either.
    listed = {m["name"] for m in reg.discover()["methods"]}
    assert {n for n in listed if n.startswith(("Store.", "Worker.", "Tools."))} == {
        f"{service}.{method}" for service, methods in reg.services.items()
        for method in methods}


def test_include_and_expose_opt_in_explicitly() -> None:
    reg = Registry()
    reg.register(Store(), include=["clear", "get"])
    reg.register(Tools(), include=["Static", "Class", "getcwd", "Unwrapped"])
    assert set(reg.services["Store"]) == {"Get", "clear", "get"}
    assert dispatch(reg, go("Tools.Class")).result == "class"
    assert dispatch(reg, go("Tools.Unwrapped")).result == "unwrapped"

    class Plain:
        @classmethod
        @greenrpc.expose
        def Make(cls) -> str:
            return cls.__name__
    reg.register(Plain())
    assert dispatch(reg, go("Plain.Make")).result == "Plain"
    for bad, hint in (("_secret", "stay private"), ("Nope", "has no method Nope"),
                      ("data", "has no method data")):
        with pytest.raises(ValueError, match=hint):
            Registry().register(Store(), include=[bad])
    with pytest.raises(ValueError, match=r"base classes.*@greenrpc.expose"):
        Registry().register(type("OnlyInherited", (Worker,), {})())


def registry_error(reg: Registry, name: str) -> Any:
    error = dispatch(reg, go(name)).error
    return error.code if error is not None else None


def test_registration_errors_have_hints() -> None:
    reg = Registry()
    reg.register(Calc())
    with pytest.raises(ValueError, match="already defined: Calc .*name="):
        reg.register(Calc())
    with pytest.raises(ValueError, match="no public methods"):
        reg.register(object())
    with pytest.raises(ValueError, match=r"instance, not the class: register\(Calc\(\)\)"):
        reg.register(Calc)
    with pytest.raises(ValueError, match="no service name"):
        reg.register(Calc(), name="")

    class Bad:
        def M(self, x: set[int]) -> None: ...
    with pytest.raises(TypeError, match="Bad.M: parameter 'x'"):
        reg.register(Bad())


def test_lookup_texts_match_go(registry: Registry) -> None:
    def text(name: str) -> str:
        return dispatch(registry, go(name, {})).error.message  # type: ignore[union-attr]
    assert text("Add") == "rpc: service/method request ill-formed: Add"
    assert text("Calc.Nope") == "rpc: can't find method Calc.Nope"
    assert text("Nope.Add") == "rpc: can't find service Nope.Add"
    assert text("Calc.") == "rpc: can't find method Calc."
    assert dispatch(registry, go("Calc.v1.Add", {"A": 1, "B": 2})).result == 3


def test_go_binding_uses_first_element_and_zero_values(registry: Registry) -> None:
    assert dispatch(registry, go("Calc.Add", {"A": 2, "B": 3}, "ignored")).result == 5
    assert dispatch(registry, go("Calc.Add")).result == 0
    assert dispatch(registry, go("Calc.Add", None)).result == 0
    assert dispatch(registry, go("Calc.Static", 21)).result == 42
    assert dispatch(registry, go("Calc.Pair", 1)).result == [1, ""]  # Go: zero, not the default


def test_strict_binding_positional_and_named(registry: Registry) -> None:
    assert dispatch(registry, strict("Calc.Pair", [1, "y"])).result == [1, "y"]
    assert dispatch(registry, strict("Calc.Pair", kwargs={"a": 4})).result == [4, "x"]
    for request in (strict("Calc.Pair", [1, "y", 3]), strict("Calc.Pair"),
                    strict("Calc.Pair", kwargs={"a": 1, "c": 2}),
                    strict("Calc.Pair", ["1"])):
        error = dispatch(registry, request).error
        assert error is not None and error.code == errors.INVALID_PARAMS, request.message


def test_type_errors_are_invalid_params_with_go_text(registry: Registry) -> None:
    error = dispatch(registry, go("Calc.Add", {"A": "1"})).error
    assert error is not None and error.code == errors.INVALID_PARAMS
    assert error.message == "json: cannot unmarshal string into Go struct field Args.A of type int"


def test_params_error_is_reported_after_lookup(registry: Registry) -> None:
    missing = {"method": "Calc.Nope", "id": 1}
    assert dispatch(registry, Call(missing)).error.message == "rpc: can't find method Calc.Nope"  # type: ignore[union-attr]
    error = dispatch(registry, Call({"method": "Calc.Add", "id": 1})).error
    assert error is not None and error.message == errors.GO_MISSING_PARAMS


def test_exceptions_become_errors_and_tracebacks_are_logged(
        registry: Registry, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="greenrpc"):
        error = dispatch(registry, go("Calc.Fail", 0)).error
    assert error is not None and error.message == "'k'" and error.code == errors.INTERNAL_ERROR
    assert "Traceback" in caplog.text and "KeyError" in caplog.text
    chosen = dispatch(registry, go("Calc.Fail", 7)).error
    assert chosen is not None and (chosen.code, chosen.data) == (7, {"why": "asked"})


def test_call_counts(registry: Registry) -> None:
    method = registry.methods["Calc.Add"]
    dispatch(registry, go("Calc.Add", {"A": 1}))
    dispatch(registry, go("Calc.Add", {"A": "bad"}))  # undecodable args do not count (Go)
    assert method.calls == 1
    dispatch(registry, go("Calc.Fail", 0))
    assert (registry.methods["Calc.Fail"].calls, registry.methods["Calc.Fail"].errors) == (1, 1)


def test_register_function_names() -> None:
    reg = Registry()
    reg.register_function(lambda a, b: a + b, name="add")
    reg.register_function(len)
    assert dispatch(reg, strict("add", [1, 2])).result == 3
    with pytest.raises(ValueError):
        reg.register_function(lambda: 0)


def test_none_from_a_declared_type_is_its_zero_value() -> None:
    class Typed:
        def Count(self) -> int:
            return None  # type: ignore[return-value]

        def Point(self) -> Args:
            return None  # type: ignore[return-value]

        def Maybe(self) -> int | None:
            return None

        def Untyped(self):  # type: ignore[no-untyped-def]
            return None
    reg = Registry()
    reg.register(Typed())
    # The JSON codecs send the zero value (Go's client cannot read null for a value type).
    assert go("Typed.Count").reply(reg)["result"] == 0
    assert go("Typed.Point").reply(reg)["result"] == {"A": 0, "B": 0}
    assert strict("Typed.Count").reply(reg)["result"] == 0
    assert strict("Typed.Maybe").reply(reg)["result"] is None
    assert strict("Typed.Untyped").reply(reg)["result"] is None
    assert go("Typed.Untyped").reply(reg)["result"] == {}  # never null in Go's dialect
