"""JSON-RPC 2.0 on the JSON stream codec, with bytes alone: the spec's examples and every error path.

The table is the JSON-RPC 2.0 specification's section 7 examples plus greenrpc's own cases. Each
input is fed whole and byte by byte; replies are compared as JSON, errors by code and id (the
spec leaves the message text to the server), batch replies in any order.
"""
from __future__ import annotations

import json
from typing import Any, Optional

import pytest

from greenrpc import ServerError, errors
from greenrpc.errors import ProtocolError
from greenrpc.messages import NO_ID, Batch, Dialect, Request, Response
from greenrpc.registry import Registry
from greenrpc.wire import jsonrpc2, jsonserver
from tests import services
from tests.support import vectors
from tests.wire.test_jsonrpc1 import IN_V2


def subtract(minuend: int, subtrahend: int) -> int:
    return minuend - subtrahend


def add_all(*numbers: int) -> int:
    return sum(numbers)


def update(*values: Any) -> None:
    pass


def notify_hello(n: int) -> None:
    pass


def get_data() -> list[Any]:
    return ["hello", 5]


def crash() -> None:
    raise ValueError("boom")


def out_of_stock(sku: int) -> None:
    raise ServerError("out of stock", 42, {"sku": sku})


def spec_registry() -> Registry:
    registry = Registry()
    for function, name in [(subtract, "subtract"), (add_all, "sum"), (update, "update"),
                           (notify_hello, "notify_hello"), (get_data, "get_data"),
                           (crash, "crash"), (out_of_stock, "out_of_stock")]:
        registry.register_function(function, name)
    return registry


def run(data: bytes, chunked: bool = False, codec: Optional[jsonserver.ServerCodec] = None,
        registry: Optional[Registry] = None) -> tuple[list[Any], bool]:
    """Feed data and EOF; return the decoded replies and whether the codec broke the stream."""
    registry = registry or spec_registry()
    codec = codec or jsonserver.ServerCodec(registry.lookup)
    parts = [data[i:i + 1] for i in range(len(data))] if chunked else [data]
    messages: list[Any] = []
    broken = False
    try:
        for part in parts + [b""]:
            messages.extend(codec.feed(part))
    except ProtocolError as err:
        messages.extend(err.completed)
        broken = True
    out = []
    for message in messages:
        if type(message) is Batch:
            response: Any = [registry.dispatch(item) if type(item) is Request else item
                             for item in message.items]
        elif type(message) is Response:
            response = message
        else:
            response = registry.dispatch(message)
        encoded = codec.encode(response)
        if encoded:
            assert encoded.endswith(b"\n") and encoded.count(b"\n") == 1
            out.append(json.loads(encoded))
    return out, broken


def normal(value: Any) -> Any:
    """Errors reduced to their code; batch arrays sorted, since their order is free."""
    if type(value) is list:
        return sorted((normal(v) for v in value), key=lambda v: json.dumps(v, sort_keys=True))
    if type(value) is dict and "error" in value and type(value["error"]) is dict:
        return {**value, "error": {"code": value["error"]["code"]}}
    return value


def err(code: int, id: Any) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "error": {"code": code, "message": ""}, "id": id}


def ok(result: Any, id: Any) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "result": result, "id": id}


SPEC_BATCH = b'''[
 {"jsonrpc": "2.0", "method": "sum", "params": [1,2,4], "id": "1"},
 {"jsonrpc": "2.0", "method": "notify_hello", "params": [7]},
 {"jsonrpc": "2.0", "method": "subtract", "params": [42,23], "id": "2"},
 {"foo": "boo"},
 {"jsonrpc": "2.0", "method": "foo.get", "params": {"name": "myself"}, "id": "5"},
 {"jsonrpc": "2.0", "method": "get_data", "id": "9"}
]'''

