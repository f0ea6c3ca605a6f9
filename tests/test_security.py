"""Security posture: only public methods are callable, errors carry no internals, and nothing a
client sends is ever unpickled or evaluated."""
from __future__ import annotations

import ast
import collections
import json
import logging
import os
import subprocess
import threading
import urllib.request
from pathlib import Path
from typing import Any, Iterator

import pytest

import greenrpc
from tests import services
from tests.support import ROOT, connect, read_lines


class Vault:
    """A service with things that must stay out of reach."""

    secret = "attribute, not a method"
    called: list[str] = []

    def Open(self, _: Any) -> str:
        return "open"

    def _private(self) -> str:
        Vault.called.append("_private")
        return "leak"

    def __secret(self) -> str:
        Vault.called.append("__secret")
        return "leak"

    def Explode(self, _: Any) -> None:
        path = Path(__file__)
        raise RuntimeError(f"cannot open {path.name}")


@pytest.fixture
def vault() -> Iterator[str]:
    server = services.make_server()
    server.register(Vault())
    server.start()
    yield server.address
    server.stop(timeout=5)


TRICKY_NAMES = [
    "Arith.__class__", "Arith.__init__", "Arith.__dict__", "Arith.__reduce__", "Arith.__str__",
    "Arith.__getattribute__", "Arith.__subclasshook__", "Arith.mro", "Arith.Multiply.__globals__",
    "Arith.Multiply.__call__", "Arith.Multiply.__code__", "__builtins__.eval", "builtins.eval",
    "os.system", "object.__subclasses__", "Vault._private", "Vault.__secret", "Vault._Vault__secret",
    "Vault.secret", "Vault.called", "Vault.Open.__self__", "Vault.__class__.__bases__", "",
    ".", "..", "Arith.", ".Multiply", "Arith..Multiply", "Arith.Multiply.", "Arith.multiply",
    "ARITH.Multiply", "Arith.Multiply\x00", "Arith.Multiply ", "Arith\u200b.Multiply",
    "A" * 10000 + ".Multiply",
]


@pytest.mark.parametrize("name", TRICKY_NAMES, ids=lambda n: repr(n[:40]))
def test_only_public_methods_of_registered_objects_are_callable(vault: str, name: str) -> None:
    with connect(vault) as sock:
        sock.sendall(json.dumps({"method": name, "params": [{}], "id": 1}).encode() + b"\n")
        [line] = read_lines(sock, 1)
    reply = json.loads(line)
    assert reply["result"] is None
    assert reply["error"].startswith(("rpc: can't find method ", "rpc: can't find service ",
                                      "rpc: service/method request ill-formed: "))
    assert Vault.called == []


class Store(collections.UserDict):  # type: ignore[type-arg]
    """A service built on a standard-library class: its methods are not the service's."""

    def Get(self, key: str) -> Any:
        return self.data.get(key)


class Job(threading.Thread):
    def Status(self) -> str:
        return "idle"


class Tools:
    getcwd = staticmethod(os.getcwd)
    run = subprocess.run

    def Ok(self) -> str:
        return "ok"


def test_only_the_registered_class_s_own_methods_are_callable_or_listed() -> None:
    server = greenrpc.Server()
    store = Store({"k": "v"})
    server.register(store)
    server.register(Job())
    server.register(Tools())
    server.start()
    try:
        with connect(server.address) as sock:
            for name in ("Store.clear", "Store.pop", "Store.update", "Job.start", "Job.join",
                         "Tools.getcwd", "Tools.run"):
                sock.sendall(json.dumps({"method": name, "params": [{}], "id": 1}).encode()
                             + b"\n")
                assert json.loads(read_lines(sock, 1)[0])["error"] == \
                    f"rpc: can't find method {name}"
            sock.sendall(b'{"jsonrpc":"2.0","method":"rpc.discover","id":2}\n')
            discovered = {m["name"] for m in json.loads(read_lines(sock, 1)[0])["result"]["methods"]}
        page = urllib.request.urlopen(f"http://{server.address}/debug/rpc?format=json", timeout=5)
        listed = {f"{service['name']}.{method['name']}"
                  for service in json.loads(page.read())["services"]
                  for method in service["methods"]}
    finally:
        server.stop(timeout=5)
    assert store.data == {"k": "v"}
    assert discovered == listed == {"Store.Get", "Job.Status", "Tools.Ok"}


def test_error_replies_carry_the_message_only_never_a_traceback(
        vault: str, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="greenrpc"):
        with greenrpc.dial(vault) as client:
            with pytest.raises(greenrpc.ServerError) as info:
                client.call("Vault.Explode", {})
            text = str(info.value)
            for bad_args in ({"A": "x"}, [1, 2], "str"):
                with pytest.raises(greenrpc.ServerError) as bad:
                    client.call("Arith.Multiply", bad_args)
                assert "Traceback" not in str(bad.value) and ".py" not in str(bad.value)
    assert text == "cannot open test_security.py"  # the exception's message, as Go's err.Error()
    assert "Traceback" not in text and str(ROOT) not in text and "line " not in text
    assert "Traceback" in caplog.text  # the traceback goes to the server's log instead


FORBIDDEN_CALLS = {"eval", "exec", "compile", "__import__"}
FORBIDDEN_MODULES = {"pickle", "cPickle", "marshal", "shelve", "dill", "yaml", "jsonpickle"}


def test_nothing_is_ever_unpickled_or_evaluated() -> None:
    for path in sorted((ROOT / "greenrpc").rglob("*.py")):
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                assert node.func.id not in FORBIDDEN_CALLS, f"{path}:{node.lineno}"
            if isinstance(node, ast.Import):
                names = {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom):
                names = {(node.module or "").split(".")[0]}
            else:
                continue
            assert not names & FORBIDDEN_MODULES, f"{path}:{node.lineno}"
            if "importlib" in names:  # only the command line imports, what its operator names
                assert path.name == "cli.py", f"{path}:{node.lineno}"
