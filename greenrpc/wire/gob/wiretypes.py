"""The types a gob stream describes: builtin ids, the bootstrap structs, received definitions.

A peer defines each of its types once per stream with a ``wireType`` value (docs/protocol.md 3.4).
``WireType`` is what we keep of such a definition; field and element types stay as ids and are
looked up only when a value is decoded, since Go sends a struct before the types it refers to.
"""
from __future__ import annotations

import enum
from typing import Any, Optional

from ...schema import TypeSpec

BOOL, INT, UINT, FLOAT, BYTES, STRING, COMPLEX, INTERFACE = range(1, 9)
WIRE_TYPE, ARRAY_TYPE, COMMON_TYPE, SLICE_TYPE, STRUCT_TYPE, FIELD_TYPE, FIELD_LIST, MAP_TYPE = \
    range(16, 24)
# gobEncoderType has no fixed id in Go (it is compiled in); ours is private and never sent.
GOB_ENCODER_TYPE = 24
FIRST_USER_ID = 64  # Go rejects definitions of lower ids as duplicates

# How Go's decoder names builtin types in its messages ("received remote type int").
BUILTIN_NAMES = {BOOL: "bool", INT: "int", UINT: "uint", FLOAT: "float", BYTES: "bytes",
                 STRING: "string", COMPLEX: "complex", INTERFACE: "interface"}


class WireKind(enum.Enum):
    STRUCT = "struct"
    SLICE = "slice"
    ARRAY = "array"
    MAP = "map"
    OPAQUE = "opaque"    # GobEncoder, BinaryMarshaler, TextMarshaler: a byte count and bytes
    INVALID = "invalid"  # a definition that names no kind; fails when a value uses it


class WireType:
    """One received type definition, with component types as (lazily resolved) ids."""

    __slots__ = ("kind", "name", "elem", "key", "length", "fields")

    def __init__(self, kind: WireKind, name: str = "", elem: int = 0, key: int = 0,
                 length: int = 0, fields: tuple[tuple[str, int], ...] = ()) -> None:
        self.kind = kind
        self.name = name
        self.elem = elem
        self.key = key
        self.length = length
        self.fields = fields

    def __repr__(self) -> str:
        return f"WireType({self.kind.value} {self.name!r})"


def _struct(name: str, *fields: tuple[str, int]) -> WireType:
    return WireType(WireKind.STRUCT, name, fields=fields)


# The bootstrap types every gob peer knows without a definition (encoding/gob type.go).
BOOTSTRAP: dict[int, WireType] = {
    WIRE_TYPE: _struct("wireType", ("ArrayT", ARRAY_TYPE), ("SliceT", SLICE_TYPE),
                       ("StructT", STRUCT_TYPE), ("MapT", MAP_TYPE),
                       ("GobEncoderT", GOB_ENCODER_TYPE), ("BinaryMarshalerT", GOB_ENCODER_TYPE),
                       ("TextMarshalerT", GOB_ENCODER_TYPE)),
    ARRAY_TYPE: _struct("arrayType", ("CommonType", COMMON_TYPE), ("Elem", INT), ("Len", INT)),
    COMMON_TYPE: _struct("CommonType", ("Name", STRING), ("Id", INT)),
    SLICE_TYPE: _struct("sliceType", ("CommonType", COMMON_TYPE), ("Elem", INT)),
    STRUCT_TYPE: _struct("structType", ("CommonType", COMMON_TYPE), ("Field", FIELD_LIST)),
    FIELD_TYPE: _struct("fieldType", ("Name", STRING), ("Id", INT)),
    FIELD_LIST: WireType(WireKind.SLICE, "[]*gob.fieldType", elem=FIELD_TYPE),
    MAP_TYPE: _struct("mapType", ("CommonType", COMMON_TYPE), ("Key", INT), ("Elem", INT)),
    GOB_ENCODER_TYPE: _struct("gobEncoderType", ("CommonType", COMMON_TYPE)),
}


def _name(part: dict[str, Any]) -> str:
    common = part.get("CommonType")
    return str(common.get("Name", "")) if isinstance(common, dict) else ""


def from_definition(value: dict[str, Any]) -> WireType:
    """Build a WireType from a decoded ``wireType`` struct (absent parts are None)."""
    array: Optional[dict[str, Any]] = value.get("ArrayT")
    if array is not None:
        return WireType(WireKind.ARRAY, _name(array), elem=array["Elem"], length=array["Len"])
    slice_: Optional[dict[str, Any]] = value.get("SliceT")
    if slice_ is not None:
        return WireType(WireKind.SLICE, _name(slice_), elem=slice_["Elem"])
    struct: Optional[dict[str, Any]] = value.get("StructT")
    if struct is not None:
        fields = tuple((str(f["Name"]) if f else "", int(f["Id"]) if f else 0)
                       for f in struct["Field"])
        return WireType(WireKind.STRUCT, _name(struct), fields=fields)
    map_: Optional[dict[str, Any]] = value.get("MapT")
    if map_ is not None:
        return WireType(WireKind.MAP, _name(map_), key=map_["Key"], elem=map_["Elem"])
    for opaque in ("GobEncoderT", "BinaryMarshalerT", "TextMarshalerT"):
        if value.get(opaque) is not None:
            return WireType(WireKind.OPAQUE, _name(value[opaque]))
    return WireType(WireKind.INVALID)


def describe(types: dict[int, WireType], id: int) -> str:
    """Name a wire type the way Go's decoder does in its errors."""
    if id in BUILTIN_NAMES:
        return BUILTIN_NAMES[id]
    wire = types.get(id) or BOOTSTRAP.get(id)
    return wire.name if wire is not None else "unknown type"


def go_type(spec: TypeSpec) -> str:
    """Spell a local type as Go's reflect does ("int", "*main.ArithRequest", "[2]int")."""
    return spec.go_name or "struct {}"


def struct_name(spec: TypeSpec) -> str:
    """A struct's bare name, as Go puts it in definitions ("" for struct{})."""
    return spec.name
