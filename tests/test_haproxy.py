"""Scale-out: three greenrpc processes behind HAProxy (TCP mode, /healthz checks), on 127.0.0.1.

The topology of deploy/docker-compose.yml without containers: the backend and timing settings
mirror deploy/haproxy.cfg, with health checks every 200 ms instead of 2 s so the test is quick.
"""
from __future__ import annotations

import collections
import csv
import io
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable, Iterator, Optional

import gevent
import pytest
import requests
from gevent.event import Event

import greenrpc
from greenrpc import Backoff
from tests.support import ROOT
from tests.test_examples import free_port, wait_for_port

HAPROXY_CONFIG = """\
global
    maxconn 4096
    log stdout format raw local0 info
    stats socket {stats} mode 600 level admin

defaults
    mode tcp
    log global
    option tcplog
    timeout connect 1s
    timeout client 60s
    timeout server 60s
    timeout check 1s
    retries 3
    option redispatch 1

frontend rpc
    bind 127.0.0.1:{port}
    default_backend greenrpc

backend greenrpc
    balance leastconn
    option httpchk GET /healthz
    http-check expect status 200
    default-server inter 200ms fall 2 rise 2
{servers}
"""


def wait_until(condition: Callable[[], bool], timeout: float,
               what: "str | Callable[[], str]") -> None:
    """Poll condition; what describes the goal, as a callable when it should show the state at the end."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout}s: {what() if callable(what) else what}")
        gevent.sleep(0.05)


class Replica:
    """One `greenrpc serve` process on its own port."""

    def __init__(self, name: str, log_dir: Path) -> None:
        self.name = name
        self.port = free_port()
        self.log = log_dir / f"{name}.log"
        self.process: Optional[subprocess.Popen[bytes]] = None

    def start(self) -> None:
        env = dict(os.environ, PYTHONPATH=str(ROOT), GREENRPC_LISTEN=f"127.0.0.1:{self.port}")
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "greenrpc", "serve", "tests.services:Replica"],
                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        wait_for_port(self.port, timeout=20)

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)


class Cluster:
    """HAProxy on 127.0.0.1 in front of three replicas, with its stats socket for the checks."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.replicas = [Replica(f"r{n}", directory) for n in (1, 2, 3)]
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.stats = str(directory / "haproxy.sock")
        self.haproxy: Optional[subprocess.Popen[bytes]] = None

    def start(self) -> None:
        for replica in self.replicas:
            replica.start()
        servers = "\n".join(f"    server {r.name} 127.0.0.1:{r.port} check" for r in self.replicas)
        config = self.directory / "haproxy.cfg"
        config.write_text(HAPROXY_CONFIG.format(stats=self.stats, port=self.port, servers=servers))
        with open(self.directory / "haproxy.log", "ab") as log:
            self.haproxy = subprocess.Popen(["haproxy", "-db", "-f", str(config)],
                                            stdout=log, stderr=subprocess.STDOUT)
        wait_for_port(self.port, timeout=10)
        self.wait_status("UP")

    def stop(self) -> None:
        if self.haproxy is not None and self.haproxy.poll() is None:
            self.haproxy.terminate()
            self.haproxy.wait(10)
        for replica in self.replicas:
            replica.stop()

    def server_status(self) -> dict[str, str]:
        """HAProxy's view of each replica: UP, DOWN, or a transition such as "UP 1/2".

        Empty while the stats socket is not there yet: HAProxy may bind the frontend first.
        """
        with socket.socket(socket.AF_UNIX) as sock:
            sock.settimeout(5)
            try:
                sock.connect(self.stats)
            except (FileNotFoundError, ConnectionRefusedError):
                return {}
            sock.sendall(b"show stat\n")
            data = b""
            while chunk := sock.recv(65536):
                data += chunk
        rows = csv.DictReader(io.StringIO(data.decode().lstrip("# ")))
        return {row["svname"]: row["status"] for row in rows if row["pxname"] == "greenrpc"
                and row["svname"] not in ("BACKEND", "FRONTEND")}

    def wait_status(self, status: str, names: Optional[list[str]] = None,
                    timeout: float = 15) -> None:
        names = names or [r.name for r in self.replicas]
        wait_until(lambda: all(self.server_status().get(n) == status for n in names), timeout,
                   lambda: f"HAProxy sees {names} {status}: {self.server_status()}; "
                           f"its log ends: {self.haproxy_log()[-2000:]}")

    def haproxy_log(self) -> str:
        path = self.directory / "haproxy.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def pids_over_new_connections(self, count: int) -> collections.Counter[int]:
        """Open count connections at once through HAProxy; which replica answered each."""
        clients = [greenrpc.dial(self.address, timeout=5, call_timeout=10) for _ in range(count)]
        try:
            calls = [client.go("Replica.Pid") for client in clients]
            return collections.Counter(call.get() for call in calls)
        finally:
            for client in clients:
                client.close()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    assert shutil.which("haproxy"), "haproxy is missing: apt-get install haproxy (see .ci/run)"
    cluster = Cluster(tmp_path_factory.mktemp("haproxy"))
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()


