"""The Docker image: built from this tree, run, and called by Go's stock jsonrpc client."""
from __future__ import annotations

import json
import os
import shutil
import ssl
import subprocess
import time
import uuid
from pathlib import Path
from typing import Iterator

import pytest
import requests

import greenrpc
from tests.support import ROOT, client_certificate, run, self_signed_certificate
from tests.test_examples import EXPECTED, free_port, wait_for_port

pytestmark = pytest.mark.docker


def docker(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return run(["docker", *args], timeout=timeout)


@pytest.fixture(scope="module")
def image() -> Iterator[str]:
    if os.environ.get("GREENRPC_SKIP_DOCKER") == "1":
        pytest.skip("GREENRPC_SKIP_DOCKER=1")
    assert shutil.which("docker"), "the docker command is missing (see .ci/run)"
    engine = docker("version", "--format", "{{.Server.Version}}")
    assert engine.returncode == 0, f"no Docker engine (set DOCKER_HOST; see .ci/run): {engine.stderr}"
    tag = f"greenrpc-test:{uuid.uuid4().hex[:8]}"
    build = docker("build", "--network", "host", "--force-rm", "-t", tag, str(ROOT), timeout=600)
    assert build.returncode == 0, build.stdout + build.stderr
    yield tag
    docker("rmi", "-f", tag)


@pytest.fixture
def container(image: str) -> Iterator[tuple[str, str]]:
    port = free_port()
    started = docker("run", "-d", "--network", "host", "-e", f"GREENRPC_LISTEN=127.0.0.1:{port}",
                     image)
    assert started.returncode == 0, started.stderr
    container_id = started.stdout.strip()
    try:
        wait_for_port(port, timeout=30)
        yield container_id, f"127.0.0.1:{port}"
    finally:
        docker("rm", "-f", container_id)


def test_image_answers_go_client_as_non_root(container: tuple[str, str], tmp_path: object) -> None:
    container_id, address = container
    binary = f"{tmp_path}/client"
    build = subprocess.run(["go", "build", "-o", binary, "."], cwd=ROOT / "examples" / "go" / "client",
                           capture_output=True, text=True, timeout=300)
    assert build.returncode == 0, build.stderr
    done = run([binary, address])
    assert done.stdout.splitlines() == EXPECTED, done.stderr
    assert docker("exec", container_id, "id", "-u").stdout.strip() == "10001"


def test_healthcheck_reports_healthy_and_stop_exits_cleanly(container: tuple[str, str]) -> None:
    container_id, _ = container
    deadline = time.monotonic() + 40
    status = ""
    while time.monotonic() < deadline:
        status = docker("inspect", "--format", "{{.State.Health.Status}}", container_id).stdout.strip()
        if status == "healthy":
            break
        time.sleep(0.5)
    assert status == "healthy"
    stopped = docker("stop", "--time", "10", container_id, timeout=30)
    assert stopped.returncode == 0
    code = docker("inspect", "--format", "{{.State.ExitCode}}", container_id).stdout.strip()
    assert code == "0"  # SIGTERM drained, not killed
    assert "draining" in docker("logs", container_id).stderr


def test_docker_stop_answers_every_accepted_call(image: str) -> None:
    """A slow service mounted from the tests: docker stop drains, no reply is lost, exit 0."""
    port = free_port()
    address = f"127.0.0.1:{port}"
    started = docker("run", "-d", "--network", "host", "-v", f"{ROOT / 'tests'}:/srv/tests:ro",
                     "-e", "PYTHONPATH=/srv", "-e", f"GREENRPC_LISTEN={address}",
                     "-e", "GREENRPC_LOG_FORMAT=json", image,
                     "serve", "tests.services:Slow")
    assert started.returncode == 0, started.stderr
    container_id = started.stdout.strip()
    clients: list[greenrpc.Client] = []
    try:
        wait_for_port(port, timeout=30)
        clients = [greenrpc.dial(address, call_timeout=20) for _ in range(5)]
        tags = [f"{n}-{i}" for n in range(len(clients)) for i in range(4)]
        calls = [clients[int(tag[0])].go("Slow.Sleep", {"Ms": 1500, "Tag": tag}) for tag in tags]

        def running() -> int:
            page = requests.get(f"http://{address}/debug/rpc?format=json", timeout=5).json()
            return int(page["services"][0]["methods"][0]["calls"])
        deadline = time.monotonic() + 10
        while running() < len(tags):  # every call read and started: now stop
            assert time.monotonic() < deadline, "the calls did not all start"
            time.sleep(0.05)
        stopped = docker("stop", "--time", "10", container_id, timeout=30)
        assert stopped.returncode == 0, stopped.stderr
        assert [call.get(timeout=10) for call in calls] == tags
        state = docker("inspect", "--format", "{{.State.ExitCode}} {{.State.OOMKilled}}",
                       container_id).stdout.split()
        assert state == ["0", "false"]  # drained and exited, not killed after the timeout
        logged = [json.loads(line) for line in docker("logs", container_id).stderr.splitlines()]
        assert any("draining" in line["message"] for line in logged)  # configured by environment
    finally:
        for client in clients:
            client.close()
        docker("rm", "-f", container_id)


def test_image_is_small(image: str) -> None:
    size = int(docker("image", "inspect", "--format", "{{.Size}}", image).stdout)
    base = int(docker("image", "inspect", "--format", "{{.Size}}", "python:3.11-slim").stdout)
    print(f"docker: image {size / 1e6:.0f} MB, {(size - base) / 1e6:.1f} MB over the base")
    assert size - base < 25e6  # greenrpc, gevent, ujson, h11, prometheus-client


@pytest.mark.parametrize("client_certificates", [False, True], ids=["tls", "client-certificates"])
def test_healthcheck_passes_with_tls_on(image: str, tmp_path: Path,
                                        client_certificates: bool) -> None:
    """GREENRPC_TLS_CERT/_KEY alone: the server speaks TLS and the HEALTHCHECK follows it. With
    GREENRPC_TLS_CLIENT_CA too, GREENRPC_HEALTH_CERT/_KEY give the check its certificate."""
    certs = tmp_path / "tls"
    certs.mkdir()
    cert, _ = self_signed_certificate(certs)
    settings = {"GREENRPC_TLS_CERT": "/tls/cert.pem", "GREENRPC_TLS_KEY": "/tls/key.pem"}
    context = ssl.create_default_context(cafile=str(cert))
    if client_certificates:
        (certs / "ca").mkdir()
        ca = self_signed_certificate(certs / "ca")
        client_certificate(certs, ca, "probe")
        context.load_cert_chain(*client_certificate(tmp_path, ca, "caller"))
        settings.update(GREENRPC_TLS_CLIENT_CA="/tls/ca/cert.pem",
                        GREENRPC_HEALTH_CERT="/tls/probe.pem",
                        GREENRPC_HEALTH_KEY="/tls/probe-key.pem")
    for path in [certs, *certs.rglob("*")]:
        os.chmod(path, 0o755 if path.is_dir() else 0o644)  # readable by the image's uid 10001
    port = free_port()
    address = f"127.0.0.1:{port}"
    environment = [arg for name, value in settings.items() for arg in ("-e", f"{name}={value}")]
    started = docker("run", "-d", "--network", "host", "-v", f"{certs}:/tls:ro",
                     "-e", f"GREENRPC_LISTEN={address}", *environment, image)
    assert started.returncode == 0, started.stderr
    container_id = started.stdout.strip()
    try:
        wait_for_port(port, timeout=30)
        with greenrpc.dial(address, tls=context) as client:
            assert client.call("Arith.Multiply", {"A": 7, "B": 8}) == {"Pro": 56}
        deadline = time.monotonic() + 40
        status = ""
        while time.monotonic() < deadline and status != "healthy":
            time.sleep(0.5)
            status = docker("inspect", "--format", "{{.State.Health.Status}}",
                            container_id).stdout.strip()
        assert status == "healthy", docker("inspect", "--format", "{{json .State.Health}}",
                                           container_id).stdout
    finally:
        docker("rm", "-f", container_id)
