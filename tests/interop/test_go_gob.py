"""Go's standard-library gob client and server against greenrpc, over TCP and HTTP CONNECT."""
from __future__ import annotations

import json
import subprocess
from typing import Iterator

import pytest

import greenrpc
from greenrpc import cli
from tests.services import ArithRequest, ArithResponse, SleepArgs
from tests.support import go_binary, run

pytestmark = pytest.mark.interop


@pytest.mark.parametrize("transport", ["tcp", "http"])
def test_go_gob_client_calls_greenrpc(address: str, transport: str) -> None:
    args = [str(go_binary("gobclient")), "-addr", address, "-goroutines", "50", "-calls", "100"]
    done = run(args + (["-http"] if transport == "http" else []), timeout=120)
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    assert seen["multiply"] == 56 and seen["multiply_err"] == ""
    assert seen["divide"] == [-3, -2] and seen["divide_err"] == ""  # truncated toward zero
    assert seen["divzero"] == "divide by zero"
    assert seen["unknown_method"] == "rpc: can't find method Arith.Power"
    assert seen["unknown_service"] == "rpc: can't find service Math.Multiply"
    assert seen["slice"] == [0, 1, 2] and seen["slice_err"] == ""
    assert seen["int_zero"] == 0 and seen["int_zero_err"] == ""  # a zero singleton is sent
    assert seen["str"] == "hé" and seen["str_err"] == ""
    assert seen["any_nil"] is None and seen["any_nil_err"] == ""
    assert seen["any_int"] == 5 and seen["any_int_err"] == ""
    assert seen["fast_while_slow_ms"] < 300 and seen["slow_reply"] == "slow"
    assert seen["concurrent_calls"] == 5000 and seen["concurrent_bad"] == 0
    assert seen["after"] == 42 and seen["after_err"] == ""


@pytest.fixture(scope="module")
def go_server() -> Iterator[tuple[str, str]]:
    process = subprocess.Popen([str(go_binary("gobserver"))], stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        yield process.stdout.readline().strip(), process.stdout.readline().strip()
    finally:
        process.kill()
        process.wait(timeout=10)


@pytest.mark.parametrize("transport", ["tcp", "http"])
def test_greenrpc_client_calls_go_gob_server(go_server: tuple[str, str], transport: str) -> None:
    tcp, web = go_server
    client = greenrpc.dial(tcp, codec="gob") if transport == "tcp" else greenrpc.dial_http(web)
    with client:
        assert client.call("Arith.Multiply", ArithRequest(7, 8),
                           result_type=ArithResponse) == ArithResponse(Pro=56)
        assert client.call("Arith.Divide", ArithRequest(17, 5)) == {"Pro": 0, "Quo": 3, "Rem": 2}
        with pytest.raises(greenrpc.ServerError, match="^divide by zero$"):
            client.call("Arith.Divide", ArithRequest(1, 0))
        with pytest.raises(greenrpc.ServerError, match="^rpc: can't find method Arith.Power$"):
            client.call("Arith.Power", ArithRequest(1, 0))
        # Go answers in completion order; the client matches replies by seq.
        slow = client.go("Slow.Sleep", SleepArgs(2000, "slow"), result_type=str)  # wide margin
        calls = [client.go("Arith.Multiply", ArithRequest(i, i), result_type=ArithResponse)
                 for i in range(500)]
        assert [c.get(timeout=10).Pro for c in calls] == [i * i for i in range(500)]
        assert not slow.ready()
        assert slow.get(timeout=5) == "slow"


def test_greenrpc_dial_http_reports_go_s_404(go_server: tuple[str, str]) -> None:
    with pytest.raises(greenrpc.ProtocolError, match="unexpected HTTP response: 404 Not Found"):
        greenrpc.dial_http(go_server[1], path="/rpc")


@pytest.mark.parametrize("transport", ["tcp", "http"])
def test_greenrpc_call_command_against_go_gob_server(go_server: tuple[str, str], transport: str,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    tcp, web = go_server
    flags = ["--codec", "gob", tcp] if transport == "tcp" else ["--http", web]
    assert cli.main(["call", *flags, "Arith.Divide", '{"A": 17, "B": 5}']) == 0
    assert json.loads(capsys.readouterr().out) == {"Pro": 0, "Quo": 3, "Rem": 2}
    assert cli.main(["call", *flags, "Arith.Divide", '{"A": 1, "B": 0}']) == 1
    assert capsys.readouterr().err == "greenrpc: Arith.Divide: divide by zero\n"
