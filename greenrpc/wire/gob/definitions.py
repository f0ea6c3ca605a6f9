"""Our side of type definitions: ids for local types and the ``wireType`` messages naming them.

Per stream, ids are handed out from 65 and each type is defined once (docs/protocol.md 3.3, 3.4).
We copy a fresh Go process: ids are allocated in the order Go's type builder visits types (a
struct before its fields, a slice or map after its elements), definitions are sent outer type
first, and names follow Go's (a struct's own name; a composite is named only as a struct field).
"""
from __future__ import annotations

from typing import Optional

from ...schema import Kind, TypeSpec
from .primitives import int_bytes, message, string_bytes, uint_bytes
from .wiretypes import BOOL, BYTES, FLOAT, INT, INTERFACE, STRING, UINT, go_type, struct_name

FIRST_ID = 65
_SCALAR_IDS = {Kind.BOOL: BOOL, Kind.INT: INT, Kind.UINT: UINT, Kind.FLOAT: FLOAT,
               Kind.STRING: STRING, Kind.BYTES: BYTES, Kind.ANY: INTERFACE}


def base_of(spec: TypeSpec) -> TypeSpec:
    """The spec under any pointers: gob sends a *T exactly like a T."""
    while spec.kind is Kind.POINTER:
        assert spec.elem is not None
        spec = spec.elem
    return spec


def is_bytes(spec: TypeSpec) -> bool:
    """Whether spec travels as gob's []byte: bytes, or a slice of uint8 as in Go."""
    elem = spec.elem
    return spec.kind is Kind.BYTES or (
        spec.kind is Kind.LIST and spec.length is None and elem is not None
        and elem.kind is Kind.UINT and elem.bits == 8)


def builtin_id(spec: TypeSpec) -> Optional[int]:
    """The predefined id of a spec that needs no definition, else None."""
    if is_bytes(spec):
        return BYTES
    return _SCALAR_IDS.get(spec.kind)


class TypeIds:
    """The types one outgoing stream has defined, and the definitions it still owes."""

    def __init__(self) -> None:
        self.ids: dict[TypeSpec, int] = {}
        self.next_id = FIRST_ID

    def define(self, spec: TypeSpec, out: bytearray) -> tuple[int, list[TypeSpec]]:
        """Append the definitions spec still needs; return its id and the types newly defined."""
        base = base_of(spec)
        known = builtin_id(base)
        if known is None:
            known = self.ids.get(base)
        if known is not None:
            return known, []
        new: list[TypeSpec] = []
        names: dict[TypeSpec, str] = {}
        self._allocate(base, "", new, names)
        pending = set(new)
        self._send(base, out, pending, names)
        return self.ids[base], new

    def forget(self, specs: list[TypeSpec]) -> None:
        """Withdraw ids whose definitions were never sent (the value using them failed)."""
        for spec in specs:
            del self.ids[spec]
        self.next_id -= len(specs)

    def _allocate(self, spec: TypeSpec, name: str, new: list[TypeSpec],
                  names: dict[TypeSpec, str]) -> None:
        spec = base_of(spec)
        if builtin_id(spec) is not None or spec in self.ids:
            return
        if spec.kind is Kind.STRUCT:
            self._assign(spec, struct_name(spec), new, names)
            for field in spec.fields:
                self._allocate(field.spec, go_type(base_of(field.spec)), new, names)
            return
        if spec.kind is Kind.LIST:
            assert spec.elem is not None
            self._allocate(spec.elem, "", new, names)
        elif spec.kind is Kind.MAP:
            assert spec.key is not None and spec.elem is not None
            self._allocate(spec.key, "", new, names)
            self._allocate(spec.elem, "", new, names)
        if spec not in self.ids:  # Go numbers composites after their elements; structs name
            # themselves, other types are named only as a struct field's type
            self._assign(spec, name, new, names)

    def _assign(self, spec: TypeSpec, name: str, new: list[TypeSpec],
                names: dict[TypeSpec, str]) -> None:
        self.ids[spec] = self.next_id
        self.next_id += 1
        new.append(spec)
        names[spec] = name

    def _id(self, spec: TypeSpec) -> int:
        base = base_of(spec)
        known = builtin_id(base)
        return known if known is not None else self.ids[base]

    def _send(self, spec: TypeSpec, out: bytearray, pending: set[TypeSpec],
              names: dict[TypeSpec, str]) -> None:
        spec = base_of(spec)
        if spec not in pending:
            return
        pending.discard(spec)
        id = self.ids[spec]
        out += message(int_bytes(-id) + self._definition(spec, id, names[spec]))
        if spec.kind is Kind.STRUCT:
            for field in spec.fields:
                self._send(field.spec, out, pending, names)
        elif spec.kind is Kind.MAP:
            assert spec.key is not None and spec.elem is not None
            self._send(spec.key, out, pending, names)
            self._send(spec.elem, out, pending, names)
        elif spec.elem is not None:
            self._send(spec.elem, out, pending, names)

    def _definition(self, spec: TypeSpec, id: int, name: str) -> bytes:
        """Encode the wireType value defining spec (field numbers: docs/protocol.md 3.4)."""
        common = (b"\x01" + string_bytes(name) + b"\x01" if name else b"\x02") \
            + int_bytes(id) + b"\x00"
        if spec.kind is Kind.STRUCT:
            fields = b"".join(b"\x01" + string_bytes(f.name) + b"\x01" + int_bytes(self._id(f.spec))
                              + b"\x00" for f in spec.fields)
            listing = b"\x01" + uint_bytes(len(spec.fields)) + fields if spec.fields else b""
            return b"\x03\x01" + common + listing + b"\x00\x00"
        if spec.kind is Kind.TIME:  # a GobEncoder, which Go names by its type's own name
            return b"\x05\x01\x01" + string_bytes(spec.name) + b"\x01" + int_bytes(id) + b"\x00\x00\x00"
        if spec.kind is Kind.MAP:
            assert spec.key is not None and spec.elem is not None
            return (b"\x04\x01" + common + b"\x01" + int_bytes(self._id(spec.key)) + b"\x01"
                    + int_bytes(self._id(spec.elem)) + b"\x00\x00")
        assert spec.kind is Kind.LIST and spec.elem is not None
        elem = b"\x01" + int_bytes(self._id(spec.elem))
        if spec.length is None:
            return b"\x02\x01" + common + elem + b"\x00\x00"
        length = b"\x01" + int_bytes(spec.length) if spec.length else b""
        return b"\x01\x01" + common + elem + length + b"\x00\x00"
