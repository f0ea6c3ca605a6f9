"""Write the seed corpora under fuzz/corpus/ from Go's captured bytes in tests/vectors/.

    python3 fuzz/seed_corpus.py

Each seed is one byte that says how the fuzz harness cuts the stream (0: whole), then a stream a
Go program sent: requests for the server codecs, replies for the client codecs.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
VECTORS = HERE.parent / "tests" / "vectors"


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
    return {
        "json": [case["client_to_server"].encode() for case in json_edge]
        + [bytes.fromhex(case[key]) for case in json_tcp
           for key in ("client_to_server_hex", "server_to_client_hex")]
        + [case["server_replied"].replace("ID", "0").encode() for case in fakes["json"]
           if case["server_replied"]]
        + JSONRPC2,
        "gob": gob,
    }


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
