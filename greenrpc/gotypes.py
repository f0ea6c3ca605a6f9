"""Go's sized numeric kinds as annotations, for methods whose peers need an exact Go type.

Plain ``int`` means Go's ``int`` (64-bit); ``float`` means ``float64``. Use these where a Go peer
declares something else, e.g. ``Seq: Uint64`` or ``Level: Int8``: JSON values are range-checked as
Go's ``encoding/json`` would, and gob (which tells signed from unsigned on the wire) encodes them
with the right wire type. ``Annotated[list[int], GoArray(2)]`` is Go's ``[2]int``. ``Time`` and
``Duration`` (a datetime and a timedelta keeping nanoseconds) are Go's time.Time and
time.Duration; plain ``datetime`` and ``timedelta`` annotations mean the same.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from .gotime import Duration, Time


@dataclass(frozen=True)
class GoKind:
    """The Go name of a numeric kind, carried in ``Annotated`` metadata."""

    name: str

    @property
    def signed(self) -> bool:
        return self.name.startswith("int")

    @property
    def is_float(self) -> bool:
        return self.name.startswith("float")

    @property
    def bits(self) -> int:
        digits = self.name.lstrip("intufloa")
        return int(digits) if digits else 64


@dataclass(frozen=True)
class GoArray:
    """A Go array's length, for ``Annotated[list[T], GoArray(n)]`` (gob tells arrays from slices)."""

    length: int

    def __post_init__(self) -> None:
        if self.length < 0:
            raise ValueError(f"GoArray length must not be negative, got {self.length}")


Int = Annotated[int, GoKind("int")]
Int8 = Annotated[int, GoKind("int8")]
Int16 = Annotated[int, GoKind("int16")]
Int32 = Annotated[int, GoKind("int32")]
Int64 = Annotated[int, GoKind("int64")]
Uint = Annotated[int, GoKind("uint")]
Uint8 = Annotated[int, GoKind("uint8")]
Uint16 = Annotated[int, GoKind("uint16")]
Uint32 = Annotated[int, GoKind("uint32")]
Uint64 = Annotated[int, GoKind("uint64")]
Float32 = Annotated[float, GoKind("float32")]
Float64 = Annotated[float, GoKind("float64")]

__all__ = ["Duration", "GoArray", "GoKind", "Time", "Int", "Int8", "Int16", "Int32", "Int64",
           "Uint", "Uint8", "Uint16", "Uint32", "Uint64", "Float32", "Float64"]
