"""Programs that do not monkey-patch: plain threads, asyncio, Flask, uvicorn.

The main test process is a gevent program (tests/conftest.py patches it first), so these tests
run in a pytest process of their own, started by tests/test_unpatched.py with
``--confcutdir tests/unpatched``; run them alone the same way. Every peer is a real server in
its own process: greenrpc (gevent), Go's jsonrpc.ServeConn and Go's rpc.ServeConn (gob).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Optional

import pytest
from gevent import monkey

from tests.support import Peer, go_peer, greenrpc_peer, self_signed_certificate

if monkey.is_module_patched("socket"):
    raise RuntimeError("tests/unpatched must run in an unpatched process: see its conftest.py")


@dataclass
class Target:
    """A server to call, and how: its address, the codec it speaks, and its process."""

    name: str
    address: str
    codec: str
    peer: Peer
    http_address: Optional[str] = None   # Go's rpc.HandleHTTP (gob after CONNECT)


def start_target(name: str) -> Target:
    if name == "greenrpc":
        peer = greenrpc_peer()
        return Target(name, peer.address, "json", peer)
    if name == "go-json":
        peer = go_peer("jsonserver")
        return Target(name, peer.address, "json", peer)
    peer = go_peer("gobserver")
    return Target(name, peer.address, "gob", peer, http_address=peer.addresses[1])


TARGETS = ["greenrpc", "go-json", "go-gob"]


@pytest.fixture(scope="module", params=TARGETS)
def target(request: pytest.FixtureRequest) -> Iterator[Target]:
    """A server shared by a module's tests (which must leave it running)."""
    started = start_target(request.param)
    yield started
    started.peer.stop()


@pytest.fixture(params=TARGETS)
def own_target(request: pytest.FixtureRequest) -> Iterator[Target]:
    """A server of the test's own, which it may kill."""
    started = start_target(request.param)
    yield started
    started.peer.stop()


@pytest.fixture(scope="session")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return self_signed_certificate(tmp_path_factory.mktemp("tls"))
