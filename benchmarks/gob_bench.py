"""Measure greenrpc's gob side against Go's own net/rpc gob server, in the same run.

    python3 benchmarks/gob_bench.py                     # 3 runs x every scenario, 5 s each
    python3 benchmarks/gob_bench.py --runs 1 --duration 2 --scenarios 1x1
    python3 benchmarks/gob_bench.py --micro-only        # per-call codec cost only

Each server (greenrpc serving examples/arith.py, Go's rpc.Accept) is pinned to core 0 with
taskset; the load generator (benchmarks/go/gobload: Go's net/rpc client, every reply checked,
bounded run time) is pinned to core 1 with GOMAXPROCS=1. Servers take turns within each run so
drift on a noisy machine hits both alike; medians over the runs are printed. The micro part
times the server codec's work per call with timeit: decode a request header and argument,
encode a response header and body.
"""
from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import timeit
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SCENARIOS = {"1x1": (1, 1), "1x32": (1, 32), "8x16": (8, 16), "50x1": (50, 1)}
SERVER_CORE, LOADER_CORE = "0", "1"


def build(name: str, out_dir: Path) -> Path:
    binary = out_dir / name
    env = dict(os.environ, GO111MODULE="off")
    env.setdefault("GOCACHE", str(Path(tempfile.gettempdir()) / "greenrpc-gocache"))
    subprocess.run(["go", "build", "-o", str(binary), "main.go"], cwd=HERE / "go" / name,
                   check=True, env=env, timeout=600)
    return binary


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_listening(port: int, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"no server on port {port} after {timeout}s")


def start_server(kind: str, binaries: dict[str, Path]) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    address = f"127.0.0.1:{port}"
    if kind == "greenrpc":
        env = dict(os.environ, PYTHONPATH=f"{ROOT}{os.pathsep}{ROOT / 'examples'}")
        command = [sys.executable, "-m", "greenrpc", "serve", "--log-level", "warning",
                   "--listen", address, "arith:Arith"]
    else:
        env = dict(os.environ, GOMAXPROCS="1")
        command = [str(binaries["gobserver"]), "-addr", address]
    process = subprocess.Popen(["taskset", "-c", SERVER_CORE] + command, env=env,
                               stdout=subprocess.DEVNULL)
    wait_listening(port)
    return process, port


def load(binary: Path, port: int, conns: int, goroutines: int, duration: float) -> dict[str, Any]:
    command = ["taskset", "-c", LOADER_CORE, str(binary), "-addr", f"127.0.0.1:{port}",
               "-c", str(conns), "-g", str(goroutines), "-duration", f"{duration}s",
               "-warmup", "1s"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=duration + 60,
                          env=dict(os.environ, GOMAXPROCS="1"))
    if done.returncode != 0:
        raise RuntimeError(f"gobload failed: {done.stderr.strip()}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def run_load(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="greenrpc-gob-bench-") as tmp:
        binaries = {name: build(name, Path(tmp)) for name in ("gobserver", "gobload")}
        names = args.scenarios.split(",")
        results: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for run in range(args.runs):
            for scenario in names:
                conns, goroutines = SCENARIOS[scenario]
                for kind in ("greenrpc", "go"):
                    process, port = start_server(kind, binaries)
                    try:
                        outcome = load(binaries["gobload"], port, conns, goroutines,
                                       args.duration)
                    finally:
                        process.terminate()
                        process.wait(timeout=10)
                    if outcome["errors"]:
                        raise RuntimeError(f"{kind} {scenario}: {outcome['errors']} bad replies")
                    results.setdefault((scenario, kind), []).append(outcome)
                    print(f"run {run + 1} {scenario:5} {kind:8} {outcome['calls_per_sec']:9.0f}"
                          f" calls/s  p50 {outcome['p50_us']:.0f} us", flush=True)
        print("\nmedians (calls/s; p50 latency)")
        for scenario in names:
            row = {}
            for kind in ("greenrpc", "go"):
                runs = results[(scenario, kind)]
                row[kind] = (statistics.median(r["calls_per_sec"] for r in runs),
                             statistics.median(r["p50_us"] for r in runs))
            ratio = row["greenrpc"][0] / row["go"][0]
            print(f"  {scenario:5} greenrpc {row['greenrpc'][0]:9.0f} ({row['greenrpc'][1]:.0f} us)"
                  f"   go {row['go'][0]:9.0f} ({row['go'][1]:.0f} us)   ratio {ratio:.2f}")


def run_micro(repeat: int) -> None:
    """Time the server codec's share of one call, and where it goes."""
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(ROOT / "examples"))
    from arith import Args, Arith, Product

    from greenrpc.registry import Registry
    from greenrpc.schema import spec_of
    from greenrpc.wire.gob import ClientCodec, ServerCodec, headers

    registry = Registry()
    registry.register(Arith())
    server = ServerCodec(registry.lookup)
    client = ClientCodec()
    server.encode(registry.dispatch(server.feed(client.encode("Arith.Multiply", Args(7, 8), 0))[0]))
    call = client.encode("Arith.Multiply", Args(7, 8), 1)  # no definitions: steady state
    request = server.feed(call)[0]
    response = registry.dispatch(request)

    def per_call(statement: Any, number: int = 20000) -> float:
        return min(timeit.repeat(statement, number=number, repeat=repeat)) / number * 1e6

    total = per_call(lambda: server.encode(registry.dispatch(server.feed(call)[0])))
    codec = per_call(lambda: server.encode(response) and server.feed(call))
    decode = per_call(lambda: server.feed(call))
    encode = per_call(lambda: server.encode(response))
    reader = server.reader
    header = call[:call.index(b"\x07\xff\x84")]
    body = call[len(header):]
    args_spec = spec_of(Args)

    def decode_header() -> None:
        reader.feed(header)
        reader.read_value(headers.REQUEST)

    def decode_body() -> None:
        reader.feed(body)
        reader.read_value(args_spec)

    writer = server.writer
    out = bytearray()

    def encode_header() -> None:
        out.clear()
        writer.write_value(headers.Response("Arith.Multiply", 1, ""), headers.RESPONSE, out)

    def encode_body() -> None:
        out.clear()
        writer.write_value(Product(56), spec_of(Product), out)

    print("per-call cost of the gob server codec (best of %d, µs):" % repeat)
    print(f"  decode header+argument + encode header+body   {codec:6.2f}   (limit 20)")
    print(f"    decode (feed)                                {decode:6.2f}")
    print(f"      header  Request{{ServiceMethod, Seq}}       {per_call(decode_header):6.2f}")
    print(f"      argument Args{{A, B}}                        {per_call(decode_body):6.2f}")
    print(f"    encode                                       {encode:6.2f}")
    print(f"      header  Response{{ServiceMethod, Seq, Error}} {per_call(encode_header):6.2f}")
    print(f"      body    Product{{Pro}}                       {per_call(encode_body):6.2f}")
    print(f"  with dispatch to Arith.Multiply                {total:6.2f}")
    print(f"  ({len(call)} request bytes, {len(server.encode(response))} response bytes)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--duration", type=float, default=5.0, help="measured seconds per load")
    parser.add_argument("--scenarios", default=",".join(SCENARIOS),
                        help="comma-separated, CONNSxGOROUTINES: " + ", ".join(SCENARIOS))
    parser.add_argument("--micro-only", action="store_true", help="only time the codec")
    args = parser.parse_args()
    run_micro(repeat=5)
    if not args.micro_only:
        print()
        run_load(args)


if __name__ == "__main__":
    main()
