"""A Flask app as people write them: one client at module level, shared by the server's threads.

Run as a program it serves on a free port of 127.0.0.1 from werkzeug's threaded server and
prints its address. RPC_ADDRESS and RPC_CODEC name the RPC server to call.
"""
from __future__ import annotations

import logging
import os

from flask import Flask, jsonify
from flask.typing import ResponseReturnValue

import greenrpc
from tests.services import ArithRequest, ArithResponse, SleepArgs

app = Flask(__name__)
rpc = greenrpc.dial(os.environ["RPC_ADDRESS"], codec=os.environ.get("RPC_CODEC", "json"),
                    call_timeout=30)


@app.get("/multiply/<int:a>/<int:b>")
def multiply(a: int, b: int) -> ResponseReturnValue:
    reply = rpc.call("Arith.Multiply", ArithRequest(a, b), result_type=ArithResponse)
    return jsonify(product=reply.Pro, runtime=rpc.runtime.name)


@app.get("/sleep/<int:ms>")
def sleep(ms: int) -> ResponseReturnValue:
    try:
        return jsonify(tag=rpc.call("Slow.Sleep", SleepArgs(ms, "slept")))
    except greenrpc.ConnectionClosed as err:
        return jsonify(error=str(err)), 502


@app.get("/pending")
def pending() -> ResponseReturnValue:
    return jsonify(rpc.pending)


if __name__ == "__main__":
    from werkzeug.serving import make_server

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request
    server = make_server("127.0.0.1", 0, app, threaded=True)
    print(f"127.0.0.1:{server.port}", flush=True)
    server.serve_forever()
