"""The straightforward gevent JSON-RPC server a Python programmer writes first (for comparison).

One greenlet per connection, makefile + readline, stdlib json, one call after another.
"""
from gevent import monkey; monkey.patch_all()  # noqa: E702

import json
import sys

from gevent.server import StreamServer


def handle(sock, address):  # type: ignore[no-untyped-def]
    stream = sock.makefile("rwb")
    for line in stream:
        request = json.loads(line)
        args = request["params"][0]
        reply = {"id": request["id"], "result": {"Pro": args["A"] * args["B"]}, "error": None}
        stream.write(json.dumps(reply, separators=(",", ":")).encode() + b"\n")
        stream.flush()


if __name__ == "__main__":
    host, _, port = sys.argv[1].rpartition(":")
    StreamServer((host, int(port)), handle, backlog=4096).serve_forever()
