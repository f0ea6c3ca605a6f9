"""The client examples docs/calling.md shows run as shown, against a real server, each unpatched
except the gevent one (which patches itself, as every gevent program does)."""
from __future__ import annotations

import os
import sys

import pytest

from tests.support import ROOT, greenrpc_peer, run

EXAMPLES = ["call_from_gevent.py", "call_from_threads.py", "call_from_asyncio.py"]
SQUARES = str([n * n for n in range(10)])


@pytest.mark.parametrize("example", EXAMPLES)
def test_the_example_runs(example: str) -> None:
    with greenrpc_peer() as peer:
        done = run([sys.executable, str(ROOT / "examples" / example), peer.address], timeout=30,
                   env=dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT)] + sys.path[1:])))
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == SQUARES
    if example == "call_from_asyncio.py":
        assert done.stdout.splitlines()[1] == "failed: divide by zero"


def test_readme_shows_the_examples_as_they_are() -> None:
    readme = (ROOT / "docs" / "calling.md").read_text()
    for example in EXAMPLES:
        code = (ROOT / "examples" / example).read_text()
        body = code.split('"""', 2)[2].strip()  # the program without its docstring
        assert body in readme, f"docs/calling.md does not show examples/{example} as it is"
