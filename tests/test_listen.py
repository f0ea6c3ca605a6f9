"""One server on several addresses: TCP and unix sockets alike, one pool, one drain."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

import greenrpc
from tests import services
from tests.test_examples import free_port


def test_serves_every_address_alike(tmp_path: Path) -> None:
    server = services.make_server()
    path = tmp_path / "rpc.sock"
    first = server.start("127.0.0.1:0", f"unix:{path}", "[::1]:0")
    try:
        assert server.addresses[0] == first and server.addresses[1] == f"unix:{path}"
        assert server.addresses[2].startswith("[::1]:")
        for address in server.addresses:
            with greenrpc.dial(address) as client:
                assert client.call("Arith.Multiply", {"A": 6, "B": 7})["Pro"] == 42
    finally:
        server.stop(timeout=5)
    assert not path.exists()  # the socket file goes with the server
    with pytest.raises(greenrpc.ConnectionClosed):
        greenrpc.dial(first, timeout=2)


def test_a_failed_bind_releases_the_addresses_bound_before_it(tmp_path: Path) -> None:
    taken = greenrpc.Server()
    taken.register(services.Echo())
    busy = taken.start("127.0.0.1:0")
    try:
        port = free_port()
        server = services.make_server()
        with pytest.raises(OSError):
            server.start(f"127.0.0.1:{port}", busy)
        again = services.make_server()  # the first address is free again
        assert again.start(f"127.0.0.1:{port}") == f"127.0.0.1:{port}"
        again.stop(timeout=2)
        assert not os.listdir(tmp_path)
    finally:
        taken.stop(timeout=2)
