"""A Node.js client (standard library only) speaking JSON-RPC 2.0 to greenrpc over TCP and HTTP."""
from __future__ import annotations

import json
import shutil

import pytest

from tests.support import ROOT, run

pytestmark = [pytest.mark.interop,
              pytest.mark.skipif(shutil.which("node") is None, reason="needs the node command")]
SCRIPT = ROOT / "tests" / "interop" / "node" / "client.mjs"


def test_node_client_over_tcp_and_http(address: str) -> None:
    done = run(["node", str(SCRIPT), address], timeout=60)
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    # Three replies (the notification got none), in completion order: match them by id.
    (batch,) = [reply for reply in seen["tcp"] if isinstance(reply, list)]
    first, missing = sorted((r for r in seen["tcp"] if isinstance(r, dict)), key=lambda r: r["id"])
    assert first == {"jsonrpc": "2.0", "result": {"Pro": 56, "Quo": 0, "Rem": 0}, "id": 1}
    by_id = {reply["id"]: reply for reply in batch}
    assert by_id["b1"]["result"]["Pro"] == 6
    assert by_id["b2"]["error"]["code"] == -32000
    assert by_id["b2"]["error"]["message"] == "divide by zero"
    assert missing["error"]["code"] == -32601 and missing["id"] == 3
    assert seen["single"]["status"] == 200 and seen["single"]["body"]["result"]["Pro"] == 42
    assert seen["batch"]["status"] == 200 and [r["id"] for r in seen["batch"]["body"]] == [11]
    assert seen["notification"] == {"status": 204, "body": None}
    assert seen["garbage"]["status"] == 400
    assert seen["garbage"]["body"]["error"]["code"] == -32700
