"""An asyncio program (FastAPI, Starlette, aiohttp): await the calls, gather them at once."""
import asyncio
import sys

import greenrpc
from greenrpc import aio


async def main(address: str) -> None:
    async with await aio.dial(address) as client:
        replies = await asyncio.gather(*(client.call("Arith.Multiply", {"A": n, "B": n})
                                         for n in range(10)))
        print([reply["Pro"] for reply in replies])  # 10 calls in flight on one connection
        try:
            await client.call("Arith.Divide", {"A": 1, "B": 0}, timeout=5)
        except asyncio.TimeoutError:  # a greenrpc.CallTimeout is one
            print("no reply in time")
        except greenrpc.ServerError as err:
            print("failed:", err)


asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1:8096"))
