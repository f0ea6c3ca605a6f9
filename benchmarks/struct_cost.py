"""Per-call cost of converting and encoding structs, JSON and gob, in a checkout.

    python3 benchmarks/struct_cost.py                 # this checkout
    python3 benchmarks/struct_cost.py /path/to/other  # another one, e.g. main, to compare

Pin it (taskset -c 1). Prints median and minimum of 9 timeit runs in nanoseconds per call:
a nested struct, Go's ArithResponse, and the same three fields Go-named and named by
@greenrpc.go_struct (where the checkout has it), which must cost about the same.
"""
from __future__ import annotations

import statistics
import sys
import timeit
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

TREE = Path(sys.argv[1]).resolve() if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent
sys.path.insert(0, str(TREE))

import greenrpc  # noqa: E402
from greenrpc.schema import spec_of  # noqa: E402
from greenrpc.wire.gob.encode import encoder  # noqa: E402
from tests.services import ArithResponse  # noqa: E402


@dataclass
class Point:
    X: int
    Y: int = 5


@dataclass
class Shape:
    Name: str
    Points: list[Point] = field(default_factory=list)
    Center: Optional[Point] = None
    Tags: dict[str, int] = field(default_factory=dict)


@dataclass
class GoNamed:
    A: int
    B: int
    Name: str = ""


def mapped() -> Optional[type]:
    if not hasattr(greenrpc, "go_struct"):
        return None

    @greenrpc.go_struct
    @dataclass
    class Mapped:
        a: int
        b: int
        name: str = ""
    return Mapped


def cases() -> list[tuple[str, Callable[[], Any]]]:
    shape = Shape("tri", [Point(1, 2), Point(3, 4)], Point(0, 0), {"a": 1})
    response = ArithResponse(Pro=56)
    json_shape, json_response = spec_of(Shape).encode, spec_of(ArithResponse).encode
    gob_shape, gob_response = encoder(spec_of(Shape)), encoder(spec_of(ArithResponse))
    out: list[tuple[str, Callable[[], Any]]] = [
        ("json encode Shape", lambda: json_shape(shape)),
        ("json encode ArithResponse", lambda: json_response(response)),
        ("gob encode ArithResponse", lambda: gob_response(response, bytearray())),
        ("gob encode Shape", lambda: gob_shape(shape, bytearray()))]
    document = {"A": 9, "B": 2, "Name": "x"}
    for cls in (GoNamed, mapped()):
        if cls is None:
            continue
        spec = spec_of(cls)
        value = spec.convert(document)
        assert spec.encode(value) == document
        out.append((f"json convert {cls.__name__}", lambda c=spec.convert: c(document)))
        out.append((f"json encode {cls.__name__}", lambda e=spec.encode, v=value: e(v)))
    return out


def main() -> None:
    print(TREE)
    for name, run in cases():
        runs = [timeit.timeit(run, number=50000) / 50000 * 1e9 for _ in range(9)]
        print(f"  {name:28s} median {statistics.median(runs):6.0f} ns   min {min(runs):6.0f} ns")


if __name__ == "__main__":
    main()
