"""Python annotations read as Go types: TypeSpecs, struct fields with their Go and JSON names.

A method's annotations are the single source of type information: ``int`` is Go's ``int``,
``float`` is ``float64``, a dataclass is a struct, ``list[T]`` a slice, ``dict[str, T]`` a map,
``Optional[T]`` a pointer, ``datetime`` is ``time.Time``, ``timedelta`` is ``time.Duration``, an
``Enum`` a named integer or string type, and ``greenrpc.gotypes`` adds Go's sized kinds.
``spec_of`` turns an annotation into a ``TypeSpec`` once. A struct's fields carry their Go name
(gob), their JSON name (the JSON dialects) and Go's embedding; ``json_fields`` is the JSON view
after encoding/json's promotion rules. Converting JSON values lives in jsonvalues.py.
"""
from __future__ import annotations

import dataclasses
import datetime
import enum
import functools
import math
import sys
import types
import typing
import warnings
from typing import Any, Callable, Optional

from . import gonames, gotime
from .gonames import GoField
from .gotypes import GoArray, GoKind

JSON = Any
Convert = Callable[[JSON], Any]
Encode = Callable[[Any], JSON]


class Kind(enum.Enum):
    ANY = "any"
    BOOL = "bool"
    INT = "int"
    UINT = "uint"
    FLOAT = "float"
    STRING = "string"
    BYTES = "bytes"
    LIST = "list"
    MAP = "map"
    STRUCT = "struct"
    POINTER = "pointer"
    TIME = "time"  # Go's time.Time: RFC 3339 text in JSON, MarshalBinary's bytes in gob


class TypeMismatch(Exception):
    """A JSON value does not fit the declared type; ``str()`` is Go's UnmarshalTypeError text."""

    def __init__(self, value: str, go_type: str) -> None:
        super().__init__(value, go_type)
        self.value = value
        self.go_type = go_type
        self.struct = ""
        self.field = ""
        self.text = ""  # a complete message of its own (time.Time's parse errors)

    def __str__(self) -> str:
        if self.text:
            return self.text
        if self.struct or self.field:
            return (f"json: cannot unmarshal {self.value} into Go struct field "
                    f"{self.struct}.{self.field} of type {self.go_type}")
        return f"json: cannot unmarshal {self.value} into Go value of type {self.go_type}"


class GoNameWarning(UserWarning):
    """A struct field has a name Go cannot see (not exported), so gob never carries it."""


class FieldSpec:
    """One struct field: its Python attribute, Go name (gob), JSON name, type and zero value.

    json is None for a field hidden from JSON (``json:"-"``); tagged says the JSON name was
    given (as a Go tag gives it), which matters to Go's rules for embedded structs.
    """

    __slots__ = ("attr", "name", "json", "tagged", "omitempty", "embedded", "spec", "zero")

    def __init__(self, attr: str, spec: TypeSpec, zero: Callable[[], Any], name: str = "",
                 json: Optional[str] = "", tagged: bool = False, omitempty: bool = False,
                 embedded: bool = False) -> None:
        self.attr = attr
        self.name = name or attr
        self.json = self.name if json == "" else json
        self.tagged = tagged
        self.omitempty = omitempty
        self.embedded = embedded
        self.spec = spec
        self.zero = zero


class JSONField:
    """A field as encoding/json sees it: its key and the fields leading to it from the struct."""

    __slots__ = ("key", "path", "spec", "omitempty")

    def __init__(self, key: str, path: tuple[FieldSpec, ...]) -> None:
        self.key = key
        self.path = path  # one field, or embedded fields then the promoted one
        self.spec = path[-1].spec
        self.omitempty = path[-1].omitempty


