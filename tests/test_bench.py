"""greenrpc bench against a real server on 127.0.0.1: its counts agree with the server's."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

import greenrpc
from greenrpc import bench, cli
from tests.support import ROOT
from tests.test_examples import free_port

PARAMS = '{"A": 7, "B": 8}'


def served(server: greenrpc.Server, method: str) -> int:
    return server.registry.methods[method].calls


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, object]]:
    status = cli.main(["bench", *argv, "--json"])
    return status, json.loads(capsys.readouterr().out)


def test_the_command_counts_exactly_the_calls_the_server_ran(server: greenrpc.Server) -> None:
    # The real command in its own process, for a while, with a warm-up: every call the
    # server ran is either a warm-up call or a measured one, and none failed.
    done = subprocess.run(
        [sys.executable, "-m", "greenrpc", "bench", server.address, "Arith.Multiply", PARAMS,
         "-c", "4", "-p", "8", "-d", "1", "--warmup", "0.3", "--json"],
        cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT)), capture_output=True, text=True,
        timeout=30)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["errors"] == {} and summary["calls"] > 0 and summary["warmup_calls"] > 0
    assert summary["calls"] + summary["warmup_calls"] == served(server, "Arith.Multiply")
    assert summary["calls"] + summary["warmup_calls"] == server.call_counts()[0]
    assert 0 < summary["p50_us"] <= summary["p99_us"] <= summary["max_us"]
    assert "calls/s" in done.stderr  # progress, a plain line a second when not on a terminal


def test_requests_sends_exactly_that_many_calls(
        server: greenrpc.Server, capsys: pytest.CaptureFixture[str]) -> None:
    status, summary = run_json(capsys, server.address, "Arith.Multiply", PARAMS,
                               "-n", "1001", "-c", "3", "-p", "7")
    assert status == 0
    assert summary["calls"] == 1001 == served(server, "Arith.Multiply")
    assert summary["warmup_calls"] == 0


@pytest.mark.parametrize("argv", [["--v2", "Arith.Multiply", '[{"A": 7, "B": 8}]'],
                                  ["--codec", "gob", "Arith.Multiply", PARAMS]])
def test_json_rpc_2_and_gob(server: greenrpc.Server, capsys: pytest.CaptureFixture[str],
                            argv: list[str]) -> None:
    options, (method, params) = argv[:-2], argv[-2:]
    status, summary = run_json(capsys, server.address, method, params, *options,
                               "-n", "300", "-c", "2", "-p", "4")
    assert (status, summary["calls"], summary["errors"]) == (0, 300, {})
    assert served(server, "Arith.Multiply") == 300


def test_a_server_error_is_a_failed_call_and_exit_status_1(
        server: greenrpc.Server, capsys: pytest.CaptureFixture[str]) -> None:
    status, summary = run_json(capsys, server.address, "Arith.Divide", '{"A": 1, "B": 0}',
                               "-n", "40", "-p", "4")
    assert status == 1
    assert summary["errors"] == {"rpc": 40} and summary["calls"] == 0
    assert "divide by zero" in str(summary["error_sample"])
    assert served(server, "Arith.Divide") == 40
    assert cli.main(["bench", server.address, "Arith.Divide", '{"A": 1, "B": 0}', "-n", "3"]) == 1
    out = capsys.readouterr().out
    assert "errors    3 (rpc 3); last: divide by zero" in out


def test_an_unknown_method_is_an_error_too(server: greenrpc.Server,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    status, summary = run_json(capsys, server.address, "Arith.Nope", PARAMS, "-n", "5")
    assert status == 1 and summary["errors"] == {"rpc": 5}
    assert "can't find method Arith.Nope" in str(summary["error_sample"])


def test_the_duration_is_honoured(server: greenrpc.Server,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    began = time.monotonic()
    status, summary = run_json(capsys, server.address, "Arith.Multiply", PARAMS,
                               "-d", "0.8", "--warmup", "0.2", "-c", "2", "-p", "4")
    elapsed = time.monotonic() - began
    assert status == 0
    assert 1.0 <= elapsed < 1.0 + 0.5
    assert 0.8 <= float(summary["seconds"]) < 0.8 + 0.3  # type: ignore[arg-type]


def test_a_server_that_stops_answering_cannot_keep_it_running(
        server: greenrpc.Server, capsys: pytest.CaptureFixture[str]) -> None:
    began = time.monotonic()
    status, summary = run_json(capsys, server.address, "Slow.Sleep",
                               '{"Ms": 1500, "Tag": "late"}', "-d", "0.2", "--warmup", "0",
                               "-p", "3", "--timeout", "0.4")
    assert time.monotonic() - began < 0.2 + 0.4 + 0.5
    assert status == 1
    assert summary["errors"] == {"timeout": 3} and summary["calls"] == 0


def test_it_cannot_start_without_a_server_or_with_bad_params(
        capsys: pytest.CaptureFixture[str]) -> None:
    address = f"127.0.0.1:{free_port()}"
    assert cli.main(["bench", address, "Arith.Multiply", PARAMS, "-n", "1"]) == 2
    assert "dial" in capsys.readouterr().err
    assert cli.main(["bench", address, "Arith.Multiply", "{nope"]) == 2
    assert cli.main(["bench", "--v2", address, "Arith.Multiply", "7"]) == 2
    assert "JSON-RPC 2.0 params" in capsys.readouterr().err


def test_the_request_template_is_the_clients_request() -> None:
    plan = bench.Plan("127.0.0.1:1", "Echo.Str", "100% sure")
    assert bench.request_template(plan) % 12 == \
        b'{"method":"Echo.Str","params":["100% sure"],"id":12}\n'
    plan2 = bench.Plan("127.0.0.1:1", "add", [1, 2], version=2)
    assert bench.request_template(plan2) % 0 == \
        b'{"jsonrpc":"2.0","method":"add","params":[1,2],"id":0}\n'


def test_the_histogram_is_within_its_bucket_error() -> None:
    histogram = bench.Histogram()
    values = [50, 127, 128, 1000, 12_345, 999_999, 3_000_000_000] + list(range(1000, 101_000, 100))
    for ns in values:
        histogram.add(ns)
    exact = sorted(values)
    for q in (0.5, 0.9, 0.99, 0.999):
        want = exact[-int(-q * len(exact) // 1) - 1]
        assert abs(histogram.quantile(q) - want) <= want / 64
    assert histogram.quantile(1.0) == histogram.max == 3_000_000_000
    assert len(histogram.counts) == bench.Histogram.SIZE  # fixed memory, whatever the run
    assert bench.Histogram().quantile(0.5) == 0.0


def test_shares_spread_the_calls_evenly() -> None:
    assert bench.shares(10, 3) == [4, 3, 3]
    assert bench.shares(2, 4) == [1, 1, 0, 0]
    assert bench.shares(None, 2) == [None, None]
