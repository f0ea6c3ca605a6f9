"""Annotations as Go types: conversion of JSON values with encoding/json's rules and texts."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from greenrpc.gotypes import Float32, Int8, Uint, Uint64
from greenrpc.schema import TypeMismatch, spec_of


@dataclass
class Point:
    X: int
    Y: int = 5


@dataclass
class Shape:
    Name: str
    Points: list[Point] = field(default_factory=list)
    Center: Optional[Point] = None
    Tags: dict[str, int] = field(default_factory=dict)
    Level: Int8 = 0
    Data: bytes = b""
    _secret: str = "kept"


@dataclass
class Node:
    Value: int
    Next: Optional[Node] = None


def convert(annotation: Any, value: Any) -> Any:
    return spec_of(annotation).convert(value)


def mismatch(annotation: Any, value: Any) -> str:
    with pytest.raises(TypeMismatch) as info:
        convert(annotation, value)
    return str(info.value)


def test_scalars_follow_go() -> None:
    assert convert(int, 7) == 7
    assert convert(float, 7) == 7.0 and type(convert(float, 7)) is float
    assert convert(str, "x") == "x"
    assert convert(bool, True) is True
    assert convert(int, None) == 0 and convert(str, None) == "" and convert(bool, None) is False


@pytest.mark.parametrize("annotation,value,text", [
    (int, "7", "json: cannot unmarshal string into Go value of type int"),
    (int, 7.5, "json: cannot unmarshal number 7.5 into Go value of type int"),
    (int, 8.0, "json: cannot unmarshal number 8.0 into Go value of type int"),
    (int, True, "json: cannot unmarshal bool into Go value of type int"),
    (int, 1 << 63, "json: cannot unmarshal number 9223372036854775808 into Go value of type int"),
    (Uint64, -1, "json: cannot unmarshal number -1 into Go value of type uint64"),
    (Int8, 128, "json: cannot unmarshal number 128 into Go value of type int8"),
    (Float32, 1e39, "json: cannot unmarshal number 1e+39 into Go value of type float32"),
    (str, 5, "json: cannot unmarshal number into Go value of type string"),
    (bool, "true", "json: cannot unmarshal string into Go value of type bool"),
    (list[int], {}, "json: cannot unmarshal object into Go value of type []int"),
    (dict[str, int], [], "json: cannot unmarshal array into Go value of type map[string]int"),
    (Point, [1, 2], "json: cannot unmarshal array into Go value of type test_schema.Point"),
])
def test_no_coercion_and_go_texts(annotation: Any, value: Any, text: str) -> None:
    assert mismatch(annotation, value) == text


def test_ranges_at_the_edges_are_accepted() -> None:
    assert convert(int, -(1 << 63)) == -(1 << 63)
    assert convert(Uint64, (1 << 64) - 1) == (1 << 64) - 1
    assert convert(Uint, 0) == 0
    assert convert(Int8, -128) == -128


def test_struct_fields_case_insensitive_unknown_ignored_null_is_zero() -> None:
    shape = convert(Shape, {"name": "tri", "POINTS": [{"x": 1}, {"X": 2, "Y": 3}],
                            "extra": [1, 2], "Center": None, "Level": -3,
                            "Data": "AQI=", "_secret": "nope"})
    assert shape == Shape("tri", [Point(1, 5), Point(2, 3)], None, {}, -3, b"\x01\x02")
    assert shape._secret == "kept"


def test_exact_field_name_wins_over_folded() -> None:
    @dataclass
    class Two:
        a: int = 0
        A: int = 0
    assert convert(Two, {"a": 1, "A": 2}) == Two(1, 2)


def test_missing_fields_take_defaults_or_zero() -> None:
    assert convert(Point, {}) == Point(0, 5)
    assert convert(Shape, None) == Shape("", [], None, {}, 0, b"")


def test_nested_error_names_innermost_struct_and_full_path() -> None:
    text = mismatch(Shape, {"Name": "x", "Center": {"X": "1"}})
    assert text == "json: cannot unmarshal string into Go struct field Point.Center.X of type int"
    text = mismatch(Shape, {"Points": [{"X": 1}, {"Y": 1.5}]})
    assert text == "json: cannot unmarshal number 1.5 into Go struct field Point.Points.Y of type int"
    text = mismatch(Shape, {"Tags": {"a": "b"}})
    assert text == "json: cannot unmarshal string into Go struct field Shape.Tags of type int"


def test_first_error_in_document_order_wins() -> None:
    text = mismatch(Point, {"Y": "late", "X": "early"})
    assert "Point.Y" in text


def test_recursive_struct() -> None:
    node = convert(Node, {"Value": 1, "Next": {"Value": 2, "Next": {"Value": 3}}})
    assert node.Next.Next.Value == 3 and node.Next.Next.Next is None
    assert spec_of(Node).encode(node) == {"Value": 1, "Next": {"Value": 2, "Next": {
        "Value": 3, "Next": None}}}


def test_map_with_integer_keys_parses_them() -> None:
    assert convert(dict[int, str], {"1": "a", "-2": "b"}) == {1: "a", -2: "b"}
    assert "number x" in mismatch(dict[int, str], {"x": "a"})


def test_encoding_results_sends_every_field() -> None:
    encoded = spec_of(Shape).encode(Shape("s", [Point(1, 2)], None, {"k": 1}, 2, b"\xff"))
    assert encoded == {"Name": "s", "Points": [{"X": 1, "Y": 2}], "Center": None,
                       "Tags": {"k": 1}, "Level": 2, "Data": "/w=="}


def test_go_type_names() -> None:
    assert spec_of(list[Point]).go_name == "[]test_schema.Point"
    assert spec_of(dict[str, Optional[int]]).go_name == "map[string]*int"
    assert spec_of(Any).go_name == "interface {}"
    assert spec_of(bytes).go_name == "[]uint8"


@pytest.mark.parametrize("annotation", [set[int], complex, "Unresolved", Optional[int] | str])
def test_unsupported_annotations_are_refused(annotation: Any) -> None:
    with pytest.raises(TypeError, match="unsupported"):
        spec_of(annotation)


@dataclass
class Ints:
    A: int
    B: Int8
    C: Uint = 7


@dataclass
class Mixed:
    N: int
    S: str = ""
    F: bool = False
    P: Optional[Point] = None
    L: list[int] = field(default_factory=list)
    _hidden: int = 3


JSON_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-(1 << 64), 1 << 64),
                         st.floats(allow_nan=False), st.text(max_size=3))
JSON_VALUES = st.recursive(JSON_SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.sampled_from("XYxy"), inner, max_size=2)),
    max_leaves=6)


def outcome(annotation: Any, value: Any) -> Any:
    try:
        return ("ok", convert(annotation, value))
    except TypeMismatch as err:
        return ("error", str(err))


@pytest.mark.parametrize("cls", [Ints, Mixed, Point])
@given(data=st.data())
@settings(max_examples=300, deadline=None)
def test_exact_objects_convert_as_the_general_path_does(cls: Any, data: Any) -> None:
    # An object with exactly the field names takes a fast path; one more (unknown, ignored)
    # member sends the same object through the general one: the outcomes must be the same.
    names = [name for name in cls.__dataclass_fields__ if not name.startswith("_")]
    value = data.draw(st.fixed_dictionaries({name: JSON_VALUES for name in names}))
    assert outcome(cls, value) == outcome(cls, {**value, "Unknown": 1})


def test_exact_objects_keep_declaration_order_and_private_defaults() -> None:
    assert convert(Mixed, {"N": 1, "S": "s", "F": True, "P": {"X": 2, "Y": 3}, "L": [4]}) == \
        Mixed(1, "s", True, Point(2, 3), [4])
    assert convert(Ints, {"A": 1, "B": 2, "C": 3}) == Ints(1, 2, 3)
    assert "Ints.B of type int8" in mismatch(Ints, {"A": 1, "B": 200, "C": 3})


def test_encoding_plain_structs_matches_the_general_encoder() -> None:
    class Subclass(Point):  # not the declared class itself: the general encoder
        pass

    encode = spec_of(Point).encode
    assert encode(Point(1, 2)) == encode(Subclass(1, 2)) == {"X": 1, "Y": 2}
    point = Point(1, 2)
    point.extra = 3  # type: ignore[attr-defined]  # an attribute that is no field is not sent
    assert encode(point) == {"X": 1, "Y": 2}
    assert encode({"X": 1}) == {"X": 1}  # a dict returned where a struct was declared
    assert list(encode(Point(Y=1, X=2))) == ["X", "Y"]  # declaration order, as Go sends