class TypeSpec:
    """A Go view of one Python annotation; converters are built on first use and cached.

    cls is the dataclass of a struct, or the class a scalar's values are made of when it is
    not the plain Python type (an Enum, gotime.Duration, gotime.Time).
    """

    __slots__ = ("kind", "go_name", "bits", "elem", "key", "cls", "length", "fields",
                 "json_fields", "_convert", "_encode")

    def __init__(self, kind: Kind, go_name: str, bits: int = 64, elem: Optional[TypeSpec] = None,
                 key: Optional[TypeSpec] = None, cls: Optional[type] = None,
                 length: Optional[int] = None) -> None:
        self.kind = kind
        self.go_name = go_name
        self.bits = bits
        self.elem = elem
        self.key = key
        self.cls = cls
        self.length = length  # a LIST with a length is a Go array (gob sends arrays differently)
        self.fields: tuple[FieldSpec, ...] = ()
        self.json_fields: tuple[JSONField, ...] = ()
        self._convert: Optional[Convert] = None
        self._encode: Optional[Encode] = None

    def __repr__(self) -> str:
        return f"TypeSpec({self.go_name})"

    @property
    def convert(self) -> Convert:
        """The function turning a decoded JSON value into this type (raises TypeMismatch)."""
        if self._convert is None:
            from . import jsonvalues
            self._convert = _trampoline(self)  # guards recursive structs while building
            self._convert = jsonvalues.converter(self)
        return self._convert

    @property
    def encode(self) -> Encode:
        """The function turning a value of this type into plain JSON data."""
        if self._encode is None:
            from . import jsonvalues
            self._encode = plain
            self._encode = jsonvalues.encoder(self)
        return self._encode

    @property
    def name(self) -> str:
        """The bare Go name of a named type ("ArithRequest", "Time"), "" for unnamed ones."""
        return self.go_name.rpartition(".")[2] if "." in self.go_name else ""

    def zero(self) -> Any:
        """Return a fresh zero value, as Go leaves a variable it did not decode into."""
        return _zero(self)


ANY = TypeSpec(Kind.ANY, "interface {}")
_cache: dict[Any, TypeSpec] = {}
_NONE_TYPE = type(None)


def spec_of(annotation: Any) -> TypeSpec:
    """Return the TypeSpec for an annotation; raise TypeError for one greenrpc cannot map."""
    try:
        return _cache[annotation]
    except KeyError:
        pass
    except TypeError:  # unhashable annotation objects are read afresh every time
        return _spec_uncached(annotation)
    spec = _spec_uncached(annotation)
    _cache[annotation] = spec
    return spec


def _spec_uncached(annotation: Any) -> TypeSpec:
    if annotation is Any or annotation is object or annotation is None:
        return ANY
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        return _annotated(args[0], annotation.__metadata__)
    if annotation in (int, float):
        return _numeric(annotation, None)
    if annotation is bool:
        return TypeSpec(Kind.BOOL, "bool")
    if annotation is str:
        return TypeSpec(Kind.STRING, "string")
    if annotation in (bytes, bytearray):
        return TypeSpec(Kind.BYTES, "[]uint8")
    if annotation in (datetime.datetime, gotime.Time):
        return TypeSpec(Kind.TIME, "time.Time", cls=gotime.Time)
    if annotation in (datetime.timedelta, gotime.Duration):
        return TypeSpec(Kind.INT, "time.Duration", cls=gotime.Duration)
    if origin is typing.Union or origin is getattr(types, "UnionType", None):
        rest = [a for a in args if a is not _NONE_TYPE]
        if len(rest) == 1 and len(args) == 2:
            elem = spec_of(rest[0])
            return TypeSpec(Kind.POINTER, "*" + elem.go_name, elem=elem)
        raise TypeError(f"unsupported union {annotation!r}: only Optional[T] maps to a Go type")
    if annotation in (list, tuple) or origin in (list, tuple, typing.Sequence) and not args:
        return TypeSpec(Kind.LIST, "[]interface {}", elem=ANY)
    if origin in (list, typing.Sequence) or (origin is tuple and len(args) == 2 and args[1] is ...):
        elem = spec_of(args[0])
        return TypeSpec(Kind.LIST, "[]" + elem.go_name, elem=elem)
    if annotation is dict or (origin in (dict, typing.Mapping) and not args):
        return TypeSpec(Kind.MAP, "map[string]interface {}", key=spec_of(str), elem=ANY)
    if origin in (dict, typing.Mapping):
        key, elem = spec_of(args[0]), spec_of(args[1])
        if key.kind not in (Kind.STRING, Kind.INT, Kind.UINT):
            raise TypeError(f"unsupported map key {args[0]!r}: JSON object keys are strings or integers")
        return TypeSpec(Kind.MAP, f"map[{key.go_name}]{elem.go_name}", key=key, elem=elem)
    if isinstance(annotation, type) and dataclasses.is_dataclass(annotation):
        return _struct(annotation)
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return _enum(annotation)
    raise TypeError(f"unsupported annotation {annotation!r}: use a dataclass, int, float, str, bool, "
                    "bytes, datetime, timedelta, an Enum, list[T], dict[str, T], Optional[T], Any "
                    "or a greenrpc.gotypes kind")


