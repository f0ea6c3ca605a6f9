"""Test entry point: patch first, then shared fixtures (servers on port 0, Go builds)."""
from gevent import monkey; monkey.patch_all()  # noqa: E402,E702 - the test process is an entry point

import sys
from pathlib import Path
from typing import Iterator

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "examples"))

import greenrpc  # noqa: E402
from tests import services  # noqa: E402

# Programs that do not monkey-patch are tested in a process of their own (test_unpatched.py).
collect_ignore = ["unpatched"]


@pytest.fixture
def server() -> Iterator[greenrpc.Server]:
    """A started server with the services of Go's captures (Arith, Calc.v1, Echo, Slow)."""
    srv = services.make_server()
    srv.start("127.0.0.1:0")
    yield srv
    srv.stop(timeout=5)


@pytest.fixture
def address(server: greenrpc.Server) -> str:
    return server.address
