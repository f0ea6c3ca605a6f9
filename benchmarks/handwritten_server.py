"""The fastest gevent JSON-RPC loop we could write by hand, as a floor for greenrpc's overhead.

One greenlet per connection waits for readability, reads, answers every whole line of the read
with ujson and writes the replies with one send: Arith.Multiply only, untyped (a dict in, a dict
out), no limits, no metrics, no concurrency for calls that block, no other dialect.
"""
from gevent import monkey; monkey.patch_all()  # noqa: E702,I001

import socket
import sys

import ujson
from gevent import get_hub, getcurrent
from gevent.server import StreamServer

HUB = get_hub()


def handle(sock, address):  # type: ignore[no-untyped-def]
    raw, readable = sock._sock, sock._read_event
    loads, dumps = ujson.loads, ujson.dumps
    while True:
        readable.start(getcurrent().switch)
        try:
            HUB.switch()
        finally:
            readable.stop()
        try:
            data = raw.recv(65536)
        except BlockingIOError:
            continue
        if not data:
            return
        replies = []
        for line in data.split(b"\n")[:-1]:
            request = loads(line)
            args = request["params"][0]
            replies.append(b'{"id":%d,"result":%s,"error":null}\n'
                           % (request["id"], dumps({"Pro": args["A"] * args["B"]}).encode()))
        raw.send(b"".join(replies))


if __name__ == "__main__":
    host, _, port = sys.argv[1].rpartition(":")
    server = StreamServer((host, int(port)), handle, backlog=4096)
    server.init_socket()
    server.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    server.serve_forever()
