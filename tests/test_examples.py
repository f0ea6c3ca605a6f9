"""Every example starts and answers: the Arith server, and its Python, Go and PHP clients."""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from typing import Iterator

import pytest

from tests.support import ROOT, run

EXAMPLES = ROOT / "examples"
EXPECTED = ["Arith.Multiply: 7*8=56", "Arith.Divide: 17/5=3 remainder 2",
            "Arith.Divide: 1/0 failed: divide by zero"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for_port(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"nothing listens on port {port}")


@pytest.fixture(scope="module")
def arith_server() -> Iterator[str]:
    port = free_port()
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    process = subprocess.Popen([sys.executable, str(EXAMPLES / "arith_server.py"),
                                "--listen", f"127.0.0.1:{port}"], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_for_port(port)
        yield f"127.0.0.1:{port}"
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=15)
        assert process.returncode == 0, output


def test_python_client(arith_server: str) -> None:
    done = run([sys.executable, str(EXAMPLES / "arith_client.py"), arith_server],
               env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == EXPECTED[0] and lines[-1] == EXPECTED[2]
    assert "Arith.Divide: 17/5=3 remainder 2" in lines


@pytest.mark.interop
def test_go_client(arith_server: str, tmp_path: object) -> None:
    binary = f"{tmp_path}/client"
    build = subprocess.run(["go", "build", "-o", binary, "."], cwd=EXAMPLES / "go" / "client",
                           capture_output=True, text=True, timeout=300)
    assert build.returncode == 0, build.stderr
    done = run([binary, arith_server])
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == EXPECTED


@pytest.mark.interop
def test_php_client(arith_server: str) -> None:
    assert shutil.which("php"), "the php command is missing: install php-cli (see .ci/run)"
    done = run(["php", str(EXAMPLES / "php" / "client.php"), arith_server])
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == EXPECTED


def test_go_int64_arithmetic() -> None:
    sys.path.insert(0, str(EXAMPLES))
    from arith import Args, Arith
    arith = Arith()
    minimum = -(1 << 63)
    assert arith.Divide(Args(-7, 2)) == arith.Divide(Args(-7, 2)).__class__(-3, -1)
    assert (arith.Divide(Args(7, -2)).Quo, arith.Divide(Args(7, -2)).Rem) == (-3, 1)
    assert (arith.Divide(Args(minimum, -1)).Quo, arith.Divide(Args(minimum, -1)).Rem) == (minimum, 0)
    assert arith.Multiply(Args(1 << 62, 4)).Pro == 0  # wraps like Go's int64
    assert arith.Multiply(Args(-(1 << 62), 3)).Pro == (1 << 62)
