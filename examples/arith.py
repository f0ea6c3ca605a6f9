"""The Arith service of Go's net/rpc documentation, with Go's int64 arithmetic."""
from __future__ import annotations

from dataclasses import dataclass

from greenrpc import ServerError

INT64_MIN = -(1 << 63)


def int64(n: int) -> int:
    """Wrap n to a Go int64, as Go's arithmetic overflows."""
    return (n - INT64_MIN) % (1 << 64) + INT64_MIN


@dataclass
class Args:
    A: int
    B: int


@dataclass
class Product:
    Pro: int


@dataclass
class Quotient:
    Quo: int
    Rem: int


class Arith:
    def Multiply(self, args: Args) -> Product:
        """Return A*B."""
        return Product(int64(args.A * args.B))

    def Divide(self, args: Args) -> Quotient:
        """Return A/B and A%B, truncated toward zero as in Go."""
        if args.B == 0:
            raise ServerError("divide by zero")
        quo = abs(args.A) // abs(args.B)
        if (args.A < 0) != (args.B < 0):
            quo = -quo
        rem = args.A - args.B * quo
        return Quotient(int64(quo), rem)  # MinInt64 / -1 wraps to MinInt64, remainder 0
