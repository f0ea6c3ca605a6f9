"""Measure greenrpc against Go's own net/rpc/jsonrpc server, side by side, in one run.

    python3 benchmarks/run.py                       # every scenario, 3 runs of 10 s each
    python3 benchmarks/run.py --scenarios S1,S4 --duration 5 --runs 1
    python3 benchmarks/run.py --scenarios "" --idle 20000   # RSS per idle connection only

Each server (`greenrpc serve examples/arith.py` as users run it, Go's jsonrpc.ServeConn, a naive
gevent server) is started pinned to core 0; the load generator (benchmarks/go/loadgen, Go
standard library) runs pinned to core 1 and verifies every reply. S7 is the PHP pattern instead
(benchmarks/go/connload): 50 workers each connect, make one call and close, again and again.
The server's CPU time over each measured window gives its CPU per call. Servers take turns
within each run, so drift on a noisy machine hits them alike; the medians and their ratio to Go
are printed, and written to BENCHMARKS.md and a PNG plot with --write.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Optional

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SCENARIOS = {  # name: (connections, requests outstanding per connection)
    "S1": (1, 1),
    "S2": (50, 1),
    "S3": (1, 100),
    "S4": (8, 32),
    "S5": (1000, 1),
    "S7": (50, 0),  # connect, one call, close: depth 0 marks connload
}
TITLES = {
    "S1": "1 connection, depth 1",
    "S2": "50 connections, depth 1",
    "S3": "1 connection, 100 pipelined",
    "S4": "8 connections x 32 pipelined",
    "S5": "1,000 connections, depth 1",
    "S7": "connect, one call, close (50 openers)",
}
SERVER_CORE, LOADER_CORE = "0", "1"
TICKS = os.sysconf("SC_CLK_TCK")
FD_HARD_LIMIT = resource.getrlimit(resource.RLIMIT_NOFILE)[1]


def build_go(name: str, out_dir: Path) -> Path:
    """Compile benchmarks/go/<name>/main.go (standard library only)."""
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


def raise_fd_limit() -> None:
    """Let a child use as many descriptors as this machine allows (its hard limit)."""
    resource.setrlimit(resource.RLIMIT_NOFILE, (FD_HARD_LIMIT, FD_HARD_LIMIT))


class Server:
    """One server process pinned to the server core."""

    def __init__(self, kind: str, binaries: dict[str, Path]) -> None:
        self.kind = kind
        self.port = free_port()
        address = f"127.0.0.1:{self.port}"
        env = dict(os.environ, PYTHONPATH=f"{ROOT}{os.pathsep}{ROOT / 'examples'}")
        commands = {
            # The default bound (10,000) would leave part of an idle run in the listen backlog.
            "greenrpc": [sys.executable, "-m", "greenrpc", "serve", "arith:Arith",
                         "--listen", address, "--max-connections", str(FD_HARD_LIMIT)],
            "go": [str(binaries["jsonserver"]), "-addr", address],
            "naive": [sys.executable, str(HERE / "naive_server.py"), address],
            "hand": [sys.executable, str(HERE / "handwritten_server.py"), address],
        }
        self.log = tempfile.TemporaryFile()  # a pipe nobody reads would block its logging
        self.process = subprocess.Popen(["taskset", "-c", SERVER_CORE, *commands[kind]], env=env,
                                        stdout=subprocess.DEVNULL, stderr=self.log,
                                        preexec_fn=raise_fd_limit)
        self.address = address
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise RuntimeError(f"{kind} server did not start") from None
                time.sleep(0.05)

    def rss_kib(self) -> int:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        return 0

    def cpu_seconds(self) -> float:
        """User and system CPU time the server has used so far."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICKS

    def stop(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)
        self.log.close()


