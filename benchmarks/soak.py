"""Soak greenrpc: a million verified calls over many connections; its memory must not creep.

    python3 benchmarks/soak.py                     # >= 1,000,000 calls in >= 20 rounds (~1-2 min)
    python3 benchmarks/soak.py --calls 5000000 --min-rounds 60

A greenrpc server (examples/arith.py's Arith, from this tree) runs pinned to core 0. The Go load
generator (benchmarks/go/loadgen, standard library only) runs rounds pinned to core 1, each
with new connections, cycling 1,000, 200, 50 and 10 connections with 8 requests outstanding on
each, and verifies every reply; it goes on in whole cycles until both --calls and --min-rounds
are reached (or --max-minutes pass). After a warm-up cycle (so the allocator has seen the
largest round) the server's RSS is the baseline; after the last cycle it must have grown by
less than --max-growth percent. Finally the server gets
SIGTERM and must report as many replies sent as requests read. Exit status 0 when both hold.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
# One cycle of rounds; each cycle ends where RSS is measured, so start and end compare alike.
ROUND_CONNECTIONS = (1000, 200, 50, 10)


def build_loadgen(out_dir: Path) -> Path:
    binary = out_dir / "loadgen"
    env = dict(os.environ, GO111MODULE="off")
    env.setdefault("GOCACHE", str(Path(tempfile.gettempdir()) / "greenrpc-gocache"))
    subprocess.run(["go", "build", "-o", str(binary), "main.go"], cwd=HERE / "go" / "loadgen",
                   check=True, env=env, timeout=600)
    return binary


def many_descriptors() -> None:
    """Let a child use as many descriptors as the hard limit allows (1,000 connections)."""
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def pinned(core: str, command: list[str]) -> list[str]:
    return ["taskset", "-c", core, *command] if os.path.exists("/usr/bin/taskset") else command


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_server(port: int) -> subprocess.Popen[str]:
    env = dict(os.environ, PYTHONPATH=f"{ROOT}{os.pathsep}{ROOT / 'examples'}")
    process = subprocess.Popen(pinned("0", [sys.executable, "-m", "greenrpc", "serve", "arith:Arith",
                                            "--listen", f"127.0.0.1:{port}"]),
                               env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                               preexec_fn=many_descriptors)
    deadline = time.monotonic() + 20
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return process
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                raise SystemExit("soak: the server did not start") from None
            time.sleep(0.05)


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def run_round(loadgen: Path, port: int, conns: int, depth: int, seconds: float) -> dict[str, Any]:
    done = subprocess.run(pinned("1", [str(loadgen), "-addr", f"127.0.0.1:{port}", "-c", str(conns),
                                       "-d", str(depth), "-duration", f"{seconds}s",
                                       "-warmup", "0s"]),
                          capture_output=True, text=True, timeout=seconds + 60,
                          preexec_fn=many_descriptors)
    if done.returncode != 0 or not done.stdout.strip():
        raise SystemExit(f"soak: the load generator failed: {done.stderr}")
    summary: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return summary


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=1_000_000)
    parser.add_argument("--depth", type=int, default=8, help="requests outstanding per connection")
    parser.add_argument("--min-rounds", type=int, default=20)
    parser.add_argument("--round-seconds", type=float, default=3.0)
    parser.add_argument("--max-minutes", type=float, default=15.0, help="stop by then regardless")
    parser.add_argument("--max-growth", type=float, default=10.0, help="percent of RSS allowed")
    args = parser.parse_args()

    loadgen = build_loadgen(Path(tempfile.mkdtemp(prefix="greenrpc-soak-")))
    port = free_port()
    server = start_server(port)
    stop_by = time.monotonic() + args.max_minutes * 60
    calls = errors = connections = 0
    try:
        for conns in ROUND_CONNECTIONS:  # warm-up: caches, pools, the allocator's high water
            run_round(loadgen, port, conns, args.depth, 2.0)
        start_rss = peak_rss = rss_kib(server.pid)
        print(f"server RSS after a warm-up cycle: {start_rss} KiB", flush=True)
        round_number = 0
        started = time.monotonic()
        while (calls < args.calls or round_number < args.min_rounds
               or round_number % len(ROUND_CONNECTIONS)) and time.monotonic() < stop_by:
            conns = ROUND_CONNECTIONS[round_number % len(ROUND_CONNECTIONS)]
            summary = run_round(loadgen, port, conns, args.depth, args.round_seconds)
            round_number += 1
            calls += int(summary["calls"])
            errors += sum(summary.get("errors", {}).values())
            connections += conns
            rss = rss_kib(server.pid)
            peak_rss = max(peak_rss, rss)
            print(f"round {round_number}: {conns} connections, {summary['calls']} calls "
                  f"({summary['calls_per_s']:.0f}/s), total {calls}, RSS {rss} KiB", flush=True)
        end_rss = rss_kib(server.pid)
        minutes = (time.monotonic() - started) / 60
    finally:
        server.send_signal(signal.SIGTERM)
        _, log = server.communicate(timeout=30)
    counts = re.search(r"stopped: (\d+) requests read, (\d+) replies sent", log)
    read, sent = (int(counts[1]), int(counts[2])) if counts else (-1, -2)
    growth = 100.0 * (end_rss - start_rss) / start_rss
    result = {"calls": calls, "errors": errors, "connections": connections,
              "rounds": round_number, "minutes": round(minutes, 1),
              "rss_start_kib": start_rss, "rss_end_kib": end_rss, "rss_peak_kib": peak_rss,
              "rss_growth_pct": round(growth, 2), "requests_read": read, "replies_sent": sent}
    print(json.dumps(result))
    ok = calls >= args.calls and errors == 0 and read == sent and growth < args.max_growth
    print("soak: " + ("PASS" if ok else "FAIL"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
