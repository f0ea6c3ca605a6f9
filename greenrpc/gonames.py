"""Go names for Python fields: the GoField marker, the go_struct and go_enum decorators, the rule.

A field's Go name is what gob sends and Go's struct must have; its JSON name is the key the JSON
dialects use, as Go's ``json:"..."`` tag sets it. Per field they are given in the annotation:

    user_id: Annotated[int, GoField("UserID", json="user_id", omitempty=True)]

and per class by ``@go_struct``, which names every field by the rule ``user_id`` -> ``UserID``,
``url`` -> ``URL`` (golint's common initialisms). Annotated metadata rather than a ``field()``
wrapper: type checkers read a call on the right of a dataclass field as its default, so a wrapper
would make every such field look optional to mypy; ``Annotated`` keeps defaults as they are and
combines with ``greenrpc.gotypes`` widths (``Annotated[Int32, GoField("Seq")]``).
"""
from __future__ import annotations

import keyword
from dataclasses import dataclass
from typing import Callable, Literal, Optional, TypeVar, Union, overload

# golint's commonInitialisms (golang/lint lint.go), which Go's own names follow.
INITIALISMS = frozenset({
    "ACL", "API", "ASCII", "CPU", "CSS", "DNS", "EOF", "GUID", "HTML", "HTTP", "HTTPS", "ID", "IP",
    "JSON", "LHS", "QPS", "RAM", "RHS", "RPC", "SLA", "SMTP", "SQL", "SSH", "TCP", "TLS", "TTL",
    "UDP", "UI", "UID", "UUID", "URI", "URL", "UTF8", "VM", "XML", "XMPP", "XSRF", "XSS"})

STRUCT_ATTRIBUTE = "__go_struct__"
ENUM_ATTRIBUTE = "__go_enum__"
JsonNames = Literal["go", "python"]
T = TypeVar("T", bound=type)


@dataclass(frozen=True)
class GoField:
    """How one dataclass field appears to Go, as ``Annotated`` metadata.

    name: the Go field name (what gob sends); by default the class rule's or the Python name.
    json: the JSON key, as Go's ``json:"key"`` tag; "-" keeps the field out of JSON (gob still
        sends it, as Go's does). By default the Go name, or the class's JSON naming.
    omitempty: leave the field out of JSON when it holds its zero value, as ``,omitempty``.
    embedded: the field is an anonymous (embedded) struct: JSON promotes its fields into this
        object with Go's rules, gob sends it as a field named by its type.
    """

    name: Optional[str] = None
    json: Optional[str] = None
    omitempty: bool = False
    embedded: bool = False

    def __post_init__(self) -> None:
        if self.name is not None and not is_identifier(self.name):
            raise ValueError(f"GoField name {self.name!r} is not a Go identifier")
        if self.json == "":
            raise ValueError('GoField json="" is not a name: leave it out to use the Go name, '
                             'or pass "-" to hide the field from JSON')


@dataclass(frozen=True)
class GoStruct:
    """What ``@go_struct`` records on a class."""

    json: JsonNames
    name: Optional[str]


@dataclass(frozen=True)
class GoEnum:
    """What ``@go_enum`` records on an Enum class."""

    kind: Optional[str]
    name: Optional[str]


@overload
def go_struct(cls: T, /) -> T: ...


@overload
def go_struct(*, json: JsonNames = "go", name: Optional[str] = None) -> Callable[[T], T]: ...


def go_struct(cls: Optional[T] = None, /, *, json: JsonNames = "go",
              name: Optional[str] = None) -> Union[T, Callable[[T], T]]:
    """Give a dataclass's fields Go names by the rule (``user_id`` -> ``UserID``).

    json="go" (the default) sends those names in JSON too, as an untagged Go struct does;
    json="python" keeps the Python names as JSON keys, as a Go struct tagged ``json:"user_id"``.
    name= sets the Go type's name (default: the class name). A field's own GoField wins.
    """
    if json not in ("go", "python"):
        raise ValueError(f'go_struct json= is "go" or "python", not {json!r}')
    if name is not None and not is_identifier(name):
        raise ValueError(f"go_struct name {name!r} is not a Go identifier")

    def mark(target: T) -> T:
        setattr(target, STRUCT_ATTRIBUTE, GoStruct(json, name))
        return target
    return mark if cls is None else mark(cls)


