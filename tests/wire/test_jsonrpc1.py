"""Go's jsonrpc dialect with bytes alone: captured Go server behaviour replayed on the codec the
server runs (wire/jsonserver.py), and Go's client side (wire/jsonrpc1.py)."""
from __future__ import annotations

import ast
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from greenrpc.errors import ProtocolError
from greenrpc.messages import Response
from greenrpc.wire import jsonrpc1, jsonserver
from tests import services
from tests.support import ROOT, vectors

EDGE_CASES = vectors("jsonrpc_server_edge_cases.json")
# Where greenrpc answers differently from Go on purpose (each is documented in docs/go.md).
DEVIATIONS = {
    # Go sends "result":null for a nil reply, which its own client rejects as a fatal error.
    "result_null_on_success": ['{"id":1,"result":{},"error":null}\n'],
    # ujson gives us the number, not its literal: Go quotes the literal in this message.
    "params_field_exponent": ['{"id":1,"result":null,"error":"json: cannot unmarshal number '
                              '100.0 into Go struct field ArithRequest.A of type int"}\n'],
    # Go names the package of the Go type ("main."); greenrpc names the Python module.
    "params_inner_array": ['{"id":1,"result":null,"error":"json: cannot unmarshal array into Go '
                           'value of type services.ArithRequest"}\n'],
}
CONCURRENT = {"out_of_order_slow_then_fast", "halfclose_with_request_in_flight"}
# Go's vectors that the shared JSON stream answers in 2.0 (docs/protocol.md 5.1): in test_jsonrpc2.
IN_V2 = {"jsonrpc_2_0_member_ignored", "jsonrpc_2_0_named_params", "top_level_array_batch"}


def replies(data: bytes, chunked: bool) -> tuple[list[str], bool]:
    """Feed data to a codec and the test services; return reply lines and whether it broke."""
    registry = services.make_server().registry
    codec = jsonserver.ServerCodec(registry.lookup)
    parts = [data[i:i + 1] for i in range(len(data))] if chunked else [data]
    messages, broken = [], False
    try:
        for part in parts + [b""]:
            messages.extend(codec.feed(part))
    except ProtocolError as err:
        messages.extend(err.completed)
        broken = True
    out = []
    for message in messages:
        response = message if isinstance(message, Response) else registry.dispatch(message)
        out.append(codec.encode(response).decode())
    return out, broken


def expected_lines(case: dict) -> list[str]:
    if case["name"] in DEVIATIONS:
        return DEVIATIONS[case["name"]]
    return case["server_to_client"].splitlines(keepends=True)


def same(got: list[str], want: list[str], any_order: bool) -> bool:
    parse = [json.loads(line) for line in got], [json.loads(line) for line in want]
    if any_order:
        key = lambda v: json.dumps(v, sort_keys=True)  # noqa: E731
        return sorted(parse[0], key=key) == sorted(parse[1], key=key)
    return parse[0] == parse[1]


@pytest.mark.parametrize("chunked", [False, True], ids=["whole", "byte-by-byte"])
@pytest.mark.parametrize("case", [c for c in EDGE_CASES if c["name"] not in CONCURRENT | IN_V2],
                         ids=lambda c: c["name"])
def test_go_server_edge_cases(case: dict, chunked: bool) -> None:
    got, broken = replies(case["client_to_server"].encode(), chunked)
    assert same(got, expected_lines(case), bool(case.get("reply_order_nondeterministic")))
    assert all(line.endswith("\n") and line.count("\n") == 1 for line in got)
    # Go closes on its own exactly when the stream broke; at EOF everything ends anyway.
    if case["server_closed_connection"]:
        assert broken


@pytest.mark.parametrize("case", vectors("jsonrpc_tcp.json"), ids=lambda c: c["name"])
def test_go_transport_vectors_served(case: dict) -> None:
    data = bytes.fromhex(case["client_to_server_hex"])
    got, broken = replies(data, chunked=False)
    want = [line + "\n" for line in case["server_to_client_json"]]
    assert not broken
    assert same(got, want, any_order=True)


def test_success_reply_is_compact_and_in_go_key_order() -> None:
    got, _ = replies(b'{"method":"Arith.Multiply","params":[{"A":7,"B":8}],"id":0}', False)
    assert got == ['{"id":0,"result":{"Pro":56,"Quo":0,"Rem":0},"error":null}\n']


@pytest.mark.parametrize("raw_id", [b"1.0", b"1e2", b"-0.5", b"123456789012345678901234567890",
                                    b'{"a":[1,2.0]}', b'"x"', b"true", b"[1e2]"])
def test_ids_are_echoed_as_written(raw_id: bytes) -> None:
    data = b'{"method":"Echo.Int","params":[1],"id":' + raw_id + b"}"
    [line], _ = replies(data, False)
    assert line.startswith('{"id":' + raw_id.decode() + ',"result":1,')


REGISTRY = services.make_server().registry


def test_unencodable_results_become_error_replies() -> None:
    codec = jsonserver.ServerCodec(REGISTRY.lookup)
    [request] = codec.feed(b'{"method":"Echo.Any","params":[1],"id":3}')
    nan = codec.encode(Response(request, float("nan")))
    assert json.loads(nan) == {"id": 3, "result": None, "error": "json: unsupported value: NaN"}
    bad = codec.encode(Response(request, {1, 2}))
    assert json.loads(bad)["error"] == "json: unsupported type: set"
    inf = codec.encode(Response(request, {"s": "NaN", "f": [float("-inf")]}))
    assert json.loads(inf)["error"] == "json: unsupported value: -Inf"
    text = codec.encode(Response(request, {"s": "NaN and Infinity"}))
    assert json.loads(text)["result"] == {"s": "NaN and Infinity"}


