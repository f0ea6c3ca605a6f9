"""Go's embedding cases of tests/interop/go/profiles/capture.go, as Python dataclasses."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Optional

from greenrpc import GoField


@dataclass
class Left:
    X: int = 0
    Y: int = 0


@dataclass
class Right:
    X: int = 0
    Z: int = 0


@dataclass
class Ambiguous:
    """Two X at one depth: neither is encoded."""

    left: Annotated[Left, GoField(embedded=True)] = field(default_factory=Left)
    right: Annotated[Right, GoField(embedded=True)] = field(default_factory=Right)


@dataclass
class Shadowed:
    """Its own X hides the embedded one."""

    left: Annotated[Left, GoField(embedded=True)] = field(default_factory=Left)
    X: str = ""


@dataclass
class Plain:
    N: int = 0


@dataclass
class Tagged:
    M: Annotated[int, GoField(json="N")] = 0


@dataclass
class TagWins:
    """Two N at one depth; the tagged one wins."""

    plain: Annotated[Plain, GoField(embedded=True)] = field(default_factory=Plain)
    tagged: Annotated[Tagged, GoField(embedded=True)] = field(default_factory=Tagged)


@dataclass
class ByPointer:
    left: Annotated[Optional[Left], GoField(embedded=True)] = None
    W: int = 0


@dataclass
class NamedEmbed:
    """A JSON name on the embedded struct: not promoted."""

    left: Annotated[Left, GoField(embedded=True, json="left")] = field(default_factory=Left)
    W: int = 0


@dataclass
class Deep:
    shadowed: Annotated[Shadowed, GoField(embedded=True)] = field(default_factory=Shadowed)
    V: int = 0


CASES = {"ambiguous": Ambiguous(Left(1, 2), Right(3, 4)), "shadowed": Shadowed(Left(1, 2), "outer"),
         "tag_wins": TagWins(Plain(1), Tagged(2)), "by_pointer_nil": ByPointer(None, 3),
         "by_pointer": ByPointer(Left(1, 2), 3), "named_embed": NamedEmbed(Left(1, 2), 3),
         "deep": Deep(Shadowed(Left(1, 2), "s"), 4)}
TYPES = {cls.__name__: cls for cls in (Ambiguous, Shadowed, TagWins, ByPointer, NamedEmbed, Deep)}
