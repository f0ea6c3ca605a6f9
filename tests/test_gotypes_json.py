"""time.Time, time.Duration, enums, embedded structs and omitempty in JSON, against Go's bytes.

The vectors (tests/vectors/go_types.json) are what Go's encoding/json wrote and read; the
types are the ones `greenrpc gen python` made of the Go declarations (tests/generated).
"""
from __future__ import annotations

import copy
import datetime
import json
import pickle
from dataclasses import dataclass, field
from typing import Annotated, Any, Optional

import pytest
import ujson
from hypothesis import given, settings
from hypothesis import strategies as st

from greenrpc import GoField, go_struct
from greenrpc.gotime import (
    UTC,
    Duration,
    Time,
    format_rfc3339,
    marshal_binary,
    parse_rfc3339,
    unmarshal_binary,
    zone,
)
from greenrpc.gotypes import GoArray, Int8, Uint8
from greenrpc.schema import TypeMismatch, spec_of
from tests import embedding
from tests.generated.profiles import Color, Level, Priority, Profile, Stamp
from tests.profiles import differences, sample_profile
from tests.support import vectors

VECTORS = vectors("go_types.json")
TIMES = VECTORS["times"]
_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=UTC)


def go_time(case: dict[str, Any]) -> Time:
    """The time a vector describes: Unix seconds and nanoseconds, offset, UTC or not."""
    tz = UTC if case["utc"] else zone(case["offset"])
    instant = _EPOCH + datetime.timedelta(seconds=case["unix"], microseconds=case["nanos"] // 1000)
    return Time.of(instant.astimezone(tz), case["nanos"] % 1000)


def same_time(a: datetime.datetime, b: datetime.datetime) -> bool:
    return marshal_binary(a) == marshal_binary(b)


@pytest.mark.parametrize("case", TIMES, ids=[c["name"] for c in TIMES])
def test_times_format_and_parse_as_go(case: dict[str, Any]) -> None:
    value = go_time(case)
    assert '"' + format_rfc3339(value) + '"' == case["json"]
    parsed = parse_rfc3339(case["json"])
    assert '"' + format_rfc3339(parsed) + '"' == case["json"]
    if case["offset"] % 60 == 0:  # RFC 3339 has no seconds in its offsets: Go drops them
        assert parsed == value and parsed.utcoffset() == value.utcoffset()
    assert spec_of(datetime.datetime).encode(value) == case["json"][1:-1]


@pytest.mark.parametrize("case", TIMES, ids=[c["name"] for c in TIMES])
def test_times_binary_form_byte_exact(case: dict[str, Any]) -> None:
    value = go_time(case)
    assert marshal_binary(value).hex() == case["binary"]
    back = unmarshal_binary(bytes.fromhex(case["binary"]))
    assert same_time(back, value) and back.nanosecond == value.nanosecond
    assert (back.tzinfo is UTC) == case["utc"]


@pytest.mark.parametrize("case", VECTORS["parses"], ids=[c["text"] for c in VECTORS["parses"]])
def test_time_parsing_accepts_and_refuses_what_go_does(case: dict[str, Any]) -> None:
    convert = spec_of(datetime.datetime).convert
    try:
        value = convert(json.loads(case["text"]))
    except TypeMismatch as err:
        assert str(err) == case["error"]
        return
    assert not case["error"], f"Go refused it: {case['error']}"
    assert value == go_time(case) and value.utcoffset() == go_time(case).utcoffset()
    assert (value.tzinfo is UTC) == case["utc"]


def test_times_python_cannot_hold_are_refused_clearly() -> None:
    with pytest.raises(ValueError, match="year 0 is outside the years 1-9999"):
        parse_rfc3339('"0000-01-01T00:00:00Z"')
    with pytest.raises(ValueError, match="outside the years 1-9999"):
        unmarshal_binary(bytes.fromhex("01" + "7fffffffffffffff" + "00000000" + "ffff"))
    with pytest.raises(ValueError, match="naive datetime .* has no time zone"):
        format_rfc3339(datetime.datetime(2020, 1, 1))
    with pytest.raises(ValueError, match="unsupported version"):
        unmarshal_binary(b"\x03" + bytes(14))
    with pytest.raises(ValueError, match="invalid length"):
        unmarshal_binary(b"\x01" + bytes(13))


def test_time_keeps_nanoseconds_through_arithmetic_and_copies() -> None:
    t = Time(2023, 3, 14, 15, 9, 26, 535897, tzinfo=UTC, nanosecond=932)
    later = t + Duration(nanoseconds=70)
    assert (later.microsecond, later.nanosecond) == (535898, 2)
    assert later - Duration(nanoseconds=70) == t
    assert t != t.replace(nanosecond=931) and t.replace(nanosecond=931) < t < later
    assert t.astimezone(zone(3600)).nanosecond == 932
    assert pickle.loads(pickle.dumps(t)) == t and copy.deepcopy(t) == t
    assert repr(t).endswith("nanosecond=932)")
    assert Time.zero() == datetime.datetime(1, 1, 1, tzinfo=UTC)
    with pytest.raises(ValueError, match="0..999"):
        Time(2020, 1, 1, nanosecond=1000)


def test_duration_is_a_timedelta_counting_nanoseconds() -> None:
    d = Duration(milliseconds=1500, nanoseconds=7)
    assert d.total_nanoseconds() == 1_500_000_007 and d == Duration.from_nanoseconds(1_500_000_007)
    assert -d == Duration.from_nanoseconds(-1_500_000_007) and (-d).nanosecond == 993
    assert d - datetime.timedelta(seconds=1) == Duration.from_nanoseconds(500_000_007)
    assert d > datetime.timedelta(milliseconds=1500) and d != datetime.timedelta(milliseconds=1500)
    assert pickle.loads(pickle.dumps(d)) == d and copy.deepcopy(d) == d
    spec = spec_of(datetime.timedelta)
    assert spec.go_name == "time.Duration"
    assert spec.encode(d) == 1_500_000_007 and spec.encode(datetime.timedelta(hours=1)) == 3600 * 10**9
    assert spec.convert(-(1 << 63)).total_nanoseconds() == -(1 << 63)
    with pytest.raises(ValueError, match="beyond Go's time.Duration"):
        spec.encode(datetime.timedelta(days=300 * 366))


@pytest.mark.parametrize("case", [c for c in VECTORS["values"] if c["type"] == "time.Duration"],
                         ids=lambda c: c["name"])
def test_durations_are_numbers_of_nanoseconds(case: dict[str, Any]) -> None:
    spec = spec_of(datetime.timedelta)
    value = spec.convert(json.loads(case["json"]))
    assert json.dumps(spec.encode(value)) == case["json"]


def test_enums_are_go_constants() -> None:
    by_name = {c["name"]: c for c in VECTORS["values"]}
    assert json.dumps(spec_of(Color).encode(Color.BLUE)) == by_name["color"]["json"]
    assert json.dumps(spec_of(Level).encode(Level.ERROR)) == by_name["level"]["json"]
    assert json.dumps(spec_of(Priority).encode(Priority.HIGH)) == by_name["priority"]["json"]
    assert spec_of(Color).convert(2) is Color.BLUE and spec_of(Level).convert("info") is Level.INFO
    assert spec_of(Color).go_name == "profiles.Color"
    with pytest.raises(TypeMismatch, match="number 9 .no Color constant has it. into Go value"):
        spec_of(Color).convert(9)


def normal(value: Any) -> Any:
    """JSON as Go's and Python's both mean it: [] and null alike for a slice, 0.0 as 0."""
    if isinstance(value, dict):
        return {k: normal(v) for k, v in value.items() if v not in (None, [])}
    if isinstance(value, list):
        return [normal(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


PROFILE_VALUES = [c for c in VECTORS["values"] if c["type"] == "Profile"]


@pytest.mark.parametrize("case", PROFILE_VALUES, ids=lambda c: c["name"])
def test_profiles_from_go_json_and_back(case: dict[str, Any]) -> None:
    spec = spec_of(Profile)
    decoded = spec.convert(json.loads(case["json"]))
    again = json.loads(ujson.dumps(spec.encode(decoded)))
    assert normal(again) == normal(json.loads(case["json"]))
    assert list(again) == list(json.loads(case["json"]))  # Go's field order, promoted ones first


def test_sample_profile_survives_json_except_the_hidden_field() -> None:
    spec = spec_of(Profile)
    (sample,) = [c for c in PROFILE_VALUES if c["name"] == "sample"]
    decoded = spec.convert(json.loads(sample["json"]))
    assert differences(decoded, sample_profile()) == ["Profile.secret: '' != 's3cret'"]
    assert normal(json.loads(ujson.dumps(spec.encode(sample_profile())))) == \
        normal(json.loads(sample["json"]))


DECODES = VECTORS["decodes"]


@pytest.mark.parametrize("case", DECODES, ids=[c["name"] for c in DECODES])
def test_decoding_follows_go(case: dict[str, Any]) -> None:
    cls = Profile if case["type"] == "Profile" else embedding.TYPES[case["type"]]
    spec = spec_of(cls)
    try:
        value = spec.convert(json.loads(case["input"]))
    except TypeMismatch as err:
        assert str(err) == case["error"].replace("main.", "profiles.")
        return
    assert not case["error"], f"Go refused it: {case['error']}"
    assert normal(json.loads(ujson.dumps(spec.encode(value)))) == normal(json.loads(case["output"]))


@pytest.mark.parametrize("name", embedding.CASES)
def test_embedded_fields_are_promoted_with_go_s_rules(name: str) -> None:
    (case,) = [c for c in VECTORS["values"] if c["name"] == name]
    value = embedding.CASES[name]
    assert ujson.dumps(spec_of(type(value)).encode(value)) == case["json"]


@dataclass
class Empties:
    n: Annotated[int, GoField(omitempty=True)] = 0
    s: Annotated[str, GoField(omitempty=True)] = ""
    b: Annotated[bool, GoField(omitempty=True)] = False
    f: Annotated[float, GoField(omitempty=True)] = 0.0
    raw: Annotated[bytes, GoField(omitempty=True)] = b""
    items: Annotated[list[int], GoField(omitempty=True)] = field(default_factory=list)
    table: Annotated[dict[str, int], GoField(omitempty=True)] = field(default_factory=dict)
    pointer: Annotated[Optional[int], GoField(omitempty=True)] = None
    arr: Annotated[Annotated[list[Uint8], GoArray(2)], GoField(omitempty=True)] = \
        field(default_factory=lambda: [0, 0])
    when: Annotated[datetime.datetime, GoField(omitempty=True)] = field(default_factory=Time.zero)
    wait: Annotated[datetime.timedelta, GoField(omitempty=True)] = field(default_factory=Duration)
    color: Annotated[Color, GoField(omitempty=True)] = Color.RED
    inner: Annotated[Stamp, GoField(omitempty=True)] = field(default_factory=Stamp)


def test_omitempty_leaves_out_go_s_empty_values_only() -> None:
    encoded = spec_of(Empties).encode(Empties())
    # A struct (time.Time is one) or an array of some length is never empty to encoding/json.
    assert list(encoded) == ["arr", "when", "inner"]
    full = spec_of(Empties).encode(Empties(1, "s", True, 0.5, b"x", [0], {"": 0}, 0, [0, 0],
                                           Time.zero(), Duration(nanoseconds=1), Color.BLUE))
    assert len(full) == len(Empties.__dataclass_fields__)
    assert full["pointer"] == 0 and full["wait"] == 1


@go_struct
@dataclass
class Mapped:
    user_id: int
    level: Int8
    name: str = ""
    ok: bool = False
    at: Optional[datetime.datetime] = None


JSON_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-300, 300), st.text(max_size=3))


@given(st.fixed_dictionaries({"UserID": JSON_SCALARS, "Level": JSON_SCALARS, "Name": JSON_SCALARS,
                              "Ok": JSON_SCALARS, "At": st.one_of(st.none(), st.sampled_from(
                                  ['2020-01-01T00:00:00Z', 'x', 5]))}))
@settings(max_examples=200, deadline=None)
def test_mapped_names_take_the_fast_path_with_the_same_outcome(value: dict[str, Any]) -> None:
    def outcome(document: dict[str, Any]) -> Any:
        try:
            return ("ok", spec_of(Mapped).convert(document))
        except TypeMismatch as err:
            return ("error", str(err))
    assert outcome(value) == outcome({**value, "Unknown": 1})
