"""Services written the ways a newcomer gets wrong, for the table of mistakes (test_mistakes)."""
from __future__ import annotations

from typing import Any


class Async:
    async def Fetch(self, url: str) -> str:  # refused: calls run as blocking code
        return url


class NeedsArgs:
    def __init__(self, db: Any) -> None:  # `greenrpc serve` instantiates with no arguments
        self.db = db

    def Get(self, key: str) -> str:
        return key


class Loose:
    def Echo(self, args):  # type: ignore[no-untyped-def]  # no annotation: fine for JSON, not gob
        return args
