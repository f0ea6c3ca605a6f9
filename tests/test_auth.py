"""Who may call what: the auth hook on every protocol, client certificates, and the pages and
methods a server can keep to itself."""
from __future__ import annotations

import json
import os
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Iterator

import pytest

import greenrpc
from tests import services
from tests.support import (
    ROOT,
    client_certificate,
    connect,
    go_binary,
    read_lines,
    run,
    self_signed_certificate,
)
from tests.test_hostile import Plane, Point
from tests.test_limits import http_body, post


class Ledger:
    """Records what ran, so a refused call can be shown never to have run."""

    def __init__(self) -> None:
        self.ran: list[str] = []

    def Read(self, n: int) -> int:
        self.ran.append("Read")
        return n

    def Write(self, n: int) -> int:
        self.ran.append("Write")
        return n


def read_only(call: greenrpc.CallInfo) -> bool:
    return not call.method.endswith(".Write") and call.method != "Plane.Norm"


@pytest.fixture
def guarded() -> Iterator[tuple[str, Ledger, list[greenrpc.CallInfo]]]:
    ledger = Ledger()
    seen: list[greenrpc.CallInfo] = []

    def auth(call: greenrpc.CallInfo) -> bool:
        seen.append(call)
        if call.method == "Ledger.Secret":
            raise greenrpc.ServerError("not for you", code=-32099)
        return read_only(call)

    server = greenrpc.Server(auth=auth)
    server.register(ledger)
    server.register(Plane())
    server.start()
    yield server.address, ledger, seen
    server.stop(timeout=5)


def test_the_auth_hook_refuses_calls_on_every_protocol_before_they_run(
        guarded: tuple[str, Ledger, list[greenrpc.CallInfo]]) -> None:
    address, ledger, seen = guarded
    with connect(address) as sock:  # Go's JSON, then 2.0 and a batch, on one connection
        sock.sendall(b'{"method":"Ledger.Write","params":[1],"id":1}\n'
                     b'{"method":"Ledger.Read","params":[2],"id":2}\n'
                     b'{"jsonrpc":"2.0","method":"Ledger.Write","params":[3],"id":3}\n'
                     b'[{"jsonrpc":"2.0","method":"Ledger.Write","params":[4],"id":4},'
                     b'{"jsonrpc":"2.0","method":"Ledger.Read","params":[5],"id":5}]\n'
                     b'{"jsonrpc":"2.0","method":"Ledger.Secret","id":6}\n'
                     # the argument's type would refuse it too: the hook speaks first
                     b'{"method":"Plane.Norm","params":[{"X":-1}],"id":7}\n')
        replies = [json.loads(line) for line in read_lines(sock, 6)]
    assert replies[0] == {"id": 1, "result": None, "error": "permission denied: Ledger.Write"}
    assert replies[1] == {"id": 2, "result": 2, "error": None}
    assert replies[2]["error"] == {"code": -32002, "message": "permission denied: Ledger.Write"}
    assert [r.get("result", r.get("error")) for r in replies[3]] == [
        {"code": -32002, "message": "permission denied: Ledger.Write"}, 5]
    assert replies[4]["error"] == {"code": -32099, "message": "not for you"}
    assert replies[5]["error"] == "permission denied: Plane.Norm"
    with greenrpc.dial(address, codec="gob") as client:  # Go's gob
        with pytest.raises(greenrpc.ServerError, match="permission denied: Ledger.Write"):
            client.call("Ledger.Write", 6)
        assert client.call("Ledger.Read", 7) == 7
    with connect(address) as sock:  # HTTP POST
        sock.sendall(post(b'{"jsonrpc":"2.0","method":"Ledger.Write","params":[8],"id":8}'))
        assert json.loads(http_body(sock))["error"]["code"] == -32002
    with greenrpc.dial_http(address) as client:  # Go's CONNECT, then gob
        with pytest.raises(greenrpc.ServerError, match="permission denied"):
            client.call("Ledger.Write", 9)
    assert ledger.ran == ["Read", "Read", "Read"]
    assert {call.method for call in seen} >= {"Ledger.Write", "Ledger.Read", "Ledger.Secret"}
    assert all(call.peer.startswith("127.0.0.1:") and call.certificate is None for call in seen)