def _annotated(base: Any, metadata: tuple[Any, ...]) -> TypeSpec:
    arrays = [m for m in metadata if isinstance(m, GoArray)]
    if arrays:
        return _array(base, arrays[0].length)
    kinds = [m for m in metadata if isinstance(m, GoKind)]
    if kinds or base in (int, float):
        return _numeric(base, kinds[0] if kinds else None)
    return spec_of(base)  # only field metadata (GoField) or other libraries' markers


def _numeric(base: Any, kind: Optional[GoKind]) -> TypeSpec:
    if base is float or (kind is not None and kind.is_float):
        bits = kind.bits if kind else 64
        return TypeSpec(Kind.FLOAT, f"float{bits}", bits=bits)
    if base is not int:
        raise TypeError(f"unsupported annotation base {base!r} for {kind}")
    if kind is None:
        return TypeSpec(Kind.INT, "int")
    return TypeSpec(Kind.INT if kind.signed else Kind.UINT, kind.name, bits=kind.bits)


def go_package(cls: type) -> str:
    """The package part of a Go type string for a Python class: its module's last component."""
    module = cls.__module__.rpartition(".")[2]
    return "main" if module == "__main__" else module


def _array(base: Any, length: int) -> TypeSpec:
    inner = spec_of(base)
    if inner.kind is not Kind.LIST or inner.length is not None or inner.elem is None:
        raise TypeError(f"GoArray({length}) annotates list[T], not {base!r}")
    return TypeSpec(Kind.LIST, f"[{length}]{inner.elem.go_name}", elem=inner.elem, length=length)


def _enum(cls: type[enum.Enum]) -> TypeSpec:
    """An Enum is a Go named type of its values' kind: int constants, or string constants."""
    options = gonames.enum_options(cls)
    values = [member.value for member in cls]
    texts = all(isinstance(v, str) for v in values)
    if not values or not (texts or all(isinstance(v, int) and not isinstance(v, bool)
                                       for v in values)):
        raise TypeError(f"unsupported Enum {cls.__name__}: Go constants need all int or all str "
                        "values")
    kind = options.kind if options is not None and options.kind else ("string" if texts else "int")
    if (kind == "string") != texts:
        raise TypeError(f"Enum {cls.__name__} has {'str' if texts else 'int'} values, "
                        f"not go_enum kind {kind!r}")
    name = options.name if options is not None and options.name else cls.__name__
    go_name = f"{go_package(cls)}.{name}"
    if texts:
        return TypeSpec(Kind.STRING, go_name, cls=cls)
    width = _numeric(int, GoKind(kind))
    spec = TypeSpec(width.kind, go_name, bits=width.bits, cls=cls)
    low, high = int_bounds(spec)
    outside = [v for v in values if not low <= v <= high]
    if outside:
        raise TypeError(f"Enum {cls.__name__} value {outside[0]} does not fit Go's {kind}")
    return spec


def _struct(cls: type) -> TypeSpec:
    # Go's type strings qualify named types ("main.ArithRequest"); its field errors use the bare name.
    options = gonames.struct_options(cls)
    name = options.name if options is not None and options.name else cls.__name__
    spec = TypeSpec(Kind.STRUCT, f"{go_package(cls)}.{name}", cls=cls)
    _cache[cls] = spec  # before the fields, so a self-referencing struct finds itself
    try:
        hints = typing.get_type_hints(cls, include_extras=True)
        spec.fields = tuple(_field(cls, f, hints.get(f.name, Any), options)
                            for f in dataclasses.fields(cls) if f.init and not _private(cls, f))
        spec.json_fields = json_fields(spec)
    except BaseException:
        del _cache[cls]
        raise
    return spec


def _private(cls: type, f: dataclasses.Field[Any]) -> bool:
    if not f.name.startswith("_"):
        return False
    # Go sees only exported fields; private ones keep their default
    if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
        raise TypeError(f"{cls.__name__}.{f.name}: a private field needs a default, "
                        "since no peer can set it")
    return True


