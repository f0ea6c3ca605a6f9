"""Per-message cost of a Go jsonrpc request on the server: codec feed+encode, and dispatch.

    python3 benchmarks/go_path_cost.py                 # this checkout
    python3 benchmarks/go_path_cost.py /path/to/other  # another checkout, e.g. main, to compare

Pin it for steadier numbers (taskset -c 1). Prints the median and minimum of 15 timeit runs
of 20000 calls each, in nanoseconds per message, for Arith.Multiply with A=9, B=2; the last
line feeds 100 requests at once.
"""
from __future__ import annotations

import inspect
import statistics
import sys
import timeit
from pathlib import Path
from typing import Callable

TREE = Path(sys.argv[1]).resolve() if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent
sys.path.insert(0, str(TREE))

from greenrpc.wire import jsonrpc1  # noqa: E402
from tests import services  # noqa: E402

try:
    from greenrpc.wire import jsonserver  # both dialects on one stream, where it exists
    Codec: Callable[[], object] = jsonserver.ServerCodec
except ImportError:
    Codec = jsonrpc1.ServerCodec

REQUEST = b'{"method":"Arith.Multiply","params":[{"A":9,"B":2}],"id":17}\n'
CALLS = 20000


def main() -> None:
    registry = services.make_server().registry
    if "lookup" in inspect.signature(Codec).parameters:
        codec = Codec(registry.lookup)  # the codec looks methods up and binds arguments
    else:
        codec = Codec()  # an older tree: the registry bound them
    (request,) = codec.feed(REQUEST)  # type: ignore[attr-defined]
    response = registry.dispatch(request)

    def codec_only() -> None:
        codec.feed(REQUEST)  # type: ignore[attr-defined]
        codec.encode(response)  # type: ignore[attr-defined]

    def whole() -> None:
        (message,) = codec.feed(REQUEST)  # type: ignore[attr-defined]
        codec.encode(registry.dispatch(message))  # type: ignore[attr-defined]

    def pipelined() -> None:  # 100 requests in one read, as a pipelining client sends them
        for message in codec.feed(REQUEST * 100):  # type: ignore[attr-defined]
            codec.encode(registry.dispatch(message))  # type: ignore[attr-defined]

    print(f"{TREE} ({type(codec).__module__})")
    for name, run, per in [("feed+encode", codec_only, 1),
                           ("dispatch", lambda: registry.dispatch(request), 1),
                           ("feed+dispatch+encode", whole, 1),
                           ("the same, 100 per read", pipelined, 100)]:
        runs = [timeit.timeit(run, number=CALLS // per) / CALLS * 1e9 for _ in range(15)]
        print(f"  {name:22s} median {statistics.median(runs):6.0f} ns   min {min(runs):6.0f} ns")


if __name__ == "__main__":
    main()