def test_a_failing_auth_hook_refuses_and_logs(caplog: pytest.LogCaptureFixture) -> None:
    def broken(call: greenrpc.CallInfo) -> bool:
        raise KeyError(call.method)

    server = greenrpc.Server(auth=broken)
    server.register(Ledger())
    server.start()
    try:
        with greenrpc.dial(server.address) as client:
            with pytest.raises(greenrpc.ServerError, match="permission denied: Ledger.Read"):
                client.call("Ledger.Read", 1)
    finally:
        server.stop(timeout=5)
    assert any("auth hook failed on Ledger.Read" in r.getMessage() for r in caplog.records)


@pytest.fixture(scope="module")
def authority(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, Path]]:
    """A CA (also the server's certificate), and client certificates it signed for alice and
    bob; mallory's is signed by a CA the server does not trust."""
    directory = tmp_path_factory.mktemp("pki")
    ca = self_signed_certificate(directory)
    other = self_signed_certificate(directory / "..")
    return {"ca": ca, "alice": client_certificate(directory, ca, "alice"),
            "bob": client_certificate(directory, ca, "bob"),
            "mallory": client_certificate(directory, other, "mallory")}


def client_context(authority: dict[str, tuple[Path, Path]], who: str = "") -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(authority["ca"][0]))
    if who:
        context.load_cert_chain(*map(str, authority[who]))
    return context


def common_name(call: greenrpc.CallInfo) -> str:
    assert call.certificate is not None
    return dict(pair[0] for pair in call.certificate["subject"])["commonName"]


def test_client_certificates_are_required_and_reach_the_auth_hook(
        authority: dict[str, tuple[Path, Path]]) -> None:
    names: list[str] = []

    def only_alice_writes(call: greenrpc.CallInfo) -> bool:
        names.append(common_name(call))
        return call.method.endswith(".Read") or common_name(call) == "alice"

    certfile, keyfile = authority["ca"]
    tls = greenrpc.tls_server_context(str(certfile), str(keyfile), client_ca=str(certfile))
    server = greenrpc.Server(tls=tls, auth=only_alice_writes)
    ledger = Ledger()
    server.register(ledger)
    server.start()
    try:
        with greenrpc.dial(server.address, tls=client_context(authority, "alice")) as alice:
            assert alice.call("Ledger.Write", 1) == 1
        with greenrpc.dial(server.address, tls=client_context(authority, "bob")) as bob:
            assert bob.call("Ledger.Read", 2) == 2
            with pytest.raises(greenrpc.ServerError, match="permission denied: Ledger.Write"):
                bob.call("Ledger.Write", 3)
        for who in ("", "mallory"):  # no certificate, or one from another CA: no handshake
            with pytest.raises((OSError, greenrpc.ConnectionClosed)):
                with greenrpc.dial(server.address, tls=client_context(authority, who)) as client:
                    client.call("Ledger.Read", 4)
        assert ledger.ran == ["Write", "Read"]
        assert names == ["alice", "bob", "bob"]
    finally:
        server.stop(timeout=5)


