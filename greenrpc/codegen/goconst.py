"""Go constant expressions, as far as enums need them: integers and strings, iota, T(x).

Evaluated with Go's rules (division truncates toward zero, a typed operand types the result);
anything else is "not a constant this parser evaluates" (None), never a guess.
"""
from __future__ import annotations

import re
from typing import Optional, Union

from .gotokens import Token, unquote
from .gotree import Const, GoType, Name

_OPEN = {"(": ")", "[": "]", "{": "}"}


_BINARY = {"*": 5, "/": 5, "%": 5, "<<": 5, ">>": 5, "&": 5, "&^": 5,
           "+": 4, "-": 4, "|": 4, "^": 4}


class _Unknown(Exception):
    pass


def evaluate(tokens: list[Token], iota: int, consts: list[Const]
             ) -> tuple[Optional[GoType], Union[int, str, None]]:
    """The type named by a conversion (``Color(2)``) and the value, or (None, None)."""
    known = {c.name: c for c in consts}
    position = [0]

    def peek() -> Optional[Token]:
        return tokens[position[0]] if position[0] < len(tokens) else None

    def take() -> Token:
        token = peek()
        if token is None:
            raise _Unknown
        position[0] += 1
        return token

    def unary() -> tuple[Optional[GoType], Union[int, str]]:
        token = take()
        if token.text in ("-", "+", "^") and token.kind == "op":
            go_type, value = unary()
            if not isinstance(value, int):
                raise _Unknown
            return go_type, -value if token.text == "-" else ~value if token.text == "^" else value
        if token.text == "(":
            result = binary(0)
            if take().text != ")":
                raise _Unknown
            return result
        if token.kind == "int":
            return None, int(token.text.replace("_", ""), 0) if not re.fullmatch(
                r"0[0-7_]+", token.text) else int(token.text.replace("_", ""), 8)
        if token.kind == "char":
            return None, ord(unquote('"' + token.text[1:-1].replace('"', '\\"') + '"'))
        if token.kind == "string":
            return None, unquote(token.text)
        if token.kind == "ident":
            if token.text == "iota":
                return None, iota
            following = peek()
            if following is not None and following.text == "(":  # a conversion, T(x)
                take()
                _, value = binary(0)
                if take().text != ")":
                    raise _Unknown
                return Name(token.text), value
            if token.text in known and known[token.text].value is not None:
                const = known[token.text]
                assert const.value is not None
                return const.type, const.value
        raise _Unknown

    def binary(precedence: int) -> tuple[Optional[GoType], Union[int, str]]:
        go_type, value = unary()
        while True:
            token = peek()
            if token is None or token.kind != "op" or _BINARY.get(token.text, 0) <= precedence:
                return go_type, value
            take()
            right_type, right = binary(_BINARY[token.text])
            value = _apply(token.text, value, right)
            go_type = go_type or right_type

    try:
        result = binary(0)
        if peek() is not None:
            raise _Unknown
        return result
    except (_Unknown, ValueError, ZeroDivisionError, IndexError):
        return None, None


def _apply(op: str, left: Union[int, str], right: Union[int, str]) -> Union[int, str]:
    if isinstance(left, str) or isinstance(right, str):
        if op == "+" and isinstance(left, str) and isinstance(right, str):
            return left + right
        raise _Unknown
    if op in ("/", "%"):  # Go truncates toward zero
        quotient = abs(left) // abs(right) * (1 if (left >= 0) == (right >= 0) else -1)
        return quotient if op == "/" else left - right * quotient
    return {"*": lambda: left * right, "<<": lambda: left << right, ">>": lambda: left >> right,
            "&": lambda: left & right, "&^": lambda: left & ~right, "+": lambda: left + right,
            "-": lambda: left - right, "|": lambda: left | right, "^": lambda: left ^ right}[op]()
