"""Every shell and Python block of README.md and docs/ runs against a live server as shown.

How a block is read (docs/index.md, "Snippets", says the same for writers):
- ```sh: lines starting with "$ " are commands (a line ending in "\\" continues, and so does
  one starting with "> ", bash's prompt inside an open quote); the lines
  after a command, up to the next "$ ", are what it prints (stdout and stderr, as a terminal
  shows them). "..." in an expected line matches any text; a line of "..." alone matches any
  number of lines. A block without "$ " lines is a script that must exit 0.
- ```python: runs as a program of its own; after a print(...) line, the "# " comment lines
  that follow are what it printed.
- `<!-- serves -->` before a block: it is a server; it must start listening, and is stopped.
- `<!-- not run: why -->` before a block: not run. There are few, each with its reason,
  and their number is pinned below so that a new one is a decision.
Addresses 127.0.0.1:8096 and localhost:8096 stand for the live server (examples/arith.py's
Arith, as README's tour serves it): a free port in the test. docs/go-types.md's Python blocks
run in tests/test_docs_go_types.py (they build one module together); its shell blocks run here.
"""
from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Optional

import pytest

from tests.support import ROOT
from tests.test_examples import free_port, wait_for_port

PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
NOT_RUN_AT_MOST = 8  # README 2 (install, serve), deploy.md 3 (Docker), reliability.md 3 (benchmarks)
FENCE = re.compile(r"^(?P<marker><!-- (?P<what>[^>]*?) -->\n)?```(?P<lang>[a-z]*)\n(?P<body>.*?)^```$",
                   re.M | re.S)


@dataclass(frozen=True)
class Block:
    page: Path
    line: int
    lang: str
    body: str
    marker: str  # "", "serves" or "not run: why"

    def __str__(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"


def blocks(lang: Optional[str] = None) -> list[Block]:
    found = []
    for page in PAGES:
        text = page.read_text()
        for match in FENCE.finditer(text):
            if match["lang"] in ("sh", "python") and (lang is None or match["lang"] == lang):
                line = text.count("\n", 0, match.start("body"))
                found.append(Block(page, line, match["lang"], match["body"], match["what"] or ""))
    return found


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """The Arith server the snippets call, and an environment with `greenrpc` on the PATH."""
    home = tmp_path_factory.mktemp("docs")
    shim = home / "bin" / "greenrpc"
    shim.parent.mkdir()
    shim.write_text(f'#!/bin/sh\nexec {sys.executable} -m greenrpc "$@"\n')
    shim.chmod(0o755)
    port = free_port()
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("GREENRPC_")},
           "PYTHONPATH": f"{ROOT}:{ROOT / 'examples'}", "PATH": f"{shim.parent}:{os.environ['PATH']}",
           "COLUMNS": "100"}
    server = subprocess.Popen([sys.executable, "examples/arith_server.py", "--listen",
                               f"127.0.0.1:{port}"], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port)
        yield {**env, "ADDRESS": f"127.0.0.1:{port}", "PORT": str(port), "HOME_DIR": str(home)}
    finally:
        server.terminate()
        server.wait(10)


def localize(text: str, env: dict[str, str]) -> str:
    """The block with the live server's address for :8096, and a free port for :8097."""
    text = text.replace("127.0.0.1:8096", env["ADDRESS"]).replace("localhost:8096",
                                                                  f"localhost:{env['PORT']}")
    text = text.replace("/dev/tcp/127.0.0.1/8096", f"/dev/tcp/127.0.0.1/{env['PORT']}")
    return text.replace("127.0.0.1:8097", f"127.0.0.1:{env['OTHER_PORT']}")


def matches(expected: list[str], got: list[str]) -> bool:
    """Whether got fits expected, where "..." matches any text (a line of it, any lines)."""
    pattern = "".join(r"(?:.*\n)*?" if line.strip() == "..." else
                      ".*".join(map(re.escape, line.rstrip().split("..."))) + r"[ \t]*\n"
                      for line in expected)
    return re.fullmatch(pattern, "".join(line.rstrip() + "\n" for line in got)) is not None


def commands(body: str) -> list[tuple[str, list[str]]]:
    """The "$ " commands of a block, each with the lines it is shown to print."""
    out: list[tuple[str, list[str]]] = []
    lines = body.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("$ "):
            command = line[2:]
            while i + 1 < len(lines) and (command.endswith("\\") or lines[i + 1].startswith("> ")):
                i += 1  # "\" continues a line; "> " is bash's prompt inside an open quote
                command = (command[:-1] + " " + lines[i] if command.endswith("\\") else
                           command + "\n" + lines[i].removeprefix("> "))
            out.append((command, []))
        elif out:
            out[-1][1].append(line)
        i += 1
    return out


