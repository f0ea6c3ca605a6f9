"""The peer's type definitions: each ``wireType`` read into a WireType, its memory counted.

How this works: a definition is read straight from its bytes (the bootstrap structs of
PROTOCOL.md 3.4) by the rules every gob struct follows: fields by increasing delta, a struct
ends at its terminator or at the end of its data, absent fields are zero; so it gives exactly
the WireType that decoding the generic way and ``wiretypes.from_definition`` gave, without the
dict per field that took 290 MB for a 4 MiB definition of 4 M empty fields. What a definition
will hold (the WireType, its fields and names, the ops later compiled for it) is counted as it
is read against what the stream has left of its budget. A struct's field count is checked
before any field is read and each name as it arrives, so a definition over the budget is
refused (ProtocolError: the connection closes) after reading about as much as the budget
allows, with nothing built.
"""
from __future__ import annotations

from typing import Iterator

from ...errors import ProtocolError
from .primitives import FIELD_RANGE, Cursor, DecodeError, read_int, read_string, read_uint
from .wiretypes import WireKind, WireType

# Estimates of what one definition holds, measured with tracemalloc on CPython 3.11 for a
# struct decoded once both generically and into a dataclass (tests/wire/test_gob_types.py):
DEFINITION_COST = 1024  # the WireType, its slot in the stream's table, its compiled ops
FIELD_COST = 512        # per struct field: its (name, id) pair, name object and ops plan entries
# Per stream: enough for hundreds of ordinary types (a 10-field struct costs about 4 KiB), and
# a thousand connections at the limit stay within 1 GiB.
DEFAULT_MAX_TYPE_MEMORY = 1 << 20
DEFAULT_MAX_FIELDS = 10000  # fields in one struct definition

# wireType's fields, in wire order; the first one present decides the kind (Go sends one).
_PARTS = (WireKind.ARRAY, WireKind.SLICE, WireKind.STRUCT, WireKind.MAP,
          WireKind.OPAQUE, WireKind.OPAQUE, WireKind.OPAQUE)


class TypeBudget:
    """What one stream's received definitions hold, bounded; reads each new definition."""

    def __init__(self, limit: int = DEFAULT_MAX_TYPE_MEMORY,
                 max_fields: int = DEFAULT_MAX_FIELDS) -> None:
        self.limit = limit
        self.max_fields = max_fields
        self.spent = 0

    def read(self, c: Cursor) -> tuple[WireType, int]:
        """Read the wireType at the cursor; return it and its cost, which is now spent.

        Raises ProtocolError past the budget or max_fields, DecodeError (or IndexError at the
        end of the data) with Go's texts for a malformed definition.
        """
        reading = _Reading(self.limit, self.limit - self.spent, self.max_fields)
        reading.charge(DEFINITION_COST)
        chosen = WireType(WireKind.INVALID)
        for field in _fields(c, len(_PARTS)):
            wire = reading.part(c, _PARTS[field])
            if chosen.kind is WireKind.INVALID:
                chosen = wire
        self.spent += reading.cost
        return chosen, reading.cost

    def refund(self, cost: int) -> None:
        """A definition was withdrawn: what it held is free again."""
        self.spent -= cost


class _Reading:
    """One definition being read: its cost so far, against what the budget has left."""

    def __init__(self, limit: int, allowance: int, max_fields: int) -> None:
        self.limit = limit
        self.allowance = allowance
        self.max_fields = max_fields
        self.cost = 0

    def charge(self, amount: int) -> None:
        self.cost += amount
        if self.cost > self.allowance:
            raise ProtocolError(f"gob type definitions exceed their budget of {self.limit} "
                                "bytes")

    def part(self, c: Cursor, kind: WireKind) -> WireType:
        """One of wireType's structs: arrayType, sliceType, structType, mapType or an opaque."""
        name, elem, key, length = "", 0, 0, 0
        fields: tuple[tuple[str, int], ...] = ()
        for field in _fields(c, _PART_FIELDS[kind]):
            if field == 0:  # CommonType {Name string; Id int}
                for common in _fields(c, 2):
                    if common == 0:
                        name = read_string(c)
                        self.charge(len(name))
                    else:
                        read_int(c)
            elif kind is WireKind.STRUCT:
                fields = self.field_list(c)
            elif kind is WireKind.MAP and field == 1:
                key = read_int(c)
            elif kind is WireKind.ARRAY and field == 2:
                length = read_int(c)
            else:
                elem = read_int(c)
        return WireType(kind, name, elem=elem, key=key, length=length, fields=fields)

    def field_list(self, c: Cursor) -> tuple[tuple[str, int], ...]:
        """structType.Field: a count, then fieldType {Name string; Id int} structs."""
        count = read_uint(c)
        if count > self.max_fields:
            raise ProtocolError(f"gob struct definition of {count} fields (more than "
                                f"{self.max_fields})")
        self.charge(count * FIELD_COST)  # before any field is read
        fields = []
        for _ in range(count):
            if c.pos >= len(c.buf):  # every field takes a byte: no work beyond the data
                raise DecodeError("gob: decoding array or slice: length exceeds input size "
                                  f"({count} elements)")
            name, id = "", 0
            for field in _fields(c, 2):
                if field == 0:
                    name = read_string(c)
                    self.charge(len(name))
                else:
                    id = read_int(c)
            fields.append((name, id))
        return tuple(fields)


# How many fields each of wireType's structs has (the field number past them is out of range).
_PART_FIELDS = {WireKind.ARRAY: 3, WireKind.SLICE: 2, WireKind.STRUCT: 2, WireKind.MAP: 3,
                WireKind.OPAQUE: 1}


def _fields(c: Cursor, count: int) -> Iterator[int]:
    """The field numbers of a struct of count fields, as their values come up to be read."""
    field = -1
    while c.pos < len(c.buf):  # Go ends a struct at the end of its data, terminator or not
        delta = read_uint(c)
        if delta == 0:
            return
        field += delta
        if field >= count:
            raise DecodeError(FIELD_RANGE)
        yield field
