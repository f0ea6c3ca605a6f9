"""Helpers for tests that talk over real sockets and run real peer programs."""
from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Optional

from greenrpc.wire.gob import primitives

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


def splits(data: bytes, under: int = 16384 - 100) -> dict[str, list[bytes]]:
    """The same bytes cut in the ways a head has slipped past a limit: whole, just under the
    limit (16 KiB) then the rest, the blank line cut in two, in 1000-byte reads, byte by byte."""
    def cut(*at: int) -> list[bytes]:
        edges = [0, *at, len(data)]
        return [data[a:b] for a, b in zip(edges, edges[1:])]
    return {"whole": [data], "under-then-rest": cut(under),
            "blank-line-cut": cut(len(data) - 2), "1000s": cut(*range(1000, len(data), 1000)),
            "bytes": cut(*range(1, len(data)))}


def connect_head(size: int) -> bytes:
    """A CONNECT head of exactly size bytes, blank line included."""
    start = b"CONNECT /_goRPC_ HTTP/1.0\nX-Pad: "
    return start + b"p" * (size - len(start) - 2) + b"\n\n"


def continued_value(count: int, text: str = "x") -> tuple[bytes, bytes, bytes]:
    """The probe's value, sized by count: definitions, then a struct {Data []int; X any} whose
    X's concrete type (struct {A int; S string}) is defined inline, so Go ends the first message
    there and the value continues in the second (PROTOCOL.md 3.5), with S = text."""
    def struct(name: str, fields: list[tuple[str, int]]) -> bytes:
        listing = b"".join(b"\x01" + primitives.string_bytes(n) + b"\x01"
                           + primitives.int_bytes(i) + b"\x00" for n, i in fields)
        return (b"\x03\x01\x01" + primitives.string_bytes(name) + b"\x00\x01"
                + primitives.uint_bytes(len(fields)) + listing + b"\x00\x00")
    big, ints, small = 100, 101, 102
    definitions = (primitives.message(primitives.int_bytes(-big)
                                      + struct("Big", [("Data", ints), ("X", 8)]))
                   + primitives.message(primitives.int_bytes(-ints) + b"\x02\x02\x04\x00\x00"))
    first = primitives.message(primitives.int_bytes(big) + b"\x01" + primitives.uint_bytes(count)
                               + b"\x02" * count + b"\x01" + primitives.string_bytes("main.T")
                               + primitives.int_bytes(-small)
                               + struct("T", [("A", 2), ("S", 6)]))
    concrete = b"\x01\x0a\x01" + primitives.string_bytes(text) + b"\x00"
    second = primitives.message(primitives.int_bytes(small) + primitives.uint_bytes(len(concrete))
                                + concrete + b"\x00")
    return definitions, first, second


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


def client_certificate(directory: Path, issuer: tuple[Path, Path], name: str
                       ) -> tuple[Path, Path]:
    """Write a client certificate for name (its common name), signed by issuer's certificate
    and key (e.g. self_signed_certificate's), and its key; return both."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    ca = x509.load_pem_x509_certificate(issuer[0].read_bytes())
    ca_key = serialization.load_pem_private_key(issuer[1].read_bytes(), password=None)
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (x509.CertificateBuilder()
                   .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
                   .issuer_name(ca.subject).public_key(key.public_key())
                   .serial_number(x509.random_serial_number())
                   .not_valid_before(now - datetime.timedelta(minutes=5))
                   .not_valid_after(now + datetime.timedelta(days=1))
                   .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]),
                                  critical=False)
                   .sign(ca_key, hashes.SHA256()))  # type: ignore[arg-type]
    certfile, keyfile = directory / f"{name}.pem", directory / f"{name}-key.pem"
    certfile.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    keyfile.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                          serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    return certfile, keyfile


# Peers in processes of their own, for tests whose process must not be monkey-patched -------

GREENRPC_PEER = """
from gevent import monkey; monkey.patch_all()
import sys
import gevent
from greenrpc.transport import tls_server_context
from tests import services
tls = tls_server_context(sys.argv[2], sys.argv[3]) if len(sys.argv) > 3 else None
server = services.make_server(tls=tls)
print(server.start(sys.argv[1]), flush=True)
gevent.wait()
"""


class Peer:
    """A server process that prints its addresses, one a line, then serves until stopped."""

    def __init__(self, args: list[str], lines: int = 1, env: Optional[dict[str, str]] = None
                 ) -> None:
        self.process = subprocess.Popen(args, stdout=subprocess.PIPE, text=True, env=env,
                                        cwd=str(ROOT))
        assert self.process.stdout is not None
        self.addresses = [self.process.stdout.readline().strip() for _ in range(lines)]
        if not all(self.addresses):
            self.stop()
            raise AssertionError(f"{args[0]} did not print its address")
        self.address = self.addresses[0]

    def kill(self) -> None:
        """Die at once, as a crashed server does: connections end without replies."""
        self.process.kill()
        self.process.wait(10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.kill()
        if self.process.stdout is not None:
            self.process.stdout.close()

    def __enter__(self) -> Peer:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def greenrpc_peer(tls: Optional[tuple[Path, Path]] = None) -> Peer:
    """greenrpc serving tests/services.py (Arith, Slow.Sleep, Echo) in a gevent process."""
    args = [sys.executable, "-c", GREENRPC_PEER, "127.0.0.1:0"]
    if tls is not None:
        args += [str(tls[0]), str(tls[1])]
    return Peer(args, env=dict(os.environ, PYTHONPATH=str(ROOT)))


def go_peer(name: str) -> Peer:
    """Go's own server: "jsonserver" (jsonrpc.ServeConn) or "gobserver" (rpc.ServeConn on the
    first address, rpc.HandleHTTP on the second), each with Arith and Slow.Sleep."""
    return Peer([str(go_binary(name))], lines=2 if name == "gobserver" else 1)
