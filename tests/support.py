"""Helpers for tests that talk over real sockets and run real peer programs."""
from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any, Optional

ROOT = Path(__file__).resolve().parent.parent
VECTORS = ROOT / "tests" / "vectors"
_BUILT: dict[str, Path] = {}


def vectors(name: str) -> Any:
    return json.loads((VECTORS / name).read_text())


def host_port(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    return host, int(port)


def connect(address: str, timeout: float = 5.0) -> socket.socket:
    sock = socket.create_connection(host_port(address), timeout=timeout)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def read_until_closed(sock: socket.socket, timeout: float = 5.0) -> bytes:
    """Read until the peer closes; fail if it does not within timeout."""
    sock.settimeout(timeout)
    chunks = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        data = sock.recv(65536)
        if not data:
            return b"".join(chunks)
        chunks.append(data)
    raise AssertionError("peer did not close the connection")


def read_lines(sock: socket.socket, count: int, timeout: float = 5.0) -> list[bytes]:
    """Read exactly count newline-terminated lines (fails on timeout)."""
    sock.settimeout(timeout)
    data = b""
    while data.count(b"\n") < count:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    return data.splitlines(keepends=True)


def is_open(sock: socket.socket, wait: float = 0.2) -> bool:
    """True if the peer has not closed within wait seconds (nothing may arrive meanwhile)."""
    sock.settimeout(wait)
    try:
        data = sock.recv(1)
    except socket.timeout:
        return True
    if data:
        raise AssertionError(f"unexpected bytes {data!r}")
    return False


def go_binary(name: str) -> Path:
    """Build the Go program in tests/interop/go/<name>/ once per test run; return the binary."""
    if name in _BUILT:
        return _BUILT[name]
    go = shutil.which("go")
    if go is None:
        raise AssertionError("the go command is missing: install golang-go (see .ci/run)")
    source = ROOT / "tests" / "interop" / "go" / name / "main.go"
    out = Path(tempfile.mkdtemp(prefix="greenrpc-go-")) / name
    env = dict(os.environ, GO111MODULE="off", GOFLAGS="")
    env.setdefault("GOCACHE", str(Path(tempfile.gettempdir()) / "greenrpc-gocache"))
    subprocess.run([go, "build", "-o", str(out), "."], check=True, env=env, timeout=300,
                   cwd=source.parent)
    _BUILT[name] = out
    return out


def go_env() -> dict[str, str]:
    """The environment Go commands of the tests run in: module mode, a shared build cache."""
    env = dict(os.environ, GO111MODULE="on", GOFLAGS="-mod=mod")
    env.setdefault("GOCACHE", str(Path(tempfile.gettempdir()) / "greenrpc-gocache"))
    return env


def go_tool(directory: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run `go ARGS...` in directory (a module); fail with Go's output if it fails."""
    go = shutil.which("go")
    if go is None:
        raise AssertionError("the go command is missing: install golang-go (see .ci/run)")
    done = subprocess.run([go, *args], capture_output=True, text=True, env=go_env(),
                          timeout=300, cwd=directory)
    assert done.returncode == 0, f"go {' '.join(args)}: {done.stdout}{done.stderr}"
    return done


def run(args: list[str], timeout: float = 60.0, env: Optional[dict[str, str]] = None
        ) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, timeout=timeout, env=env)


def self_signed_certificate(directory: Path, host: str = "127.0.0.1") -> tuple[Path, Path]:
    """Write a fresh self-signed certificate for host (an IP address) and its key; return both."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "greenrpc test")])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (x509.CertificateBuilder()
                   .subject_name(name).issuer_name(name).public_key(key.public_key())
                   .serial_number(x509.random_serial_number())
                   .not_valid_before(now - datetime.timedelta(minutes=5))
                   .not_valid_after(now + datetime.timedelta(days=1))
                   .add_extension(x509.SubjectAlternativeName(
                       [x509.IPAddress(ipaddress.ip_address(host))]), critical=False)
                   .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                   .sign(key, hashes.SHA256()))
    certfile, keyfile = directory / "cert.pem", directory / "key.pem"
    certfile.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    keyfile.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                          serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    return certfile, keyfile
