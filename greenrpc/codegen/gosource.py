"""Go source read without Go: a recursive-descent parser for the declarations gen python needs.

What a Python module of a Go service needs: the package name, ``type`` declarations (with
their doc comments and struct tags), ``const`` groups (for enums, with ``iota``) and method
signatures. Function bodies, ``var`` declarations and anything else are skipped by balanced
brackets. Types are parsed into the tree of gotree.py; the generators decide what they can map.
"""
from __future__ import annotations

from typing import Callable, Optional, Union

from .goconst import evaluate
from .gotokens import Comment, Token, tokenize, unquote
from .gotree import (
    Array,
    Const,
    Field,
    GoFile,
    GoSyntaxError,
    GoType,
    Map,
    Method,
    Name,
    Opaque,
    Param,
    Pointer,
    Slice,
    Struct,
    TypeDecl,
)

__all__ = ["Array", "Comment", "Const", "Field", "GoFile", "GoSyntaxError", "GoType", "Map",
           "Method", "Name", "Opaque", "Param", "Parser", "Pointer", "Slice", "Struct", "Token",
           "TypeDecl", "parse", "tokenize", "unquote"]

_KEYWORDS = {"break", "case", "chan", "const", "continue", "default", "defer", "else",
             "fallthrough", "for", "func", "go", "goto", "if", "import", "interface", "map",
             "package", "range", "return", "select", "struct", "switch", "type", "var"}
_OPEN = {"(": ")", "[": "]", "{": "}"}


