"""greenrpc serve --workers: real supervisor and worker processes on 127.0.0.1."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Iterator

import pytest

import greenrpc
from greenrpc import cli
from tests.support import ROOT
from tests.test_examples import free_port, wait_for_port


class Supervisor:
    """`greenrpc serve tests.services:Replica --workers N` on a free port, as a real process."""

    def __init__(self, workers: int = 2, port: int = 0, wait: bool = True,
                 target: str = "tests.services:Replica") -> None:
        self.port = port or free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.log = tempfile.TemporaryFile("w+")  # a pipe nobody reads would fill and block
        self.process = subprocess.Popen(
            [sys.executable, "-m", "greenrpc", "serve", target,
             "--listen", self.address, "--workers", str(workers), "--grace", "5",
             "--access-log"],
            cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT)), stdout=self.log,
            stderr=subprocess.STDOUT)
        if wait:
            wait_for_port(self.port)

    def answering_pids(self, want: int, timeout: float = 5.0) -> set[int]:
        """PIDs answering Replica.Pid on fresh connections, until want of them were seen."""
        pids: set[int] = set()
        deadline = time.monotonic() + timeout
        while len(pids) < want and time.monotonic() < deadline:
            with greenrpc.dial(self.address, timeout=2, call_timeout=2) as client:
                pids.add(client.call("Replica.Pid"))
        return pids

    def stop(self, signal_first: bool = True) -> str:
        """Send SIGTERM (unless told not to), wait for the exit, return the log."""
        if signal_first and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()  # its workers then get SIGTERM from Linux (PR_SET_PDEATHSIG)
            self.process.wait(timeout=5)
            raise
        self.log.seek(0)
        output = self.log.read()
        self.log.close()
        return output


def parent_of(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[1])


def is_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.fixture(scope="module")
def supervisor() -> Iterator[Supervisor]:
    running = Supervisor(workers=2)
    try:
        yield running
    finally:
        output = running.stop()
        assert running.process.returncode == 0, output


def test_connections_are_spread_over_two_worker_processes(supervisor: Supervisor) -> None:
    pids = supervisor.answering_pids(want=2)
    assert len(pids) == 2, pids
    assert {parent_of(pid) for pid in pids} == {supervisor.process.pid}
    with greenrpc.dial(supervisor.address) as client:  # and many calls on one connection
        assert len({client.go("Replica.Pid").get(timeout=5) for _ in range(50)}) == 1
    supervisor.log.flush()
    supervisor.log.seek(0)
    lines = supervisor.log.read()
    # Each worker's own lines say which worker wrote them: the processes share one stream.
    assert "greenrpc[worker 1] connection from" in lines, lines
    assert "greenrpc[worker 2] connection from" in lines, lines


def test_a_killed_worker_is_started_again(supervisor: Supervisor) -> None:
    before = supervisor.answering_pids(want=2)
    victim = min(before)
    assert parent_of(victim) == supervisor.process.pid  # only ever signal our own children
    os.kill(victim, signal.SIGKILL)
    deadline = time.monotonic() + 10
    pids: set[int] = set()
    while not pids - before and time.monotonic() < deadline:
        try:
            pids |= supervisor.answering_pids(want=3, timeout=0.5)
        except greenrpc.ConnectionClosed:
            pass  # a connection queued on the dying worker's socket is reset; dial again
    assert victim not in pids and len(pids - before) == 1, (before, pids)
    assert supervisor.answering_pids(want=2) == pids  # both answer again


def test_sigterm_drains_every_worker_and_exits_0() -> None:
    running = Supervisor(workers=2)
    try:
        pids = running.answering_pids(want=2)
        with greenrpc.dial(running.address) as client:
            busy = client.call("Replica.Pid")
            slow = client.go("Replica.Work", 500)
            running.process.send_signal(signal.SIGTERM)
            assert slow.get(timeout=5) == busy  # the call already read still answers
        output = running.stop(signal_first=False)  # a second SIGTERM would kill at once
    finally:
        if running.process.poll() is None:
            running.stop()
    assert running.process.returncode == 0, output
    assert "signal received" in output
    assert not any(is_alive(pid) for pid in pids), output


def test_a_second_signal_kills_the_workers_at_once() -> None:
    running = Supervisor(workers=2)
    try:
        pids = running.answering_pids(want=2)
        with greenrpc.dial(running.address) as client:
            idle = pids - {client.call("Replica.Pid")}
            slow = client.go("Replica.Work", 4000)
            running.process.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + 5
            while any(is_alive(pid) for pid in idle) and time.monotonic() < deadline:
                time.sleep(0.02)  # the idle worker drains at once: the signal went round
            assert not any(is_alive(pid) for pid in idle) and not slow.ready()
            running.process.send_signal(signal.SIGTERM)
            with pytest.raises(greenrpc.ConnectionClosed):
                slow.get(timeout=3)
    finally:
        output = running.stop(signal_first=False)
    assert running.process.returncode == 1, output
    assert "second signal" in output
    assert not any(is_alive(pid) for pid in pids), output


class Unstartable(greenrpc.Server):
    def start(self, *args: Any, **kwargs: Any) -> str:
        raise OSError("no sockets today")


UNSTARTABLE = Unstartable()


def test_a_worker_that_cannot_start_stops_the_supervisor() -> None:
    running = Supervisor(workers=2, target="tests.test_workers:UNSTARTABLE", wait=False)
    output = running.stop(signal_first=False)
    assert running.process.returncode == 1, output
    assert "cannot serve: no sockets today" in output
    assert "could not start serving" in output and "starting it again" not in output


def test_a_port_in_use_exits_1_promptly() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        started = time.monotonic()
        running = Supervisor(workers=2, port=taken.getsockname()[1], wait=False)
        output = running.stop(signal_first=False)
    assert running.process.returncode == 1, output
    assert time.monotonic() - started < 5
    assert "cannot listen on" in output and "in use" in output, output


def test_unix_addresses_and_bad_counts_are_refused(monkeypatch: pytest.MonkeyPatch,
                                                   tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="cannot share a unix socket"):
        cli.main(["serve", "tests.services:Replica", "--workers", "2",
                  "--listen", f"unix:{tmp_path / 'rpc.sock'}"])
    monkeypatch.setenv("GREENRPC_WORKERS", "0")
    with pytest.raises(SystemExit, match="GREENRPC_WORKERS: '0' must be positive"):
        cli.main(["serve", "tests.services:Replica"])