def load(binaries: dict[str, Path], server: Server, conns: int, depth: int, seconds: float,
         warmup: float = 2.0) -> dict[str, Any]:
    """Run the load generator (connload for depth 0) against server; its summary, plus the
    server's CPU microseconds per call over the measured window."""
    if depth:
        command = [str(binaries["loadgen"]), "-c", str(conns), "-d", str(depth)]
    else:
        command = [str(binaries["connload"]), "-c", str(conns)]
    loader = subprocess.Popen(["taskset", "-c", LOADER_CORE, *command, "-addr", server.address,
                               "-duration", f"{seconds}s", "-warmup", f"{warmup}s"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              preexec_fn=raise_fd_limit, env=dict(os.environ, GOMAXPROCS="1"))
    time.sleep(warmup)
    cpu_before = server.cpu_seconds()
    out, err = loader.communicate(timeout=seconds + 60)
    cpu = server.cpu_seconds() - cpu_before
    summary: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    summary["cpu_us"] = cpu / max(summary["calls_per_s"] * seconds, 1) * 1e6
    return summary


def idle_rss(kind: str, binaries: dict[str, Path], conns: int, hold: float) -> dict[str, Any]:
    """Open conns idle connections to a fresh server; report its RSS growth per connection.

    A process may hold FD_HARD_LIMIT descriptors here, so the connections are spread over
    several load generators, and the server's own share is capped just below that limit.
    """
    conns = min(conns, FD_HARD_LIMIT - 64)
    per_loader = FD_HARD_LIMIT - 64
    shares = [min(per_loader, conns - start) for start in range(0, conns, per_loader)]
    server = Server(kind, binaries)
    try:
        time.sleep(0.5)
        before = server.rss_kib()
        folder = Path(tempfile.mkdtemp())
        loaders = [subprocess.Popen(["taskset", "-c", LOADER_CORE, str(binaries["loadgen"]),
                                     "-addr", server.address, "-connect-only", "-c", str(share),
                                     "-hold", f"{hold}s", "-ready-file", str(folder / f"ready{i}")],
                                    stdout=subprocess.PIPE, text=True, preexec_fn=raise_fd_limit)
                   for i, share in enumerate(shares)]
        deadline = time.monotonic() + 300
        while (len(list(folder.glob("ready*"))) < len(loaders) and time.monotonic() < deadline
               and all(loader.poll() is None for loader in loaders)):
            time.sleep(0.1)
        time.sleep(1)
        during = server.rss_kib()
        answered = still = 0
        for loader in loaders:
            out, _ = loader.communicate(timeout=hold + 300)
            summary = json.loads(out.strip().splitlines()[-1])
            answered += summary.get("probe_ok", 0)
            still += summary.get("probe_end_ok", 0)
        return {"server": kind, "conns": conns, "answered": answered, "still_answering": still,
                "rss_before_kib": before, "rss_during_kib": during,
                "kib_per_conn": round((during - before) / max(answered, 1), 2)}
    finally:
        server.stop()


def median_of(runs: list[dict[str, Any]], key: str) -> float:
    return float(statistics.median(r[key] for r in runs))


def throughput(servers: list[str], scenarios: list[str], runs: int, seconds: float,
               binaries: dict[str, Path]) -> dict[str, dict[str, list[dict[str, Any]]]]:
    results: dict[str, dict[str, list[dict[str, Any]]]] = {s: {k: [] for k in servers} for s in scenarios}
    for scenario in scenarios:
        conns, depth = SCENARIOS[scenario]
        for run in range(runs):
            for kind in servers:  # interleaved, so drift on a noisy machine hits all alike
                server = Server(kind, binaries)
                try:
                    summary = load(binaries, server, conns, depth, seconds)
                finally:
                    server.stop()
                results[scenario][kind].append(summary)
                errors = sum(summary["errors"].values())
                print(f"  {scenario} run {run + 1} {kind:9s} {summary['calls_per_s']:>10,.0f} calls/s"
                      f"  p50 {summary['p50_us']:7.0f} us  p99 {summary['p99_us']:7.0f} us"
                      f"  cpu {summary['cpu_us']:6.2f} us/call"
                      + (f"  ERRORS {summary['errors']} {summary.get('error_sample', '')}"
                         if errors else ""), flush=True)
    return results


def table(results: dict[str, dict[str, list[dict[str, Any]]]], servers: list[str]) -> list[str]:
    header = "| scenario | " + " | ".join(f"{k} calls/s (p50 / p99 µs)" for k in servers)
    others = [k for k in servers if k != "go"]
    header += " | " + " | ".join(f"{k} / go" for k in others) + " |"
    lines = [header, "|" + "---|" * (1 + len(servers) + len(others))]
    for scenario, by_server in results.items():
        cells = []
        for kind in servers:
            runs = by_server[kind]
            cells.append(f"{median_of(runs, 'calls_per_s'):,.0f} ({median_of(runs, 'p50_us'):,.0f}"
                         f" / {median_of(runs, 'p99_us'):,.0f})")
        go = median_of(by_server["go"], "calls_per_s") if "go" in by_server else 0
        ratios = [f"**{median_of(by_server[k], 'calls_per_s') / go:.2f}×**" if go else "-"
                  for k in others]
        lines.append(f"| {scenario}: {TITLES[scenario]} | " + " | ".join(cells + ratios) + " |")
    return lines


def cpu_table(results: dict[str, dict[str, list[dict[str, Any]]]], servers: list[str]
              ) -> list[str]:
    """The servers' CPU time per call (user + system, µs), medians."""
    lines = ["| scenario | " + " | ".join(f"{k} µs CPU / call" for k in servers) + " |",
             "|" + "---|" * (1 + len(servers))]
    for scenario, by_server in results.items():
        lines.append(f"| {scenario} | " + " | ".join(
            f"{median_of(by_server[k], 'cpu_us'):.2f}" for k in servers) + " |")
    return lines


def plot(results: dict[str, dict[str, list[dict[str, Any]]]], servers: list[str], path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    scenarios = list(results)
    width = 0.8 / len(servers)
    fig, ax = plt.subplots(figsize=(9, 4.5))
    for i, kind in enumerate(servers):
        values = [median_of(results[s][kind], "calls_per_s") / 1000 for s in scenarios]
        bars = ax.bar([x + i * width for x in range(len(scenarios))], values, width, label=kind)
        if kind != "go" and "go" in servers:  # the ratio to Go in the same run, over each bar
            go = [median_of(results[s]["go"], "calls_per_s") / 1000 for s in scenarios]
            ax.bar_label(bars, [f"{v / g:.2f}×" for v, g in zip(values, go)], fontsize=7)
    ax.set_xticks([x + width * (len(servers) - 1) / 2 for x in range(len(scenarios))])
    ax.set_xticklabels([f"{s}\n{TITLES[s]}" for s in scenarios], fontsize=7)
    ax.set_ylabel("thousand calls/s (median)")
    ax.set_title("Arith.Multiply, server on core 0, load generator on core 1")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)


TARGETS = {"S2": 1.0, "S3": 4.0, "S4": 4.0, "S5": 1.0, "S7": 1.0}  # greenrpc / go, calls/s
CPU_TARGET_US = {"S4": 2.5}  # greenrpc's CPU per call
IDLE_TARGET_KIB = 9.0
BEGIN, END = "<!-- results:begin -->", "<!-- results:end -->"


def machine() -> list[str]:
    """What the figures were measured on, for the report."""
    cpu = next((line.split(":", 1)[1].strip() for line in
                Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")),
               "unknown CPU")
    go = subprocess.run(["go", "version"], capture_output=True, text=True).stdout.strip()
    versions = subprocess.run(
        [sys.executable, "-c", "import gevent, ujson, greenlet; print(gevent.__version__, "
         "ujson.__version__, greenlet.__version__)"], capture_output=True, text=True).stdout.split()
    return [f"- {os.cpu_count()} × {cpu}; Linux {os.uname().release}",
            f"- Python {sys.version.split()[0]}, gevent {versions[0]}, ujson {versions[1]}, "
            f"greenlet {versions[2]}; {go}",
            f"- measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}"]


def verdicts(results: dict[str, dict[str, list[dict[str, Any]]]],
             idle: list[dict[str, Any]]) -> list[str]:
    """One line per target: the ratio reached and whether it meets the target."""
    lines = []
    for scenario, by_server in results.items():
        if "go" not in by_server or "greenrpc" not in by_server:
            continue
        ratio = (median_of(by_server["greenrpc"], "calls_per_s")
                 / median_of(by_server["go"], "calls_per_s"))
        if scenario in TARGETS:
            target = TARGETS[scenario]
            lines.append(f"| {scenario} calls/s vs Go | ≥ {target:g}× | {ratio:.2f}× | "
                         f"{'met' if ratio >= target else 'not met'} |")
        if scenario in ("S5", "S7"):
            ours, go = (median_of(by_server[k], "p99_us") for k in ("greenrpc", "go"))
            lines.append(f"| {scenario} p99 latency | ≤ Go ({go:,.0f} µs) | {ours:,.0f} µs | "
                         f"{'met' if ours <= go else 'not met'} |")
        if scenario in CPU_TARGET_US:
            cpu = median_of(by_server["greenrpc"], "cpu_us")
            lines.append(f"| {scenario} server CPU per call | ≤ {CPU_TARGET_US[scenario]:g} µs | "
                         f"{cpu:.2f} µs | {'met' if cpu <= CPU_TARGET_US[scenario] else 'not met'} |")
    for row in idle:
        if row["server"] == "greenrpc":
            kib = row["kib_per_conn"]
            lines.append(f"| RSS per idle connection ({row['conns']:,}) | ≤ {IDLE_TARGET_KIB:g} KiB "
                         f"| {kib} KiB | {'met' if kib <= IDLE_TARGET_KIB else 'not met'} |")
    return ["| target | wanted | measured | |", "|---|---|---|---|", *lines] if lines else []


def report(results: dict[str, dict[str, list[dict[str, Any]]]], servers: list[str],
           idle: list[dict[str, Any]], command: str, runs: int, seconds: float) -> str:
    """The generated part of BENCHMARKS.md."""
    out = [BEGIN, "", f"`{command}` — medians of {runs} run(s) of {seconds:g} s per server and "
           "scenario, Arith.Multiply, every reply verified by the load generator.", "",
           *machine(), ""]
    if results:
        out += [*table(results, servers), "", "![calls/s per scenario](benchmarks.png)", "",
                *cpu_table(results, servers), ""]
    if idle:
        out += ["| idle connections | server | RSS before → during | KiB per connection |"
                " answered |", "|---|---|---|---|---|"]
        out += [f"| {row['conns']:,} | {row['server']} | {row['rss_before_kib']:,} → "
                f"{row['rss_during_kib']:,} KiB | {row['kib_per_conn']} | {row['answered']:,} |"
                for row in idle]
        out.append("")
    checks = verdicts(results, idle)
    if checks:
        out += checks + [""]
    return "\n".join(out + [END])


def write_report(text: str, path: Path) -> None:
    """Replace the generated part of path, keeping the hand-written text around it."""
    old = path.read_text() if path.exists() else f"# Benchmarks\n\n{BEGIN}\n{END}\n"
    if BEGIN not in old or END not in old:
        old = old.rstrip("\n") + f"\n\n{BEGIN}\n{END}\n"
    head, rest = old.split(BEGIN, 1)
    path.write_text(head + text + rest.split(END, 1)[1])


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenarios", default=",".join(SCENARIOS))
    parser.add_argument("--servers", default="go,greenrpc,naive")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--duration", type=float, default=10.0, help="measured seconds per run")
    parser.add_argument("--idle", type=int, default=20000, help="idle connections (0: skip)")
    parser.add_argument("--write", action="store_true", help="update BENCHMARKS.md and the plot")
    args = parser.parse_args(argv)
    for tool in ("go", "taskset"):
        if shutil.which(tool) is None:
            parser.error(f"the {tool} command is needed")
    servers = args.servers.split(",")
    scenarios = [s for s in args.scenarios.split(",") if s]
    build_dir = Path(tempfile.mkdtemp(prefix="greenrpc-bench-"))
    binaries = {name: build_go(name, build_dir) for name in ("loadgen", "jsonserver", "connload")}
    results = throughput(servers, scenarios, args.runs, args.duration, binaries) if scenarios else {}
    lines = table(results, servers) if results else []
    idle = []
    if args.idle:
        for kind in servers:
            idle.append(idle_rss(kind, binaries, args.idle, hold=10))
            print(f"  idle {kind}: {idle[-1]}", flush=True)
    print()
    print("\n".join(lines))
    print()
    if results:
        print("\n".join(cpu_table(results, servers)))
        print()
    print("\n".join(verdicts(results, idle)))
    for row in idle:
        print(f"idle {row['server']}: {row['kib_per_conn']} KiB per connection "
              f"({row['answered']}/{row['conns']} answered)")
    (HERE / "results.json").write_text(json.dumps({"throughput": results, "idle": idle}, indent=1))
    if args.write:
        if results:
            plot(results, servers, ROOT / "benchmarks.png")
        command = "python3 benchmarks/run.py " + " ".join(argv if argv is not None else sys.argv[1:])
        write_report(report(results, servers, idle, command.strip(), args.runs, args.duration),
                     ROOT / "BENCHMARKS.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
