"""A guard on the request path's cost that cannot flake: greenrpc's own Python function calls
per request, counted with sys.setprofile over a real connection, against a committed budget.

Speed is measured in benchmarks/ (BENCHMARKS.md); a test cannot time it on a shared machine. But
on this path the cost is Python work per request (the system calls are already one recv and
one send per read), and Python work grows with the calls made. A change that adds a layer to
every request fails here; one that removes some should lower the budget.
"""
from __future__ import annotations

import socket
import sys
from collections import Counter
from pathlib import Path
from types import FrameType
from typing import Any, Iterator

import pytest

import greenrpc
from tests.support import connect

PACKAGE = str(Path(greenrpc.__file__).parent)
REQUEST = b'{"method":"Arith.Multiply","params":[{"A":9,"B":2}],"id":1}\n'
# Calls into greenrpc's own functions per request, measured when the budget was set (one more
# for slack); the user's method and the standard library are not counted.
BUDGET = {"one at a time": 20, "64 pipelined": 11}


@pytest.fixture
def address() -> Iterator[str]:
    sys.path.insert(0, str(Path(PACKAGE).parent / "examples"))
    from arith import Arith  # the example service, dataclass params and results
    server = greenrpc.Server()
    server.register(Arith())
    server.start()
    yield server.address
    server.stop(timeout=5)


def exchange(sock: socket.socket, depth: int) -> None:
    sock.sendall(REQUEST * depth)
    answered = 0
    while answered < depth:
        answered += sock.recv(1 << 16).count(b"\n")


def calls_per_request(address: str, depth: int, rounds: int) -> tuple[float, Counter[str]]:
    counted: Counter[str] = Counter()

    def profile(frame: FrameType, event: str, arg: Any) -> None:
        if event == "call" and frame.f_code.co_filename.startswith(PACKAGE):
            counted[f"{Path(frame.f_code.co_filename).name}:{frame.f_code.co_name}"] += 1

    with connect(address) as sock:
        exchange(sock, depth)  # the first call on a connection pays for setting it up
        sys.setprofile(profile)
        try:
            for _ in range(rounds):
                exchange(sock, depth)
        finally:
            sys.setprofile(None)
    return sum(counted.values()) / (depth * rounds), counted


@pytest.mark.parametrize("case,depth,rounds", [("one at a time", 1, 200),
                                               ("64 pipelined", 64, 20)])
def test_python_calls_per_request_stay_within_budget(address: str, case: str, depth: int,
                                                     rounds: int) -> None:
    first, counted = calls_per_request(address, depth, rounds)
    again, _ = calls_per_request(address, depth, rounds)
    assert abs(first - again) < 0.05, "the count must not depend on timing"
    top = ", ".join(f"{name} {count / (depth * rounds):.2f}" for name, count in
                    counted.most_common(12))
    assert first <= BUDGET[case], f"{first:.2f} calls per request: {top}"