def go_enum(*, kind: Optional[str] = None, name: Optional[str] = None) -> Callable[[T], T]:
    """Declare the Go type behind an Enum: kind is its underlying type ("uint8", "int32", ...)."""
    if kind is not None and kind not in ENUM_KINDS:
        raise ValueError(f"go_enum kind {kind!r} is not one of {', '.join(sorted(ENUM_KINDS))}")

    def mark(target: T) -> T:
        setattr(target, ENUM_ATTRIBUTE, GoEnum(kind, name))
        return target
    return mark


ENUM_KINDS = frozenset({"int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16",
                        "uint32", "uint64", "string"})


def struct_options(cls: type) -> Optional[GoStruct]:
    """The class's own @go_struct options (not inherited from a base class)."""
    found = vars(cls).get(STRUCT_ATTRIBUTE)
    return found if isinstance(found, GoStruct) else None


def enum_options(cls: type) -> Optional[GoEnum]:
    found = vars(cls).get(ENUM_ATTRIBUTE)
    return found if isinstance(found, GoEnum) else None


def go_name(python_name: str) -> str:
    """The Go name for a Python name: ``user_id`` -> ``UserID``, ``http_url`` -> ``HTTPURL``.

    Words are split at underscores; one that is a common initialism is written in capitals (its
    plural too: ``ids`` -> ``IDs``), any other gets a capital first letter and keeps the rest
    (``userName`` -> ``UserName``).
    A trailing underscore (``from_``, dodging a keyword) is dropped.
    """
    words = [w for w in python_name.split("_") if w]
    return "".join(_go_word(w) for w in words) or python_name


def _go_word(word: str) -> str:
    upper = word.upper()
    if upper in INITIALISMS:
        return upper
    if word[-1:] == "s" and upper[:-1] in INITIALISMS:  # "ids" -> "IDs", as Go writes it
        return upper[:-1] + "s"
    return word[:1].upper() + word[1:]


def split_words(name: str) -> list[str]:
    """Cut a Go name into words: ``HTTPServer`` -> HTTP, Server; ``UserIDs`` -> User, IDs."""
    words: list[str] = []
    current = ""
    for i, char in enumerate(name):
        if not char.isalnum():
            if current:
                words.append(current)
            current = ""
            continue
        prev = name[i - 1] if i else ""
        after = name[i + 1] if i + 1 < len(name) else ""
        boundary = char.isupper() and bool(current) and (
            prev.islower() or prev.isdigit()
            or (prev.isupper() and after.islower() and not _plural(current + char, name[i + 1:])))
        if boundary:
            words.append(current)
            current = ""
        current += char
    if current:
        words.append(current)
    return words


def _plural(run: str, rest: str) -> bool:
    # "IDs", "URLs": an initialism followed by a lone "s" is one word.
    return run in INITIALISMS and rest[:1] == "s" and not rest[1:2].islower()


def python_name(name: str) -> str:
    """The snake_case Python name for a Go name: ``UserID`` -> ``user_id``, ``HTTPServer`` ->
    ``http_server``; a keyword gets a trailing underscore (``From`` -> ``from_``).

    go_name() does not always lead back (``XMLHTTPRequest`` -> ``xmlhttp_request`` ->
    ``XmlhttpRequest``); code generation writes a GoField where it does not.
    """
    result = "_".join(w.lower() for w in split_words(name)) or name.lower()
    if keyword.iskeyword(result):
        result += "_"
    return result


def is_identifier(name: str) -> bool:
    """Whether name is a Go identifier: a letter or _, then letters, digits or _."""
    return bool(name) and (name[0] == "_" or name[0].isalpha()) and all(
        c == "_" or c.isalnum() for c in name)


def is_exported(name: str) -> bool:
    """Go's rule: a name is exported when its first letter is upper case (unicode.IsUpper)."""
    return bool(name) and name[0].isupper()
