"""An async def cannot be served: it is refused when registered, saying why and what to do."""
from __future__ import annotations

from typing import AsyncIterator

import pytest

import greenrpc


class Mixed:
    def Plain(self) -> int:
        return 1

    async def Fetch(self, key: str) -> str:
        return key


async def lookup(key: str) -> str:
    return key


async def stream() -> AsyncIterator[int]:
    yield 1


def test_an_async_method_is_refused_at_registration() -> None:
    server = greenrpc.Server()
    with pytest.raises(TypeError, match=r"Mixed.Fetch is an async def: .* write it with def") as info:
        server.register(Mixed())
    assert "greenlet" in str(info.value) and "asyncio.run" in str(info.value)

    class Sync:
        def Fetch(self, key: str) -> str:
            return key
    server.register(Sync(), name="Mixed")  # nothing was half-registered under the name


@pytest.mark.parametrize("function", [lookup, stream], ids=["coroutine", "async-generator"])
def test_an_async_function_is_refused_at_registration(function: object) -> None:
    server = greenrpc.Server()
    with pytest.raises(TypeError, match="is an async def"):
        server.register_function(function, name="lookup")  # type: ignore[arg-type]
    server.register_function(lambda key: key, name="lookup")  # the name stayed free
