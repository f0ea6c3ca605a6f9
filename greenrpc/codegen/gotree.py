"""The Go declarations gen python reads, as a small tree: types, type and const declarations.

A type is one of Name, Pointer, Slice, Array, Map, Struct or Opaque (a chan, func or
interface, kept for the message saying why it cannot be generated).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Union


class GoSyntaxError(ValueError):
    """The file is not Go as this parser reads it; the message names file, line and column."""


# The type tree.

@dataclass(frozen=True)
class Name:
    """A named type: ``int``, ``Profile``, ``time.Time`` (package set), with type arguments."""

    name: str
    package: str = ""
    args: tuple[GoType, ...] = ()

    def __str__(self) -> str:
        text = f"{self.package}.{self.name}" if self.package else self.name
        return text + (f"[{', '.join(map(str, self.args))}]" if self.args else "")


@dataclass(frozen=True)
class Pointer:
    elem: GoType

    def __str__(self) -> str:
        return f"*{self.elem}"


@dataclass(frozen=True)
class Slice:
    elem: GoType

    def __str__(self) -> str:
        return f"[]{self.elem}"


@dataclass(frozen=True)
class Array:
    length: int
    elem: GoType

    def __str__(self) -> str:
        return f"[{self.length}]{self.elem}"


@dataclass(frozen=True)
class Map:
    key: GoType
    elem: GoType

    def __str__(self) -> str:
        return f"map[{self.key}]{self.elem}"


@dataclass(frozen=True)
class Field:
    """A struct field; name is "" for an embedded one (its type names it)."""

    name: str
    type: GoType
    tag: str = ""
    doc: str = ""

    @property
    def embedded(self) -> bool:
        return not self.name


@dataclass(frozen=True)
class Struct:
    fields: tuple[Field, ...]

    def __str__(self) -> str:
        return "struct {...}" if self.fields else "struct {}"


@dataclass(frozen=True)
class Opaque:
    """A type the generators cannot map, kept for its message: chan, func, interface{...}."""

    what: str  # "chan", "func", "interface", "any" (an empty interface)

    def __str__(self) -> str:
        return {"any": "interface {}"}.get(self.what, self.what)


GoType = Union[Name, Pointer, Slice, Array, Map, Struct, Opaque]


@dataclass
class TypeDecl:
    name: str
    type: GoType
    doc: str = ""
    alias: bool = False
    generic: bool = False
    line: int = 0


@dataclass
class Const:
    name: str
    type: Optional[GoType]
    value: Union[int, str, None]  # None: not a constant this parser evaluates
    doc: str = ""


@dataclass
class Param:
    name: str
    type: GoType


@dataclass
class Method:
    receiver: str  # the receiver's type name, without *
    name: str
    params: list[Param]
    results: list[Param]
    doc: str = ""
    line: int = 0


@dataclass
class GoFile:
    path: str
    package: str = ""
    types: list[TypeDecl] = field(default_factory=list)
    consts: list[Const] = field(default_factory=list)
    methods: list[Method] = field(default_factory=list)
