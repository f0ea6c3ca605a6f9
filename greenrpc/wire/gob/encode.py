"""Turn Python values into gob messages, typed by a TypeSpec, with Go's omission rules.

Struct fields holding their zero value are left out, except nested structs and arrays, which Go
always sends; elements of slices, arrays and maps are always sent; a top-level non-struct value
goes out as a "singleton" behind a 00 byte (docs/protocol.md 3.5). Encoders are built once per
TypeSpec. ``WriteStream`` adds the per-stream part: definitions first, then the value message.
"""
from __future__ import annotations

import dataclasses
import datetime
import enum
from typing import Any, Callable, Optional

from ... import gotime
from ...schema import Kind, TypeSpec, spec_of
from .definitions import TypeIds, base_of, builtin_id, is_bytes
from .primitives import EncodeError, float_bytes, int_bytes, string_bytes, uint_bytes

Emit = Callable[[Any, bytearray], None]
_encoders: dict[TypeSpec, Emit] = {}

# Interface values we can send without definitions: Go's names for its predeclared types.
_INTERFACE_NAMES = {bool: (b"\x04bool", Kind.BOOL), int: (b"\x03int", Kind.INT),
                    float: (b"\x07float64", Kind.FLOAT), str: (b"\x06string", Kind.STRING),
                    bytes: (b"\x07[]uint8", Kind.BYTES)}


def encoder(spec: TypeSpec) -> Emit:
    """The function appending a value of spec (as a struct field would hold it) to a buffer."""
    emit = _encoders.get(spec)
    if emit is None:
        cell: list[Emit] = []
        _encoders[spec] = lambda value, out: cell[0](value, out)  # a recursive struct finds this
        try:
            emit = _build(spec)
        except BaseException:
            del _encoders[spec]
            raise
        cell.append(emit)
        _encoders[spec] = emit
    return emit


def _build(spec: TypeSpec) -> Emit:
    kind = spec.kind
    if spec.cls is not None and kind is not Kind.STRUCT:
        return _named(spec)
    if kind is Kind.POINTER:
        assert spec.elem is not None
        inner = encoder(spec.elem)

        def emit_pointer(value: Any, out: bytearray) -> None:
            if value is None:
                raise EncodeError(f"gob: cannot encode nil pointer of type {spec.go_name}")
            inner(value, out)
        return emit_pointer
    if kind is Kind.INT or kind is Kind.UINT:
        return _integer(spec)
    if kind is Kind.BOOL:
        return _emit_bool
    if kind is Kind.FLOAT:
        return _emit_float
    if kind is Kind.STRING:
        return _emit_string
    if is_bytes(spec):
        return _emit_bytes
    if kind is Kind.LIST:
        return _list(spec)
    if kind is Kind.MAP:
        assert spec.key is not None and spec.elem is not None
        key, elem = encoder(spec.key), encoder(spec.elem)

        def emit_map(value: Any, out: bytearray) -> None:
            out += uint_bytes(len(value))
            for k, v in value.items():
                key(k, out)
                elem(v, out)
        return emit_map
    if kind is Kind.STRUCT:
        return _struct(spec)
    return _emit_interface


def _integer(spec: TypeSpec) -> Emit:
    signed = spec.kind is Kind.INT
    bits = spec.bits
    low, high = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
    to_bytes = int_bytes if signed else uint_bytes

    def emit(value: Any, out: bytearray) -> None:
        if not isinstance(value, int) or not low <= value <= high:
            raise EncodeError(f"gob: cannot encode {value!r} as {spec.go_name}")
        out += to_bytes(value)
    return emit


