"""The server's gob and Go-HTTP side over real sockets: Go's captured cases, bad input, fuzz."""
from __future__ import annotations

import random
import socket
import time
from typing import Any, Iterator

import pytest

import greenrpc
from greenrpc.gotypes import Uint64
from greenrpc.wire.gob import ClientCodec
from greenrpc.wire.gob.primitives import NeedMore
from greenrpc.wire.gob.stream import ReadStream
from tests import services
from tests.gobtypes import add_kitchen
from tests.services import ArithRequest, ArithResponse
from tests.support import connect, continued_value, is_open, read_until_closed, vectors
from tests.wire.test_gob_netrpc import EDGE_DEVIATIONS

CONNECT = b"CONNECT /_goRPC_ HTTP/1.0\n\n"
CONNECTED = b"HTTP/1.0 200 Connected to Go RPC\n\n"
EDGE_CASES = {c["name"]: c for c in vectors("gob_server_edge_cases.json")}


@pytest.fixture
def gob_server() -> Iterator[greenrpc.Server]:
    server = services.make_server(message_timeout=2.0)
    add_kitchen(server.registry)
    server.start("127.0.0.1:0")
    yield server
    server.stop(timeout=5)


def read_values(sock: socket.socket, count: int, timeout: float = 5.0,
                stream: ReadStream | None = None) -> list[Any]:
    """Read gob values from sock until count arrived (fails on timeout or early close)."""
    stream = stream or ReadStream()
    values: list[Any] = []
    deadline = time.monotonic() + timeout
    while len(values) < count:
        try:
            values.append(stream.read_value())
            continue
        except NeedMore:
            pass
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        data = sock.recv(65536)
        assert data, f"closed after {values}"
        stream.feed(data)
    return values


def multiply_call(seq: int) -> bytes:
    return ClientCodec().encode("Arith.Multiply", ArithRequest(6, 7), seq)


def assert_still_serves(address: str) -> None:
    with connect(address) as sock:
        sock.sendall(multiply_call(0))
        header, body = read_values(sock, 2)
        assert header["Error"] == "" and body["Pro"] == 42


def expected_values(case: dict[str, Any]) -> list[Any]:
    stream = ReadStream()
    stream.feed(bytes.fromhex(case["server_to_client_hex"]))
    values = []
    while True:
        try:
            values.append(stream.read_value())
        except NeedMore:
            break
    if case["name"] in EDGE_DEVIATIONS:
        values[0]["Error"] = EDGE_DEVIATIONS[case["name"]]
    return values


def pairs(values: list[Any]) -> list[str]:
    return sorted(repr(values[i:i + 2]) for i in range(0, len(values), 2))


@pytest.mark.parametrize("name", list(EDGE_CASES))
def test_go_gob_edge_cases_over_tcp(gob_server: greenrpc.Server, name: str) -> None:
    case = EDGE_CASES[name]
    want = expected_values(case)
    with connect(gob_server.address) as sock:
        sock.sendall(bytes.fromhex(case["client_to_server_hex"]))
        if case["server_closed_connection"]:
            got = read_until_closed(sock, timeout=3)  # closed by the server, not by us
            stream = ReadStream()
            stream.feed(got)
            assert pairs(drain(stream)) == pairs(want)
        else:
            assert pairs(read_values(sock, len(want))) == pairs(want)
            assert is_open(sock, wait=0.1)
            sock.shutdown(socket.SHUT_WR)
            assert read_until_closed(sock) == b""
    assert_still_serves(gob_server.address)


def drain(stream: ReadStream) -> list[Any]:
    values = []
    while True:
        try:
            values.append(stream.read_value())
        except NeedMore:
            return values


def test_byte_by_byte_calls_are_answered(gob_server: greenrpc.Server) -> None:
    data = multiply_call(0)
    with connect(gob_server.address) as sock:
        for i in range(len(data)):
            sock.sendall(data[i:i + 1])
            time.sleep(0.001)
        header, body = read_values(sock, 2)
        assert body["Pro"] == 42


