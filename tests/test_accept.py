"""Accepting: the connection limit pauses and resumes accepting; running out of file
descriptors pauses quietly, without spinning, and recovers by itself."""
from __future__ import annotations

import json
import os
import resource
import signal
import socket
import subprocess
import sys
import time

import gevent

from tests import services
from tests.support import ROOT, connect, read_lines
from tests.test_examples import free_port, wait_for_port


def request(sock: socket.socket, n: int) -> None:
    sock.sendall(b'{"method":"Echo.Int","params":[%d],"id":%d}\n' % (n, n))


def answered(sock: socket.socket, wait: float) -> bool:
    sock.settimeout(wait)
    try:
        return bool(sock.recv(100))
    except socket.timeout:
        return False


def test_at_max_connections_new_clients_wait_and_are_served_when_a_slot_frees() -> None:
    server = services.make_server(max_connections=2)
    server.start()
    try:
        first, second = connect(server.address), connect(server.address)
        for n, sock in enumerate((first, second)):
            request(sock, n)
            assert answered(sock, 2)
        waiting = [connect(server.address) for _ in range(3)]  # the kernel completes these
        for n, sock in enumerate(waiting):
            request(sock, 10 + n)
        assert not any(answered(sock, 0.2) for sock in waiting)  # not accepted yet
        first.close()
        started = time.monotonic()
        assert answered(waiting[0], 2) and time.monotonic() - started < 1.5  # soon, not at a timeout
        assert not answered(waiting[1], 0.1)  # still two at a time
        second.close()
        waiting[0].close()
        assert answered(waiting[1], 2) and answered(waiting[2], 2)
        for sock in waiting[1:]:  # and they go on normally: nothing was errored
            request(sock, 99)
            assert json.loads(read_lines(sock, 1)[0])["result"] == 99
            sock.close()
    finally:
        server.stop(timeout=5)


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_running_out_of_file_descriptors_pauses_accepting_then_recovers() -> None:
    port = free_port()

    def few_descriptors() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (40, 40))

    server = subprocess.Popen(
        [sys.executable, "-m", "greenrpc", "serve", "tests.services:Echo",
         "--listen", f"127.0.0.1:{port}"], cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT)),
        preexec_fn=few_descriptors, stderr=subprocess.PIPE, text=True)
    clients: list[socket.socket] = []
    try:
        wait_for_port(port)
        for n in range(50):  # more than the server has descriptors for
            sock = socket.create_connection(("127.0.0.1", port), timeout=5)
            request(sock, n)
            clients.append(sock)
        gevent.sleep(0.5)
        served = [sock for sock in clients if answered(sock, 0.05)]
        waiting = [sock for sock in clients if sock not in served]
        assert served and waiting, (len(served), len(waiting))
        before = cpu_seconds(server.pid)
        time.sleep(1.0)
        assert cpu_seconds(server.pid) - before < 0.2  # paused, not spinning on accept()
        for sock in served:
            sock.close()
        started = time.monotonic()
        assert all(answered(sock, 5) for sock in waiting)  # served once descriptors are free
        assert time.monotonic() - started < 4
        for sock in waiting:
            sock.close()
        gevent.sleep(0.2)
        with socket.create_connection(("127.0.0.1", port), timeout=5) as fresh:
            request(fresh, 1)
            assert answered(fresh, 5)
    finally:
        for sock in clients:
            sock.close()
        server.send_signal(signal.SIGTERM)
        _, log = server.communicate(timeout=15)
    assert server.returncode == 0, log
    assert "cannot accept connections (Too many open files): pausing" in log
    assert "accepting connections again" in log
    assert "Traceback" not in log
