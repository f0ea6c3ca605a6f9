"""TLS on the listener: greenrpc's and Go's clients, drain, bad handshakes, split records."""
from __future__ import annotations

import json
import ssl
import time
from pathlib import Path
from typing import Any, Iterator

import gevent
import pytest

import greenrpc
from greenrpc.transport import tls_server_context
from tests import services
from tests.support import connect, go_binary, read_until_closed, run, self_signed_certificate


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return self_signed_certificate(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def client_context(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(certificate[0]))


@pytest.fixture
def tls_server(certificate: tuple[Path, Path]) -> Iterator[greenrpc.Server]:
    server = services.make_server(tls=tls_server_context(*map(str, certificate)),
                                  message_timeout=1.0, write_timeout=0.3)
    server.start()
    yield server
    server.stop(timeout=5)


def test_greenrpc_client_over_tls(tls_server: greenrpc.Server, client_context: Any) -> None:
    with greenrpc.dial(tls_server.address, tls=client_context) as client:
        assert client.call("Arith.Multiply", {"A": 7, "B": 8})["Pro"] == 56
        calls = [client.go("Echo.Int", i) for i in range(2000)]
        assert [call.get(timeout=10) for call in calls] == list(range(2000))
        big = "x" * 3_000_000  # many TLS records each way
        assert client.call("Echo.Str", big, timeout=10) == big


def test_certificate_and_protocol_mismatches_fail_cleanly(tls_server: greenrpc.Server,
                                                         address: str) -> None:
    with pytest.raises(greenrpc.ConnectionClosed, match="CERTIFICATE_VERIFY_FAILED"):
        greenrpc.dial(tls_server.address, tls=True)  # self-signed: not in the system's store
    with pytest.raises(greenrpc.ConnectionClosed, match="TLS"):
        greenrpc.dial(address, tls=True, timeout=2)  # a plain server
    with connect(tls_server.address) as sock:  # plain JSON to the TLS port: no reply, closed
        sock.sendall(b'{"method":"Echo.Int","params":[1],"id":1}\n')
        try:
            assert b'"result"' not in read_until_closed(sock, timeout=3)
        except ConnectionResetError:
            pass  # closed with our request unread
    with connect(tls_server.address) as sock:  # a client that never starts the handshake
        started = time.monotonic()
        assert read_until_closed(sock, timeout=5) == b""
        assert 0.9 < time.monotonic() - started < 3  # message_timeout
    greenrpc_answers(tls_server)


def greenrpc_answers(server: greenrpc.Server) -> None:
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    with greenrpc.dial(server.address, tls=context) as client:
        assert client.call("Echo.Int", 3) == 3


def test_stop_drains_a_tls_connection_and_its_reply_stays_encrypted(
        tls_server: greenrpc.Server, client_context: Any) -> None:
    # Shutting down the read side must not go through SSLSocket.shutdown, which drops the TLS
    # layer: the drained reply would then go out in clear and break the client.
    client = greenrpc.dial(tls_server.address, tls=client_context)
    slow = client.go("Slow.Sleep", {"Ms": 300, "Tag": "drained"})
    gevent.sleep(0.1)
    stopper = gevent.spawn(tls_server.stop, 5)
    assert slow.get(timeout=5) == "drained"
    stopper.join(timeout=5)
    client.close()


class BioClient:
    """A TLS client over memory BIOs, so the test decides how records are cut into segments."""

    def __init__(self, address: str, context: ssl.SSLContext) -> None:
        self.sock = connect(address)
        self.incoming, self.outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        self.tls = context.wrap_bio(self.incoming, self.outgoing, server_hostname="127.0.0.1")
        while True:
            try:
                self.tls.do_handshake()
                break
            except ssl.SSLWantReadError:
                self.sock.sendall(self.outgoing.read())
                self.incoming.write(self.sock.recv(65536))
        self.sock.sendall(self.outgoing.read())

    def record(self, data: bytes) -> bytes:
        self.tls.write(data)
        return self.outgoing.read()

    def read_line(self, timeout: float = 5.0) -> bytes:
        self.sock.settimeout(timeout)
        data = b""
        while not data.endswith(b"\n"):
            try:
                data += self.tls.read(65536)
            except ssl.SSLWantReadError:
                more = self.sock.recv(65536)
                if not more:
                    raise ConnectionError("closed") from None
                self.incoming.write(more)
        return data


def test_a_tls_record_split_across_segments_waits_without_a_borrowed_timeout(
        tls_server: greenrpc.Server, client_context: Any) -> None:
    # The reader waits for the rest of a record while a writer has just sent a reply with its
    # 0.3 s write_timeout; the wait must stay unbounded (idle_timeout is None), not borrow it.
    client = BioClient(tls_server.address, client_context)
    client.sock.sendall(client.record(
        b'{"method":"Slow.Sleep","params":[{"Ms":100,"Tag":"a"}],"id":1}\n'))
    assert json.loads(client.read_line())["result"] == "a"
    gevent.sleep(0.05)
    record = client.record(b'{"method":"Echo.Int","params":[2],"id":2}\n')
    client.sock.sendall(record[:10])
    gevent.sleep(0.8)
    client.sock.sendall(record[10:])
    assert json.loads(client.read_line())["result"] == 2
    client.sock.close()


@pytest.mark.interop
def test_go_client_over_tls(tls_server: greenrpc.Server, certificate: tuple[Path, Path]) -> None:
    done = run([str(go_binary("tlsclient")), "-addr", tls_server.address, "-ca",
                str(certificate[0]), "-calls", "2000"], timeout=120)
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    assert seen["tls_version"] in ("TLS 1.2", "TLS 1.3"), seen
    assert seen["multiply"] == 56 and "multiply_err" not in seen
    assert seen["divzero"] == "divide by zero"
    assert seen["concurrent_ok"] == 2000 and seen["concurrent_bad"] == 0


def test_plain_tcp_stays_the_default(address: str) -> None:
    with connect(address) as sock:
        sock.sendall(b'{"method":"Echo.Int","params":[4],"id":4}\n')
        assert json.loads(sock.recv(1000))["result"] == 4
