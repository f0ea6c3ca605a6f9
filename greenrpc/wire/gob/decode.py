"""Turn gob values into Python values, judged against a local type with Go's rules.

How this works: for each (wire type id, local TypeSpec) pair a value is first seen with, we build
an "op": a function reading one value from a Cursor. Building the op is where Go's compatibility
rules apply (docs/protocol.md 3.6) and where its error texts come from; the op itself only reads
bytes. Struct fields are matched by exact name; wire fields without a local counterpart get the
generic op, which can read any wire type (it is also what ``Any`` and skipped bodies use).
Ops for structs are cached before their fields are built, so recursive types terminate.
"""
from __future__ import annotations

from typing import Any, Callable, Optional

from ... import gotime
from ...schema import ANY, Kind, TypeMismatch, TypeSpec
from .ops import (
    Op,
    fail,
    float32_op,
    int_op,
    int_struct_op,
    list_op,
    map_op,
    read_bool,
    read_complex,
    singleton,
    struct_op,
)
from .primitives import (
    BAD_TYPE,
    Cursor,
    DecodeError,
    read_bytes,
    read_float,
    read_int,
    read_string,
    read_uint,
)
from .wiretypes import (
    BOOL,
    BOOTSTRAP,
    BYTES,
    COMPLEX,
    FLOAT,
    INT,
    INTERFACE,
    STRING,
    UINT,
    WireKind,
    WireType,
    describe,
    go_type,
    struct_name,
)

MAX_ZERO_ARRAY = 4096  # an absent array field becomes this many zeros at most
MAX_NAME = 1024        # Go's limit on an interface's concrete type name


class _Mismatch(Exception):
    """The wire type cannot be decoded into the local type (the caller words the error)."""


def _dataclass_builder(spec: TypeSpec) -> Callable[[dict[str, Any]], Any]:
    cls = spec.cls
    assert cls is not None
    fields = [(f.attr, f.zero) for f in spec.fields]
    total = len(fields)

    def build(values: dict[str, Any]) -> Any:
        if len(values) != total:  # fields absent on the wire hold their zero value
            for name, zero in fields:
                if name not in values:
                    try:
                        values[name] = zero()
                    except TypeMismatch:  # an Enum without a constant for Go's zero value
                        raise DecodeError(f"gob: {spec.name}.{name} is absent (zero), and no "
                                          "constant of its type has the zero value") from None
        try:
            return cls(**values)
        except Exception as err:  # the type refused the value (__post_init__): a bad argument
            raise DecodeError(str(err) or type(err).__name__) from None
    return build


