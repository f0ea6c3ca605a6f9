"""Graceful drain under load from Go's own client: every call the server read is answered.

Semantics checked here (see docs/reliability.md): on SIGTERM the server stops accepting and
stops reading; a call counts as read once its bytes have left the kernel for greenrpc. Bytes
still in a socket's receive buffer are not read (on Linux, shutdown(SHUT_RD) discards nothing
and still lets a recv return them, so the server simply never reads again), and the clients of
those calls see the connection end: Go reports "unexpected EOF" for calls it had sent and
"connection is shut down" for later ones. No reply is ever lost: replies the server sent equal
the requests it read, and equal the calls Go saw succeed.
"""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest

import greenrpc
from tests.support import ROOT, go_binary
from tests.test_examples import free_port, wait_for_port

pytestmark = pytest.mark.interop

# What Go's client says for a call whose request the server never read.
NEVER_READ = ("unexpected EOF", "connection is shut down", "EOF", "connection reset by peer",
              "broken pipe")


def start_server(port: int, *options: str) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "greenrpc", "serve", "tests.services:Arith", "tests.services:Slow",
         "--listen", f"127.0.0.1:{port}", *options],
        cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT)), stderr=subprocess.PIPE, text=True)
    wait_for_port(port)
    return process


def test_sigterm_under_go_load_answers_every_call_it_read() -> None:
    port = free_port()
    server = start_server(port, "--grace", "10")
    load = subprocess.Popen([str(go_binary("drainload")), "-addr", f"127.0.0.1:{port}",
                             "-conns", "8", "-per-conn", "16", "-duration", "20s"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(1.5)  # load running: thousands of calls, some slow ones in flight
        signalled = time.monotonic()
        server.send_signal(signal.SIGTERM)
        _, log = server.communicate(timeout=15)
        drained_in = time.monotonic() - signalled
        out, err = load.communicate(timeout=30)
    finally:
        for process in (server, load):
            if process.poll() is None:
                process.kill()
                process.wait()
    assert server.returncode == 0, log
    assert drained_in < 5, log  # well within the 10 s grace
    match = re.search(r"stopped: (\d+) requests read, (\d+) replies sent", log)
    assert match, log
    read, sent = int(match[1]), int(match[2])
    seen = json.loads(out)
    assert seen["wrong"] == 0
    assert read == sent == seen["ok"] > 1000, (read, sent, seen)
    failures = seen["failed"]
    assert sum(failures.values()) <= 8 * 16  # one per goroutine: it stops at its first error
    for text in failures:
        assert text.endswith(NEVER_READ), failures


def test_a_second_signal_exits_at_once() -> None:
    port = free_port()
    server = start_server(port)
    try:
        client = greenrpc.dial(f"127.0.0.1:{port}")
        stuck = client.go("Slow.Sleep", {"Ms": 20000, "Tag": "stuck"})
        time.sleep(0.3)
        server.send_signal(signal.SIGTERM)  # drains: would wait for the stuck call
        time.sleep(0.3)
        assert server.poll() is None
        server.send_signal(signal.SIGINT)
        started = time.monotonic()
        server.wait(timeout=5)
        assert time.monotonic() - started < 2
        assert server.returncode == 1
        with pytest.raises(greenrpc.ConnectionClosed):
            stuck.get(timeout=5)
        client.close()
    finally:
        if server.poll() is None:
            server.kill()
        _, log = server.communicate(timeout=5)
    assert "second signal: exiting now" in log