# (name, request bytes, expected replies, connection broken)
CASES: list[tuple[str, bytes, list[Any], bool]] = [
    # The specification's examples (section 7).
    ("positional", b'{"jsonrpc": "2.0", "method": "subtract", "params": [42, 23], "id": 1}',
     [ok(19, 1)], False),
    ("positional_reversed", b'{"jsonrpc": "2.0", "method": "subtract", "params": [23, 42], "id": 2}',
     [ok(-19, 2)], False),
    ("named", b'{"jsonrpc": "2.0", "method": "subtract", '
              b'"params": {"subtrahend": 23, "minuend": 42}, "id": 3}', [ok(19, 3)], False),
    ("named_reordered", b'{"jsonrpc": "2.0", "method": "subtract", '
                        b'"params": {"minuend": 42, "subtrahend": 23}, "id": 4}', [ok(19, 4)], False),
    ("notification", b'{"jsonrpc": "2.0", "method": "update", "params": [1,2,3,4,5]}', [], False),
    ("notification_no_params", b'{"jsonrpc": "2.0", "method": "foobar"}', [], False),
    ("method_not_found", b'{"jsonrpc": "2.0", "method": "foobar", "id": "1"}',
     [err(-32601, "1")], False),
    ("invalid_json", b'{"jsonrpc": "2.0", "method": "foobar, "params": "bar", "baz]',
     [err(-32700, None)], True),
    ("invalid_request_object", b'{"jsonrpc": "2.0", "method": 1, "params": "bar"}',
     [err(-32600, None)], False),
    ("batch_invalid_json", b'[\n  {"jsonrpc": "2.0", "method": "sum", "params": [1,2,4], "id": "1"},'
                           b'\n  {"jsonrpc": "2.0", "method"\n]', [err(-32700, None)], True),
    ("empty_batch", b"[]", [err(-32600, None)], False),
    ("batch_of_one_invalid", b"[1]", [[err(-32600, None)]], False),
    ("batch_of_invalid", b"[1,2,3]", [[err(-32600, None)] * 3], False),
    ("batch_mixed", SPEC_BATCH, [[ok(7, "1"), ok(19, "2"), err(-32600, None), err(-32601, "5"),
                                  ok(["hello", 5], "9")]], False),
    ("batch_all_notifications", b'[{"jsonrpc": "2.0", "method": "notify_sum", "params": [1,2,4]},'
                                b'{"jsonrpc": "2.0", "method": "notify_hello", "params": [7]}]',
     [], False),
    # greenrpc's error paths.
    ("too_many_params", b'{"jsonrpc":"2.0","method":"subtract","params":[1,2,3],"id":5}',
     [err(-32602, 5)], False),
    ("missing_param", b'{"jsonrpc":"2.0","method":"subtract","params":[1],"id":5}',
     [err(-32602, 5)], False),
    ("unknown_named_param", b'{"jsonrpc":"2.0","method":"subtract","params":'
                            b'{"minuend":1,"subtrahend":2,"x":3},"id":5}', [err(-32602, 5)], False),
    ("wrong_param_type", b'{"jsonrpc":"2.0","method":"subtract","params":["1",2],"id":5}',
     [err(-32602, 5)], False),
    ("method_raises", b'{"jsonrpc":"2.0","method":"crash","id":6}', [err(-32603, 6)], False),
    ("method_chooses_error", b'{"jsonrpc":"2.0","method":"out_of_stock","params":[7],"id":7}',
     [{"jsonrpc": "2.0", "error": {"code": 42, "message": "out of stock", "data": {"sku": 7}},
       "id": 7}], False),
    ("notification_that_fails_is_silent", b'{"jsonrpc":"2.0","method":"crash"}', [], False),
    ("unknown_notification_is_silent", b'{"jsonrpc":"2.0","method":"nope","params":[]}', [], False),
    ("params_scalar", b'{"jsonrpc":"2.0","method":"subtract","params":7,"id":8}',
     [err(-32600, 8)], False),
    ("id_bool", b'{"jsonrpc":"2.0","method":"get_data","id":true}', [err(-32600, None)], False),
    ("id_object", b'{"jsonrpc":"2.0","method":"get_data","id":{"a":1}}', [err(-32600, None)], False),
    ("id_null_is_answered", b'{"jsonrpc":"2.0","method":"get_data","id":null}',
     [ok(["hello", 5], None)], False),
    ("id_string_kept", b'{"jsonrpc":"2.0","method":"get_data","id":"\\u00e9<&>"}',
     [ok(["hello", 5], "\u00e9<&>")], False),
    ("null_result", b'{"jsonrpc":"2.0","method":"update","id":1}', [ok(None, 1)], False),
    ("batch_element_wrong_version", b'[{"jsonrpc":"1.0","method":"get_data","id":1}]',
     [[err(-32600, 1)]], False),
    ("batch_element_go_dialect", b'[{"method":"get_data","params":[],"id":1}]',
     [[err(-32600, 1)]], False),
    ("scalar_after_v2", b'{"jsonrpc":"2.0","method":"update"} 42', [err(-32600, None)], False),
    ("garbage_after_v2", b'{"jsonrpc":"2.0","method":"update"} xyz', [err(-32700, None)], True),
    ("oversized_after_v2", b'{"jsonrpc":"2.0","method":"update"}\n[' + b" " * 5000,
     [err(-32700, None)], True),
]


