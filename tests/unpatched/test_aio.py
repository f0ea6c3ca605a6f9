"""greenrpc.aio on asyncio and on uvloop: awaited calls pipelined on one connection."""
from __future__ import annotations

import asyncio
import socket
import ssl
import threading
import time
from pathlib import Path
from typing import Any, Awaitable, Callable, Iterator

import pytest
import uvloop

import greenrpc
from greenrpc import aio
from tests.services import ArithRequest, ArithResponse, SleepArgs
from tests.support import GREENRPC_PEER, ROOT, Peer, greenrpc_peer
from tests.unpatched.conftest import Target, start_target

LOOPS = {"asyncio": asyncio.new_event_loop, "uvloop": uvloop.new_event_loop}


@pytest.fixture(params=list(LOOPS))
def run(request: pytest.FixtureRequest) -> Callable[[Awaitable[Any]], Any]:
    """Run a coroutine to completion on a fresh loop of the parametrized kind."""
    def run(coroutine: Awaitable[Any]) -> Any:
        with asyncio.Runner(loop_factory=LOOPS[request.param]) as runner:
            return runner.run(asyncio.wait_for(coroutine, 60))  # type: ignore[arg-type]
    return run


async def multiply(client: Any, a: int, b: int) -> int:
    product: int = (await client.call("Arith.Multiply", ArithRequest(a, b),
                                      result_type=ArithResponse)).Pro
    return product


def test_gathered_calls_share_one_connection(target: Target, run: Any) -> None:
    async def main() -> None:
        async with await aio.dial(target.address, codec=target.codec) as client:
            for n in range(10):  # 10 rounds of 200 concurrent calls
                products = await asyncio.gather(*(multiply(client, n, i) for i in range(200)))
                assert products == [n * i for i in range(200)]
            started = time.monotonic()  # 8 calls of 300 ms at once: in flight together
            tags = await asyncio.gather(*(client.call("Slow.Sleep", SleepArgs(300, f"t{i}"))
                                          for i in range(8)))
            assert tags == [f"t{i}" for i in range(8)]
            assert time.monotonic() - started < 1.5
            assert client.pending == 0
        assert client.closed
    run(main())


def test_timeouts_are_asyncio_timeouts_and_go_expires_unawaited(target: Target, run: Any) -> None:
    async def main() -> None:
        async with await aio.dial(target.address, codec=target.codec, call_timeout=0.2) as client:
            started = time.monotonic()
            with pytest.raises(asyncio.TimeoutError, match="Slow.Sleep: no reply within 0.2s"):
                await client.call("Slow.Sleep", SleepArgs(800, "late"))
            assert 0.19 < time.monotonic() - started < 0.7
            with pytest.raises(greenrpc.CallTimeout):
                await client.call("Slow.Sleep", SleepArgs(800, "late"), timeout=0.05)
            kept = await client.go("Slow.Sleep", SleepArgs(300, "kept"))
            assert await kept.get(timeout=5) == "kept"  # get(timeout=) keeps it alive that long
            calls = [await client.go("Slow.Sleep", SleepArgs(2000, "never")) for _ in range(100)]
            assert client.pending == 100
            with pytest.raises(greenrpc.CallTimeout):
                await calls[-1]
            assert client.pending == 0 and all(call.ready() for call in calls)
            assert await multiply(client, 6, 7) == 42  # late replies matched nothing
    run(main())


def test_the_server_dying_fails_every_pending_call_at_once(own_target: Target, run: Any) -> None:
    async def main() -> None:
        client = await aio.dial(own_target.address, codec=own_target.codec, call_timeout=30)
        calls = [await client.go("Slow.Sleep", SleepArgs(20000, f"t{i}")) for i in range(20)]
        await asyncio.gather(*(multiply(client, 1, 1) for _ in range(2)))  # all are sent
        started = time.monotonic()
        await asyncio.to_thread(own_target.peer.kill)
        outcomes = await asyncio.gather(*calls, return_exceptions=True)
        assert time.monotonic() - started < 2
        assert all(isinstance(o, greenrpc.ConnectionClosed) for o in outcomes), outcomes
        with pytest.raises(greenrpc.ConnectionClosed):
            await multiply(client, 1, 1)
        client.close()
        await client.wait_closed()
    run(main())


