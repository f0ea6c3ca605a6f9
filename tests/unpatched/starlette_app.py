"""A Starlette app under uvicorn: each request makes concurrent calls on one AsyncClient.

Run as a program it serves on a free port of 127.0.0.1 and prints its address. RPC_ADDRESS and
RPC_CODEC name the RPC server to call; LOOP picks uvicorn's event loop (asyncio or uvloop).
"""
from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from typing import AsyncIterator, Optional

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

import greenrpc
from greenrpc import aio
from tests.services import ArithRequest, ArithResponse, SleepArgs

rpc: Optional[aio.AsyncClient] = None


@contextlib.asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    global rpc
    async with await aio.dial(os.environ["RPC_ADDRESS"],
                              codec=os.environ.get("RPC_CODEC", "json"), call_timeout=30) as rpc:
        yield


async def table(request: Request) -> JSONResponse:
    """The products n*1 .. n*count, from count calls made at once."""
    assert rpc is not None
    n, count = int(request.path_params["n"]), int(request.path_params["count"])
    replies = await asyncio.gather(*(rpc.call("Arith.Multiply", ArithRequest(n, i),
                                              result_type=ArithResponse)
                                     for i in range(1, count + 1)))
    loop = type(asyncio.get_running_loop()).__module__.split(".")[0]
    return JSONResponse({"products": [reply.Pro for reply in replies], "loop": loop})


async def sleep(request: Request) -> JSONResponse:
    assert rpc is not None
    try:
        ms = int(request.path_params["ms"])
        tags = await asyncio.gather(*(rpc.call("Slow.Sleep", SleepArgs(ms, "slept"))
                                      for _ in range(5)))
        return JSONResponse({"tags": tags})
    except greenrpc.ConnectionClosed as err:
        return JSONResponse({"error": str(err)}, status_code=502)


async def pending(request: Request) -> JSONResponse:
    assert rpc is not None
    return JSONResponse(rpc.pending)


app = Starlette(routes=[Route("/table/{n:int}/{count:int}", table),
                        Route("/sleep/{ms:int}", sleep), Route("/pending", pending)],
                lifespan=lifespan)

if __name__ == "__main__":
    import uvicorn

    listener = socket.create_server(("127.0.0.1", 0))
    print("127.0.0.1:%d" % listener.getsockname()[1], flush=True)
    config = uvicorn.Config(app, loop=os.environ.get("LOOP", "asyncio"), log_level="warning")
    uvicorn.Server(config).run(sockets=[listener])
