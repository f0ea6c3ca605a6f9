"""The peer's gob type definitions with bytes alone: read as before, and bounded in memory."""
from __future__ import annotations

import random
import tracemalloc
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from greenrpc.errors import ProtocolError
from greenrpc.schema import ANY
from greenrpc.wire.gob import primitives
from greenrpc.wire.gob.decode import Compiler
from greenrpc.wire.gob.peertypes import DEFINITION_COST, FIELD_COST, TypeBudget
from greenrpc.wire.gob.primitives import Cursor, DecodeError, NeedMore, int_bytes, string_bytes
from greenrpc.wire.gob.stream import ReadStream
from greenrpc.wire.gob.wiretypes import WIRE_TYPE, WireType, from_definition
from tests.wire.test_gob_values import STREAMS


def definitions(data: bytes) -> list[bytes]:
    """The payloads after the type id of every definition message in a gob stream."""
    out = []
    cursor = Cursor(data, 0, None)
    while cursor.pos < len(data):
        size = primitives.read_uint(cursor)
        payload = Cursor(data[cursor.pos:cursor.pos + size], 0, None)
        cursor.pos += size
        if primitives.read_int(payload) < 0:
            out.append(payload.buf[payload.pos:])
    return out


CAPTURED = [d for _, data, _ in STREAMS for d in definitions(data)]


def shape(wire: WireType) -> tuple[Any, ...]:
    return wire.kind, wire.name, wire.elem, wire.key, wire.length, wire.fields


def outcome(read: Any, payload: bytes) -> tuple[Any, ...]:
    """What reading a definition gives: its shape and the bytes it used, or the error."""
    cursor = Cursor(payload, 0, None)
    try:
        return ("ok", *shape(read(cursor)), cursor.pos)
    except (DecodeError, IndexError) as err:
        return (type(err).__name__, str(err))


def generic(cursor: Cursor) -> WireType:
    """How definitions were read before: the generic decoder's dicts, then from_definition."""
    return from_definition(Compiler({}).value_op(WIRE_TYPE, ANY)(cursor))


def direct(cursor: Cursor) -> WireType:
    return TypeBudget(limit=1 << 30).read(cursor)[0]


def test_captured_definitions_read_as_before() -> None:
    assert len(CAPTURED) > 20
    for payload in CAPTURED:
        assert outcome(direct, payload) == outcome(generic, payload)
        assert outcome(direct, payload)[0] == "ok"


def struct_definition(name: str, fields: list[tuple[str, int]], id: int = 65) -> bytes:
    """structType: CommonType{Name, Id}, then Field, then the ends of both structs."""
    listing = b"".join(b"\x01" + string_bytes(n) + b"\x01" + int_bytes(i) + b"\x00"
                       for n, i in fields)
    return (b"\x03\x01\x01" + string_bytes(name) + b"\x01" + int_bytes(id) + b"\x00"
            + b"\x01" + primitives.uint_bytes(len(fields)) + listing + b"\x00\x00")


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_any_definition_or_garbage_reads_as_before(data: st.DataObject) -> None:
    base = data.draw(st.sampled_from(CAPTURED + [struct_definition("T", [("A", 2), ("", 0)])]))
    mutated = bytearray(base)
    for _ in range(data.draw(st.integers(0, 4))):
        if not mutated:
            break
        at = data.draw(st.integers(0, len(mutated) - 1))
        mutated[at] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(mutated)))
    payload = bytes(mutated[:cut]) + data.draw(st.binary(max_size=8))
    before = outcome(generic, payload)
    try:
        now = outcome(direct, payload)
    except ProtocolError as err:
        # A mutated field count past the cap is refused before any field is read; the generic
        # reader ran out of bytes instead (these payloads are far shorter than the cap).
        assert "fields (more than" in str(err) and before[0] != "ok", (err, before)
        return
    assert now == before


def test_random_bytes_read_as_before() -> None:
    rng = random.Random(14)
    for _ in range(3000):
        payload = bytes(rng.getrandbits(8) for _ in range(rng.randrange(1, 40)))
        assert outcome(direct, payload) == outcome(generic, payload)


