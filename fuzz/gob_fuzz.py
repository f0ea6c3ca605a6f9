"""Fuzz Go's gob codec with net/rpc framing (wire/gob), server and client side."""
from dataclasses import dataclass

import harness  # first: it imports greenrpc instrumented for coverage

from greenrpc.registry import Registry  # noqa: E402
from greenrpc.wire import gob  # noqa: E402


@dataclass
class Args:
    A: int
    B: int


@dataclass
class Reply:
    Pro: int = 0
    Quo: int = 0
    Rem: int = 0


class Arith:
    def Multiply(self, args: Args) -> Reply:
        return Reply(Pro=args.A * args.B)

    def Names(self, names: list[str]) -> dict[str, int]:
        return {name: len(name) for name in names}


registry = Registry()
registry.register(Arith())

if __name__ == "__main__":
    harness.main(server=lambda: gob.ServerCodec(registry.lookup, harness.MAX_MESSAGE_SIZE),
                 client=lambda: gob.ClientCodec(harness.MAX_MESSAGE_SIZE))
