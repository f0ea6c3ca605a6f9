"""Go's standard-library jsonrpc client and server against greenrpc, as real processes."""
from __future__ import annotations

import json
import subprocess
from typing import Iterator

import pytest

import greenrpc
from tests.support import go_binary, run

pytestmark = pytest.mark.interop


def test_go_jsonrpc_client_calls_greenrpc(address: str) -> None:
    done = run([str(go_binary("jsonclient")), "-addr", address, "-goroutines", "50",
                "-calls", "200"], timeout=120)
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    assert seen["multiply"] == 56 and seen["multiply_err"] == ""
    assert seen["divide"] == [-3, -2] and seen["divide_err"] == ""  # truncated toward zero
    assert seen["divzero"] == "divide by zero"
    assert seen["unknown_method"] == "rpc: can't find method Arith.Power"
    assert seen["unknown_service"] == "rpc: can't find service Math.Multiply"
    assert seen["slice"] == [0, 1, 2] and seen["slice_err"] == ""
    assert seen["fast_while_slow_ms"] < 300 and seen["slow_reply"] == "slow"
    assert seen["concurrent_calls"] == 10000 and seen["concurrent_bad"] == 0
    assert seen["after"] == 42 and seen["after_err"] == ""
    assert seen["wrong_reply_type"].startswith("reading body json: cannot unmarshal object")
    # Go's client then gives up the connection (client.go input()); the next call sees that as
    # "connection is shut down", or, if it was sent before the reader finished shutting the
    # client down (a race inside Go's client), as the reader's own error.
    assert seen["after_wrong_type"] in ("connection is shut down",
                                        "json: cannot unmarshal object into Go value of type "
                                        "string")


def test_go_client_survives_a_method_returning_none(address: str, tmp_path) -> None:
    # Go's own server would send "result":null here, which breaks Go's client for good.
    source = tmp_path / "main.go"
    source.write_text('''package main
import ("fmt"; "net/rpc/jsonrpc"; "os")
func main() {
	c, err := jsonrpc.Dial("tcp", os.Args[1])
	if err != nil { panic(err) }
	var any interface{}
	err1 := c.Call("Echo.Any", 0, &any)
	var n int
	err2 := c.Call("Echo.Int", 5, &n)
	fmt.Println(err1, err2, n)
}''')
    binary = tmp_path / "none"
    build = run(["go", "build", "-o", str(binary), str(source)], timeout=300)
    assert build.returncode == 0, build.stderr
    done = run([str(binary), address], timeout=30)
    assert done.stdout.split() == ["<nil>", "<nil>", "5"], done.stdout + done.stderr


@pytest.fixture
def go_server() -> Iterator[str]:
    process = subprocess.Popen([str(go_binary("jsonserver"))], stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        yield process.stdout.readline().strip()
    finally:
        process.kill()
        process.wait(timeout=10)


def test_greenrpc_client_calls_go_jsonrpc_server(go_server: str) -> None:
    with greenrpc.dial(go_server, timeout=5) as client:
        assert client.call("Arith.Multiply", {"A": 7, "B": 8}) == {"Pro": 56, "Quo": 0, "Rem": 0}
        assert client.call("Arith.Divide", {"A": 17, "B": 5})["Quo"] == 3
        with pytest.raises(greenrpc.ServerError, match="^divide by zero$"):
            client.call("Arith.Divide", {"A": 1, "B": 0})
        with pytest.raises(greenrpc.ServerError, match="can't find method Arith.Power"):
            client.call("Arith.Power", {"A": 1, "B": 0})
        # Go answers in completion order; the client matches replies by id.
        slow = client.go("Slow.Sleep", {"Ms": 2000, "Tag": "slow"})  # a wide margin
        calls = [client.go("Arith.Multiply", {"A": i, "B": i}) for i in range(500)]
        assert [c.get(timeout=10)["Pro"] for c in calls] == [i * i for i in range(500)]
        assert not slow.ready()
        assert slow.get(timeout=5) == "slow"
