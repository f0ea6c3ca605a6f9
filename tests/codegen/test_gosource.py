"""Go declarations read without Go: tokens, semicolons, types, constants, methods, errors."""
from __future__ import annotations

from pathlib import Path

import pytest

from greenrpc.codegen.gosource import (
    Array,
    GoSyntaxError,
    Map,
    Name,
    Opaque,
    Pointer,
    Slice,
    Struct,
    parse,
    tokenize,
    unquote,
)

ROOT = Path(__file__).resolve().parent.parent.parent
PROFILES = ROOT / "tests" / "interop" / "go" / "profiles" / "profiles.go"


def test_semicolons_are_inserted_at_line_ends_as_go_does() -> None:
    tokens, comments = tokenize("package p\nconst (\n\tA = 1 // one\n\tB\n)\n")
    texts = [(t.kind, t.text) for t in tokens]
    assert texts == [("ident", "package"), ("ident", "p"), (";", "\n"), ("ident", "const"),
                     ("op", "("), ("ident", "A"), ("op", "="), ("int", "1"), (";", "\n"),
                     ("ident", "B"), (";", "\n"), ("op", ")"), (";", "\n"), ("EOF", "")]
    assert [c.text for c in comments] == ["// one"]


def test_strings_runes_and_comments_hide_their_brackets() -> None:
    source = 'package p\nfunc f() { s := "}{"; r := \'}\'; _ = `\n}` /* } */ }\ntype T int\n'
    assert [t.name for t in parse(source).types] == ["T"]


@pytest.mark.parametrize("literal, value", [('"a\\tb\\"c"', 'a\tb"c'), ("`raw\\n`", "raw\\n"),
                                            ('"\\u00e9\\x41\\101"', "éAA")])
def test_string_literals(literal: str, value: str) -> None:
    assert unquote(literal) == value


def test_types_of_every_shape() -> None:
    source = """package p
import "time"
type (
	// A is documented.
	A struct {
		X, Y int `json:"x"` // trailing
		*B
		time.Time
		M map[string][]*B
		Arr [2 * Size][3]int8
		F func(int) (string, error)
		C <-chan int
		I interface{}
		J interface{ Close() error }
		Any any
	}
	B = A
	L[T any] struct{ V T }
)
const Size = 2
"""
    go_file = parse(source)
    a, b, generic = go_file.types
    assert a.doc == "A is documented." and b.alias and generic.generic
    assert isinstance(a.type, Struct)
    fields = {f.name or str(f.type): f for f in a.type.fields}
    assert fields["X"].tag == 'json:"x"' and fields["Y"].doc == "trailing"
    assert fields["*B"].embedded and fields["time.Time"].type == Name("Time", "time")
    assert fields["M"].type == Map(Name("string"), Slice(Pointer(Name("B"))))
    assert fields["Arr"].type == Opaque("array of length 2*Size")  # Size comes later
    assert fields["F"].type == Opaque("func") and fields["C"].type == Opaque("chan")
    assert fields["I"].type == Opaque("any") and fields["Any"].type == Opaque("any")
    assert fields["J"].type == Opaque("interface")


def test_constants_with_iota_repetition_and_conversions() -> None:
    source = """package p
type Flag uint8
const (
	None Flag = iota
	Read
	Write = Read << 1
	Exec Flag = 1 << iota
	_
	Last = Flag(100) - 1
	Name = "x" + "y"
	Neg = -7 / 2
	Octal = 0o17 + 017 + 0x_1F + 0b11 + 'a'
)
const Untyped = 10
"""
    consts = {c.name: c for c in parse(source).consts}
    assert [consts[n].value for n in ("None", "Read", "Write", "Exec", "Last", "Name", "Neg")] \
        == [0, 1, 2, 8, 99, "xy", -3]
    assert consts["Octal"].value == 15 + 15 + 31 + 3 + 97
    # A typed constant in an expression types it, as in Go (Write is a Flag).
    assert {consts[n].type for n in ("Read", "Write", "Last")} == {Name("Flag")}
    assert consts["Untyped"].type is None and consts["Name"].type is None


def test_methods_in_net_rpc_form_are_kept_with_their_docs() -> None:
    go_file = parse(PROFILES.read_text())
    methods = {m.name: m for m in go_file.methods}
    echo = methods["Echo"]
    assert echo.receiver == "Profiles" and echo.doc == "Echo returns the profile it was sent."
    assert [(p.name, p.type) for p in echo.params] == [("args", Pointer(Name("Profile"))),
                                                       ("reply", Pointer(Name("Profile")))]
    assert [p.type for p in echo.results] == [Name("error")]
    assert methods["Paint"].params[0].type == Name("Color")


def test_grouped_parameters_share_a_type() -> None:
    go_file = parse("package p\nfunc (s S) M(a, b int, c string) (x, y bool) { return }\n")
    (method,) = go_file.methods
    assert [(p.name, str(p.type)) for p in method.params] == [("a", "int"), ("b", "int"),
                                                              ("c", "string")]
    assert [p.name for p in method.results] == ["x", "y"]


def test_arrays_of_constant_length() -> None:
    go_file = parse("package p\nconst N = 3\ntype G [N + 1][2]byte\n")
    assert go_file.types[0].type == Array(4, Array(2, Name("byte")))


@pytest.mark.parametrize("source, where", [
    ("type T int", "<go>:1:1: expected 'package'"),
    ("package p\ntype T struct {\n\tX int\n", "<go>:4:0: expected a type, found end of file"),
    ("package p\ntype T map[string\n", "<go>:2:18: expected ']', found newline"),
    ("package p\nx := 1\n", "<go>:2:1: expected a declaration"),
    ("package p\ntype T = @\n", "<go>:2:10: unexpected '@'"),
])
def test_errors_say_where(source: str, where: str) -> None:
    with pytest.raises(GoSyntaxError) as info:
        parse(source)
    assert str(info.value).startswith(where)
