"""The small readers gob values are decoded with: one function per kind of value.

Each op reads one value from a Cursor and returns it. decode.py picks and combines them per
(wire type, local type); nothing here knows about type compatibility.
"""
from __future__ import annotations

import math
from typing import Any, Callable, Optional

from .primitives import FIELD_RANGE, Cursor, DecodeError, read_float, read_int, read_uint

Op = Callable[[Cursor], Any]


def read_bool(c: Cursor) -> bool:
    return read_uint(c) != 0


def read_complex(c: Cursor) -> complex:
    return complex(read_float(c), read_float(c))


def overflow(name: str) -> DecodeError:
    return DecodeError(f'value for "{name}" out of range')


def int_op(bits: int, signed: bool, name: str) -> Op:
    read = read_int if signed else read_uint
    if bits >= 64:
        return read
    low, high = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)

    def op(c: Cursor) -> int:
        value = read(c)
        if value < low or value > high:
            raise overflow(name)
        return value
    return op


def float32_op(name: str) -> Op:
    def op(c: Cursor) -> float:
        value = read_float(c)
        if 3.4028234663852886e38 < abs(value) and not math.isinf(value):
            raise overflow(name)
        return value
    return op


def list_op(elem: Op, length: Optional[int]) -> Op:
    def op(c: Cursor) -> list[Any]:
        count = read_uint(c)
        if length is not None and count != length:
            raise DecodeError("gob: length mismatch in decodeArray")
        out: list[Any] = []
        append = out.append
        for _ in range(count):
            if c.pos >= len(c.buf):  # every element takes a byte: no allocation beyond the data
                raise DecodeError("gob: decoding array or slice: length exceeds input size "
                                  f"({count} elements)")
            append(elem(c))
        return out
    return op


def map_op(key: Op, elem: Op, keys_hashable: bool) -> Op:
    def op(c: Cursor) -> dict[Any, Any]:
        count = read_uint(c)
        out: dict[Any, Any] = {}
        for _ in range(count):
            if c.pos >= len(c.buf):
                raise DecodeError(f"gob: decoding map: length exceeds input size ({count} entries)")
            k = key(c)
            out[k if keys_hashable else hashable(k)] = elem(c)
        return out
    return op


def hashable(value: Any) -> Any:
    """Make a generically decoded map key usable in a dict (Go allows struct and array keys)."""
    if isinstance(value, list):
        return tuple(hashable(v) for v in value)
    if isinstance(value, dict):
        return tuple((k, hashable(v)) for k, v in value.items())
    if isinstance(value, bytearray):
        return bytes(value)
    return value


def singleton(inner: Op) -> Op:
    # A top-level non-struct value is sent as field 0 of an implicit struct (docs/protocol.md 3.5).
    def op(c: Cursor) -> Any:
        if read_uint(c) != 0:
            raise DecodeError("gob: decode: corrupted data: non-zero delta for singleton")
        return inner(c)
    return op


def fail(message: str) -> Op:
    def op(c: Cursor) -> Any:
        raise DecodeError(message)
    return op


def struct_op(plan: list[tuple[Optional[str], Op]], build: Callable[[dict[str, Any]], Any]) -> Op:
    # plan is filled in after the op exists (recursive types), so its length is read each time.
    def op(c: Cursor) -> Any:
        values: dict[str, Any] = {}
        field = -1
        while True:
            buf = c.buf  # re-read each time: an interface value may have moved on to a new message
            pos = c.pos
            if pos >= len(buf):  # Go ends a struct at the end of its data, terminator or not
                break
            delta = buf[pos]
            if delta < 0x80:
                c.pos = pos + 1
            else:
                delta = read_uint(c)
            if delta == 0:
                break
            field += delta
            if field >= len(plan):
                raise DecodeError(FIELD_RANGE)
            name, read = plan[field]
            value = read(c)
            if name is not None:
                values[name] = value
        return build(values)
    return op


def int_struct_op(plan: list[tuple[Optional[str], Op]], build: Callable[[dict[str, Any]], Any]
                  ) -> Optional[Op]:
    """struct_op for a struct whose every field is a Go int64 or uint64 we keep; None otherwise.

    The same bytes in, the same values and errors out, with the usual case (a field number and
    a value of one byte each) read inline: Arith's Args costs half as much this way.
    """
    if not plan or any(name is None or read not in (read_int, read_uint) for name, read in plan):
        return None
    fields = [(name or "", read is read_int) for name, read in plan]
    count = len(fields)

    def op(c: Cursor) -> Any:
        values: dict[str, Any] = {}
        field = -1
        buf = c.buf
        pos = c.pos
        end = len(buf)
        while pos < end:  # Go ends a struct at the end of its data, terminator or not
            delta = buf[pos]
            if delta < 0x80:
                pos += 1
            else:
                c.pos = pos
                delta = read_uint(c)
                pos = c.pos
            if delta == 0:
                break
            field += delta
            if field >= count:
                c.pos = pos
                raise DecodeError(FIELD_RANGE)
            name, signed = fields[field]
            u = buf[pos]  # IndexError at the end of the data, as in read_uint
            if u < 0x80:
                pos += 1
            else:
                c.pos = pos
                u = read_uint(c)
                pos = c.pos
            values[name] = (-(u >> 1) - 1 if u & 1 else u >> 1) if signed else u
        c.pos = pos
        return build(values)
    return op
