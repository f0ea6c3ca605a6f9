"""The JSON value-stream framer: any split or gluing of the bytes yields the same values."""
from __future__ import annotations

import json
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from greenrpc.errors import ProtocolError
from greenrpc.wire import jsonserver
from greenrpc.wire.jsonstream import JSONStream, compact, member_text
from tests import services

GOLDEN = [
    (b'{"a":1}\n', [{"a": 1}]),
    (b'{"a":1}', [{"a": 1}]),                              # no newline needed
    (b'{"a":1}{"b":2}', [{"a": 1}, {"b": 2}]),             # glued
    (b' \r\n\t{ "a" : [ 1 , 2 ] }\t\t{"b":2}\r\n', [{"a": [1, 2]}, {"b": 2}]),
    (b'{\n  "a": {\n    "b": "}]"\n  }\n}\n', [{"a": {"b": "}]"}}]),   # pretty-printed
    (b'{"s":"a\\"}{"}\n', [{"s": 'a"}{'}]),                # braces and quotes inside strings
    (b'[1,[2,{"x":[]}]]\n', [[1, [2, {"x": []}]]]),
    (b'"str" 42 true null\n', ["str", 42, True, None]),    # top-level scalars
    (b'  \n\n ', []),
    (b'{"big":123456789012345678901234567890}', [{"big": 123456789012345678901234567890}]),
    (b'{"u":"\xc3\xa9\\u00e9"}', [{"u": "\u00e9\u00e9"}]),
    (b'{"e":"\\\\\\"\\\\"} "\\\\\\"x"', [{"e": '\\"\\'}, '\\"x']),  # escapes at every cut
]


def values(stream: JSONStream, parts: list[bytes]) -> list[object]:
    out = []
    for part in parts:
        if part:
            out.extend(v for v, _ in stream.feed(part))
    out.extend(v for v, _ in stream.feed(b""))
    return out


@pytest.mark.parametrize("data,expected", GOLDEN)
def test_whole(data: bytes, expected: list[object]) -> None:
    assert values(JSONStream(), [data]) == expected


@pytest.mark.parametrize("data,expected", GOLDEN)
def test_byte_by_byte(data: bytes, expected: list[object]) -> None:
    assert values(JSONStream(), [data[i:i + 1] for i in range(len(data))]) == expected


@pytest.mark.parametrize("data,expected", GOLDEN)
def test_every_two_way_split(data: bytes, expected: list[object]) -> None:
    for cut in range(len(data) + 1):
        assert values(JSONStream(), [data[:cut], data[cut:]]) == expected, cut


def test_all_golden_glued_together() -> None:
    data = b"".join(d if d.rstrip().endswith((b"}", b"]", b'"')) else d + b"\n" for d, _ in GOLDEN)
    expected = [v for _, vs in GOLDEN for v in vs]
    assert values(JSONStream(), [data]) == expected


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=400), max_size=12))
def test_any_chunking_gives_the_same_values(cuts: list[int]) -> None:
    data = b"".join(d if d.rstrip().endswith((b"}", b"]", b'"')) else d + b"\n" for d, _ in GOLDEN)
    points = sorted({min(c, len(data)) for c in cuts})
    parts = [data[a:b] for a, b in zip([0] + points, points + [len(data)])]
    expected = [v for _, vs in GOLDEN for v in vs]
    assert values(JSONStream(), parts) == expected


def test_raw_bytes_are_each_value_exactly() -> None:
    stream = JSONStream()
    pairs = stream.feed(b'{"a": 1}  {"b":\n2}\n')
    assert [raw.strip() for _, raw in pairs] == [b'{"a": 1}', b'{"b":\n2}']


def test_number_at_end_waits_for_a_delimiter() -> None:
    stream = JSONStream()
    assert stream.feed(b"12") == []
    assert [v for v, _ in stream.feed(b"34 ")] == [1234]


@pytest.mark.parametrize("data", [b'{"method": bad}\n', b"xyz\n", b'{"a":1,}\n', b"}\n"])
def test_invalid_json_is_a_protocol_error(data: bytes) -> None:
    with pytest.raises(ProtocolError):
        JSONStream().feed(data)


def test_values_before_the_break_are_kept() -> None:
    with pytest.raises(ProtocolError) as info:
        JSONStream().feed(b'{"a":1}\n{"b":2}xyz\n')
    assert [v for v, _ in info.value.completed] == [{"a": 1}, {"b": 2}]


def test_end_of_stream_inside_a_value_is_an_error() -> None:
    stream = JSONStream()
    assert stream.feed(b'{"method":"Arith.Mul') == []
    with pytest.raises(ProtocolError, match="ended inside"):
        stream.feed(b"")


def test_incomplete_message_over_the_limit() -> None:
    stream = JSONStream(max_message_size=100)
    stream.feed(b'{"a":"' + b"x" * 60)
    with pytest.raises(ProtocolError, match="exceeds 100 bytes"):
        stream.feed(b"x" * 60)


