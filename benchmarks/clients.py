"""Calls/s of greenrpc's clients against Go's jsonrpc server, with Go's own client as the bar.

    python3 benchmarks/clients.py [--seconds 5] [--rounds 3] [--callers 1,50]

Go's jsonrpc.ServeConn server (benchmarks/go/jsonserver) runs on core 0; each client, in a
process of its own on core 1, calls Arith.Multiply({9, 2}) from N callers at once on ONE
connection: Go's jsonrpc client with N goroutines (benchmarks/go/jsonclient), greenrpc.dial
under gevent with N greenlets, greenrpc.dial in a plain threaded program with N threads, and
greenrpc.aio.dial with N tasks on asyncio and on uvloop. Flavours take turns within each
round, so drift on a noisy machine hits them alike; the median of the rounds is reported,
with its ratio to Go's client at the same number of callers, and the client process's CPU
time per call (all its threads), which other load on the machine disturbs far less.
"""
import sys

if __name__ == "__main__" and sys.argv[1:3] == ["--run", "gevent"]:
    from gevent import monkey  # a gevent program patches first
    monkey.patch_all()

import argparse
import json
import os
import resource
import statistics
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Callable, Optional

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SERVER_CORE, CLIENT_CORE = "0", "1"
FLAVOURS = ["go", "gevent", "threads", "asyncio", "uvloop"]
GOALS = {"gevent": 0.5, "threads": 0.5, "asyncio": 0.8, "uvloop": 0.8}  # x Go's, 50 callers


def build_go(name: str, out_dir: Path) -> Path:
    binary = out_dir / name
    env = dict(os.environ, GO111MODULE="off")
    env.setdefault("GOCACHE", str(Path(tempfile.gettempdir()) / "greenrpc-gocache"))
    subprocess.run(["go", "build", "-o", str(binary), "main.go"], cwd=HERE / "go" / name,
                   check=True, env=env, timeout=600)
    return binary


# The client processes --------------------------------------------------------------------

def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)  # every thread of the process
    return usage.ru_utime + usage.ru_stime


def run_blocking(spawn: Callable[[Callable[[], None]], Any], join: Callable[[list[Any]], None],
                 address: str, callers: int, warmup: float, seconds: float) -> dict[str, float]:
    """N callers (greenlets or threads) share one greenrpc.dial client."""
    import greenrpc

    counts, totals = [0] * callers, [0] * callers
    start = time.monotonic() + warmup
    stop = start + seconds
    with greenrpc.dial(address, call_timeout=30) as client:
        def caller(n: int) -> None:
            call = client.call
            while True:
                assert call("Arith.Multiply", {"A": 9, "B": 2})["Pro"] == 18
                totals[n] += 1
                now = time.monotonic()
                if now >= stop:
                    return
                if now >= start:
                    counts[n] += 1
        cpu = cpu_seconds()
        join([spawn(lambda n=n: caller(n)) for n in range(callers)])
        cpu = cpu_seconds() - cpu
    return {"calls_per_s": sum(counts) / seconds, "cpu_us_per_call": cpu / sum(totals) * 1e6}


def run_gevent(address: str, callers: int, warmup: float, seconds: float) -> dict[str, float]:
    import gevent
    return run_blocking(gevent.spawn, gevent.joinall, address, callers, warmup, seconds)


def run_threads(address: str, callers: int, warmup: float, seconds: float) -> dict[str, float]:
    def spawn(function: Callable[[], None]) -> threading.Thread:
        thread = threading.Thread(target=function)
        thread.start()
        return thread

    def join(threads: list[Any]) -> None:
        for thread in threads:
            thread.join()
    return run_blocking(spawn, join, address, callers, warmup, seconds)


def run_aio(address: str, callers: int, warmup: float, seconds: float,
            uvloop: bool) -> dict[str, float]:
    import asyncio

    from greenrpc import aio

    async def main() -> dict[str, float]:
        counts, totals = [0] * callers, [0] * callers
        start = time.monotonic() + warmup
        stop = start + seconds
        async with await aio.dial(address, call_timeout=30) as client:
            async def caller(n: int) -> None:
                call = client.call
                while True:
                    assert (await call("Arith.Multiply", {"A": 9, "B": 2}))["Pro"] == 18
                    totals[n] += 1
                    now = time.monotonic()
                    if now >= stop:
                        return
                    if now >= start:
                        counts[n] += 1
            cpu = cpu_seconds()
            await asyncio.gather(*(caller(n) for n in range(callers)))
            cpu = cpu_seconds() - cpu
        return {"calls_per_s": sum(counts) / seconds,
                "cpu_us_per_call": cpu / sum(totals) * 1e6}
    if uvloop:
        import uvloop as uv
        with asyncio.Runner(loop_factory=uv.new_event_loop) as runner:
            return runner.run(main())
    return asyncio.run(main())


