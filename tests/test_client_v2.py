"""The client's JSON-RPC 2.0 mode against a greenrpc server: calls, notifications, batches."""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Iterator

import pytest
from gevent.event import Event

import greenrpc
from tests import services


@dataclass
class Product:
    Pro: int
    Quo: int = 0
    Rem: int = 0


class Notes:
    def __init__(self) -> None:
        self.seen: list[str] = []
        self.arrived = Event()

    def add(self, text: str) -> None:
        self.seen.append(text)
        self.arrived.set()

    def count(self) -> int:
        return len(self.seen)

    def scale(self, value: int, factor: int = 2) -> int:
        return value * factor

    def refuse(self) -> None:
        raise greenrpc.ServerError("no way", -32050, ["data", 1])


@pytest.fixture
def notes() -> Notes:
    return Notes()


@pytest.fixture
def v2_address(notes: Notes) -> Iterator[str]:
    server = services.make_server()
    server.register(notes)
    yield server.start("127.0.0.1:0")
    server.stop(timeout=5)


def test_params_by_position_and_by_name(v2_address: str) -> None:
    with greenrpc.dial(v2_address, version=2) as client:
        assert client.call("Notes.scale", [21]) == 42
        assert client.call("Notes.scale", {"value": 5, "factor": 3}) == 15
        assert client.call("Notes.count") == 0  # params None: left out
        assert client.call("Arith.Multiply", [{"A": 7, "B": 8}], result_type=Product) == Product(56)
        with pytest.raises(TypeError, match="wrap one argument"):
            client.call("Notes.scale", 21)


def test_errors_carry_code_and_data(v2_address: str) -> None:
    with greenrpc.dial(v2_address, version=2) as client:
        with pytest.raises(greenrpc.ServerError) as refused:
            client.call("Notes.refuse")
        assert (refused.value.message, refused.value.code, refused.value.data) == (
            "no way", -32050, ["data", 1])
        with pytest.raises(greenrpc.ServerError) as missing:
            client.call("Notes.nothing", [])
        assert missing.value.code == -32601
        with pytest.raises(greenrpc.ServerError) as bad:
            client.call("Notes.scale", {"nope": 1})
        assert bad.value.code == -32602
        with pytest.raises(greenrpc.ServerError, match="divide by zero") as divide:
            client.call("Arith.Divide", [{"A": 1, "B": 0}])
        assert divide.value.code == -32000


def test_notify_runs_without_a_reply(v2_address: str, notes: Notes) -> None:
    with greenrpc.dial(v2_address, version=2) as client:
        client.notify("Notes.add", ["hello"])
        client.notify("Notes.missing", ["ignored"])  # errors are not answered either
        assert notes.arrived.wait(5)
        assert client.call("Notes.count") == 1 and notes.seen == ["hello"]


def test_batch_resolves_each_call(v2_address: str, notes: Notes) -> None:
    with greenrpc.dial(v2_address, version=2) as client:
        started = time.monotonic()
        with client.batch() as batch:
            slow = [batch.call("Slow.Sleep", [{"Ms": 1000, "Tag": str(i)}]) for i in range(3)]
            scaled = batch.call("Notes.scale", [4])
            failing = batch.call("Notes.refuse")
            batch.notify("Notes.add", ["from a batch"])
        assert [c.get(timeout=5) for c in slow] == ["0", "1", "2"]
        assert time.monotonic() - started < 2.5  # concurrently on the server: in turn takes 3 s
        assert scaled.get(timeout=5) == 8
        with pytest.raises(greenrpc.ServerError, match="no way"):
            failing.get(timeout=5)
        assert notes.seen == ["from a batch"]
        with client.batch():
            pass  # empty: nothing is sent, and the connection stays in step
        assert client.call("Notes.scale", [1]) == 2


def test_a_batch_whose_block_raises_is_not_sent(v2_address: str, notes: Notes) -> None:
    with greenrpc.dial(v2_address, version=2) as client:
        with pytest.raises(KeyError):
            with client.batch() as batch:
                lost = batch.call("Notes.count")
                batch.notify("Notes.add", ["never"])
                raise KeyError("oops")
        with pytest.raises(greenrpc.RPCError, match="not sent"):
            lost.get(timeout=1)
        assert client.call("Notes.count") == 0


def test_go_dialect_clients_refuse_2_0_features(v2_address: str) -> None:
    with greenrpc.dial(v2_address) as client:
        with pytest.raises(greenrpc.RPCError, match="version=2"):
            client.notify("Notes.add", ["x"])
        with pytest.raises(greenrpc.RPCError, match="version=2"):
            client.batch()
    with pytest.raises(ValueError, match="version"):
        greenrpc.dial(v2_address, version=3)


def test_go_and_v2_clients_on_one_server_at_once(v2_address: str) -> None:
    with greenrpc.dial(v2_address) as go_client, greenrpc.dial(v2_address, version=2) as client:
        go_calls = [go_client.go("Arith.Multiply", {"A": i, "B": 2}) for i in range(50)]
        v2_calls = [client.go("Arith.Multiply", [{"A": i, "B": 3}]) for i in range(50)]
        assert [c.get(timeout=5)["Pro"] for c in go_calls] == [i * 2 for i in range(50)]
        assert [c.get(timeout=5)["Pro"] for c in v2_calls] == [i * 3 for i in range(50)]


def test_a_batch_on_a_closed_client_fails_its_calls_at_once(address: str) -> None:
    client = greenrpc.dial(address, version=2)
    client.close()
    batch = client.batch()
    pending = batch.call("Arith.Multiply", [{"A": 1, "B": 2}])
    with pytest.raises(greenrpc.ConnectionClosed, match="client closed"):
        batch.send()
    with pytest.raises(greenrpc.ConnectionClosed, match="client closed"):
        pending.get(timeout=5)  # settled with the reason, not left waiting
