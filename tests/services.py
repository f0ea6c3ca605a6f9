"""The services Go's captures were taken against (docs/protocol.md 8), written with greenrpc."""
from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Any

import greenrpc


@dataclass
class ArithRequest:
    A: int
    B: int


@dataclass
class ArithResponse:
    Pro: int = 0
    Quo: int = 0
    Rem: int = 0


class Arith:
    def Multiply(self, args: ArithRequest) -> ArithResponse:
        return ArithResponse(Pro=args.A * args.B)

    def Divide(self, args: ArithRequest) -> ArithResponse:
        if args.B == 0:
            raise greenrpc.ServerError("divide by zero")
        quo = abs(args.A) // abs(args.B) * (-1 if (args.A < 0) != (args.B < 0) else 1)
        return ArithResponse(Quo=quo, Rem=args.A - args.B * quo)


@dataclass
class SleepArgs:
    Ms: int
    Tag: str


class Slow:
    def Sleep(self, args: SleepArgs) -> str:
        time.sleep(args.Ms / 1000)  # a plain blocking call: monkey-patched, it yields
        return args.Tag


class Echo:
    def Int(self, n: int) -> int:
        return n

    def Str(self, s: str) -> str:
        return s

    def Slice(self, n: int) -> list[int]:
        return list(range(n))

    def Any(self, n: int) -> Any:
        if n == 0:
            return None  # Go's nil interface
        return ArithResponse(Pro=7) if n == 7 else n


class Replica:
    """Tells which process answered, for tests that spread calls over several servers."""

    def Pid(self) -> int:
        return os.getpid()

    def Work(self, ms: int) -> int:
        time.sleep(ms / 1000)
        return os.getpid()


def make_server(**options: Any) -> greenrpc.Server:
    server = greenrpc.Server(**options)
    server.register(Arith())
    server.register(Arith(), name="Calc.v1")
    server.register(Echo())
    server.register(Slow())
    return server
