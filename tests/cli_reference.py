"""Write docs/cli.md from the command's own --help: `python3 -m tests.cli_reference`."""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from greenrpc import cli

PAGE = Path(__file__).resolve().parent.parent / "docs" / "cli.md"
WIDTH = "100"


def helps() -> list[tuple[str, str]]:
    """(command, its --help text) for greenrpc and each command, at a fixed width."""
    saved = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = WIDTH  # argparse wraps at the terminal's width
    try:
        return _helps(cli.parser())
    finally:
        if saved is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = saved


def _helps(top: argparse.ArgumentParser) -> list[tuple[str, str]]:
    out = [("greenrpc", top.format_help())]
    for action in top._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                out.append((f"greenrpc {name}", sub.format_help()))
                for inner in sub._actions:
                    if isinstance(inner, argparse._SubParsersAction):
                        out += [(f"greenrpc {name} {n}", s.format_help())
                                for n, s in inner.choices.items()]
    return out


def page() -> str:
    parts = ["# Command line\n",
             "Generated from the command's own `--help` (`python3 -m tests.cli_reference` writes "
             "this page; a test checks that it is current). Every command's mistakes and exit "
             "statuses are listed in [When something goes wrong](errors.md).\n"]
    for command, text in helps():
        parts.append(f"## `{command}`\n\n```text\n{text.rstrip()}\n```\n")
    return "\n".join(parts)


if __name__ == "__main__":
    PAGE.write_text(page())
    sys.exit(0)