def run_flavour(flavour: str, address: str, callers: int, warmup: float,
                seconds: float) -> dict[str, float]:
    if flavour == "gevent":
        return run_gevent(address, callers, warmup, seconds)
    if flavour == "threads":
        return run_threads(address, callers, warmup, seconds)
    return run_aio(address, callers, warmup, seconds, uvloop=flavour == "uvloop")


# The harness -----------------------------------------------------------------------------

def measure(flavour: str, address: str, callers: int, warmup: float, seconds: float,
            go_client: Path) -> dict[str, float]:
    pin = ["taskset", "-c", CLIENT_CORE]
    if flavour == "go":
        args = [*pin, str(go_client), "-addr", address, "-c", str(callers),
                "-duration", f"{seconds}s", "-warmup", f"{warmup}s"]
    else:
        args = [*pin, sys.executable, str(Path(__file__).resolve()), "--run", flavour,
                "--address", address, "--callers", str(callers), "--warmup", str(warmup),
                "--seconds", str(seconds)]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(ROOT)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]))
    done = subprocess.run(args, capture_output=True, text=True, check=True, env=env,
                          timeout=warmup + seconds + 60)
    figures: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


def start_server(binary: Path) -> tuple[subprocess.Popen[str], str]:
    server = subprocess.Popen(["taskset", "-c", SERVER_CORE, str(binary), "-addr",
                               "127.0.0.1:0"], stdout=subprocess.PIPE, text=True)
    assert server.stdout is not None
    line = server.stdout.readline()  # "listening on 127.0.0.1:PORT"
    return server, line.split()[-1]


def median(results: dict[tuple[str, int], list[dict[str, float]]], flavour: str, callers: int,
           key: str = "calls_per_s") -> float:
    return statistics.median(run[key] for run in results[(flavour, callers)])


def report(results: dict[tuple[str, int], list[dict[str, float]]], callers: list[int],
           flavours: list[str]) -> str:
    lines = ["| client | " + " | ".join(f"{c} caller{'s' if c > 1 else ''}: calls/s (x Go), "
                                       "client CPU us/call" for c in callers) + " |",
             "|---|" + "---:|" * len(callers)]
    for flavour in flavours:
        cells = []
        for c in callers:
            rate, go = median(results, flavour, c), median(results, "go", c)
            cells.append(f"{rate:,.0f}" + ("" if flavour == "go" else f" ({rate / go:.2f}x)")
                         + f", {median(results, flavour, c, 'cpu_us_per_call'):.1f}")
        name = "Go jsonrpc client" if flavour == "go" else flavour
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    most = max(callers)
    go = median(results, "go", most)
    lines.append("")
    for flavour, goal in GOALS.items():
        if flavour in flavours:
            ratio = median(results, flavour, most) / go
            lines.append(f"{flavour} at {most} callers: {ratio:.2f}x Go's client "
                         f"(goal {goal}x): {'met' if ratio >= goal else 'NOT met'}")
    return "\n".join(lines)


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--run", choices=FLAVOURS[1:], help=argparse.SUPPRESS)
    parser.add_argument("--address", help=argparse.SUPPRESS)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--callers", default="1,50", help="comma-separated (default 1,50)")
    parser.add_argument("--flavours", default=",".join(FLAVOURS))
    args = parser.parse_args(argv)
    if args.run:  # one client process, pinned by the harness
        print(json.dumps(run_flavour(args.run, args.address, int(args.callers), args.warmup,
                                     args.seconds)))
        return 0
    callers = [int(c) for c in args.callers.split(",")]
    flavours = args.flavours.split(",")
    if "go" not in flavours:
        flavours.insert(0, "go")
    out = Path(tempfile.mkdtemp(prefix="greenrpc-clients-"))
    server_binary, go_client = build_go("jsonserver", out), build_go("jsonclient", out)
    server, address = start_server(server_binary)
    results: dict[tuple[str, int], list[dict[str, float]]] = {
        (f, c): [] for f in flavours for c in callers}
    try:
        for round in range(args.rounds):
            for c in callers:
                for flavour in flavours:
                    run = measure(flavour, address, c, args.warmup, args.seconds, go_client)
                    results[(flavour, c)].append(run)
                    print(f"round {round + 1}: {flavour:8} {c:3} callers "
                          f"{run['calls_per_s']:10,.0f} calls/s "
                          f"{run['cpu_us_per_call']:6.1f} us CPU/call", file=sys.stderr, flush=True)
    finally:
        server.kill()
        server.wait()
    print(report(results, callers, flavours))
    return 0


if __name__ == "__main__":
    sys.exit(main())
