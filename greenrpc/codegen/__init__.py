"""Code generation between Go and Python: `greenrpc gen python` and `greenrpc gen go`.

gotree    the Go declarations and types read, as a small tree
gotokens  Go's lexical rules: tokens, inserted semicolons, comments, string literals
goconst   Go constant expressions (iota, integers, strings) for enums
gosource  the recursive-descent parser over the declaration subset of Go
python    Go types -> Python annotations, and what cannot be generated, with the reason
pymodule  the generated Python module's text: enums, dataclasses, aliases, typed clients
golang    a server's OpenRPC document -> a Go package of structs and a typed net/rpc client
"""
from __future__ import annotations

from pathlib import Path

from . import gosource, pymodule
from .golang import GoPackage, go_package, write_go_package
from .python import Output, Refused

__all__ = ["GoPackage", "Output", "go_package", "python_module", "write_go_package"]


def python_module(paths: list[str], command: str) -> Output:
    """The Python module for the Go files at paths; raise ValueError (with where) if none parses."""
    files = [gosource.parse(Path(path).read_text(encoding="utf-8"), path) for path in paths]
    try:
        return pymodule.generate(files, command)
    except Refused as err:
        raise ValueError(str(err)) from None