class Compiler:
    """The ops of one incoming stream, built on first use from the types it has defined."""

    def __init__(self, types: dict[int, WireType]) -> None:
        self.types = types  # shared with the stream, which adds definitions as they arrive
        self._values: dict[tuple[int, TypeSpec], Op] = {}
        self._structs: dict[tuple[int, TypeSpec], tuple[Op, int]] = {}
        self._generic: dict[int, Op] = {}

    def forget(self) -> None:
        """Drop every op, after definitions they may depend on were withdrawn."""
        self._values.clear()
        self._structs.clear()
        self._generic.clear()

    def wire(self, id: int) -> Optional[WireType]:
        return self.types.get(id) or BOOTSTRAP.get(id)

    def value_op(self, id: int, spec: TypeSpec) -> Op:
        """The op reading a whole top-level value of wire type id into spec (ANY: generic)."""
        op = self._values.get((id, spec))
        if op is None:
            op = self._compile_value(id, spec)
            self._values[(id, spec)] = op
        return op

    def _compile_value(self, id: int, spec: TypeSpec) -> Op:
        base = spec
        while base.kind is Kind.POINTER:
            assert base.elem is not None
            base = base.elem
        wire = self.wire(id)
        if base.kind is Kind.ANY:
            generic = self.generic_op(id)
            return generic if wire is not None and wire.kind is WireKind.STRUCT \
                else singleton(generic)
        if base.kind is Kind.STRUCT:
            op, matched = self._struct(id, base)
            assert wire is not None
            if matched == 0 and base.fields and wire.fields:
                return fail("gob: type mismatch: no fields matched compiling decoder for "
                             + struct_name(base))
            return op
        # Go decodes into a pointer to the argument, so that is the local type it names.
        local = "*" + go_type(spec)
        try:
            return singleton(self._typed(id, base, local))
        except _Mismatch:
            raise DecodeError(f"gob: decoding into local type {local}, received remote type "
                              f"{describe(self.types, id)}") from None

    def _typed(self, id: int, spec: TypeSpec, name: str) -> Op:
        kind = spec.kind
        while kind is Kind.POINTER:  # pointers are invisible on the wire
            assert spec.elem is not None
            spec = spec.elem
            kind = spec.kind
        if spec.cls is not None and kind is not Kind.STRUCT:
            return self._named(id, spec, name)
        if kind is Kind.ANY:
            return self.generic_op(id)
        if kind is Kind.STRUCT:
            return self._struct(id, spec)[0]
        if kind is Kind.INT or kind is Kind.UINT:
            if id != (INT if kind is Kind.INT else UINT):
                raise _Mismatch
            return int_op(spec.bits, kind is Kind.INT, name)
        if kind is Kind.FLOAT:
            if id != FLOAT:
                raise _Mismatch
            return read_float if spec.bits == 64 else float32_op(name)
        if kind is Kind.STRING or kind is Kind.BOOL or kind is Kind.BYTES:
            if id != {Kind.STRING: STRING, Kind.BOOL: BOOL, Kind.BYTES: BYTES}[kind]:
                raise _Mismatch
            return {Kind.STRING: read_string, Kind.BOOL: read_bool, Kind.BYTES: read_bytes}[kind]
        if kind is Kind.LIST:
            return self._list(id, spec, name)
        if kind is Kind.MAP:
            wire = self.wire(id)
            if wire is None or wire.kind is not WireKind.MAP:
                raise _Mismatch
            assert spec.key is not None and spec.elem is not None
            return map_op(self._typed(wire.key, spec.key, name),
                           self._typed(wire.elem, spec.elem, name), True)
        raise _Mismatch

    def _named(self, id: int, spec: TypeSpec, name: str) -> Op:
        """Scalars with their own class: time.Time from its GobEncoder bytes, constants, durations."""
        if spec.kind is Kind.TIME:
            wire = self.wire(id)
            if wire is None or wire.kind is not WireKind.OPAQUE:
                raise _Mismatch
            return _read_time
        read = self._typed(id, TypeSpec(spec.kind, spec.go_name, bits=spec.bits), name)
        return _constant(read, spec)

    def _list(self, id: int, spec: TypeSpec, name: str) -> Op:
        elem = spec.elem
        assert elem is not None
        if spec.length is None and elem.kind is Kind.UINT and elem.bits == 8:
            if id != BYTES:  # Go's []uint8 is []byte
                raise _Mismatch
            return lambda c: list(read_bytes(c))
        wire = self.wire(id)
        wanted = WireKind.SLICE if spec.length is None else WireKind.ARRAY
        if wire is None or wire.kind is not wanted or (
                spec.length is not None and wire.length != spec.length):
            raise _Mismatch
        return list_op(self._typed(wire.elem, elem, "element of " + name), spec.length)

    def _struct(self, id: int, spec: TypeSpec) -> tuple[Op, int]:
        """The op for a struct, and how many of the wire's fields it matched by name."""
        found = self._structs.get((id, spec))
        if found is not None:
            return found
        wire = self.wire(id)
        if wire is None and id not in (BOOL, INT, UINT, FLOAT, BYTES, STRING, COMPLEX, INTERFACE):
            raise DecodeError(BAD_TYPE)
        if wire is None or wire.kind is not WireKind.STRUCT:
            raise DecodeError(f"gob: type mismatch in decoder: want struct type {go_type(spec)}; "
                              "got non-struct")
        plan: list[tuple[Optional[str], Op]] = []
        build = _dataclass_builder(spec)
        entry = (struct_op(plan, build), 0)
        self._structs[(id, spec)] = entry  # before the fields: a field may be this struct again
        try:
            local = {f.name: f for f in spec.fields}  # by Go name, as Go matches them
            matched = 0
            for field_name, field_id in wire.fields:
                if not field_name:
                    raise DecodeError(f"gob: empty name for remote field of type {wire.name}")
                field = local.get(field_name)
                if field is None:
                    plan.append((None, self.generic_op(field_id)))
                    continue
                field_spec = field.spec
                try:
                    plan.append((field.attr, self._typed(field_id, field_spec, field_name)))
                except _Mismatch:
                    raise DecodeError(f"gob: wrong type ({go_type(field_spec)}) for received "
                                      f"field {wire.name}.{field_name}") from None
                matched += 1
        except BaseException:
            del self._structs[(id, spec)]
            raise
        # Only ints: a faster op reading the same bytes (no field can be this struct again).
        fast = int_struct_op(plan, build)
        entry = (fast if fast is not None else entry[0], matched)
        self._structs[(id, spec)] = entry
        return entry

    def generic_op(self, id: int) -> Op:
        """The op reading any wire type into plain Python: structs become dicts of every field."""
        op = self._generic.get(id)
        if op is not None:
            return op
        scalar = _GENERIC_SCALARS.get(id)
        if scalar is not None:
            return scalar
        if id == INTERFACE:
            return self._interface
        wire = self.wire(id)
        if wire is None:
            raise DecodeError(f"gob: bad data: undefined type id {id}")
        cell: list[Op] = []
        self._generic[id] = lambda c: cell[0](c)  # a placeholder while a recursive type builds
        try:
            built = self._compile_generic(wire)
        except BaseException:
            del self._generic[id]
            raise
        cell.append(built)
        self._generic[id] = built
        return built

    def _compile_generic(self, wire: WireType) -> Op:
        kind = wire.kind
        if kind is WireKind.STRUCT:
            plan = [(name, self.generic_op(field_id)) for name, field_id in wire.fields]
            zeros = [(name, self._generic_zero(field_id)) for name, field_id in wire.fields]

            def build(values: dict[str, Any]) -> dict[str, Any]:
                if len(values) != len(zeros):
                    return {name: values[name] if name in values else zero()
                            for name, zero in zeros}
                return values
            return struct_op(list(plan), build)
        if kind is WireKind.SLICE:
            return list_op(self.generic_op(wire.elem), None)
        if kind is WireKind.ARRAY:
            return list_op(self.generic_op(wire.elem), wire.length)
        if kind is WireKind.MAP:
            return map_op(self.generic_op(wire.key), self.generic_op(wire.elem), False)
        if kind is WireKind.OPAQUE:
            return read_bytes
        raise DecodeError(f"gob: bad data: ignore can't handle type {wire.name}")

    def _generic_zero(self, id: int) -> Callable[[], Any]:
        scalar = _GENERIC_ZEROS.get(id)
        if scalar is not None:
            return scalar
        wire = self.wire(id)
        if wire is None or wire.kind is WireKind.STRUCT:
            return _none  # an absent struct field was a nil pointer (Go always sends the others)
        if wire.kind is WireKind.SLICE:
            return list
        if wire.kind is WireKind.MAP:
            return dict
        if wire.kind is WireKind.ARRAY and 0 <= wire.length <= MAX_ZERO_ARRAY:
            elem = self._generic_zero(wire.elem) if wire.elem != id else _none
            length = wire.length
            return lambda: [elem() for _ in range(length)]
        if wire.kind is WireKind.OPAQUE:
            return bytes
        return _none

    def _interface(self, c: Cursor) -> Any:
        # name, then (maybe after inline definitions) the concrete type id, a byte count and the
        # value encoded as a top-level value (docs/protocol.md 3.5). An empty name is a nil interface.
        name = read_bytes(c)
        if not name:
            return None
        if len(name) > MAX_NAME:
            raise DecodeError(f"gob: name too long ({len(name)} bytes)")
        concrete = c.stream.interface_type(c)
        read_uint(c)
        return self.value_op(concrete, ANY)(c)


def _none() -> None:
    return None


def _read_time(c: Cursor) -> Any:
    try:
        return gotime.unmarshal_binary(read_bytes(c))
    except ValueError as err:
        raise DecodeError(f"gob: {err}") from None


def _constant(read: Op, spec: TypeSpec) -> Op:
    cls = spec.cls
    assert cls is not None
    make: Callable[[Any], Any] = gotime.Duration.from_nanoseconds \
        if cls is gotime.Duration else cls

    def op(c: Cursor) -> Any:
        value = read(c)
        try:
            return make(value)
        except ValueError:
            raise DecodeError(f"gob: {value!r} is no constant of {spec.go_name}") from None
    return op


_GENERIC_SCALARS: dict[int, Op] = {BOOL: read_bool, INT: read_int, UINT: read_uint,
                                   FLOAT: read_float, BYTES: read_bytes, STRING: read_string,
                                   COMPLEX: read_complex}
_GENERIC_ZEROS: dict[int, Callable[[], Any]] = {BOOL: bool, INT: int, UINT: int, FLOAT: float,
                                                BYTES: bytes, STRING: str, COMPLEX: complex,
                                                INTERFACE: _none}
