"""A module whose import fails, as a user's module with a bug does (for test_mistakes)."""
from __future__ import annotations

RATE = 1 / 0


class Service:
    def Get(self) -> int:
        return 0