def test_cli_serves_tls_with_client_certificates_and_without_its_pages(
        authority: dict[str, tuple[Path, Path]], tmp_path: Path) -> None:
    certfile, keyfile = authority["ca"]
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    address = f"127.0.0.1:{port}"
    process = subprocess.Popen(
        [sys.executable, "-m", "greenrpc", "serve", "tests.services:Arith", "--listen", address,
         "--tls-cert", str(certfile), "--tls-key", str(keyfile), "--no-debug-page",
         "--no-metrics", "--no-discovery"], cwd=ROOT, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT),
             "GREENRPC_TLS_CLIENT_CA": str(certfile)})
    try:
        client = None
        for _ in range(200):  # until it listens (bounded: 10 s)
            try:
                client = greenrpc.dial(address, tls=client_context(authority, "alice"))
                break
            except greenrpc.ConnectionClosed:
                time.sleep(0.05)
        assert client is not None, "server did not start"
        with client:
            assert client.call("Arith.Multiply", {"A": 6, "B": 7}) == {"Pro": 42, "Quo": 0,
                                                                      "Rem": 0}
            with pytest.raises(greenrpc.ServerError, match="can't find service rpc.discover"):
                client.call("rpc.discover")
        with pytest.raises((OSError, greenrpc.ConnectionClosed)):
            with greenrpc.dial(address, tls=client_context(authority)) as anonymous:
                anonymous.call("Arith.Multiply", {"A": 1, "B": 1})
        https = urllib.request.HTTPSHandler(context=client_context(authority, "bob"))
        opener = urllib.request.build_opener(https)
        for page, status in (("/healthz", 200), ("/metrics", 404), ("/debug/rpc", 404)):
            try:
                code = opener.open(f"https://{address}{page}", timeout=10).status
            except urllib.error.HTTPError as err:
                code = err.code
            assert code == status, page
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=15)
    assert process.returncode == 0, output


def test_debug_page_metrics_and_discovery_can_each_be_switched_off() -> None:
    for off in ("debug", "metrics", "discovery"):
        server = greenrpc.Server(**{off: False})
        server.register(Ledger())
        server.start()
        try:
            for page, name in (("/debug/rpc", "debug"), ("/metrics", "metrics")):
                try:
                    status = urllib.request.urlopen(f"http://{server.address}{page}",
                                                    timeout=10).status
                except urllib.error.HTTPError as err:
                    status = err.code
                assert status == (404 if off == name else 200), (off, page)
            with greenrpc.dial(server.address, version=2) as client:
                if off == "discovery":
                    with pytest.raises(greenrpc.ServerError, match="rpc.discover"):
                        client.call("rpc.discover")
                else:
                    assert client.call("rpc.discover")["openrpc"]
        finally:
            server.stop(timeout=5)


def test_refused_calls_are_logged_in_one_line(guarded: tuple[str, Ledger, Any],
                                              caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("INFO", "greenrpc")
    with greenrpc.dial(guarded[0]) as client:
        with pytest.raises(greenrpc.ServerError):
            client.call("Ledger.Write", 1)
    lines = [r.getMessage() for r in caplog.records if "Ledger.Write" in r.getMessage()]
    assert len(lines) == 1 and "permission denied" in lines[0]
    assert not any(r.exc_info for r in caplog.records)


_ = Point  # the argument type Plane.Norm refuses -1 with


@pytest.mark.interop
def test_go_client_presents_its_certificate(authority: dict[str, tuple[Path, Path]]) -> None:
    certfile, keyfile = authority["ca"]
    tls = greenrpc.tls_server_context(str(certfile), str(keyfile), client_ca=str(certfile))
    names: list[str] = []

    def record(call: greenrpc.CallInfo) -> bool:
        names.append(common_name(call))
        return True

    server = services.make_server(tls=tls, auth=record)
    server.start()
    try:
        client = [str(go_binary("tlsclient")), "-addr", server.address, "-ca", str(certfile),
                  "-calls", "10"]
        done = run(client + ["-cert", str(authority["alice"][0]), "-key",
                             str(authority["alice"][1])], timeout=120)
        assert done.returncode == 0, done.stderr
        seen = json.loads(done.stdout)
        assert seen["multiply"] == 56 and seen["concurrent_ok"] == 10, seen
        assert set(names) == {"alice"} and len(names) == 12
        done = run(client, timeout=120)  # no certificate: Go's first call fails
        seen = json.loads(done.stdout)
        assert "dial_err" in seen or "multiply_err" in seen, seen
        assert len(names) == 12
    finally:
        server.stop(timeout=5)