def _named(spec: TypeSpec) -> Emit:
    """Scalars with their own class: time.Time (GobEncoder bytes), durations, enum constants."""
    if spec.kind is Kind.TIME:
        def emit_time(value: Any, out: bytearray) -> None:
            try:
                data = gotime.marshal_binary(value)
            except (ValueError, AttributeError) as err:
                raise EncodeError(f"gob: cannot encode {value!r} as time.Time: {err}") from None
            out += uint_bytes(len(data))
            out += data
        return emit_time
    wire = encoder(TypeSpec(spec.kind, spec.go_name, bits=spec.bits))
    if spec.cls is gotime.Duration:
        def emit_duration(value: Any, out: bytearray) -> None:
            wire(value if type(value) is int else gotime.nanoseconds(value), out)
        return emit_duration

    def emit_constant(value: Any, out: bytearray) -> None:
        wire(value.value if isinstance(value, enum.Enum) else value, out)
    return emit_constant


def _emit_bool(value: Any, out: bytearray) -> None:
    if not isinstance(value, int):
        raise EncodeError(f"gob: cannot encode {value!r} as bool")
    out.append(1 if value else 0)


def _emit_float(value: Any, out: bytearray) -> None:
    if not isinstance(value, (float, int)):
        raise EncodeError(f"gob: cannot encode {value!r} as float64")
    out += float_bytes(value)


def _emit_string(value: Any, out: bytearray) -> None:
    if type(value) is not str and not isinstance(value, str):
        raise EncodeError(f"gob: cannot encode {type(value).__name__} as string")
    out += string_bytes(value)


def _emit_bytes(value: Any, out: bytearray) -> None:
    if not isinstance(value, (bytes, bytearray, memoryview, list, tuple)):
        raise EncodeError(f"gob: cannot encode {type(value).__name__} as []byte")
    data = bytes(value)
    out += uint_bytes(len(data))
    out += data


def _list(spec: TypeSpec) -> Emit:
    assert spec.elem is not None
    elem = encoder(spec.elem)
    length = spec.length

    def emit(value: Any, out: bytearray) -> None:
        if length is not None and len(value) != length:
            raise EncodeError(f"gob: {spec.go_name} needs {length} elements, got {len(value)}")
        out += uint_bytes(len(value))
        for item in value:
            elem(item, out)
    return emit


def _omit(spec: TypeSpec) -> Optional[Callable[[Any], bool]]:
    """When a struct field is left out: None for "when falsy", Go's zero for most kinds.

    Go always sends structs and arrays (only a nil pointer to one is left out), leaves out a
    zero time.Time (its GobEncoder op asks IsZero), and tests constants and durations by value.
    """
    base = base_of(spec)
    if base.kind is Kind.TIME:
        return _zero_time
    if spec.kind is Kind.POINTER:
        return _is_none if base.kind in (Kind.STRUCT, Kind.MAP) or base.length is not None \
            else None
    if spec.kind in (Kind.STRUCT, Kind.ANY) or spec.length is not None:
        return _is_none
    if spec.cls is gotime.Duration:
        return lambda value: value is None or not (value if type(value) is int
                                                   else gotime.nanoseconds(value))
    if spec.cls is not None:
        return lambda value: value is None or not (value.value if isinstance(value, enum.Enum)
                                                   else value)
    return None


def _is_none(value: Any) -> bool:
    return value is None


def _zero_time(value: Any) -> bool:
    return value is None or value == _ZERO_TIME


_ZERO_TIME = gotime.Time.zero()  # Go's IsZero ignores the zone


def _struct(spec: TypeSpec) -> Emit:
    # Fields are numbered in declaration order from 1 here (the delta from Go's -1 start).
    plan = [(index + 1, f.attr, f.name, encoder(f.spec), _omit(f.spec))
            for index, f in enumerate(spec.fields)]

    def emit(value: Any, out: bytearray) -> None:
        get = value.get if type(value) is dict else None  # a dict may stand in for the dataclass
        last = 0
        for number, attr, name, emit_field, omit in plan:
            item = getattr(value, attr) if get is None else get(name, get(attr))
            if omit is None:
                if not item:
                    continue
            elif omit(item):
                continue
            delta = number - last
            if delta < 0x80:
                out.append(delta)
            else:
                out += uint_bytes(delta)
            emit_field(item, out)
            last = number
        out.append(0)
    return emit