@pytest.mark.parametrize("chunked", [False, True], ids=["whole", "byte-by-byte"])
@pytest.mark.parametrize("name,data,want,broken", CASES, ids=[c[0] for c in CASES])
def test_spec_and_error_cases(name: str, data: bytes, want: list[Any], broken: bool,
                              chunked: bool) -> None:
    codec = jsonserver.ServerCodec(spec_registry().lookup, max_message_size=4096)
    got, got_broken = run(data, chunked, codec)
    assert normal(got) == normal(want)
    assert got_broken == broken


def test_fractional_and_big_ids_are_echoed_as_written() -> None:
    got, _ = run(b'{"jsonrpc":"2.0","method":"get_data","id":1.0}'
                 b'{"jsonrpc":"2.0","method":"get_data","id":123456789012345678901234567890}')
    codec = jsonserver.ServerCodec(spec_registry().lookup)
    (request,) = codec.feed(b'{"jsonrpc":"2.0","method":"get_data","id":1e2}')
    assert codec.encode(Response(request, ["a", 1])) == \
        b'{"jsonrpc":"2.0","result":["a",1],"id":1e2}\n'
    assert [reply["id"] for reply in got] == [1.0, 123456789012345678901234567890]


def test_an_oversized_batch_gets_one_error_and_nothing_runs(monkeypatch: pytest.MonkeyPatch
                                                            ) -> None:
    items = [{"jsonrpc": "2.0", "method": "get_data", "id": i} for i in range(4)]
    items.append({"jsonrpc": "2.0", "method": "update"})
    looked_at = []
    real = jsonrpc2.decode_request
    monkeypatch.setattr(jsonrpc2, "decode_request", lambda *a: looked_at.append(a) or real(*a))
    def small() -> jsonserver.ServerCodec:
        return jsonserver.ServerCodec(spec_registry().lookup, max_batch_size=3)
    codec = small()
    (refused,) = codec.feed(json.dumps(items).encode())
    assert type(refused) is Response and not looked_at  # no element was even decoded
    assert codec.encode(refused) == (b'{"jsonrpc":"2.0","error":{"code":-32600,"message":'
                                     b'"Invalid Request","data":"batch of 5 requests exceeds '
                                     b'the limit of 3"},"id":null}\n')
    within, _ = run(json.dumps(items[:3]).encode(), codec=small())
    assert [r["result"] for r in within[0]] == [["hello", 5]] * 3