def test_complete_message_over_the_limit() -> None:
    with pytest.raises(ProtocolError, match="exceeds 50 bytes"):
        JSONStream(max_message_size=50).feed(b'{"a":"' + b"x" * 100 + b'"}\n')


def test_large_value_in_many_pieces_is_scanned_once() -> None:
    stream = JSONStream()
    body = b'{"a":[' + b",".join(b'{"s":"}]"}' for _ in range(20000)) + b"]}"
    got = []
    for i in range(0, len(body), 1000):
        got.extend(stream.feed(body[i:i + 1000]))
    assert len(got) == 1 and len(got[0][0]["a"]) == 20000


def test_a_long_string_in_many_small_pieces_is_scanned_once() -> None:
    # Rescanning the held bytes with every piece made a 3 MB string in 4 KiB pieces cost 70 s.
    body = b'{"method":"Echo.Str","params":["' + b"x" * 4_000_000 + b'"],"id":1}'
    stream = JSONStream(max_message_size=5 << 20)
    started = time.perf_counter()
    got = []
    for i in range(0, len(body), 1024):
        got.extend(stream.feed(body[i:i + 1024]))
    got.extend(stream.feed(b" "))
    assert time.perf_counter() - started < 3  # about 0.1 s
    assert len(got) == 1 and len(got[0][0]["params"][0]) == 4_000_000


def test_the_servers_codec_also_reads_a_long_string_in_pieces_in_linear_time() -> None:
    body = b'{"method":"Echo.Str","params":["' + b"x" * 4_000_000 + b'"],"id":1}'
    codec = jsonserver.ServerCodec(services.make_server().registry.lookup, max_message_size=5 << 20)
    started = time.perf_counter()
    got = []
    for i in range(0, len(body), 1024):
        got.extend(codec.feed(body[i:i + 1024]))
    got.extend(codec.feed(b"\n"))
    assert time.perf_counter() - started < 3
    assert [len(request.args[0]) for request in got] == [4_000_000]


def test_invalid_utf8_is_replaced_as_go_does() -> None:
    [(value, _)] = JSONStream().feed(b'{"s":"a\xffb"}\n')
    assert value == {"s": "a\ufffdb"}


def test_deep_nesting_is_refused_not_a_crash() -> None:
    with pytest.raises(ProtocolError):
        JSONStream().feed(b"[" * 100000 + b"]" * 100000)


def nested(depth: int, inner: bytes = b"1") -> bytes:
    """Alternate arrays and objects, depth levels deep, around inner."""
    opened, closed = b"", b""
    for level in range(depth):
        opened += b"[" if level % 2 else b'{"k":'
        closed = (b"]" if level % 2 else b"}") + closed
    return opened + inner + closed


@pytest.mark.parametrize("split", ["line", "no newline", "byte by byte"])
def test_nesting_up_to_max_depth_is_read_and_one_more_level_is_refused(split: str) -> None:
    def feed(data: bytes) -> list[object]:
        stream = JSONStream(max_depth=40)
        end = b"\n" if split == "line" else b" "
        if split == "byte by byte":
            return values(stream, [data[i:i + 1] for i in range(len(data))] + [end])
        return values(stream, [data + end])
    assert feed(nested(40)) == [json.loads(nested(40))]
    with pytest.raises(ProtocolError, match="nests deeper than 40 levels"):
        feed(nested(41))


def test_brackets_inside_strings_do_not_count_as_nesting() -> None:
    brackets = b'"' + b"[{" * 100 + b'"'
    assert len(JSONStream(max_depth=30).feed(nested(30, brackets) + b"\n")) == 1
    escaped = b'["' + b"[" * 100 + b'\\"' + b"]" * 100 + b'\\\\"]\n'  # \" and \\ inside
    assert JSONStream(max_depth=1).feed(escaped)[0][0] == ["[" * 100 + '"' + "]" * 100 + "\\"]


def test_a_long_shallow_line_takes_the_fast_path_and_is_read() -> None:
    many = b"[" + b",".join(b'{"a":[%d]}' % i for i in range(2000)) + b"]\n"
    [(value, _)] = JSONStream(max_depth=3).feed(many)
    assert len(value) == 2000
    with pytest.raises(ProtocolError, match="deeper than 2"):
        JSONStream(max_depth=2).feed(many)


def test_values_before_a_too_deep_one_are_kept() -> None:
    with pytest.raises(ProtocolError) as info:
        JSONStream(max_depth=5).feed(b'{"a":1} [[[[[[1]]]]]]\n')
    assert [v for v, _ in info.value.completed] == [{"a": 1}]


def test_compact_keeps_literals_and_strings() -> None:
    assert compact(b'{ "a" : [1.0, 1e2, " x y "] }') == b'{"a":[1.0,1e2," x y "]}'


def test_member_text_is_case_insensitive_and_last_wins() -> None:
    raw = b'{"ID": 1, "method":"x", "id" : { "a" : [1, 2.50] }}'
    assert member_text(raw, "id") == b'{"a":[1,2.50]}'
    assert member_text(b'{"method":"x"}', "id") is None
