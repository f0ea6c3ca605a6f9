"""Write the seed corpora under fuzz/corpus/ from Go's captured bytes in tests/vectors/.

    python3 fuzz/seed_corpus.py

Each seed is one byte that says how the fuzz harness cuts the stream (0: whole), then a stream a
Go program sent: requests for the server codecs, replies for the client codecs.
"""
from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
VECTORS = HERE.parent / "tests" / "vectors"
sys.path.insert(0, str(HERE.parent))  # this tree's greenrpc and tests, for the hostile seeds


# JSON-RPC 2.0 on the same stream (the specification's section 7 examples, and a mix with Go's).
JSONRPC2 = [
    b'{"jsonrpc": "2.0", "method": "Arith.Multiply", "params": [{"A": 7, "B": 8}], "id": 1}\n',
    b'{"jsonrpc": "2.0", "method": "Echo.Str", "params": {"s": "x"}, "id": "a"}\n',
    b'{"jsonrpc": "2.0", "method": "Echo.Int", "params": [1]}\n',
    b'[{"jsonrpc": "2.0", "method": "Echo.Int", "params": [1], "id": 1},'
    b' {"jsonrpc": "2.0", "method": "Echo.Int", "params": [2]}, {"foo": "boo"}, 1, []]\n',
    b'[]\n[1,2,3]\n{"jsonrpc": "2.0", "method": 1, "params": "bar"}\n',
    b'{"method":"Arith.Multiply","params":[{"A":7,"B":8}],"id":0}'
    b'{"jsonrpc":"2.0","method":"Arith.Divide","params":[{"A":1,"B":0}],"id":1.5}\n',
    b'{"jsonrpc": "2.0", "method": "foobar, "params": "bar", "baz]\n',
]


def load(name: str) -> object:
    return json.loads((VECTORS / name).read_text())


def streams() -> dict[str, list[bytes]]:
    json_edge = load("jsonrpc_server_edge_cases.json")
    json_tcp = load("jsonrpc_tcp.json")
    gob_files = [load("gob_tcp.json"), load("gob_server_edge_cases.json"),
                 load("extra_types.json")]
    fakes = load("go_client_vs_fake_servers.json")
    assert isinstance(json_edge, list) and isinstance(json_tcp, list) and isinstance(fakes, dict)
    gob: list[bytes] = []
    for cases in gob_files:
        assert isinstance(cases, list)
        for case in cases:
            if case.get("transport", "tcp") == "tcp":
                gob.append(bytes.fromhex(case["client_to_server_hex"]))
                gob.append(bytes.fromhex(case["server_to_client_hex"]))
    gob += [bytes.fromhex(case["server_reply_hex"]) for case in fakes["gob"]]
    go_json = ([case["client_to_server"].encode() for case in json_edge]
               + [bytes.fromhex(case[key]) for case in json_tcp
                  for key in ("client_to_server_hex", "server_to_client_hex")]
               + [case["server_replied"].replace("ID", "0").encode() for case in fakes["json"]
                  if case["server_replied"]])
    return {"json": go_json + JSONRPC2 + hostile_json(), "gob": gob + hostile_gob()}


def hostile_json() -> list[bytes]:
    """Small versions of inputs that once made the server amplify or forge (docs/reliability.md):
    batches over the limit, batches asking for big replies, control characters in names."""
    def v2(method: str, params: object, id: object) -> str:
        return json.dumps({"jsonrpc": "2.0", "method": method, "params": params, "id": id})
    return [
        b"[" + b",".join([b"1"] * 20) + b"]\n",
        b"[]\n[1]\n",
        ("[" + ",".join(v2("Echo.Str", ["x" * 1000], i) for i in range(8)) + "]\n").encode(),
        ("[" + ",".join(v2("Echo.Int", [i], i) for i in range(9)) + "]\n").encode(),
        ('[{"jsonrpc":"2.0","method":"a"},{"jsonrpc":"2.0","method":"b"}]\n').encode(),
        (v2("Nope\n2026-12-05 12:00:00,000 ERROR greenrpc forged\x1b[2K", [], 1) + "\n").encode(),
        ('{"method":"A.B\\u2028\\u202e","params":[],"id":2}\n').encode(),
        # lone surrogate escapes in a name, an id and a value: answered with U+FFFD, as Go does
        b'{"jsonrpc":"2.0","method":"a","params":["\\ud800"],"id":"\\ud800"}\n',
        b'{"method":"Arith.\\udc00","params":[{"A":1,"B":2}],"id":"\\ud800x"}\n'
        b'[{"jsonrpc":"2.0","method":"Echo.Str","params":["\\udfff\\ud800"],"id":"\\udbff"}]\n',
        # whitespace between values, which starts no message and must not count as activity
        b"  \t\r\n \n" + b" " * 64 + b'{"method":"Echo.Int","params":[1],"id":1}' + b" \n" * 32,
        # a message left unterminated, as those that held the memory budget
        b'{"method":"Echo.Str","params":["' + b"x" * 2000,
        # a batch of a blocking method, as those that ran past the in-flight caps
        ("[" + ",".join(v2("Slow.Sleep", [{"Ms": 0, "Tag": "t"}], i) for i in range(12))
         + "]\n").encode(),
    ]


def hostile_gob() -> list[bytes]:
    """Small versions of the gob inputs behind docs/reliability.md: a definition past the type
    budget, and values continuing in a second message after an inline definition (read by the
    server for an unknown method, and by the client as a reply to no call)."""
    from greenrpc.wire.gob import headers
    from greenrpc.wire.gob.encode import WriteStream
    from greenrpc.wire.gob.primitives import int_bytes, message, uint_bytes
    from tests.support import continued_value

    def header(value: object, spec: object) -> bytes:
        out = bytearray()
        WriteStream().write_value(value, spec, out)  # type: ignore[arg-type]
        return bytes(out)
    empty_fields = message(int_bytes(-65) + b"\x03\x02" + uint_bytes(3000) + b"\x00" * 3000
                           + b"\x00\x00")
    continued = b"".join(continued_value(40, "s" * 10))
    return [
        header(headers.Request("No.Such", 1), headers.REQUEST) + empty_fields,
        header(headers.Request("No.Such", 1), headers.REQUEST) + continued,
        header(headers.Response("Arith.Multiply", 9, ""), headers.RESPONSE) + continued,
        # a message that announces 64 KiB and stops early (held against the memory budget)
        header(headers.Request("Arith.Multiply", 2), headers.REQUEST) + uint_bytes(65536)
        + b"\x00" * 300,
        # a method name that is not UTF-8
        header(headers.Request("Arith.\udcff\udcfe", 3), headers.REQUEST) + message(b"\x00"),
    ]


def main() -> None:
    for target, seeds in streams().items():
        directory = HERE / "corpus" / target
        directory.mkdir(parents=True, exist_ok=True)
        for old in directory.iterdir():
            old.unlink()
        for seed in {b"\0" + stream for stream in seeds if stream}:
            (directory / hashlib.sha1(seed).hexdigest()[:16]).write_bytes(seed)
        print(target, len(list(directory.iterdir())), "seeds")


if __name__ == "__main__":
    main()