def test_a_huge_batch_of_junk_costs_one_small_reply() -> None:
    # The probe's batch at a quarter of its size: 1 MiB of "[1,1,...]" used to be answered with
    # 525,000 error objects (70 MiB).
    data = b"[" + b",".join([b"1"] * 525_000) + b"]\n"
    got, broken = run(data)
    assert not broken and len(got) == 1
    assert got[0]["error"]["code"] == errors.INVALID_REQUEST and got[0]["id"] is None
    assert got[0]["error"]["data"] == "batch of 525000 requests exceeds the limit of 1000"


def echo(size: int, id: Any) -> Response:
    return Response(Request("echo", [], id, Dialect.JSON_RPC2), "x" * size)


def test_batch_replies_past_the_reply_budget_become_errors() -> None:
    responses = [echo(1000, i) for i in range(10)]
    responses.append(Response(Request("update", [], NO_ID, Dialect.JSON_RPC2), None))
    data = jsonrpc2.encode_batch(responses, max_reply_size=3000)
    replies = json.loads(data)
    assert [r["id"] for r in replies] == list(range(10))  # every call is answered, in order
    assert [len(r.get("result", "")) for r in replies[:2]] == [1000, 1000]
    for reply in replies[2:]:
        assert reply["error"] == {"code": errors.BATCH_TOO_LARGE, "message": "Batch too large",
                                  "data": "the replies to this batch exceed the limit of 3000 "
                                          "bytes: the call ran, its reply was dropped"}
    assert len(data) < 3000 + 8 * 200
    # A small reply after a refused big one still fits, and by default 4 MiB fit.
    mixed = json.loads(jsonrpc2.encode_batch([echo(5000, 1), echo(10, 2)], max_reply_size=3000))
    assert "error" in mixed[0] and mixed[1]["result"] == "x" * 10
    assert len(json.loads(jsonrpc2.encode_batch([echo(1 << 20, i) for i in range(3)]))) == 3


def test_the_server_codec_applies_its_batch_reply_budget() -> None:
    codec = jsonserver.ServerCodec(spec_registry().lookup, max_batch_reply_size=1500)
    replies = json.loads(codec.encode([echo(1000, 1), echo(1000, 2)]))
    assert "result" in replies[0] and replies[1]["error"]["code"] == errors.BATCH_TOO_LARGE


def test_invalid_json_on_a_go_connection_closes_silently() -> None:
    # Go's client never sends invalid JSON; Go's server closes without a word (docs/protocol.md 2.2).
    got, broken = run(b'{"method":"Arith.Multiply","params":[{"A":1,"B":2}],"id":1} xyz',
                      registry=services.make_server().registry)
    assert broken and [reply["id"] for reply in got] == [1] and "jsonrpc" not in got[0]


def test_go_and_v2_requests_share_a_stream() -> None:
    data = (b'{"method":"Arith.Multiply","params":[{"A":7,"B":8}],"id":0}'
            b'{"jsonrpc":"2.0","method":"Arith.Multiply","params":[{"A":2,"B":3}],"id":0}\n'
            b'{"method":"Arith.Divide","params":[{"A":1,"B":0}],"id":1}')
    got, broken = run(data, registry=services.make_server().registry)
    assert not broken
    assert got == [{"id": 0, "result": {"Pro": 56, "Quo": 0, "Rem": 0}, "error": None},
                   {"jsonrpc": "2.0", "result": {"Pro": 6, "Quo": 0, "Rem": 0}, "id": 0},
                   {"id": 1, "result": None, "error": "divide by zero"}]


# Go's captured vectors that docs/protocol.md 5.1 answers in 2.0 instead: (replies, connection closed).
ANSWERED_AS_JSONRPC2: dict[str, tuple[list[Any], bool]] = {
    "jsonrpc_2_0_member_ignored": ([ok({"Pro": 56, "Quo": 0, "Rem": 0}, 1)], False),
    "jsonrpc_2_0_named_params": ([err(-32602, 1)], False),  # Multiply takes one struct argument
    "top_level_array_batch": ([[err(-32600, 1), err(-32600, 2)]], False),
}


