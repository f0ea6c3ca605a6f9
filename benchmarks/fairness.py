"""Print how long a fresh connection waits for one call while greedy clients load the server.

    python3 benchmarks/fairness.py                 # 3 runs x 5 s per server, medians
    python3 benchmarks/fairness.py --runs 1 --duration 3

Uses tests/interop/test_fairness.py's runner: Go's jsonrpc.ServeConn and net/http servers
(tests/interop/go/fairserver), then `greenrpc serve`, each pinned to core 0; the Go load
(tests/interop/go/fairload) on core 1: one connection pipelining without pause, one sending an
HTTP body in 1-byte chunks, and a probe connecting for one call every 20 ms. Each case also
runs with the pipelining client alone and the chunk sender alone.
"""
from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.interop.test_fairness import fairness  # noqa: E402

CASES = {"both": (1, 1), "pipelining only": (1, 0), "1-byte chunks only": (0, 1)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--duration", type=float, default=5.0)
    args = parser.parse_args()
    print("| greedy clients | server | probe p50 ms | p99 ms | max ms | pipelined replies/s |")
    print("|---|---|---|---|---|---|")
    for case, (flood, chunked) in CASES.items():
        for kind in ("go", "greenrpc"):
            runs = [fairness(kind, args.duration, flood, chunked) for _ in range(args.runs)]
            p50, p99, most, replies = (float(statistics.median(run[key] for run in runs))
                                       for key in ("p50_us", "p99_us", "max_us",
                                                   "flood_replies_per_s"))
            print(f"| {case} | {kind} | {p50 / 1000:.1f} | {p99 / 1000:.1f} | "
                  f"{most / 1000:.1f} | {replies:,.0f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
