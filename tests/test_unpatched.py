"""Runs tests/unpatched (threads, asyncio, Flask, uvicorn) in a pytest process that is not
monkey-patched, as the programs they stand for are not; this process is."""
from __future__ import annotations

import os
import subprocess
import sys

from tests.support import ROOT


def test_the_unpatched_programs_pass() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         "--confcutdir", str(ROOT / "tests" / "unpatched"), str(ROOT / "tests" / "unpatched")],
        cwd=ROOT, env=dict(os.environ, PYTHONPATH=os.pathsep.join(
            [str(ROOT)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p])),
        capture_output=True, text=True,
        timeout=300)
    assert done.returncode == 0, done.stdout[-20000:] + done.stderr[-5000:]