def test_slow_call_does_not_hold_up_later_calls(gob_server: greenrpc.Server) -> None:
    client = ClientCodec()
    data = client.encode("Slow.Sleep", services.SleepArgs(800, "slow"), 0)
    data += b"".join(client.encode("Echo.Int", i, i) for i in range(1, 101))
    with connect(gob_server.address) as sock:
        sock.sendall(data)
        stream = ReadStream()
        fast = read_values(sock, 200, stream=stream)  # run in order, the slow reply comes first
        assert sorted(h["Seq"] for h in fast[::2]) == list(range(1, 101))
        header, slow = read_values(sock, 2, stream=stream)
        assert (header["Seq"], slow) == (0, "slow")


HTTP_CASES = [c for c in vectors("http_edge_cases.json") if "client_to_server" in c
              and c["name"] != "get_debug_rpc_after_calls"]


@pytest.mark.parametrize("case", HTTP_CASES, ids=lambda c: c["name"])
def test_go_http_edge_cases_over_tcp(gob_server: greenrpc.Server, case: dict[str, Any]) -> None:
    with connect(gob_server.address) as sock:
        sock.sendall(case["client_to_server"].encode())
        if case["server_closed_connection"]:
            got = read_until_closed(sock).decode()
            strip_date = lambda text: "".join(  # noqa: E731
                line for line in text.splitlines(keepends=True) if not line.startswith("Date:"))
            assert strip_date(got) == strip_date(case["server_to_client"])
            return
        sock.settimeout(5)
        got = b""
        while len(got) < len(CONNECTED):
            got += sock.recv(1024)
        assert got == CONNECTED
        sock.sendall(multiply_call(0))
        assert read_values(sock, 2)[1]["Pro"] == 42


def test_a_call_sent_with_the_connect_request_is_answered(gob_server: greenrpc.Server) -> None:
    case = next(c for c in vectors("http_edge_cases.json")
                if c["name"] == "connect_and_gob_request_in_one_write")
    with connect(gob_server.address) as sock:
        sock.sendall(bytes.fromhex(case["client_to_server_hex"]))
        sock.settimeout(5)
        got = b""
        while len(got) < len(CONNECTED):
            got += sock.recv(len(CONNECTED) - len(got))
        assert got == CONNECTED  # Go's server would now wait forever: it lost the call
        header, body = read_values(sock, 2)
        assert body["Pro"] == 56


def test_a_lone_first_byte_waits_for_the_second(gob_server: greenrpc.Server) -> None:
    data = multiply_call(0)
    with connect(gob_server.address) as sock:
        sock.sendall(data[:1])
        time.sleep(0.05)
        sock.sendall(data[1:])
        assert read_values(sock, 2)[1]["Pro"] == 42


def test_a_stalled_message_is_closed_after_the_message_timeout(gob_server: greenrpc.Server) -> None:
    with connect(gob_server.address) as sock:
        sock.sendall(multiply_call(0)[:40])
        started = time.monotonic()
        assert read_until_closed(sock, timeout=5) == b""
        assert 1.5 < time.monotonic() - started < 4


def test_fuzzed_streams_never_take_the_server_down(gob_server: greenrpc.Server) -> None:
    rng = random.Random(7)
    captures = [bytes.fromhex(c["client_to_server_hex"]) for c in EDGE_CASES.values()]
    socks = []
    for round in range(60):
        base = rng.choice(captures)
        if round % 3 == 0:
            data = bytes(rng.getrandbits(8) for _ in range(rng.randrange(2, 300)))
        elif round % 3 == 1:
            data = base[:rng.randrange(1, len(base))]
        else:
            mutable = bytearray(base)
            for _ in range(rng.randrange(1, 5)):
                mutable[rng.randrange(len(mutable))] = rng.getrandbits(8)
            data = bytes(mutable)
        sock = connect(gob_server.address)
        sock.sendall(data)
        socks.append(sock)
    assert_still_serves(gob_server.address)
    for sock in socks:  # every connection ends: closed by the server, at EOF, or timed out
        sock.shutdown(socket.SHUT_WR)
        read_until_closed(sock, timeout=5)
        sock.close()
    assert_still_serves(gob_server.address)


