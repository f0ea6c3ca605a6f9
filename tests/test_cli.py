"""The greenrpc command: call in-process, serve as a real process."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest

import greenrpc
from greenrpc import cli
from tests.support import ROOT
from tests.test_examples import free_port, wait_for_port


def test_call_prints_the_result_as_json(address: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["call", address, "Arith.Multiply", '{"A": 7, "B": 8}']) == 0
    assert json.loads(capsys.readouterr().out) == {"Pro": 56, "Quo": 0, "Rem": 0}


def test_call_server_error_exits_1_with_the_error_on_stderr(
        address: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["call", address, "Arith.Divide", '{"A": 1, "B": 0}']) == 1
    captured = capsys.readouterr()
    assert captured.out == "" and "divide by zero" in captured.err


def test_call_bad_json_and_unreachable_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["call", "127.0.0.1:1", "Arith.Multiply", "{nope"]) == 2
    assert cli.main(["call", f"127.0.0.1:{free_port()}", "Arith.Multiply", "{}"]) == 2
    assert "dial" in capsys.readouterr().err


def test_help_has_examples(capsys: pytest.CaptureFixture[str]) -> None:
    for command in ("serve", "call"):
        with pytest.raises(SystemExit):
            cli.main([command, "--help"])
        assert "examples:" in capsys.readouterr().out


def test_build_server_from_targets() -> None:
    server = cli.build_server(["tests.services:Arith", "tests.services:Echo"])
    assert {"Arith.Multiply", "Echo.Int"} <= set(server.registry.methods)
    with pytest.raises(SystemExit, match="not module:attr"):
        cli.build_server(["tests.services"])


def test_serve_runs_until_sigterm(tmp_path: object) -> None:
    port = free_port()
    env = dict(os.environ, PYTHONPATH=str(ROOT), GREENRPC_LISTEN=f"127.0.0.1:{port}")
    process = subprocess.Popen([sys.executable, "-m", "greenrpc", "serve",
                                "tests.services:Arith", "tests.services:Slow"], cwd=ROOT, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_for_port(port)
        with greenrpc.dial(f"127.0.0.1:{port}") as client:
            assert client.call("Arith.Multiply", {"A": 3, "B": 3})["Pro"] == 9
            slow = client.go("Slow.Sleep", {"Ms": 300, "Tag": "drained"})
            process.send_signal(signal.SIGTERM)
            assert slow.get(timeout=5) == "drained"  # the call already read still answers
    finally:
        output, _ = process.communicate(timeout=15)
    assert process.returncode == 0, output
    assert "serving" in output
