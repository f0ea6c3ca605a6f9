"""Faults over real sockets: peers that reset, half-close or send more than we read; methods
that raise, hang or return what JSON cannot carry; and nothing leaks afterwards."""
from __future__ import annotations

import json
import socket

import gevent

import greenrpc
from tests.support import connect

LINGER_RESET = b"\x01\x00\x00\x00\x00\x00\x00\x00"  # SO_LINGER on, 0 s: close sends a reset


def reset(sock: socket.socket) -> None:
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, LINGER_RESET)
    sock.close()


def healthy(address: str) -> None:
    with greenrpc.dial(address, timeout=5, call_timeout=5) as client:
        assert client.call("Arith.Multiply", {"A": 6, "B": 7})["Pro"] == 42


def read_slowly(sock: socket.socket, timeout: float = 10.0) -> bytes:
    """Read until the peer closes, 64 KiB every 2 ms; raise on a reset."""
    sock.settimeout(timeout)
    chunks = []
    while data := sock.recv(65536):
        chunks.append(data)
        gevent.sleep(0.002)
    return b"".join(chunks)


def test_replies_before_bad_input_arrive_whole_though_more_input_went_unread(address: str
                                                                            ) -> None:
    # The reply (8.5 MB) is read slowly, so much of it still waits in the server's socket
    # buffer when the server closes over the bad request; the junk after it was never read.
    # A plain close() would then reset the connection and drop the rest of the reply.
    with connect(address) as sock:
        sock.sendall(b'{"method":"Echo.Slice","params":[1200000],"id":1}\n{"method": bad}'
                     + b"j" * 200_000)
        gevent.sleep(0.3)
        got = read_slowly(sock)
    assert json.loads(got)["result"] == list(range(1200000))
    healthy(address)
