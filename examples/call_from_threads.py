"""A threaded program (Flask, Django, a worker pool): one client, shared by every thread."""
import sys
from concurrent.futures import ThreadPoolExecutor

import greenrpc

client = greenrpc.dial(sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1:8096")


def area(side: int) -> int:  # e.g. a Flask view; each thread calls the same client
    return client.call("Arith.Multiply", {"A": side, "B": side})["Pro"]


with ThreadPoolExecutor(8) as pool:
    print(list(pool.map(area, range(10))))  # 8 threads, calls pipelined on one connection
client.close()
