"""Where a server's time goes: CPU microseconds per call, user and system, under the same load.

    python3 benchmarks/cpu_per_call.py                    # S2 and S4, greenrpc and Go
    python3 benchmarks/cpu_per_call.py --scenarios S1,S2,S3,S4,S5 --duration 5

Each server runs pinned to core 0 and the load generator to core 1, as in run.py. The server's
user and system time (from /proc) over the run, divided by the calls answered, splits a call's
cost into the kernel's part (recv, send, epoll) and the process's own (for greenrpc: the event
loop, greenlet switches, framing, JSON, dispatch; go_path_cost.py splits the last three
further). A server below 100 % of its core is waiting on the load generator or the network.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import SCENARIOS, Server, build_go, load  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> tuple[float, float]:
    """User and system CPU seconds of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) / TICKS, int(fields[12]) / TICKS


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenarios", default="S2,S4")
    parser.add_argument("--servers", default="go,greenrpc")
    parser.add_argument("--duration", type=float, default=5.0)
    args = parser.parse_args()
    build_dir = Path(tempfile.mkdtemp(prefix="greenrpc-cpu-"))
    binaries = {name: build_go(name, build_dir) for name in ("loadgen", "jsonserver", "connload")}
    print(f"{'':4s} {'server':9s} {'calls/s':>9s} {'core used':>9s} {'user µs':>8s} "
          f"{'system µs':>9s} {'total µs':>8s}   per call")
    for scenario in args.scenarios.split(","):
        conns, depth = SCENARIOS[scenario]
        for kind in args.servers.split(","):
            server = Server(kind, binaries)
            try:
                user0, system0 = cpu_seconds(server.process.pid)
                started = time.monotonic()
                # No warm-up outside the window: the CPU counted and the calls counted match.
                summary = load(binaries, server, conns, depth, args.duration,
                               warmup=0)
                elapsed = time.monotonic() - started
                user1, system1 = cpu_seconds(server.process.pid)
            finally:
                server.stop()
            calls = max(summary["calls"], 1)
            user, system = (user1 - user0) / calls * 1e6, (system1 - system0) / calls * 1e6
            print(f"{scenario:4s} {kind:9s} {summary['calls_per_s']:>9,.0f} "
                  f"{(user1 - user0 + system1 - system0) / elapsed:>8.0%} {user:>8.2f} "
                  f"{system:>9.2f} {user + system:>8.2f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
