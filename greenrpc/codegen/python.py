"""Go declarations to a Python module: dataclasses, enums, aliases and a typed client per service.

How this works: every ``type`` of the Go files is first classified (a struct becomes a
dataclass, a named int or string type with constants an Enum, anything else an alias of what it
names) and every Go type expression mapped to a Python annotation with greenrpc's exact widths
(``int8`` -> ``Int8``, ``[2]T`` -> ``Annotated[list[T], GoArray(2)]``). A type that cannot cross
the wire is refused with the reason, and so is every type needing it; chan and func fields are
left out, as gob leaves them out. Fields get Python names and ``GoField`` only where the
``@go_struct`` rule would not give the Go name and JSON name Go has.
"""
from __future__ import annotations

import keyword
from dataclasses import dataclass, field
from typing import Optional

from .. import gonames
from .gosource import (
    Array,
    Const,
    Field,
    GoFile,
    GoType,
    Map,
    Name,
    Opaque,
    Pointer,
    Slice,
    Struct,
    TypeDecl,
)

_BASIC = {"bool": "bool", "string": "str", "int": "int", "float64": "float", "byte": "Uint8",
          "rune": "Int32", "int8": "Int8", "int16": "Int16", "int32": "Int32", "int64": "Int64",
          "uint": "Uint", "uint8": "Uint8", "uint16": "Uint16", "uint32": "Uint32",
          "uint64": "Uint64", "float32": "Float32", "error": "str"}
_INTEGERS = {"int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32",
             "uint64", "byte", "rune"}
_GOTYPES = {"Int8", "Int16", "Int32", "Int64", "Uint", "Uint8", "Uint16", "Uint32", "Uint64",
            "Float32"}
# Names the generated module imports: a Go type of the same name gets a trailing underscore.
_TAKEN = {"Annotated", "Any", "Optional", "TypeAlias", "GoArray", "GoField", "dataclass",
          "field", "datetime", "enum", "greenrpc", "Duration", "Time", "None", "True",
          "False"} | _GOTYPES


class Refused(Exception):
    """A Go type with no Python counterpart; the message says why."""


@dataclass
class Output:
    """The generated module, and what was left out or refused (one line each)."""

    source: str
    notes: list[str] = field(default_factory=list)