def test_empty_error_text_is_never_sent() -> None:
    from greenrpc.errors import ServerError
    codec = jsonserver.ServerCodec(REGISTRY.lookup)
    [request] = codec.feed(b'{"method":"Echo.Any","params":[1],"id":3}')
    line = codec.encode(Response(request, error=ServerError("")))
    assert json.loads(line)["error"] == "unspecified error"


def test_client_codec_writes_what_go_writes() -> None:
    for case in vectors("jsonrpc_tcp.json"):
        if case["name"] in ("multiply", "divide", "divzero"):
            [go_request] = case["client_to_server_json"]
            request = json.loads(go_request)
            ours = jsonrpc1.ClientCodec().encode(request["method"], request["params"][0],
                                                 request["id"])
            assert ours == go_request.encode() + b"\n"


def test_client_codec_reads_go_replies() -> None:
    codec = jsonrpc1.ClientCodec()
    data = (b'{"id":0,"result":{"Pro":56},"error":null}\n{"ID":1,"RESULT":null,'
            b'"ERROR":"divide by zero"}\n{"id":2,"result":null,"error":""}{"id":null,"error":"x"}')
    [ok, err, empty] = codec.feed(data)
    assert (ok.id, ok.result, ok.error) == (0, {"Pro": 56}, None)
    assert (err.id, str(err.error)) == (1, "divide by zero")
    assert str(empty.error) == "unspecified error"
    with pytest.raises(ProtocolError):
        codec.feed(b'{"id":"0","result":1,"error":null}\n')


def test_wire_modules_do_not_import_gevent_or_sockets() -> None:
    for path in (ROOT / "greenrpc" / "wire").rglob("*.py"):
        tree = ast.parse(path.read_text())
        names = {alias.name.split(".")[0] for node in ast.walk(tree)
                 if isinstance(node, (ast.Import, ast.ImportFrom))
                 for alias in (node.names if isinstance(node, ast.Import) else
                               [type("A", (), {"name": node.module or ""})()])}
        assert not names & {"gevent", "socket", "logging", "select"}, path


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8)
    | st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner,
                                                                max_size=4),
    max_leaves=8)
REQUESTS = st.builds(
    lambda method, params, id, shape, ascii: json.dumps(
        shape({"method": method, "params": params, "id": id}), ensure_ascii=ascii,
        indent=None if ascii else 1),
    st.sampled_from(["Arith.Multiply", "Echo.Str", "", "x", "a.b.c"]) | st.text(max_size=6),
    st.lists(JSON_VALUES, max_size=2) | JSON_VALUES,
    st.integers() | st.text(max_size=4) | st.floats(allow_nan=False, allow_infinity=False)
    | st.none() | st.lists(st.integers(), max_size=2),
    st.sampled_from([lambda r: r, lambda r: {k.upper(): v for k, v in r.items()},
                     lambda r: {"id": r["id"], "method": r["method"]}]),  # case, no params
    st.booleans())
STREAMS = st.lists(st.tuples(REQUESTS, st.sampled_from(["", "\n", " ", "\r\n", "\t\n "])),
                   min_size=1, max_size=8).map(
    lambda parts: "".join(r + sep for r, sep in parts).encode())
TAILS = st.sampled_from([b"", b"\n", b'{"method":"Echo.Str","par', b"xyz\n", b"[1,2]", b"}",
                         b'{"method":12,"params":[],"id":1}', b"12", b'"str', b"[" * 600])


def decoded_requests(data: bytes, cuts: list[int]) -> tuple[list[str], str]:
    """What the codec makes of data fed in pieces cut at cuts, then end of stream."""
    codec = jsonserver.ServerCodec(REGISTRY.lookup)
    points = sorted({min(c, len(data)) for c in cuts})
    parts = [data[a:b] for a, b in zip([0] + points, points + [len(data)])] + [b""]
    messages: list[object] = []
    broken = ""
    try:
        for part in parts:
            messages.extend(codec.feed(part))
    except ProtocolError as err:
        messages.extend(err.completed)
        broken = str(err)
    return [repr(m) for m in messages], broken


@settings(max_examples=250, deadline=None)
@given(STREAMS, TAILS, st.lists(st.integers(min_value=0, max_value=3000), max_size=16))
def test_any_chunking_gives_the_server_codec_the_same_requests(
        stream: bytes, tail: bytes, cuts: list[int]) -> None:
    data = stream + tail
    assert decoded_requests(data, cuts) == decoded_requests(data, [])


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(EDGE_CASES), st.lists(st.integers(min_value=0, max_value=400),
                                             max_size=12))
def test_any_chunking_of_go_edge_cases_gives_the_same_requests(case: dict,
                                                               cuts: list[int]) -> None:
    data = case["client_to_server"].encode()
    assert decoded_requests(data, cuts) == decoded_requests(data, [])


def test_invalid_utf8_in_a_member_name_next_to_a_raw_id_is_read_as_go_reads_it() -> None:
    # Found by fuzz/json_fuzz.py: finding the raw id text decoded member names strictly.
    [answer] = jsonserver.ServerCodec(REGISTRY.lookup).feed(
        b'{"method":"Arith.Multiply","p\xffarams":[{"A":7,"B":8}],"id":1.0}\n')
    assert isinstance(answer, Response)  # no params member: Go's error, the id as written
    assert answer.request.id == jsonrpc1.RawJSON("1.0")
