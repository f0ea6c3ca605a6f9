"""The Python blocks of docs/go-types.md run as written and print what their comments say."""
from __future__ import annotations

import contextlib
import io
import re
import sys
import types

from tests.support import ROOT

GUIDE = ROOT / "docs" / "go-types.md"


def blocks(text: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", text, re.DOTALL)


def expected_output(block: str) -> list[str]:
    """The comment lines right after each print(...) line: what it prints."""
    out: list[str] = []
    lines = block.splitlines()
    for i, line in enumerate(lines):
        if not line.startswith("print("):
            continue
        for follow in lines[i + 1:]:
            if not follow.startswith("# "):
                break
            out.append(follow[2:])
    return out


def test_go_types_guide_runs_as_written() -> None:
    module = types.ModuleType("accounts")  # the guide's types live in a module of this name
    sys.modules["accounts"] = module
    try:
        for block in blocks(GUIDE.read_text()):
            printed = io.StringIO()
            with contextlib.redirect_stdout(printed):
                exec(compile(block, str(GUIDE), "exec"), module.__dict__)
            want = " ".join(expected_output(block))
            got = " ".join(printed.getvalue().split("\n")).strip()
            assert " ".join(got.split()) == " ".join(want.split()), block
    finally:
        del sys.modules["accounts"]