def test_greenrpc_client_over_gob_and_go_http(gob_server: greenrpc.Server) -> None:
    for client in (greenrpc.dial(gob_server.address, codec="gob"),
                   greenrpc.dial_http(gob_server.address)):
        with client:
            assert client.call("Arith.Multiply", ArithRequest(7, 8),
                               result_type=ArithResponse) == ArithResponse(56)
            assert client.call("Arith.Multiply", ArithRequest(7, 8))["Pro"] == 56
            with pytest.raises(greenrpc.ServerError, match="^divide by zero$"):
                client.call("Arith.Divide", ArithRequest(1, 0))
            with pytest.raises(greenrpc.ServerError, match="can't find method Arith.Power"):
                client.call("Arith.Power", ArithRequest(1, 0))
            calls = [client.go("Arith.Multiply", ArithRequest(i, 3), result_type=ArithResponse)
                     for i in range(300)]
            assert [c.get(timeout=10).Pro for c in calls] == [3 * i for i in range(300)]
            assert client.call("Echo.Slice", 3, result_type=list[int]) == [0, 1, 2]
            with pytest.raises(greenrpc.RPCError, match="reading body gob: decoding into local "
                                                        "type \\*string, received remote type"):
                client.call("Echo.Slice", 3, result_type=str)
            assert client.call("Echo.Int", 5) == 5  # the connection goes on


def test_dial_http_refuses_a_wrong_path(gob_server: greenrpc.Server) -> None:
    with pytest.raises(greenrpc.ProtocolError, match="unexpected HTTP response: 404 Not Found"):
        greenrpc.dial_http(gob_server.address, path="/rpc")


def test_client_params_need_a_known_go_type(gob_server: greenrpc.Server) -> None:
    with greenrpc.dial(gob_server.address, codec="gob") as client:
        with pytest.raises(TypeError, match="cannot tell the Go type"):
            client.call("Echo.Slice", [])
        with pytest.raises(TypeError, match="cannot encode -1 as uint64"):
            client.call("Echo.Int", -1, params_type=Uint64)
        assert client.call("Echo.Int", 1) == 1  # nothing half-sent broke the stream
        with pytest.raises(greenrpc.ServerError, match="decoding into local type \\*int, "
                                                       "received remote type uint"):
            client.call("Echo.Int", 1, params_type=Uint64)
        assert client.call("Echo.Str", "", params_type=str) == ""


def blob(value: Any) -> int:
    return len(value["Data"]) + len(value["X"]["S"])


def test_a_value_trickling_in_after_an_interface_is_not_decoded_again_per_byte() -> None:
    # A 4 MiB value whose interface field continued in a message still arriving was decoded
    # again on every read: 0.7-1.3 s of CPU per byte, while no one else was served. Here 512 KiB
    # and 30 bytes a read apart: the server's CPU over the trickle stays near one decode.
    from greenrpc.wire.gob import headers
    from greenrpc.wire.gob.encode import WriteStream
    server = services.make_server(message_timeout=30)
    server.register_function(blob, name="Test.Blob")
    server.start("127.0.0.1:0")
    definitions, first, second = continued_value(512 << 10, "s" * 20)  # 30 bytes to trickle
    header = bytearray()
    WriteStream().write_value(headers.Request("Test.Blob", 1), headers.REQUEST, header)
    try:
        with connect(server.address) as sock:
            cpu = time.process_time()  # the server runs in this process
            sock.sendall(bytes(header) + definitions + first)
            for byte in second:
                sock.sendall(bytes([byte]))
                assert_still_serves(server.address)  # others are answered meanwhile
            reply_header, body = read_values(sock, 2)
            cpu = time.process_time() - cpu
    finally:
        server.stop(timeout=5)
    assert reply_header["Error"] == "" and body == (512 << 10) + 20
    assert cpu < 1.0, cpu  # measured 0.18 s; decoding again per byte took 2.3 s
