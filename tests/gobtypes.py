"""Types of the research-only Echo.Kitchen service in Go's gob captures (extra_types.json)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Optional

from greenrpc.gotypes import GoArray, Int8, Uint
from greenrpc.registry import Registry
from tests.services import ArithRequest


@dataclass
class Kitchen:
    """Go's struct of many kinds, as the capture describes it."""

    B: bool = False
    I: int = 0  # noqa: E741 - Go's field name
    I8: Int8 = 0
    U: Uint = 0
    F: float = 0.0
    S: str = ""
    Bs: bytes = b""
    Is: list[int] = field(default_factory=list)
    M: dict[str, int] = field(default_factory=dict)
    P: Optional[ArithRequest] = None
    Arr: Annotated[list[int], GoArray(2)] = field(default_factory=lambda: [0, 0])
    N: ArithRequest = field(default_factory=lambda: ArithRequest(0, 0))


KITCHEN = Kitchen(True, -3, 100, 300, 17.0, "hé", b"\x01\x02", [0, 1, -1], {"x": 0},
                  ArithRequest(1, 0), [0, 0], ArithRequest(0, 0))


def echo_kitchen(kitchen: Kitchen) -> Kitchen:
    return kitchen


def add_kitchen(registry: Registry) -> Registry:
    registry.register_function(echo_kitchen, name="Echo.Kitchen")
    return registry
