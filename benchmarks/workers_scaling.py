"""Compare `greenrpc serve --workers 1` with `--workers N`: calls/s and their ratio, one run each.

    python3 benchmarks/workers_scaling.py                   # 1 vs 2 workers, 1 + 4 s per run
    python3 benchmarks/workers_scaling.py --workers 4 --duration 10 --rounds 3

Nothing is pinned: with N workers the servers and the load generator (benchmarks/go/loadgen,
GOMAXPROCS=1, verifying every reply) share the machine's cores, as they would on one host.
Each round runs every scenario against each server in turn, so drift hits them alike; the
median per cell is printed.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from run import ROOT, build_go, free_port, raise_fd_limit

SCENARIOS = {"50 connections, depth 1": (50, 1), "8 connections x 32 pipelined": (8, 32)}


def wait_until_listening(port: int, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 20
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline or server.poll() is not None:
                raise RuntimeError("greenrpc did not start") from None
            time.sleep(0.05)


def calls_per_second(loadgen: Path, workers: int, conns: int, depth: int, seconds: float,
                     warmup: float) -> float:
    """Start greenrpc with workers processes, load it, stop it; return the calls/s measured."""
    port = free_port()
    address = f"127.0.0.1:{port}"
    env = dict(os.environ, PYTHONPATH=f"{ROOT}{os.pathsep}{ROOT / 'examples'}")
    server = subprocess.Popen([sys.executable, "-m", "greenrpc", "serve", "arith:Arith",
                               "--listen", address, "--log-level", "warning",
                               "--workers", str(workers)], env=env,
                              stdout=subprocess.DEVNULL, preexec_fn=raise_fd_limit)
    try:
        wait_until_listening(port, server)
        done = subprocess.run([str(loadgen), "-addr", address, "-c", str(conns), "-d", str(depth),
                               "-duration", f"{seconds}s", "-warmup", f"{warmup}s"],
                              capture_output=True, text=True, timeout=seconds + warmup + 60,
                              env=dict(os.environ, GOMAXPROCS="1"), preexec_fn=raise_fd_limit)
        summary = json.loads(done.stdout.strip().splitlines()[-1])
        if sum(summary["errors"].values()):
            raise RuntimeError(f"load errors: {summary['errors']}")
        return float(summary["calls_per_s"])
    finally:
        server.send_signal(signal.SIGTERM)  # the supervisor drains its workers and exits
        server.wait(timeout=30)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2, help="compared with 1 (default 2)")
    parser.add_argument("--duration", type=float, default=4.0, help="measured seconds per run")
    parser.add_argument("--warmup", type=float, default=1.0, help="unmeasured seconds before")
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    loadgen = build_go("loadgen", Path(tempfile.mkdtemp(prefix="greenrpc-bench-")))
    counts = (1, args.workers)
    results: dict[str, dict[int, list[float]]] = {s: {n: [] for n in counts} for s in SCENARIOS}
    for round_ in range(args.rounds):
        for title, (conns, depth) in SCENARIOS.items():
            for workers in counts:
                rate = calls_per_second(loadgen, workers, conns, depth, args.duration, args.warmup)
                results[title][workers].append(rate)
                print(f"  round {round_ + 1} {title:30s} --workers {workers}: {rate:>9,.0f} calls/s",
                      flush=True)
    print(f"\n{os.cpu_count()} cores, nothing pinned, loader GOMAXPROCS=1")
    for title, by_count in results.items():
        one, many = (statistics.median(by_count[n]) for n in counts)
        print(f"{title:30s} --workers 1: {one:>9,.0f}  --workers {args.workers}: {many:>9,.0f}"
              f"  ratio {many / one:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
