"""The greenrpc command: call in-process, serve as a real process."""
from __future__ import annotations

import dataclasses
import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import greenrpc
from greenrpc import cli
from tests.support import ROOT, self_signed_certificate
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
    for command in ("serve", "call", "bench"):
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
    ready = (f"greenrpc {greenrpc.__version__} ready on 127.0.0.1:{port}: Arith, Slow (3 methods);"
             f" pid {process.pid}, 1 process")
    assert [line for line in output.splitlines() if "ready" in line][0].endswith(ready)
    assert "connection" not in output  # no access log by default


def serve_args(*argv: str) -> Any:
    return cli.parser().parse_args(["serve", "tests.services:Arith", *argv])


def test_every_limit_is_a_flag_and_an_environment_variable(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GREENRPC_MAX_INFLIGHT", "64")
    monkeypatch.setenv("GREENRPC_IDLE_TIMEOUT", "600")
    monkeypatch.setenv("GREENRPC_WRITE_TIMEOUT", "5")
    monkeypatch.setenv("GREENRPC_MAX_CONNECTIONS", "77")
    args = serve_args("--write-timeout", "2.5", "--message-timeout", "none", "--max-depth", "32")
    server = cli.build_server(args.targets, cli.server_options(args))
    limits = server.limits
    assert (limits.max_inflight, limits.idle_timeout) == (64, 600.0)      # from the environment
    assert (limits.write_timeout, limits.message_timeout) == (2.5, None)  # flags win; none is off
    assert limits.max_depth == 32 and server.max_connections == 77
    assert limits.max_message_size == greenrpc.Server().limits.max_message_size  # untouched
    names = {f.name for f in dataclasses.fields(type(limits))} | {"max_connections"}
    assert {name for name, _, _ in cli.SERVER_OPTIONS} == names


def test_bad_limits_are_refused_with_the_name(monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        serve_args("--max-inflight", "0")
    assert "must be positive" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        serve_args("--max-inflight", "none")  # only timeouts and the total cap can be off
    monkeypatch.setenv("GREENRPC_IDLE_TIMEOUT", "soon")
    with pytest.raises(SystemExit, match="GREENRPC_IDLE_TIMEOUT: 'soon' is not a number"):
        cli.server_options(serve_args())


def test_a_ready_server_refuses_limits_it_would_ignore() -> None:
    with pytest.raises(SystemExit, match="ready Server: set max_inflight in its constructor"):
        cli.build_server(["tests.test_cli:READY"], {"max_inflight": 3})


READY = greenrpc.Server()


def test_serve_and_call_over_tls(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    certfile, keyfile = self_signed_certificate(tmp_path)
    port = free_port()
    env = dict(os.environ, PYTHONPATH=str(ROOT), GREENRPC_TLS_KEY=str(keyfile))
    process = subprocess.Popen([sys.executable, "-m", "greenrpc", "serve", "tests.services:Arith",
                                "--listen", f"127.0.0.1:{port}", "--tls-cert", str(certfile)],
                               cwd=ROOT, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    try:
        wait_for_port(port)
        address = f"127.0.0.1:{port}"
        assert cli.main(["call", "--tls-ca", str(certfile), address, "Arith.Multiply",
                         '{"A": 6, "B": 7}']) == 0
        assert json.loads(capsys.readouterr().out)["Pro"] == 42
        assert cli.main(["call", address, "Arith.Multiply", '{"A": 6, "B": 7}']) == 2  # plain
        assert cli.main(["call", "--tls", address, "Arith.Multiply", "{}"]) == 2  # untrusted
        assert "CERTIFICATE_VERIFY_FAILED" in capsys.readouterr().err
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=15)
    assert process.returncode == 0, output


def test_call_speaks_every_dialect(address: str, capsys: pytest.CaptureFixture[str]) -> None:
    for flags, params in ((["--v2"], '[{"A": 7, "B": 8}]'), (["--v2"], '{"args": {"A": 7, "B": 8}}'),
                          (["--codec", "gob"], '{"A": 7, "B": 8}'), (["--http"], '{"A": 7, "B": 8}')):
        assert cli.main(["call", *flags, address, "Arith.Multiply", params]) == 0, flags
        assert json.loads(capsys.readouterr().out) == {"Pro": 56, "Quo": 0, "Rem": 0}, flags
    assert cli.main(["call", "--codec", "gob", address, "Echo.Slice", "3"]) == 0
    assert json.loads(capsys.readouterr().out) == [0, 1, 2]
    assert cli.main(["call", "--http", address, "Arith.Divide", '{"A": 1, "B": 0}']) == 1
    assert "divide by zero" in capsys.readouterr().err
    assert cli.main(["call", "--v2", "--codec", "gob", address, "Echo.Int", "1"]) == 2
    assert "--v2" in capsys.readouterr().err
    assert cli.main(["call", "--codec", "gob", address, "Echo.Int", '{"not an identifier": 1}']) == 2
    assert "Go struct" in capsys.readouterr().err


def test_inspect_lists_services_methods_and_types(address: str,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["inspect", address]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"greenrpc {greenrpc.__version__} at {address}: 4 services, 9 methods\n")
    assert "\nArith\n  Divide(args services.ArithRequest) services.ArithResponse\n" in out
    assert "  Slice(n int) []int\n" in out
    assert "  services.SleepArgs {Ms int, Tag string}\n" in out
    assert cli.main(["inspect", "--json", address]) == 0
    assert json.loads(capsys.readouterr().out)["openrpc"] == "1.3.2"
    assert cli.main(["inspect", f"127.0.0.1:{free_port()}"]) == 2


def test_health(address: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["health", address]) == 0
    assert capsys.readouterr().out == "ok\n"
    assert cli.main(["health", f"127.0.0.1:{free_port()}", "--timeout", "1"]) == 1
    assert cli.main(["health", "unix:/nowhere"]) == 2


def test_help_reads_well(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    out = capsys.readouterr().out
    for command in ("serve", "call", "inspect", "health"):
        assert f"    {command} " in out
        with pytest.raises(SystemExit):
            cli.main([command, "--help"])
        assert "examples:\n  greenrpc " in capsys.readouterr().out


def test_serve_on_several_addresses_from_the_environment_with_json_logs(tmp_path: Path) -> None:
    port = free_port()
    socket_path = tmp_path / "rpc.sock"
    env = dict(os.environ, PYTHONPATH=str(ROOT), GREENRPC_LISTEN=f"127.0.0.1:{port}, unix:{socket_path}",
               GREENRPC_LOG_FORMAT="json", GREENRPC_ACCESS_LOG="1")
    process = subprocess.Popen([sys.executable, "-m", "greenrpc", "serve", "tests.services:Arith"],
                               cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True)
    try:
        wait_for_port(port)
        for address in (f"127.0.0.1:{port}", f"unix:{socket_path}"):
            with greenrpc.dial(address) as client:
                with pytest.raises(greenrpc.ServerError):
                    client.call("Arith.Divide", {"A": 1, "B": 0})
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=15)
    assert process.returncode == 0, output
    lines = [json.loads(line) for line in output.splitlines()]  # every line is a JSON object
    events = [line.get("event") for line in lines]
    assert events.count("open") == events.count("close") == 3  # with wait_for_port's probe
    assert events.count("call_failed") == 2
    assert any(f"unix:{socket_path}" in line["message"] for line in lines)


def test_connections_are_logged_only_with_access_log(tmp_path: Path) -> None:
    for flags, lines_per_connection in (([], 0), (["--access-log"], 2)):
        port = free_port()
        process = subprocess.Popen(
            [sys.executable, "-m", "greenrpc", "serve", "tests.services:Arith", *flags,
             "--listen", f"127.0.0.1:{port}", "--log-format", "json"], cwd=ROOT,
            env=dict(os.environ, PYTHONPATH=str(ROOT)), stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True)
        try:
            wait_for_port(port)
            for _ in range(3):
                with greenrpc.dial(f"127.0.0.1:{port}") as client:
                    client.call("Arith.Multiply", {"A": 2, "B": 3})
        finally:
            process.send_signal(signal.SIGTERM)
            output, _ = process.communicate(timeout=15)
        events = [json.loads(line).get("event") for line in output.splitlines()]
        assert events.count("open") == events.count("close") == 4 * lines_per_connection // 2


def test_a_listen_flag_wins_over_the_environment(tmp_path: Path) -> None:
    port = free_port()
    env = dict(os.environ, PYTHONPATH=str(ROOT), GREENRPC_LISTEN="127.0.0.1:1",
               GREENRPC_LOG_LEVEL="warning")
    process = subprocess.Popen([sys.executable, "-m", "greenrpc", "serve", "tests.services:Arith",
                                "--listen", f"127.0.0.1:{port}"], cwd=ROOT, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_for_port(port)
        assert cli.main(["call", f"127.0.0.1:{port}", "Arith.Multiply", '{"A": 2, "B": 3}']) == 0
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=15)
    assert process.returncode == 0 and "connection" not in output  # warning: no traffic lines


def test_serve_on_a_port_in_use_says_which_address_without_a_traceback() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        address = f"127.0.0.1:{taken.getsockname()[1]}"
        done = subprocess.run([sys.executable, "-m", "greenrpc", "serve", "tests.services:Arith",
                               "--listen", address], cwd=ROOT, capture_output=True, text=True,
                              env=dict(os.environ, PYTHONPATH=str(ROOT)), timeout=30)
    assert done.returncode == 1
    assert f"greenrpc: cannot listen on {address}: Address already in use" in done.stderr
    assert "Traceback" not in done.stderr