def empty_fields(count: int) -> bytes:
    """The probe's definition: a struct of count fields that are each one byte, 0x00."""
    return b"\x03\x02" + primitives.uint_bytes(count) + b"\x00" * count + b"\x00\x00"


@pytest.mark.parametrize("count, error", [
    (1 << 20, "gob struct definition of 1048576 fields \\(more than 10000\\)"),
    (3000, "gob type definitions exceed their budget of 1048576 bytes")])
def test_a_struct_of_many_empty_fields_is_refused_after_a_few_bytes(count: int, error: str
                                                                    ) -> None:
    # 4 MiB of such fields held 290 MB. Now the count alone refuses them, before any is read.
    payload = empty_fields(count)
    cursor = Cursor(payload, 0, None)
    tracemalloc.start()
    try:
        with pytest.raises(ProtocolError, match=error):
            TypeBudget().read(cursor)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert cursor.pos < 16 and peak < 64 << 10


def test_each_struct_is_bounded_in_fields() -> None:
    budget = TypeBudget(limit=1 << 30, max_fields=100)
    budget.read(Cursor(empty_fields(100), 0, None))
    with pytest.raises(ProtocolError, match="of 101 fields"):
        budget.read(Cursor(empty_fields(101), 0, None))


def test_long_names_count_against_the_budget_as_they_arrive() -> None:
    huge = struct_definition("N" * 100_000, [("A", 2)])
    with pytest.raises(ProtocolError, match="exceed their budget"):
        TypeBudget(limit=50_000).read(Cursor(huge, 0, None))
    name_first = struct_definition("T", [("F" * 100_000, 2), ("B", 2)])
    with pytest.raises(ProtocolError, match="exceed their budget"):
        TypeBudget(limit=50_000).read(Cursor(name_first, 0, None))


def define(stream: ReadStream, id: int, fields: int) -> None:
    names = [(f"F{i}", 2) for i in range(fields)]
    stream.feed(primitives.message(int_bytes(-id) + struct_definition("T", names, id)))


def test_a_stream_s_definitions_share_one_budget_and_close_it_past_the_limit() -> None:
    cost = DEFINITION_COST + 1 + 10 * (FIELD_COST + 2)  # "T" and ten names "F0".."F9"
    stream = ReadStream(max_type_memory=5 * cost)
    for id in range(65, 70):
        define(stream, id, 10)
    with pytest.raises(NeedMore):
        stream.read_value()  # five definitions, each registered
    assert stream.budget.spent == 5 * cost and len(stream.types) == 5
    define(stream, 70, 10)
    with pytest.raises(ProtocolError, match="gob type definitions exceed their budget"):
        stream.read_value()
    assert 70 not in stream.types


def interface_value(definition: bytes, id: int) -> bytes:
    """A top-level interface value whose concrete type is defined inline and continues in a
    message that has not arrived (PROTOCOL.md 3.5)."""
    return primitives.message(int_bytes(8) + b"\x00" + string_bytes("main.T") + int_bytes(-id)
                              + definition)


def test_an_inline_definition_is_charged_once_however_often_its_value_is_read() -> None:
    stream = ReadStream()
    stream.feed(interface_value(struct_definition("T", [("A", 2)], 65), 65))
    for _ in range(3):
        with pytest.raises(NeedMore):
            stream.read_value()
    # The first read withdrew and refunded it; the paused read holds it, charged once.
    assert stream.budget.spent == DEFINITION_COST + 1 + FIELD_COST + 1
    assert list(stream.types) == [65]


def test_the_budget_has_room_for_an_ordinary_program_s_types() -> None:
    # A service of 100 struct types of 10 fields each, as a Go client would define them.
    stream = ReadStream()
    for id in range(65, 165):
        define(stream, id, 10)
    with pytest.raises(NeedMore):
        stream.read_value()
    assert len(stream.types) == 100 and stream.budget.spent < stream.budget.limit
