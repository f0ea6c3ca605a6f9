"""greenrpc.health: what container health checks and probes run."""
from __future__ import annotations

import subprocess
import sys

import gevent
import pytest

import greenrpc
from greenrpc import health
from tests import services
from tests.support import ROOT
from tests.test_examples import free_port


def test_local_address_picks_the_first_tcp_address() -> None:
    assert health.local_address("0.0.0.0:8096") == "127.0.0.1:8096"
    assert health.local_address("unix:/run/rpc.sock, [::]:9") == "[::1]:9"
    assert health.local_address("10.1.2.3:5,127.0.0.1:6") == "10.1.2.3:5"
    with pytest.raises(ValueError, match="no TCP address"):
        health.local_address("unix:/run/rpc.sock")


def test_healthy_then_not_once_draining_starts() -> None:
    server = services.make_server()
    address = server.start("127.0.0.1:0")
    assert health.check(address) == (True, "ok")
    with greenrpc.dial(address) as client:
        slow = client.go("Slow.Sleep", {"Ms": 500, "Tag": "t"})
        gevent.sleep(0.1)
        stopping = gevent.spawn(server.stop, 5)
        gevent.sleep(0.05)
        assert not health.check(address)[0]  # the listener closed as the drain began
        assert slow.get(timeout=5) == "t"
        stopping.join(5)
    assert health.check(f"127.0.0.1:{free_port()}")[0] is False


def test_module_exit_status() -> None:
    server = services.make_server()
    address = server.start("127.0.0.1:0")
    try:
        ok = subprocess.run([sys.executable, "-m", "greenrpc.health", address], cwd=ROOT,
                            capture_output=True, text=True, timeout=60)
        assert (ok.returncode, ok.stdout) == (0, "ok\n")
    finally:
        server.stop(timeout=2)
    down = subprocess.run([sys.executable, "-m", "greenrpc.health", address], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert down.returncode == 1 and down.stderr