class Worker:
    """A client with its own connection, calling Replica.Work in a loop until told to stop."""

    def __init__(self, address: str, idempotent: bool) -> None:
        self.client = greenrpc.dial(address, reconnect=Backoff(initial=0.02, maximum=0.5),
                                    call_timeout=15)
        self.idempotent = idempotent
        self.pid: Optional[int] = None  # the replica behind this connection, from its last reply
        self.inflight = False
        self.ok = 0
        self.failed: list[str] = []

    def run(self, stop: Event, gate: Event) -> None:
        while not stop.is_set():
            gate.wait()
            self.inflight = True
            try:
                self.pid = self.client.call("Replica.Work", 20, idempotent=self.idempotent)
                self.ok += 1
            except greenrpc.RPCError as err:
                self.failed.append(repr(err))
                self.pid = None
            finally:
                self.inflight = False


class Load:
    """Workers calling through HAProxy in the background."""

    def __init__(self, address: str, count: int, idempotent: bool) -> None:
        self.workers = [Worker(address, idempotent) for _ in range(count)]
        self.stop = Event()
        self.gate = Event()  # cleared: no worker starts another call
        self.gate.set()
        self.greenlets = [gevent.spawn(worker.run, self.stop, self.gate)
                          for worker in self.workers]

    def calls(self) -> int:
        return sum(worker.ok for worker in self.workers)

    def wait_for_calls(self, count: int, timeout: float = 10) -> None:
        floor = self.calls() + count
        wait_until(lambda: self.calls() >= floor, timeout, f"{count} more calls")

    def failures(self) -> list[str]:
        return [failure for worker in self.workers for failure in worker.failed]

    def finish(self) -> None:
        self.stop.set()
        gevent.joinall(self.greenlets, timeout=20, raise_error=True)
        for worker in self.workers:
            worker.client.close()


def report(**figures: Any) -> None:
    print("haproxy:", " ".join(f"{name}={value}" for name, value in figures.items()))


def test_many_connections_spread_over_the_replicas(cluster: Cluster) -> None:
    spread = cluster.pids_over_new_connections(90)
    report(spread=sorted(spread.values()))
    assert set(spread) == {r.pid for r in cluster.replicas}
    assert min(spread.values()) >= 15  # leastconn: about 30 each
    # TCP mode balances connections, not calls: one connection stays on one replica.
    with greenrpc.dial(cluster.address) as client:
        assert len({client.call("Replica.Pid") for _ in range(30)}) == 1


def test_metrics_scraped_through_the_load_balancer(cluster: Cluster) -> None:
    cluster.pids_over_new_connections(6)
    page = requests.get(f"http://{cluster.address}/metrics", timeout=5)
    assert page.status_code == 200
    assert 'greenrpc_calls_total{method="Replica.Pid"}' in page.text
    assert requests.get(f"http://{cluster.address}/healthz", timeout=5).text == "ok\n"


def test_sigkill_costs_only_the_calls_in_flight_on_that_replica(cluster: Cluster) -> None:
    load = Load(cluster.address, 30, idempotent=False)
    try:
        wait_until(lambda: all(w.ok >= 3 for w in load.workers), 20, "every worker calling")
        victim = cluster.replicas[0]
        assert victim.process is not None
        # The kernel takes a few milliseconds to tear a killed process down, and a connection
        # reaching its listen queue meanwhile is lost too. So that "in flight at the kill" is
        # exact, no call starts from this look until the process is gone; calls already sent
        # go on (no worker runs between this look and the kill).
        load.gate.clear()
        in_flight = [w for w in load.workers if w.inflight and w.pid == victim.pid]
        before = load.calls()
        os.kill(victim.pid, signal.SIGKILL)
        victim.process.wait(10)
        load.gate.set()
        cluster.wait_status("DOWN", [victim.name], timeout=10)
        down_at = load.calls()
        gevent.sleep(1.0)  # calls go on, on the two others
        after = load.calls()
    finally:
        load.finish()
    failures = load.failures()
    report(in_flight_on_killed=len(in_flight), failed=len(failures),
           calls_before_kill=before, calls_after_kill=after - before)
    assert len(failures) <= len(in_flight), failures
    assert all("ConnectionClosed" in failure for failure in failures), failures
    assert after - down_at > 100  # the survivors carry the load
    spread = cluster.pids_over_new_connections(30)
    assert victim.pid not in spread and len(spread) == 2
    victim.process = None
    victim.start()
    cluster.wait_status("UP")


def test_rolling_restart_loses_no_call(cluster: Cluster) -> None:
    load = Load(cluster.address, 20, idempotent=True)
    try:
        wait_until(lambda: all(w.ok >= 3 for w in load.workers), 20, "every worker calling")
        old_pids = {r.pid for r in cluster.replicas}
        for replica in cluster.replicas:
            assert replica.process is not None
            replica.process.send_signal(signal.SIGTERM)  # drains: calls already read answer
            assert replica.process.wait(20) == 0
            replica.start()
            cluster.wait_status("UP", [replica.name])
            load.wait_for_calls(50)
    finally:
        load.finish()
    failures = load.failures()
    repeats = sum(w.client.repeats for w in load.workers)
    report(rolling_restart_calls=load.calls(), failed=len(failures), repeated=repeats)
    assert failures == []
    assert not old_pids & {r.pid for r in cluster.replicas}
    assert set(cluster.pids_over_new_connections(30)) == {r.pid for r in cluster.replicas}


def test_shipped_haproxy_config_is_valid() -> None:
    check = subprocess.run(["haproxy", "-c", "-f", str(ROOT / "deploy" / "haproxy.cfg")],
                           capture_output=True, text=True, timeout=30)
    assert check.returncode == 0, check.stdout + check.stderr