def _emit_interface(value: Any, out: bytearray) -> None:
    # Only values whose concrete type Go predeclares (no definition, no gob.Register needed).
    if value is None:
        out.append(0)
        return
    found = _INTERFACE_NAMES.get(type(value))
    if found is None:
        raise EncodeError(f"gob: cannot send a {type(value).__name__} inside an interface value; "
                          "declare a concrete type instead of Any")
    name, kind = found
    body = bytearray(b"\x00")
    encoder(_BUILTIN_SPECS[kind])(value, body)
    out += name
    out += int_bytes(builtin_id(_BUILTIN_SPECS[kind]) or 0)
    out += uint_bytes(len(body))
    out += body


_BUILTIN_SPECS = {Kind.BOOL: spec_of(bool), Kind.INT: spec_of(int), Kind.FLOAT: spec_of(float),
                  Kind.STRING: spec_of(str), Kind.BYTES: spec_of(bytes)}


def infer_spec(value: Any) -> Optional[TypeSpec]:
    """Guess the Go type of a value where only one answer is sensible; None if there is none.

    Dataclass and Enum instances give their class, datetimes time.Time, timedeltas
    time.Duration, and str, bool, float, bytes their obvious types.
    int is left out on purpose: Go's int and uint look alike in Python but not on the wire.
    """
    if dataclasses.is_dataclass(value) and not isinstance(value, type) \
            or isinstance(value, enum.Enum):
        return spec_of(type(value))
    if isinstance(value, datetime.datetime):
        return spec_of(datetime.datetime)
    if isinstance(value, datetime.timedelta):
        return spec_of(datetime.timedelta)
    if type(value) in (str, bool, float, bytes):
        return spec_of(type(value))
    return None


class WriteStream:
    """The sending side of one gob stream: definitions once, then values."""

    def __init__(self) -> None:
        self.types = TypeIds()
        # A struct type already defined: (its base, id, the id's bytes, its encoder). Checked
        # against types.ids before use, since a definition can be withdrawn (forget).
        self._structs: dict[TypeSpec, tuple[TypeSpec, int, bytes, Emit]] = {}

    def write_value(self, value: Any, spec: TypeSpec, out: bytearray) -> None:
        """Append whatever definitions spec still needs and the message holding value.

        Raises EncodeError (leaving out and the stream as they were) if value does not fit.
        """
        known = self._structs.get(spec)
        if known is not None and value is not None and self.types.ids.get(known[0]) == known[1]:
            # The usual reply: a struct whose type this stream has defined already.
            payload = bytearray(known[2])
            try:
                known[3](value, payload)
            except (AttributeError, TypeError, ValueError, OverflowError) as err:
                raise EncodeError(f"gob: cannot encode {type(value).__name__} as "
                                  f"{spec.go_name}: {err}") from None
            out += uint_bytes(len(payload))
            out += payload
            return
        mark = len(out)
        id, new = self.types.define(spec, out)
        payload = bytearray(int_bytes(id))
        try:
            base = base_of(spec)
            if base.kind is Kind.STRUCT:
                if value is None:
                    raise EncodeError(f"gob: cannot encode nil pointer of type {spec.go_name}")
                emit = encoder(base)
                prefix = bytes(payload)
                emit(value, payload)
                self._structs[spec] = (base, id, prefix, emit)
            else:
                payload.append(0)
                encoder(spec)(value, payload)
        except EncodeError:
            self._undo(out, mark, new)
            raise
        except (AttributeError, TypeError, ValueError, OverflowError) as err:
            self._undo(out, mark, new)
            raise EncodeError(f"gob: cannot encode {type(value).__name__} as "
                              f"{spec.go_name}: {err}") from None
        out += uint_bytes(len(payload))
        out += payload

    def _undo(self, out: bytearray, mark: int, new: list[TypeSpec]) -> None:
        del out[mark:]
        self.types.forget(new)
