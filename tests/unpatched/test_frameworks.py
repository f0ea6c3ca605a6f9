"""Real web apps calling real servers: Flask on werkzeug's threads, Starlette on uvicorn."""
from __future__ import annotations

import http.client
import json
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Iterator

import pytest

from tests.support import ROOT, Peer
from tests.unpatched.conftest import Target


def serve_app(module: str, target: Target, **env: str) -> Peer:
    return Peer([sys.executable, "-m", f"tests.unpatched.{module}"],
                env=dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT)] + sys.path[1:]),
                         RPC_ADDRESS=target.address, RPC_CODEC=target.codec, **env))


def get(connection: http.client.HTTPConnection, path: str) -> tuple[int, Any]:
    connection.request("GET", path)
    response = connection.getresponse()
    return response.status, json.loads(response.read())


def load(address: str, clients: int, requests: int, path_of: Any, check: Any) -> int:
    """clients keep-alive HTTP connections, requests each; returns how many failed check."""
    host, port = address.rsplit(":", 1)

    def client(c: int) -> int:
        connection = http.client.HTTPConnection(host, int(port), timeout=30)
        failed = 0
        try:
            for r in range(requests):
                status, body = get(connection, path_of(c, r))
                failed += status != 200 or not check(c, r, body)
        finally:
            connection.close()
        return failed
    with ThreadPoolExecutor(clients) as pool:
        return sum(pool.map(client, range(clients)))


def dies_mid_call(app: Peer, target: Target, path: str, calls: int) -> list[tuple[int, Any]]:
    """4 slow requests making calls in all; the RPC server is killed; what each answers."""
    host, port = app.address.rsplit(":", 1)
    connections = [http.client.HTTPConnection(host, int(port), timeout=10) for _ in range(5)]
    try:
        with ThreadPoolExecutor(4) as pool:
            answers = [pool.submit(get, connection, path) for connection in connections[:4]]
            deadline = time.monotonic() + 10
            while get(connections[4], "/pending")[1] < calls:  # the app has sent them all
                assert time.monotonic() < deadline, "the app never sent its calls"
            started = time.monotonic()
            target.peer.kill()
            results = [answer.result(timeout=10) for answer in answers]
        assert time.monotonic() - started < 3  # at once, not after the 30 s call timeout
        return results
    finally:
        for connection in connections:
            connection.close()


@pytest.fixture
def flask_app(own_target: Target) -> Iterator[tuple[Peer, Target]]:
    with serve_app("flask_app", own_target) as app:
        yield app, own_target


def test_flask_with_a_module_level_client(flask_app: tuple[Peer, Target]) -> None:
    app, target = flask_app
    failed = load(app.address, 8, 500, lambda c, r: f"/multiply/{c}/{r}",
                  lambda c, r, body: body == {"product": c * r, "runtime": "threads"})
    assert failed == 0
    answers = dies_mid_call(app, target, "/sleep/20000", 4)
    assert [status for status, _ in answers] == [502] * 4
    assert all("connection" in body["error"] for _, body in answers)


@pytest.fixture(params=["asyncio", "uvloop"])
def starlette_app(own_target: Target, request: pytest.FixtureRequest
                  ) -> Iterator[tuple[Peer, Target, str]]:
    with serve_app("starlette_app", own_target, LOOP=request.param) as app:
        yield app, own_target, request.param


def test_starlette_under_uvicorn_makes_concurrent_calls_per_request(
        starlette_app: tuple[Peer, Target, str]) -> None:
    app, target, loop = starlette_app
    failed = load(app.address, 8, 50, lambda c, r: f"/table/{c * 100 + r}/10",
                  lambda c, r, body: body == {"products": [(c * 100 + r) * i
                                                           for i in range(1, 11)],
                                              "loop": loop})
    assert failed == 0
    answers = dies_mid_call(app, target, "/sleep/20000", 4 * 5)
    assert [status for status, _ in answers] == [502] * 4