def run_shell(block: Block, env: dict[str, str]) -> None:
    cwd = Path(env["HOME_DIR"]) / "work"
    if not cwd.exists():
        cwd.mkdir()
        (cwd / "examples").symlink_to(ROOT / "examples")
    env = {**env, "OTHER_PORT": str(free_port())}
    steps = commands(block.body)
    if not steps:  # a script
        done = subprocess.run(["bash", "-euo", "pipefail", "-c", localize(block.body, env)],
                              cwd=cwd, env=env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, f"{block}: exit {done.returncode}\n{done.stdout}{done.stderr}"
        return
    # One bash session, as when the commands are pasted one by one: cd, variables and
    # background jobs carry over. A marker line before each command splits what they print.
    marker = "@@greenrpc-docs-step@@"
    script = "".join(f"echo {marker}\n{localize(command, env)}\n" for command, _ in steps)
    script += "jobs -p | xargs -r kill 2>/dev/null; wait\n"  # a server left running
    done = subprocess.run(["bash", "-c", script], cwd=cwd, env=env, text=True, stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
    printed = done.stdout.replace(env["ADDRESS"], "127.0.0.1:8096").replace(
        f"localhost:{env['PORT']}", "localhost:8096")
    if env.get("OTHER_PORT"):
        printed = printed.replace(f"127.0.0.1:{env['OTHER_PORT']}", "127.0.0.1:8097")
    outputs = printed.split(marker + "\n")[1:]
    assert len(outputs) == len(steps), f"{block}: the session ended early:\n{printed}"
    for (command, expected), output in zip(steps, outputs):
        got = output.splitlines()
        while expected and not expected[-1].strip():
            expected = expected[:-1]
        assert matches(expected, got), (f"{block}: $ {command}\nshown:\n" + "\n".join(expected)
                                        + "\nprinted:\n" + "\n".join(got))


def expected_prints(body: str) -> list[str]:
    out: list[str] = []
    lines = body.splitlines()
    for i, line in enumerate(lines):
        if line.lstrip().startswith("print("):
            for follow in lines[i + 1:]:
                if not follow.lstrip().startswith("# "):
                    break
                out.append(follow.lstrip()[2:])
    return out


def run_python(block: Block, env: dict[str, str]) -> None:
    env = {**env, "OTHER_PORT": str(free_port())}
    done = subprocess.run([sys.executable, "-c", localize(block.body, env)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, f"{block}: exit {done.returncode}\n{done.stdout}{done.stderr}"
    got = done.stdout.replace(env["ADDRESS"], "127.0.0.1:8096").splitlines()
    expected = expected_prints(block.body)
    if expected or "print(" not in block.body:  # an example shown with its run below it
        assert matches(expected, got), f"{block} printed:\n{done.stdout}"


def run_server(block: Block, env: dict[str, str]) -> None:
    port = free_port()
    source = block.body.replace("127.0.0.1:8096", f"127.0.0.1:{port}")
    process = subprocess.Popen([sys.executable, "-c", source], cwd=ROOT, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_for_port(port)
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            sock.sendall(b'{"method":"Arith.Multiply","params":[{"A":7,"B":8}],"id":1}\n')
            assert sock.makefile().readline() == '{"id":1,"result":{"Pro":56},"error":null}\n'
    finally:
        process.send_signal(signal.SIGTERM)
        output = process.communicate(timeout=15)[0]
    assert process.returncode == 0 and "ready on" in output, f"{block}:\n{output}"


RUNNABLE = [b for b in blocks() if not b.marker.startswith("not run")
            and not (b.lang == "python" and b.page.name == "go-types.md")]


@pytest.mark.parametrize("block", RUNNABLE, ids=str)
def test_block_runs_as_shown(block: Block, live: dict[str, str]) -> None:
    started = time.monotonic()
    if block.marker == "serves":
        run_server(block, live)
    elif block.lang == "sh":
        run_shell(block, live)
    else:
        run_python(block, live)
    assert time.monotonic() - started < 30


def test_blocks_not_run_are_few_and_say_why() -> None:
    skipped = [b for b in blocks() if b.marker.startswith("not run")]
    for block in skipped:
        assert len(block.marker.split(":", 1)[1].strip()) > 10, f"{block}: say why it is not run"
    assert len(skipped) <= NOT_RUN_AT_MOST, [str(b) for b in skipped]
    assert len(RUNNABLE) >= 3 * len(skipped)
    markers = {b.marker for b in blocks()}
    assert markers <= {"", "serves"} | {m for m in markers if m.startswith("not run: ")}, markers


def test_readme_is_the_front_door() -> None:
    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) <= 200
    ci = (ROOT / ".ci" / "run").read_text()
    first = blocks("sh")[0]
    assert first.page.name == "README.md"
    install, test = [line.split("  #")[0].strip() for line in first.body.splitlines()
                     if line.strip() and not line.startswith("#")][:2]
    assert test.startswith("python3 -m pip install") or "pytest" in test
    assert "pip install" in install and "examples/arith_server.py" in install
    for part in test.split(" && "):  # CI runs README's test command as written
        assert part.strip() in ci, f".ci/run does not run README's {part!r}"