def test_notify_and_batch_in_json_rpc_2(run: Any) -> None:
    with greenrpc_peer() as peer:
        async def main() -> None:
            async with await aio.dial(peer.address, version=2) as client:
                await client.notify("Echo.Int", [5])  # never answered
                async with client.batch() as batch:
                    first = batch.call("Arith.Multiply", [{"A": 3, "B": 4}])
                    batch.notify("Echo.Int", [1])
                    second = batch.call("Echo.Str", {"s": "two"})
                    missing = batch.call("Nope.Nothing", [])
                assert (await first)["Pro"] == 12 and await second == "two"
                with pytest.raises(greenrpc.ServerError, match="can.t find service Nope.Nothing"):
                    await missing
                assert await client.call("Echo.Int", [9]) == 9
                assert client.pending == 0
            async with await aio.dial(peer.address) as go_dialect:
                with pytest.raises(greenrpc.RPCError, match="need JSON-RPC 2.0"):
                    await go_dialect.notify("Echo.Int", [5])
        run(main())


def test_dial_http_to_gos_handle_http(run: Any) -> None:
    target = start_target("go-gob")
    try:
        async def main() -> None:
            assert target.http_address is not None
            async with await aio.dial_http(target.http_address) as client:
                products = await asyncio.gather(*(multiply(client, i, i) for i in range(50)))
                assert products == [i * i for i in range(50)]
            with pytest.raises(greenrpc.ProtocolError, match="unexpected HTTP response: 404"):
                await aio.dial_http(target.http_address, path="/elsewhere")
        run(main())
    finally:
        target.peer.stop()


def test_tls(certificate: tuple[Path, Path], run: Any) -> None:
    context = ssl.create_default_context(cafile=str(certificate[0]))
    with greenrpc_peer(tls=certificate) as peer:
        async def main() -> None:
            async with await aio.dial(peer.address, tls=context) as client:
                products = await asyncio.gather(*(multiply(client, 3, i) for i in range(100)))
                assert products == [3 * i for i in range(100)]
            with pytest.raises(greenrpc.ConnectionClosed, match="CERTIFICATE_VERIFY_FAILED"):
                await aio.dial(peer.address, tls=True)  # self-signed: not in the system store
        run(main())


def test_reconnects_and_repeats_only_idempotent_calls(run: Any) -> None:
    peers = [greenrpc_peer()]
    try:
        async def main() -> None:
            address = peers[0].address
            client = await aio.dial(address, reconnect=greenrpc.Backoff(initial=0.02),
                                    call_timeout=10)
            async with client:
                assert await multiply(client, 2, 3) == 6
                lost = await client.go("Slow.Sleep", SleepArgs(5000, "lost"))
                await asyncio.to_thread(peers[0].stop)  # killed mid-call
                with pytest.raises(greenrpc.ConnectionClosed):
                    await lost
                peers.append(await asyncio.to_thread(
                    Peer, [__import__("sys").executable, "-c", GREENRPC_PEER, address],
                    1, dict(__import__("os").environ, PYTHONPATH=str(ROOT))))
                results = await asyncio.gather(*(client.call(
                    "Arith.Multiply", ArithRequest(n, 2), result_type=ArithResponse,
                    idempotent=True) for n in range(20)))
                assert [r.Pro for r in results] == [n * 2 for n in range(20)]
                assert client.connections == 2
        run(main())
    finally:
        for peer in peers:
            peer.stop()


@pytest.fixture
def stopped_server() -> Iterator[str]:
    """Accepts and never reads, like a server stopped with SIGSTOP."""
    listener = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []
    thread = threading.Thread(target=lambda: accepted.append(listener.accept()[0]), daemon=True)
    thread.start()
    yield "127.0.0.1:%d" % listener.getsockname()[1]
    thread.join(5)
    for conn in accepted:
        conn.close()
    listener.close()


def test_a_big_write_to_a_stopped_server_ends_at_the_call_timeout(stopped_server: str,
                                                                 run: Any) -> None:
    async def main() -> None:
        client = await aio.dial(stopped_server, call_timeout=30)
        started = time.monotonic()
        with pytest.raises(greenrpc.CallTimeout):
            await client.call("Echo.Str", "x" * (16 << 20), timeout=1)
        assert time.monotonic() - started < 2
        with pytest.raises(greenrpc.ConnectionClosed, match="write timed out"):
            await client.call("Echo.Str", "next", timeout=1)
        await client.wait_closed()
    run(main())


def test_a_client_belongs_to_its_loop(target: Target) -> None:
    async def dial() -> aio.AsyncClient:
        return await aio.dial(target.address, codec=target.codec)
    with asyncio.Runner() as first:
        client = first.run(dial())
        with asyncio.Runner() as second:
            with pytest.raises(RuntimeError, match="belongs to another event loop"):
                second.run(client.call("Arith.Multiply", ArithRequest(1, 1)))
        client.close()
        first.run(client.wait_closed())
