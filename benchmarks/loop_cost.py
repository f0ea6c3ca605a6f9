"""CPU per call of the whole server path in one process, over real sockets: read, decode, call,
encode, send, and the hub turn between calls, without the load generator's noise.

    python3 benchmarks/loop_cost.py            # 50 connections at depth 1, 8 at depth 32
    taskset -c 1 python3 benchmarks/loop_cost.py /path/to/other/checkout
    taskset -c 1 python3 benchmarks/loop_cost.py --bare   # greenrpc's codec and dispatch in
                                                          # the hand-written loop instead

Each client is a raw socket driven from this process's own loop: the clients send their
requests, the server answers them, the clients read the replies (never parsed), again and again.
Prints the process's CPU microseconds per call (user + system), best of 5 rounds; the clients'
share is the same for every server tree, so differences between trees are the server's.
"""
from __future__ import annotations

import sys
from pathlib import Path

BARE = "--bare" in sys.argv[1:]
ARGS = [arg for arg in sys.argv[1:] if arg != "--bare"]
TREE = Path(ARGS[0]).resolve() if ARGS else Path(__file__).resolve().parent.parent
sys.path.insert(0, str(TREE / "examples"))
sys.path.insert(0, str(TREE))

from gevent import monkey  # noqa: E402

monkey.patch_all()

import os  # noqa: E402
import socket  # noqa: E402

import gevent  # noqa: E402
from arith import Arith  # noqa: E402
from gevent import get_hub, getcurrent  # noqa: E402
from gevent.server import StreamServer  # noqa: E402

import greenrpc  # noqa: E402
from greenrpc.wire import jsonserver  # noqa: E402

REQUEST = b'{"method":"Arith.Multiply","params":[{"A":9,"B":2}],"id":1}\n'
ROUNDS = 5


def client(address: str, depth: int, calls: int) -> None:
    host, port = address.rsplit(":", 1)
    sock = socket.create_connection((host, int(port)))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    batch = REQUEST * depth
    for _ in range(calls // depth):
        sock.sendall(batch)
        answered = 0
        while answered < depth:
            answered += sock.recv(1 << 16).count(b"\n")
    sock.close()


def per_call(address: str, conns: int, depth: int, calls: int) -> float:
    best = float("inf")
    for _ in range(ROUNDS):
        before = os.times()
        gevent.joinall([gevent.spawn(client, address, depth, calls) for _ in range(conns)])
        after = os.times()
        cpu = (after.user - before.user) + (after.system - before.system)
        best = min(best, cpu / (conns * calls) * 1e6)
    return best


def bare(registry: greenrpc.registry.Registry) -> StreamServer:
    """benchmarks/handwritten_server.py's loop around greenrpc's codec and dispatch: what the
    connection's own machinery (limits, hand-over, fair reads, counting) adds is the difference."""
    hub = get_hub()

    def handle(sock: socket.socket, address: object) -> None:
        raw, readable = sock._sock, sock._read_event  # type: ignore[attr-defined]
        codec = jsonserver.ServerCodec(registry.lookup)
        dispatch, encode, feed = registry.dispatch, codec.encode, codec.feed
        while True:
            readable.start(getcurrent().switch)
            try:
                hub.switch()
            finally:
                readable.stop()
            try:
                data = raw.recv(16384)
            except BlockingIOError:
                continue
            if not data:
                return
            raw.send(b"".join([encode(dispatch(m)) for m in feed(data)]))  # type: ignore[arg-type]

    stream_server = StreamServer(("127.0.0.1", 0), handle)
    stream_server.init_socket()
    stream_server.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    stream_server.start()
    return stream_server


def main() -> None:
    server = greenrpc.Server()
    server.register(Arith())
    address = server.start()
    if BARE:
        address = f"127.0.0.1:{bare(server.registry).server_port}"
    what = "the hand-written loop with greenrpc's codec" if BARE else "greenrpc"
    print(f"{TREE} ({what}): µs of CPU per call, server and clients in one process "
          f"(best of {ROUNDS})")
    for conns, depth, calls in [(50, 1, 2000), (8, 32, 16000)]:
        print(f"  {conns} connections, depth {depth:2d}: {per_call(address, conns, depth, calls):6.2f}")
    server.stop()


if __name__ == "__main__":
    main()