def _field(cls: type, f: dataclasses.Field[Any], hint: Any,
           options: Optional[gonames.GoStruct]) -> FieldSpec:
    marks = [m for m in getattr(hint, "__metadata__", ()) if isinstance(m, GoField)]
    mark = marks[-1] if marks else GoField()
    try:
        fspec = spec_of(hint)
    except TypeError as err:
        raise TypeError(f"{cls.__name__}.{f.name}: {err}") from None
    zero: Callable[[], Any]
    if f.default is not dataclasses.MISSING:
        zero = functools.partial(_identity, f.default)
    elif f.default_factory is not dataclasses.MISSING:
        zero = f.default_factory
    else:
        zero = fspec.zero
    embedded_type = _base(fspec)
    if mark.embedded and (embedded_type.kind is not Kind.STRUCT or not embedded_type.name):
        raise TypeError(f"{cls.__name__}.{f.name}: only a dataclass (or Optional of one) can be "
                        "embedded")
    go = mark.name or (embedded_type.name if mark.embedded else
                       gonames.go_name(f.name) if options is not None else f.name)
    json = mark.json
    if json is None and options is not None and options.json == "python" and not mark.embedded:
        json = f.name
    return FieldSpec(f.name, fspec, zero, name=go, json=None if json == "-" else json or "",
                     tagged=json not in (None, "-"), omitempty=mark.omitempty,
                     embedded=mark.embedded)


def _base(spec: TypeSpec) -> TypeSpec:
    while spec.kind is Kind.POINTER:
        assert spec.elem is not None
        spec = spec.elem
    return spec


def json_fields(spec: TypeSpec) -> tuple[JSONField, ...]:
    """The fields encoding/json sees in a struct, after promoting embedded structs' fields.

    Go's typeFields (encode.go): breadth first through untagged embedded structs; a name seen
    at several depths belongs to the shallowest; at one depth a tagged name beats untagged
    ones, and two of a kind cancel out (neither is encoded). The order is declaration order,
    depth first.
    """
    found: list[tuple[tuple[int, ...], bool, JSONField]] = []
    level: list[tuple[TypeSpec, tuple[int, ...], tuple[FieldSpec, ...]]] = [(spec, (), ())]
    visited: set[int] = set()
    counts: dict[int, int] = {}
    next_counts: dict[int, int] = {}
    while level:
        current, level = level, []
        counts, next_counts = next_counts, {}
        for struct, index, path in current:
            if id(struct) in visited:
                continue
            visited.add(id(struct))
            for i, f in enumerate(struct.fields):
                if f.json is None:
                    continue
                base = _base(f.spec)
                if f.embedded and not f.tagged and base.kind is Kind.STRUCT:
                    next_counts[id(base)] = next_counts.get(id(base), 0) + 1
                    if next_counts[id(base)] == 1:
                        level.append((base, index + (i,), path + (f,)))
                    continue
                entry = (index + (i,), f.tagged, JSONField(f.json, path + (f,)))
                found.append(entry)
                if counts.get(id(struct), 0) > 1:
                    found.append(entry)  # the same type embedded twice at one depth
    found.sort(key=lambda e: (e[2].key, len(e[0]), not e[1], e[0]))
    kept = []
    for _, group in _groups(found):
        first = group[0]
        if len(group) > 1 and len(group[1][0]) == len(first[0]) and group[1][1] == first[1]:
            continue  # dominantField: two at the top depth, both tagged or neither
        kept.append(first)
    kept.sort(key=lambda e: e[0])
    return tuple(e[2] for e in kept)


def _groups(entries: list[Any]) -> list[tuple[str, list[Any]]]:
    groups: list[tuple[str, list[Any]]] = []
    for entry in entries:
        key = entry[2].key
        if groups and groups[-1][0] == key:
            groups[-1][1].append(entry)
        else:
            groups.append((key, [entry]))
    return groups