@pytest.mark.parametrize("name", sorted(ANSWERED_AS_JSONRPC2))
def test_go_vectors_that_are_jsonrpc2(name: str) -> None:
    assert set(ANSWERED_AS_JSONRPC2) == IN_V2  # every other Go vector: test_jsonrpc1.py
    case = {c["name"]: c for c in vectors("jsonrpc_server_edge_cases.json")}[name]
    got, broken = run(case["client_to_server"].encode(), registry=services.make_server().registry)
    want, closed = ANSWERED_AS_JSONRPC2[name]
    assert normal(got) == normal(want)
    assert broken == closed


def test_client_codec_writes_params_by_position_and_by_name() -> None:
    codec = jsonrpc2.ClientCodec()
    assert json.loads(codec.encode("subtract", [42, 23], 1)) == {
        "jsonrpc": "2.0", "method": "subtract", "params": [42, 23], "id": 1}
    assert json.loads(codec.encode("subtract", {"minuend": 42}, 2))["params"] == {"minuend": 42}
    assert "params" not in json.loads(codec.encode("get_data", None, 3))
    assert "id" not in json.loads(codec.encode_notification("update", [1]))
    with pytest.raises(TypeError, match="wrap one argument"):
        codec.encode("subtract", 42, 4)
    batch = json.loads(codec.encode_batch([("a", [1], 5), ("b", None, jsonrpc2.NO_ID)]))
    assert batch == [{"jsonrpc": "2.0", "method": "a", "params": [1], "id": 5},
                     {"jsonrpc": "2.0", "method": "b"}]


def test_client_codec_reads_single_and_batch_replies() -> None:
    codec = jsonrpc2.ClientCodec()
    replies = codec.feed(b'{"jsonrpc":"2.0","result":19,"id":1}\n[{"jsonrpc":"2.0","result":null,'
                         b'"id":2},{"jsonrpc":"2.0","error":{"code":42,"message":"out of stock",'
                         b'"data":{"sku":7}},"id":3}]\n')
    assert [(r.id, r.result) for r in replies[:2]] == [(1, 19), (2, None)]
    error = replies[2].error
    assert isinstance(error, ServerError)
    assert (error.message, error.code, error.data) == ("out of stock", 42, {"sku": 7})
    with pytest.raises(ProtocolError):
        codec.feed(b"42\n")


def test_the_parse_error_answer_does_not_depend_on_how_reads_cut_the_stream() -> None:
    # Found by fuzz/json_fuzz.py: whether broken bytes "mention jsonrpc" was judged on the whole
    # read, so bytes after the broken value, present or not in that read, changed the answer.
    data = b'e\0\0\0,3]\n{"jsonrpc": "2.0", "method": 1, "params": "bar"}\n'
    whole, broken = run(data)
    assert (whole, broken) == run(data, chunked=True) == ([], True)
    spoke, _ = run(b'{"jsonrpc": "2.0", "method": "foobar, "params": "bar", "baz]\n', chunked=True)
    assert [reply["error"]["code"] for reply in spoke] == [-32700]


def test_client_codec_keeps_the_replies_before_a_broken_stream() -> None:
    # Found by fuzz/jsonserver_fuzz.py: raw (value, bytes) pairs escaped as replies, and the
    # stream decoded differently cut in pieces than whole.
    data = b'{"jsonrpc":"2.0","result":1,"id":1}\n"params" xyz'
    for step in (len(data), 8, 1):
        codec = jsonrpc2.ClientCodec()
        replies = []
        with pytest.raises(ProtocolError) as raised:
            for i in range(0, len(data), step):
                replies += codec.feed(data[i:i + step])
            codec.feed(b"")
        replies += raised.value.completed
        assert [(r.id, r.result) for r in replies] == [(1, 1)], step
        assert str(raised.value) == "response is a JSON string, not an object"