class Generator:
    """One generation: the declarations of some Go files and what they become."""

    def __init__(self, files: list[GoFile]) -> None:
        self.files = files
        self.decls: dict[str, TypeDecl] = {}
        self.consts: list[Const] = [c for f in files for c in f.consts]
        self.notes: list[str] = []
        self.imports: set[str] = set()
        self.refused: dict[str, str] = {}
        self.python_names: dict[str, str] = {}
        for f in files:
            for decl in f.types:
                if decl.name in self.decls:
                    raise Refused(f"{f.path}:{decl.line}: type {decl.name} is declared twice")
                self.decls[decl.name] = decl
        for name in self.decls:
            self.python_names[name] = name + "_" if name in _TAKEN or keyword.iskeyword(name) \
                else name

    # classification

    def kind_of(self, decl: TypeDecl) -> str:
        """ "struct", "enum" or "alias" for a declaration this module writes."""
        if isinstance(decl.type, Struct) and not decl.alias:
            return "struct"
        if not decl.alias and self.constants(decl.name) and self.underlying(decl.type) in (
                _INTEGERS | {"string"}):
            return "enum"
        return "alias"

    def underlying(self, go_type: GoType, seen: Optional[set[str]] = None) -> str:
        if isinstance(go_type, Name) and not go_type.package:
            if go_type.name in _BASIC:
                return go_type.name
            decl = self.decls.get(go_type.name)
            seen = seen or set()
            if decl is not None and go_type.name not in seen:
                return self.underlying(decl.type, seen | {go_type.name})
        return ""

    def constants(self, type_name: str) -> list[Const]:
        return [c for c in self.consts
                if isinstance(c.type, Name) and c.type.name == type_name and not c.type.package]

    # annotations

    def annotation(self, go_type: GoType, where: str) -> str:
        """The Python annotation for a Go type; raise Refused with the reason."""
        if isinstance(go_type, Name):
            return self._named(go_type, where)
        if isinstance(go_type, Pointer):
            self.imports.add("Optional")
            return f"Optional[{self.annotation(go_type.elem, where)}]"
        if isinstance(go_type, Slice):
            if self.underlying(go_type.elem) in ("byte", "uint8") and isinstance(
                    go_type.elem, Name) and go_type.elem.name in ("byte", "uint8"):
                return "bytes"
            return f"list[{self.annotation(go_type.elem, where)}]"
        if isinstance(go_type, Array):
            self.imports.update(("Annotated", "GoArray"))
            return f"Annotated[list[{self.annotation(go_type.elem, where)}], GoArray({go_type.length})]"
        if isinstance(go_type, Map):
            key = self.annotation(go_type.key, where)
            if self.underlying(go_type.key) not in _INTEGERS | {"string"}:
                raise Refused(_at(where, f"map key {go_type.key} is not a string or integer kind "
                                     "(JSON object keys are)"))
            return f"dict[{key}, {self.annotation(go_type.elem, where)}]"
        if isinstance(go_type, Opaque) and go_type.what == "any":
            self.imports.add("Any")
            return "Any"
        if isinstance(go_type, Struct):
            raise Refused(_at(where, "an anonymous struct type; declare it as a named type"))
        assert isinstance(go_type, Opaque)
        raise Refused(_at(where, _OPAQUE.get(go_type.what, f"a {go_type.what} has no JSON form")))

    def _named(self, go_type: Name, where: str) -> str:
        if go_type.args:
            raise Refused(_at(where, f"{go_type} instantiates a generic type, which greenrpc "
                                     "cannot generate"))
        if go_type.package == "time" and go_type.name in ("Time", "Duration"):
            self.imports.add("datetime")
            return "datetime.datetime" if go_type.name == "Time" else "datetime.timedelta"
        if go_type.package:
            raise Refused(_at(where, f"{go_type} comes from package {go_type.package}, whose "
                                     "declarations are not in the files given"))
        if go_type.name in ("complex64", "complex128", "uintptr"):
            raise Refused(_at(where, f"Go's {go_type.name} has no JSON form"))
        if go_type.name in _BASIC:
            text = _BASIC[go_type.name]
            if text in _GOTYPES:
                self.imports.add(text)
            return text
        decl = self.decls.get(go_type.name)
        if decl is None:
            raise Refused(_at(where, f"type {go_type.name} is not declared in the files given"))
        reason = self.refusal(decl)
        if reason:
            raise Refused(_at(where, f"type {go_type.name} is refused ({reason})"))
        return self.python_names[go_type.name]

    def refusal(self, decl: TypeDecl) -> str:
        """Why a declaration cannot be generated, or "" (refusals propagate to its users)."""
        if decl.name in self.refused:
            return self.refused[decl.name]
        self.refused[decl.name] = ""  # a recursive type refers to itself through a pointer
        imports = set(self.imports)  # checking writes nothing: what it would import is dropped
        reason = self._check(decl)
        self.imports = imports
        self.refused[decl.name] = reason
        return reason

    def _check(self, decl: TypeDecl) -> str:
        if decl.generic:
            return "it is generic (has type parameters), which greenrpc cannot generate"
        try:
            if isinstance(decl.type, Struct) and not decl.alias:
                fields = [f for f in decl.type.fields if self.sent(f)]
                if not fields:
                    return "it has no exported fields, so nothing of it crosses the wire"
                for f in fields:
                    where = f"{decl.name}.{f.name or type_name(f.type)}"
                    if parse_tag(f.tag).quoted:
                        raise Refused(f'{where}: the json ",string" option is not supported')
                    if not unsendable(f.type):
                        self.annotation(f.type, where)
            elif self.kind_of(decl) == "alias":
                self.annotation(decl.type, "")
        except Refused as err:
            return str(err)
        return ""

    @staticmethod
    def sent(f: Field) -> bool:
        """Whether a field can cross the wire at all: exported, or an embedded struct."""
        return gonames.is_exported(f.name or type_name(f.type)) or (
            f.embedded and type_name(f.type) != "")


_OPAQUE = {"func": "a func type has no value to send",
           "chan": "a chan type has no value to send",
           "interface": "an interface with methods needs concrete types gob.Register'ed on "
                        "both sides; declare a concrete type"}


def _at(where: str, text: str) -> str:
    return f"{where}: {text}" if where else text


def type_name(go_type: GoType) -> str:
    inner = go_type.elem if isinstance(go_type, Pointer) else go_type
    return inner.name if isinstance(inner, Name) else ""


def unsendable(go_type: GoType) -> bool:
    """chan and func fields: gob skips them; JSON refuses them unless tagged "-"."""
    return isinstance(go_type, Opaque) and go_type.what in ("chan", "func")


@dataclass(frozen=True)
class JSONTag:
    """A field's ``json:"..."`` tag: its key (None: none given), options, or "-" (hidden)."""

    key: Optional[str] = None
    omitempty: bool = False
    quoted: bool = False  # the ",string" option
    hidden: bool = False


def parse_tag(tag: str) -> JSONTag:
    """Read the json part of a struct tag as encoding/json does."""
    value = _tag_value(tag, "json")
    if value is None:
        return JSONTag()
    if value == "-":
        return JSONTag(hidden=True)
    name, _, options = value.partition(",")
    flags = options.split(",") if options else []
    return JSONTag(name or None, "omitempty" in flags, "string" in flags)


def _tag_value(tag: str, key: str) -> Optional[str]:
    # reflect.StructTag.Get: key:"value" pairs separated by spaces.
    rest = tag
    while rest:
        rest = rest.lstrip(" ")
        colon = rest.find(':"')
        if colon <= 0:
            return None
        name, rest = rest[:colon], rest[colon + 2:]
        end = 0
        while end < len(rest) and rest[end] != '"':
            end += 2 if rest[end] == "\\" else 1
        if end >= len(rest):
            return None
        value, rest = rest[:end], rest[end + 1:]
        if name == key:
            return value.replace('\\"', '"').replace("\\\\", "\\")
    return None


def quote(text: str) -> str:
    """A Python string literal for text, double-quoted."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'