def _zero(spec: TypeSpec) -> Any:
    kind = spec.kind
    if spec.cls is not None and kind is not Kind.STRUCT:
        return zero_scalar(spec)
    if kind is Kind.BOOL:
        return False
    if kind in (Kind.INT, Kind.UINT):
        return 0
    if kind is Kind.FLOAT:
        return 0.0
    if kind is Kind.STRING:
        return ""
    if kind is Kind.BYTES:
        return b""
    if kind is Kind.LIST:
        if spec.length is None or spec.elem is None:
            return []
        return [_zero(spec.elem) for _ in range(spec.length)]  # a Go array is never empty
    if kind is Kind.MAP:
        return {}
    if kind is Kind.STRUCT:
        assert spec.cls is not None
        return spec.cls(**{f.attr: f.zero() for f in spec.fields})
    return None


def zero_scalar(spec: TypeSpec) -> Any:
    """The zero value of a scalar with its own class: Go's zero time, duration, enum constant."""
    cls = spec.cls
    assert cls is not None
    if spec.kind is Kind.TIME:
        return gotime.Time.zero()
    if cls is gotime.Duration:
        return gotime.Duration()
    zero = "" if spec.kind is Kind.STRING else 0
    try:
        return cls(zero)
    except ValueError:
        raise TypeMismatch(f"zero value {zero!r} (no {cls.__name__} member has it)",
                           spec.go_name) from None


def int_bounds(spec: TypeSpec) -> tuple[int, int]:
    """The range of an INT or UINT spec's Go type."""
    if spec.kind is Kind.INT:
        return -(1 << (spec.bits - 1)), (1 << (spec.bits - 1)) - 1
    return 0, (1 << spec.bits) - 1


def describe(value: JSON) -> str:
    """Name a decoded JSON value the way Go's errors do: string, number, bool, array, object."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return "null"


def _trampoline(spec: TypeSpec) -> Convert:
    return lambda value: spec.convert(value)


def _identity(value: Any) -> Any:
    return value


def plain(value: Any) -> JSON:
    """Turn any result into JSON data: dataclasses become objects with every public field."""
    if value is None or type(value) in (int, str, float, bool):
        return value
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k) if not isinstance(k, str) else k: plain(v) for k, v in value.items()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return spec_of(type(value)).encode(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        from .jsonvalues import encode_bytes
        return encode_bytes(value)
    if isinstance(value, enum.Enum):
        return plain(value.value)
    if isinstance(value, datetime.datetime):
        return gotime.format_rfc3339(value)
    if isinstance(value, datetime.timedelta):
        return gotime.nanoseconds(value)
    if isinstance(value, float) and not math.isfinite(value):
        return value  # the encoder refuses it, with its own message
    return value  # ints and strs subclasses, or something the encoder will refuse


def gob_name_problems(specs: list[Optional[TypeSpec]]) -> list[str]:
    """Struct fields reachable from specs whose Go names Go cannot see, each with the fix."""
    problems: list[str] = []
    seen: set[int] = set()
    stack = [s for s in specs if s is not None]
    while stack:
        spec = stack.pop()
        if id(spec) in seen:
            continue
        seen.add(id(spec))
        stack.extend(s for s in (spec.elem, spec.key) if s is not None)
        for f in spec.fields:
            stack.append(f.spec)
            if not gonames.is_exported(f.name):
                assert spec.cls is not None
                problems.append(_gob_problem(spec.cls.__name__, f))
    return problems


def _gob_problem(struct: str, f: FieldSpec) -> str:
    suggestion = gonames.go_name(f.attr)
    return (f"{struct}.{f.attr} never crosses gob: Go sees only exported (capitalized) field "
            f"names and {f.name!r} is not one. Name it for Go with @greenrpc.go_struct on "
            f"{struct} ({f.attr} -> {suggestion}) or Annotated[..., "
            f'greenrpc.GoField("{suggestion}")]')


def warn_gob_names(specs: list[Optional[TypeSpec]]) -> None:
    """Warn (GoNameWarning) about each field gob cannot carry, pointing at the caller's code."""
    problems = gob_name_problems(specs)
    if not problems:
        return
    level, frame = 2, sys._getframe(1)  # stacklevel 2 is our caller
    while frame is not None and str(frame.f_globals.get("__name__", "")).startswith("greenrpc"):
        frame, level = frame.f_back, level + 1  # type: ignore[assignment]
    for problem in problems:
        warnings.warn(problem, GoNameWarning, stacklevel=level)
