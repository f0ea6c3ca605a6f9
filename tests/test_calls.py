"""The client's sans-IO core alone: bytes and clocks in, settled calls out; no sockets."""
from __future__ import annotations

from typing import Any, Optional

import pytest

from greenrpc import CallTimeout, ConnectionClosed, ServerError
from greenrpc.calls import CallTable
from greenrpc.wire import jsonrpc1, jsonrpc2


class Call:
    def __init__(self, method: str, timeout: Optional[float] = None) -> None:
        self.id = -1
        self.method = method
        self.timeout = timeout
        self.deadline: Optional[float] = None

    def _resolve(self, result: Any, error: Optional[BaseException]) -> None:
        raise AssertionError("the table never resolves calls itself")


def reply(id: int, result: Optional[str] = None, error: Optional[str] = None) -> bytes:
    """Go's server's bytes for a reply (result as JSON text)."""
    return ('{"id":%d,"result":%s,"error":%s}\n' % (
        id, "null" if result is None else result, "null" if error is None else '"%s"' % error)
    ).encode()


def test_calls_are_numbered_from_zero_and_encoded_as_go_does() -> None:
    table: CallTable[Call] = CallTable(jsonrpc1.ClientCodec())
    first, second = Call("Arith.Multiply"), Call("Arith.Divide")
    assert table.start(first, {"A": 7, "B": 8}) == \
        b'{"method":"Arith.Multiply","params":[{"A":7,"B":8}],"id":0}\n'
    table.start(second, {"A": 1, "B": 0})
    assert (first.id, second.id) == (0, 1) and len(table.pending) == 2


def test_replies_settle_their_own_calls_in_any_order_and_strangers_are_dropped() -> None:
    table: CallTable[Call] = CallTable(jsonrpc1.ClientCodec())
    calls = [Call(f"M{n}") for n in range(3)]
    for call in calls:
        table.start(call, 1)
    data = reply(2, "20") + reply(7, "70") + reply(0, None, "divide by zero")
    outcomes = table.feed(data[:10]) + table.feed(data[10:])  # split anywhere
    assert [(call.method, result) for call, result, _ in outcomes] == [("M2", 20), ("M0", None)]
    assert isinstance(outcomes[1][2], ServerError) and str(outcomes[1][2]) == "divide by zero"
    assert list(table.pending) == [1]


def test_end_of_stream_fails_every_pending_call_and_closes_the_table() -> None:
    table: CallTable[Call] = CallTable(jsonrpc1.ClientCodec())
    calls = [Call("M") for _ in range(3)]
    for call in calls:
        table.start(call, None)
    outcomes = table.feed(reply(1, "1"))
    outcomes += table.feed(b"")
    assert [c.id for c, _, e in outcomes if e is None] == [1]
    failed = [(c.id, e) for c, _, e in outcomes if e is not None]
    assert [id for id, _ in failed] == [0, 2]
    assert all(isinstance(e, ConnectionClosed) for _, e in failed)
    with pytest.raises(ConnectionClosed, match="closed by the server"):
        table.start(Call("M"), None)


def test_a_good_reply_before_garbage_is_delivered_then_the_rest_fail() -> None:
    table: CallTable[Call] = CallTable(jsonrpc1.ClientCodec())
    first, second = Call("A"), Call("B")
    table.start(first, None)
    table.start(second, None)
    outcomes = table.feed(reply(0, "7") + b"<html>\n")
    assert outcomes[0][:2] == (first, 7) and outcomes[0][2] is None
    assert outcomes[1][0] is second and "bad reply from the server" in str(outcomes[1][2])
    assert table.closed is not None


def test_deadlines_expire_calls_nobody_waits_for_and_moving_one_keeps_it() -> None:
    table: CallTable[Call] = CallTable(jsonrpc1.ClientCodec())
    short, long, kept, forever = Call("S", 1.0), Call("L", 5.0), Call("K", 1.0), Call("F")
    table.start(short, None, deadline=101.0)
    table.start(long, None, deadline=105.0)
    table.start(kept, None, deadline=101.0)
    table.start(forever, None)
    table.extend(kept, 110.0)  # a waiter asked for longer
    assert table.next_deadline() == 101.0
    assert table.expire(100.9) == []
    expired = table.expire(101.0)
    assert [(c.method, str(e)) for c, _, e in expired] == [("S", "S: no reply within 1.0s")]
    assert isinstance(expired[0][2], CallTimeout)
    assert [c.method for c, _, _ in table.expire(109.0)] == ["L"]
    assert [c.method for c, _, _ in table.expire(1e9)] == ["K"]
    assert list(table.pending) == [forever.id]  # no deadline: never expires


def test_settled_calls_do_not_grow_the_deadline_heap() -> None:
    table: CallTable[Call] = CallTable(jsonrpc1.ClientCodec())
    for n in range(100_000):  # one call in flight at a time, each with a 60 s deadline
        call = Call("M", 60.0)
        table.start(call, None, deadline=1000.0 + n)
        assert len(table.feed(reply(call.id, "1"))) == 1
    assert len(table._deadlines) <= 2 * len(table.pending) + 65


def test_batches_and_notifications_need_json_rpc_2() -> None:
    table: CallTable[Call] = CallTable(jsonrpc2.ClientCodec())
    first, second = Call("Arith.Multiply"), Call("Echo.Int")
    data = table.start_batch([("Arith.Multiply", [{"A": 1, "B": 2}], first), ("Log", [1], None),
                              ("Echo.Int", [3], second)])
    assert data == (b'[{"jsonrpc":"2.0","method":"Arith.Multiply","params":[{"A":1,"B":2}],'
                    b'"id":0},{"jsonrpc":"2.0","method":"Log","params":[1]},'
                    b'{"jsonrpc":"2.0","method":"Echo.Int","params":[3],"id":1}]\n')
    outcomes = table.feed(b'[{"jsonrpc":"2.0","result":3,"id":1},'
                          b'{"jsonrpc":"2.0","result":{"Pro":2},"id":0}]\n')
    assert [(c.method, r) for c, r, _ in outcomes] == [("Echo.Int", 3),
                                                       ("Arith.Multiply", {"Pro": 2})]
    go_table: CallTable[Call] = CallTable(jsonrpc1.ClientCodec())
    with pytest.raises(Exception, match="notifications need JSON-RPC 2.0"):
        go_table.encode_notification("Log", [1])
