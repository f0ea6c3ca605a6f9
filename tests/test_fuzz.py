"""Every fuzz target in fuzz/ runs for a bounded time from its corpus and finds nothing: no
crash, no input slower than 10 s, no memory past 1 GiB (libFuzzer's limits)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.support import ROOT

FUZZ = ROOT / "fuzz"
SECONDS = 12  # per target; the targets run side by side


def test_fuzz_targets_run_clean(tmp_path: Path) -> None:
    targets = sorted(FUZZ.glob("*_fuzz.py"))
    assert {t.name for t in targets} >= {"json_fuzz.py", "gob_fuzz.py"}
    running = []
    for target in targets:
        name = target.name.removesuffix("_fuzz.py")
        work = tmp_path / name
        work.mkdir()
        running.append((target, subprocess.Popen(
            [sys.executable, str(target), f"-max_total_time={SECONDS}", "-rss_limit_mb=1024",
             "-timeout=10", "-max_len=8192", f"-artifact_prefix={work}/", str(work),
             str(FUZZ / "corpus" / name)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)))
    for target, process in running:
        output, _ = process.communicate(timeout=SECONDS + 60)
        assert process.returncode == 0, f"{target.name}:\n{output[-4000:]}"
        assert "Done" in output, output[-2000:]
