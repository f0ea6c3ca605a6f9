"""A gevent program: greenlets share one client; patch first, as every gevent program does."""
from gevent import monkey; monkey.patch_all()  # noqa: E702

import sys

import gevent

import greenrpc

with greenrpc.dial(sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1:8096") as client:
    jobs = [gevent.spawn(client.call, "Arith.Multiply", {"A": n, "B": n}) for n in range(10)]
    gevent.joinall(jobs, raise_error=True)
    print([job.value["Pro"] for job in jobs])
