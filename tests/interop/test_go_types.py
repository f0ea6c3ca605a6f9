"""The round-trip proof: Go's net/rpc and greenrpc exchange a struct of every kind, both ways.

tests/interop/go/profiles declares Profile (embedded structs, time.Time, time.Duration, enums,
pointers, maps, arrays, tags with omitempty and "-") and its service in plain Go; greenrpc's
side uses the module `greenrpc gen python` wrote from that file (tests/generated/profiles.py).
"""
from __future__ import annotations

import json
import subprocess
from typing import Iterator

import pytest

import greenrpc
from greenrpc.gotime import Duration, Time, zone
from tests import profiles
from tests.generated.profiles import Color, Level, ProfilesClient, Stamp
from tests.support import go_binary, run, vectors

pytestmark = pytest.mark.interop
HIDDEN_IN_JSON = {"json": ["Profile.secret: '' != 's3cret'"], "gob": []}


@pytest.fixture(scope="module")
def go_server() -> Iterator[dict[str, str]]:
    process = subprocess.Popen([str(go_binary("profiles")), "serve"], stdout=subprocess.PIPE,
                               text=True)
    try:
        assert process.stdout is not None
        yield {"gob": process.stdout.readline().strip(), "json": process.stdout.readline().strip()}
    finally:
        process.kill()
        process.wait(timeout=10)


@pytest.mark.parametrize("codec", ["json", "gob"])
def test_greenrpc_client_and_go_server(go_server: dict[str, str], codec: str) -> None:
    want = profiles.sample_profile()
    with greenrpc.dial(go_server[codec], codec=codec) as client:
        service = ProfilesClient(client)
        assert profiles.differences(service.echo(want), want) == HIDDEN_IN_JSON[codec]
        assert profiles.differences(service.sample(0), want) == HIDDEN_IN_JSON[codec]
        # What Go received, compared by Go with its own sample.
        assert service.check(want) == ("" if codec == "gob" else 'Profile.Secret: "" != "s3cret"')
        at = Time(2023, 3, 14, 15, 9, 26, 535897, tzinfo=zone(-3 * 3600), nanosecond=932)
        shift = Duration(minutes=90, nanoseconds=1)
        assert profiles.differences(service.shift(Stamp(at, shift)), at + shift) == []
        assert service.paint(Color.GREEN) is Level.INFO
        with pytest.raises(greenrpc.ServerError, match="^no such color$"):
            client.call("Profiles.Paint", 9, params_type=int, result_type=Level)


@pytest.fixture
def python_server() -> Iterator[greenrpc.Server]:
    server = profiles.make_server()
    server.start("127.0.0.1:0")
    yield server
    server.stop(timeout=5)


@pytest.mark.parametrize("codec", ["json", "gob"])
def test_go_client_and_greenrpc_server(python_server: greenrpc.Server, codec: str) -> None:
    done = run([str(go_binary("profiles")), "call", "-addr", python_server.address, "-codec",
                codec], timeout=60)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    go_hidden = "" if codec == "gob" else 'Profile.Secret: "" != "s3cret"'
    assert report["echo_diff"] == report["sample_diff"] == go_hidden, report
    assert report["check"] == "; ".join(HIDDEN_IN_JSON[codec])  # greenrpc's own comparison
    assert report["shift_diff"] == "" and report["paint"] == "info"
    assert all(report[k] == "" for k in ("echo_err", "check_err", "sample_err", "shift_err",
                                         "paint_err"))
    assert report["paint_unknown_err"] in (
        "json: cannot unmarshal number 9 (no Color constant has it) into Go value of type "
        "profiles.Color", "gob: 9 is no constant of profiles.Color")


def test_the_committed_vectors_are_what_go_writes_today() -> None:
    done = run([str(go_binary("profiles")), "capture"], timeout=60)
    assert done.returncode == 0, done.stderr
    captured = json.loads(done.stdout)
    committed = vectors("go_types.json")
    captured.pop("go_version")
    committed.pop("go_version")
    assert captured == committed
