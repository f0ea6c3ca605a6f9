"""Go source as tokens: Go's lexical rules, with the semicolons Go inserts at line ends.

Comments are kept apart, with their lines, for doc comments; string literals are unquoted as
Go reads them.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from .gotree import GoSyntaxError


@dataclass(frozen=True)
class Token:
    kind: str  # "ident", "int", "float", "imag", "char", "string", "op", ";", "EOF"
    text: str
    line: int
    column: int


_TOKEN = re.compile(r"""
    (?P<space>[ \t\r]+)
  | (?P<newline>\n)
  | (?P<comment>//[^\n]*|/\*.*?\*/)
  | (?P<ident>[^\W\d]\w*)
  | (?P<number>
        0[xX][0-9a-fA-F_]*(?:\.[0-9a-fA-F_]*)?(?:[pP][+-]?[0-9_]+)?i?
      | 0[bBoO][0-9_]+i?
      | (?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9][0-9_]*)(?:[eE][+-]?[0-9_]+)?i?)
  | (?P<string>"(?:[^"\\\n]|\\.)*")
  | (?P<raw>`[^`]*`)
  | (?P<char>'(?:[^'\\\n]|\\[^\n]+?)')
  | (?P<op>\.\.\.|<<=|>>=|&\^=|&&|\|\||<-|\+\+|--|==|!=|<=|>=|:=|<<|>>|&\^|[-+*/%&|^]=
        |[-+*/%&|^<>=!~(){}\[\],;.:])
""", re.VERBOSE | re.DOTALL)

# A line ending after one of these gets a semicolon (Go spec, "Semicolons").
_ENDS_STATEMENT = {"break", "continue", "fallthrough", "return", "++", "--", ")", "]", "}"}


@dataclass
class Comment:
    text: str
    line: int      # first line
    end_line: int  # last line
    alone: bool    # nothing but space before it on its line


def tokenize(source: str, path: str = "<go>") -> tuple[list[Token], list[Comment]]:
    """Cut Go source into tokens (with Go's inserted semicolons) and comments."""
    tokens: list[Token] = []
    comments: list[Comment] = []
    pos, line, line_start = 0, 1, 0
    while pos < len(source):
        match = _TOKEN.match(source, pos)
        if match is None:
            raise GoSyntaxError(f"{path}:{line}:{pos - line_start + 1}: unexpected "
                                f"{source[pos]!r}")
        kind = match.lastgroup
        text = match.group()
        column = pos - line_start + 1
        newlines = text.count("\n")
        if kind == "newline" or (kind == "comment" and newlines):
            if tokens and _needs_semicolon(tokens[-1]):
                tokens.append(Token(";", "\n", line, column))
        if kind == "comment":
            alone = not source[line_start:pos].strip()
            comments.append(Comment(text, line, line + newlines, alone))
        elif kind == "number":
            number_kind = "imag" if text.endswith("i") else "float" if (
                "." in text or ("e" in text.lower() and not text.lower().startswith("0x"))
                or "p" in text.lower()) else "int"
            tokens.append(Token(number_kind, text, line, column))
        elif kind in ("string", "raw"):
            tokens.append(Token("string", text, line, column))
        elif kind in ("ident", "char", "op"):
            tokens.append(Token(kind, text, line, column))
        if newlines:
            line += newlines
            line_start = pos + text.rfind("\n") + 1
        pos = match.end()
    if tokens and _needs_semicolon(tokens[-1]):
        tokens.append(Token(";", "\n", line, 0))
    tokens.append(Token("EOF", "", line, 0))
    return tokens, comments


def _needs_semicolon(token: Token) -> bool:
    return token.kind in ("ident", "int", "float", "imag", "char", "string") \
        or token.text in _ENDS_STATEMENT


_ESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v",
            "\\": "\\", "'": "'", '"': '"'}


def unquote(literal: str) -> str:
    """The value of a Go string literal ("interpreted" or `raw`)."""
    if literal.startswith("`"):
        return literal[1:-1].replace("\r", "")
    body = literal[1:-1]
    out: list[str] = []
    i = 0
    while i < len(body):
        char = body[i]
        if char != "\\":
            out.append(char)
            i += 1
            continue
        code = body[i + 1]
        if code in _ESCAPES:
            out.append(_ESCAPES[code])
            i += 2
        elif code in "xuU":
            size = {"x": 2, "u": 4, "U": 8}[code]
            out.append(chr(int(body[i + 2:i + 2 + size], 16)))
            i += 2 + size
        else:  # octal \ooo
            out.append(chr(int(body[i + 1:i + 4], 8)))
            i += 4
    return "".join(out)
