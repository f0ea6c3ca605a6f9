"""greenrpc.health: what container health checks and probes run."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import gevent
import pytest

import greenrpc
from greenrpc import health, tls_server_context
from tests import services
from tests.support import ROOT, client_certificate, self_signed_certificate
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


def test_health_speaks_tls_as_asked_or_as_the_server_is_configured(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cert, key = self_signed_certificate(tmp_path)
    (tmp_path / "other").mkdir()
    other_cert, _ = self_signed_certificate(tmp_path / "other")
    server = services.make_server(tls=tls_server_context(str(cert), str(key)))
    address = server.start("127.0.0.1:0")
    for name in ("GREENRPC_TLS", "GREENRPC_TLS_CA", "GREENRPC_TLS_INSECURE", "GREENRPC_TLS_CERT"):
        monkeypatch.delenv(name, raising=False)
    try:
        healthy, why = health.check(address)
        assert not healthy and "does the server speak TLS?" in why
        assert health.check(address, tls=health.tls_check(ca=str(cert))) == (True, "ok")
        assert health.check(address, tls=health.tls_check(insecure=True)) == (True, "ok")
        healthy, why = health.check(address, tls=health.tls_check(tls=True))
        assert not healthy and "CERTIFICATE_VERIFY_FAILED" in why  # system CAs: not trusted
        monkeypatch.setenv("GREENRPC_TLS_CERT", str(cert))  # the container's own setting
        assert health.check(address, tls=health.tls_from_environment()) == (True, "ok")
        monkeypatch.setenv("GREENRPC_TLS_CERT", str(other_cert))  # pinned: another cert fails
        healthy, why = health.check(address, tls=health.tls_from_environment())
        assert not healthy and "not GREENRPC_TLS_CERT's" in why
        monkeypatch.setenv("GREENRPC_TLS_CERT", str(cert))
        env = dict(os.environ, PYTHONPATH=str(ROOT), GREENRPC_LISTEN=address.replace(
            "127.0.0.1", "0.0.0.0"))
        done = subprocess.run([sys.executable, "-m", "greenrpc", "health"], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=60)
        assert (done.returncode, done.stdout) == (0, "ok\n"), done.stderr
        env["GREENRPC_TLS_CERT"] = ""
        done = subprocess.run([sys.executable, "-m", "greenrpc", "health", "--tls-ca", str(cert)],
                              cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
        assert (done.returncode, done.stdout) == (0, "ok\n"), done.stderr
    finally:
        server.stop(timeout=2)
    plain = services.make_server()
    address = plain.start("127.0.0.1:0")
    try:
        healthy, why = health.check(address, tls=health.tls_check(insecure=True))
        assert not healthy and "drop --tls" in why
    finally:
        plain.stop(timeout=2)


def test_health_and_call_show_a_client_certificate_where_the_server_requires_one(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cert, key = self_signed_certificate(tmp_path)
    (tmp_path / "ca").mkdir()
    ca = self_signed_certificate(tmp_path / "ca")
    probe_cert, probe_key = client_certificate(tmp_path, ca, "probe")
    server = services.make_server(tls=tls_server_context(str(cert), str(key), str(ca[0])))
    address = server.start("127.0.0.1:0")
    for name in ("GREENRPC_TLS", "GREENRPC_TLS_CA", "GREENRPC_TLS_INSECURE", "GREENRPC_TLS_CERT",
                 "GREENRPC_HEALTH_CERT", "GREENRPC_HEALTH_KEY"):
        monkeypatch.delenv(name, raising=False)
    try:
        # TLS 1.3 refuses after the handshake: an alert or a hang-up, as the reads fall.
        healthy, why = health.check(address, tls=health.tls_check(ca=str(cert)))
        assert not healthy and "client certificate" in why and "--tls-client-cert PEM" in why
        shown = health.tls_check(ca=str(cert), client_cert=str(probe_cert),
                                 client_key=str(probe_key))
        assert health.check(address, tls=shown) == (True, "ok")
        with pytest.raises(ValueError, match="comes with TLS"):
            health.tls_check(client_cert=str(probe_cert))
        # A container: the server's own settings plus the probe's certificate, all from the env.
        env = dict(os.environ, PYTHONPATH=str(ROOT), GREENRPC_LISTEN=address,
                   GREENRPC_TLS_CERT=str(cert), GREENRPC_HEALTH_CERT=str(probe_cert),
                   GREENRPC_HEALTH_KEY=str(probe_key))
        done = subprocess.run([sys.executable, "-m", "greenrpc", "health"], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=60)
        assert (done.returncode, done.stdout) == (0, "ok\n"), done.stderr
        del env["GREENRPC_HEALTH_CERT"], env["GREENRPC_HEALTH_KEY"]
        done = subprocess.run([sys.executable, "-m", "greenrpc", "health"], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 1 and "--tls-client-cert" in done.stderr, done.stderr
        call = [sys.executable, "-m", "greenrpc", "call", "--tls-ca", str(cert), address,
                "Arith.Multiply", '{"A": 7, "B": 8}']
        done = subprocess.run(call + ["--tls-client-cert", str(probe_cert), "--tls-client-key",
                                      str(probe_key)],
                              cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0 and '"Pro": 56' in done.stdout, done.stderr
        done = subprocess.run(call, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 2 and "--tls-client-cert PEM" in done.stderr, done.stderr
        done = subprocess.run([sys.executable, "-m", "greenrpc", "call", address, "Arith.Multiply",
                               "{}", "--tls-client-cert", str(probe_cert)],
                              cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
        assert (done.returncode, done.stderr) == (
            2, "greenrpc: a client certificate comes with TLS: add --tls or --tls-ca PEM\n")
    finally:
        server.stop(timeout=2)
