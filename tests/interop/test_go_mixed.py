"""Go's jsonrpc client, a Go JSON-RPC 2.0 client and greenrpc's 2.0 client on one port at once."""
from __future__ import annotations

import json

import gevent
import pytest

import greenrpc
from tests.support import go_binary, run

pytestmark = pytest.mark.interop


def test_go_client_and_v2_clients_share_the_port(address: str) -> None:
    binary = str(go_binary("mixed"))  # build first, so the clients below overlap with the run

    def python_v2_client() -> int:
        done = 0
        with greenrpc.dial(address, version=2) as client:
            while not go.ready():
                with client.batch() as batch:
                    calls = [batch.call("Arith.Multiply", [{"A": i, "B": 5}]) for i in range(10)]
                    batch.notify("Echo.Int", [0])
                assert [c.get(timeout=10)["Pro"] for c in calls] == [i * 5 for i in range(10)]
                done += 1
        return done

    go = gevent.spawn(run, [binary, "-addr", address], 120)
    python = gevent.spawn(python_v2_client)
    gevent.joinall([go, python], timeout=150, raise_error=True)
    result = go.get()
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout)
    assert seen == {"go_calls": 2000, "go_bad": 0, "v2_replies": 1000, "v2_bad": 0,
                    "v2_unexpected": 0}
    assert python.get() >= 1  # the Python 2.0 client ran while Go's clients did