class Parser:
    """Recursive descent over the declaration subset of Go's grammar (see the module doc)."""

    def __init__(self, source: str, path: str = "<go>") -> None:
        self.path = path
        self.tokens, self.comments = tokenize(source, path)
        self.pos = 0
        self.file = GoFile(path)
        self._docs = {c.end_line: c for c in self.comments if c.alone}

    # token helpers

    @property
    def token(self) -> Token:
        return self.tokens[self.pos]

    def peek(self, ahead: int = 1) -> Token:
        return self.tokens[min(self.pos + ahead, len(self.tokens) - 1)]

    def next(self) -> Token:
        token = self.tokens[self.pos]
        if token.kind != "EOF":
            self.pos += 1
        return token

    def at(self, text: str) -> bool:
        token = self.token
        if text == ";":
            return token.kind == ";" or (token.kind == "op" and token.text == ";")
        return token.text == text and token.kind in ("op", "ident")

    def accept(self, text: str) -> bool:
        if self.at(text):
            self.next()
            return True
        return False

    def expect(self, text: str) -> Token:
        if not self.at(text):
            raise self.error(f"expected {text!r}")
        return self.next()

    def ident(self) -> str:
        token = self.token
        if token.kind != "ident" or token.text in _KEYWORDS:
            raise self.error("expected a name")
        self.next()
        return token.text

    def error(self, message: str) -> GoSyntaxError:
        token = self.token
        found = "end of file" if token.kind == "EOF" else "newline" if token.text == "\n" \
            else repr(token.text)
        return GoSyntaxError(f"{self.path}:{token.line}:{token.column}: {message}, found {found}")

    def skip_balanced(self) -> None:
        """Skip one bracketed group starting at the current token."""
        depth = 0
        while True:
            token = self.next()
            if token.kind == "EOF":
                raise self.error("unbalanced brackets")
            if token.kind == "op" and token.text in _OPEN:
                depth += 1
            elif token.kind == "op" and token.text in _OPEN.values():
                depth -= 1
                if depth == 0:
                    return

    def skip_statement(self) -> None:
        """Skip to the end of a declaration: the next semicolon outside brackets."""
        while not self.at(";") and self.token.kind != "EOF":
            if self.token.kind == "op" and self.token.text in _OPEN:
                self.skip_balanced()
            else:
                self.next()

    def doc_for(self, token: Token) -> str:
        """The comment group ending on the line above token (Go's doc comment), as text."""
        lines: list[str] = []
        line = token.line - 1
        while line in self._docs:
            comment = self._docs[line]
            lines[:0] = _comment_text(comment.text)
            line = comment.line - 1
        return "\n".join(lines).strip()

    def line_comment(self, line: int) -> str:
        found = [c for c in self.comments if c.line == line and not c.alone]
        return "\n".join(t for c in found for t in _comment_text(c.text)).strip()

    # declarations

    def parse(self) -> GoFile:
        self.skip_semicolons()
        self.expect("package")
        self.file.package = self.ident()
        self.skip_semicolons()
        while self.token.kind != "EOF":
            keyword = self.token
            if self.accept("import"):
                self.skip_statement()
            elif self.accept("type"):
                self.group(keyword, self.type_spec)
            elif self.accept("const"):
                self._iota = 0
                self._last: tuple[Optional[GoType], list[Token]] = (None, [])
                self.group(keyword, self.const_spec)
            elif self.accept("var"):
                self.skip_statement()
            elif self.accept("func"):
                self.func_decl(keyword)
            else:
                raise self.error("expected a declaration")
            self.skip_semicolons()
        return self.file

    def skip_semicolons(self) -> None:
        while self.accept(";"):
            pass

    def group(self, keyword: Token, spec: Callable[[str, bool], None]) -> None:
        if self.accept("("):
            self.skip_semicolons()
            while not self.accept(")"):
                doc = self.doc_for(self.token)
                spec(doc, True)
                if not self.at(")"):
                    self.expect(";")
                self.skip_semicolons()
        else:
            spec(self.doc_for(keyword), False)

    def type_spec(self, doc: str, grouped: bool) -> None:
        start = self.token
        name = self.ident()
        generic = False
        if self.at("[") and self._type_parameters_ahead():
            self.skip_balanced()
            generic = True
        alias = self.accept("=")
        go_type = self.type()
        doc = doc or self.line_comment(start.line)
        self.file.types.append(TypeDecl(name, go_type, doc, alias, generic, start.line))

    def _type_parameters_ahead(self) -> bool:
        # "type A [N]int" is an array; "type List[T any]" and "type P[K, V any]" declare generics.
        first, second = self.peek(1), self.peek(2)
        return first.kind == "ident" and (second.kind == "ident" or second.text in (",", "~", "["))

    def const_spec(self, doc: str, grouped: bool) -> None:
        names = [self.ident()]
        while self.accept(","):
            names.append(self.ident())
        go_type: Optional[GoType] = None
        expression: list[Token]
        if not self.at("=") and not self.at(";") and not self.at(")"):
            go_type = self.type()
        if self.accept("="):
            expression = self.expression_tokens()
            self._last = (go_type, expression)
        else:  # an omitted list repeats the previous one, type included
            go_type, expression = self._last
        values = _split_top_level(expression)
        for index, name in enumerate(names):
            tokens = values[index] if index < len(values) else []
            value_type, value = evaluate(tokens, self._iota, self.file.consts)
            self.file.consts.append(Const(name, go_type or value_type, value, doc))
        self._iota += 1

    def expression_tokens(self) -> list[Token]:
        out: list[Token] = []
        depth = 0
        while self.token.kind != "EOF":
            if depth == 0 and (self.at(";") or self.at(")")):
                break
            token = self.next()
            if token.kind == "op" and token.text in _OPEN:
                depth += 1
            elif token.kind == "op" and token.text in _OPEN.values():
                depth -= 1
            out.append(token)
        return out

    def func_decl(self, keyword: Token) -> None:
        doc = self.doc_for(keyword)
        receiver = ""
        if self.at("("):
            self.next()
            params = self.parameter_list(")")
            if len(params) == 1:
                base = params[0].type
                base = base.elem if isinstance(base, Pointer) else base
                receiver = base.name if isinstance(base, Name) else ""
        name = self.ident()
        if self.at("["):
            self.skip_balanced()  # a generic function: never a net/rpc method
            receiver = ""
        self.expect("(")
        params = self.parameter_list(")")
        results: list[Param] = []
        if self.accept("("):
            results = self.parameter_list(")")
        elif not self.at("{") and not self.at(";"):
            results = [Param("", self.type())]
        if self.at("{"):
            self.skip_balanced()
        if receiver:
            self.file.methods.append(Method(receiver, name, params, results, doc, keyword.line))

    def parameter_list(self, close: str) -> list[Param]:
        """Parameters up to close: "a, b int", "x *T", or types alone ("int, error")."""
        entries: list[tuple[Optional[str], Optional[GoType]]] = []
        while not self.accept(close):
            self.skip_semicolons()
            if self.token.kind == "ident" and self.token.text not in _KEYWORDS \
                    and self.peek().text not in (",", ")", ".", "]"):
                name = self.ident()
                self.accept("...")
                entries.append((name, self.type()))
            else:
                self.accept("...")
                entries.append((None, self.type()))
            if not self.accept(","):
                self.skip_semicolons()
                self.expect(close)
                break
        # "a, b int": names without their own type take the next one's.
        params: list[Param] = []
        pending: list[str] = []
        named = any(n is not None for n, _ in entries)
        for given, go_type in entries:
            assert go_type is not None
            if named and given is None and isinstance(go_type, Name) and not go_type.package:
                pending.append(go_type.name)
                continue
            params += [Param(waiting, go_type) for waiting in pending]
            pending = []
            params.append(Param(given or "", go_type))
        return params

    # types

    def type(self) -> GoType:
        token = self.token
        if self.accept("("):
            inner = self.type()
            self.expect(")")
            return inner
        if self.accept("*"):
            return Pointer(self.type())
        if self.accept("["):
            if self.accept("]"):
                return Slice(self.type())
            if self.at("..."):
                raise self.error("array length ... only goes in a composite literal")
            length = self.array_length()
            elem = self.type()
            return Array(length, elem) if isinstance(length, int) else Opaque(
                f"array of length {length}")
        if self.accept("map"):
            self.expect("[")
            key = self.type()
            self.expect("]")
            return Map(key, self.type())
        if self.accept("struct"):
            return self.struct_type()
        if self.at("chan") or self.at("<-"):
            self.accept("<-")
            self.expect("chan")
            self.accept("<-")
            self.type()
            return Opaque("chan")
        if self.accept("func"):
            self.expect("(")
            self.parameter_list(")")
            if self.accept("("):
                self.parameter_list(")")
            elif self._starts_type():
                self.type()
            return Opaque("func")
        if self.accept("interface"):
            empty = self.at("{") and self.peek().text == "}"
            self.skip_balanced()
            return Opaque("any" if empty else "interface")
        if token.kind == "ident":
            return self.type_name()
        raise self.error("expected a type")

    def _starts_type(self) -> bool:
        token = self.token
        return (token.kind == "ident" and token.text not in _KEYWORDS - {"map", "chan", "func",
                                                                          "struct", "interface"}) \
            or token.text in ("*", "[", "(", "<-")

    def type_name(self) -> GoType:
        name = self.ident()
        package = ""
        if self.accept("."):
            package, name = name, self.ident()
        if name == "any" and not package:
            return Opaque("any")
        args: tuple[GoType, ...] = ()
        if self.at("[") and not self.peek().text == "]":
            self.next()
            items = [self.type()]
            while self.accept(","):
                items.append(self.type())
            self.expect("]")
            args = tuple(items)
        return Name(name, package, args)

    def _embedded_generic(self) -> bool:
        """Whether "Name[...]" starting here ends the field: an embedded generic instance."""
        if self.peek().text != "[":
            return False
        depth, ahead = 0, 1
        while True:
            token = self.peek(ahead)
            if token.kind == "EOF":
                return False
            depth += token.kind == "op" and token.text in _OPEN
            depth -= token.kind == "op" and token.text in _OPEN.values()
            ahead += 1
            if depth == 0:
                after = self.peek(ahead)
                return after.kind in (";", "string") or after.text == "}"

    def array_length(self) -> Union[int, str]:
        """The length's value, or its text where it is no constant this parser evaluates."""
        tokens: list[Token] = []
        depth = 0
        while depth or not self.at("]"):
            if self.token.kind == "EOF":
                raise self.error("expected ']'")
            token = self.next()
            depth += token.text in _OPEN and token.kind == "op"
            depth -= token.text in _OPEN.values() and token.kind == "op"
            tokens.append(token)
        self.expect("]")
        _, value = evaluate(tokens, 0, self.file.consts)
        if isinstance(value, int) and value >= 0:
            return value
        return "".join(t.text for t in tokens)

    def struct_type(self) -> Struct:
        self.expect("{")
        fields: list[Field] = []
        self.skip_semicolons()
        while not self.accept("}"):
            start = self.token
            doc = self.doc_for(start)
            names: list[str] = []
            following = self.peek()
            if self.token.kind == "ident" and following.kind not in (";", "string") \
                    and following.text not in (".", ";", "}") and not self._embedded_generic():
                names.append(self.ident())
                while self.accept(","):
                    names.append(self.ident())
                go_type = self.type()
            else:
                go_type = self.type()  # embedded: T, *T, pkg.T
            tag = unquote(self.next().text) if self.token.kind == "string" else ""
            doc = doc or self.line_comment(start.line)
            for name in names or [""]:
                fields.append(Field(name, go_type, tag, doc))
            if not self.at("}"):
                self.expect(";")
            self.skip_semicolons()
        return Struct(tuple(fields))


def _comment_text(text: str) -> list[str]:
    if text.startswith("//"):
        return [text[2:].removeprefix(" ")]
    body = text[2:-2]
    return [line.strip().removeprefix("* ").removeprefix("*") for line in body.splitlines()]


def _split_top_level(tokens: list[Token]) -> list[list[Token]]:
    parts: list[list[Token]] = [[]]
    depth = 0
    for token in tokens:
        if token.kind == "op" and token.text in _OPEN:
            depth += 1
        elif token.kind == "op" and token.text in _OPEN.values():
            depth -= 1
        if depth == 0 and token.text == ",":
            parts.append([])
        else:
            parts[-1].append(token)
    return parts if tokens else []


def parse(source: str, path: str = "<go>") -> GoFile:
    """Parse one Go file's declarations; raise GoSyntaxError where it is not Go."""
    return Parser(source, path).parse()
