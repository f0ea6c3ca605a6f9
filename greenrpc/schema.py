"""Python annotations read as Go types: JSON conversion, zero values, result encoding, Go names.

A method's annotations are the single source of type information: ``int`` is Go's ``int``,
``float`` is ``float64``, a dataclass is a struct, ``list[T]`` a slice, ``dict[str, T]`` a map,
``Optional[T]`` a pointer, and ``greenrpc.gotypes`` adds Go's sized kinds. ``spec_of`` turns an
annotation into a ``TypeSpec`` once; the converters built from it check incoming JSON the way Go's
``encoding/json`` does (no coercion, case-insensitive struct fields, null leaves the zero value)
and raise ``TypeMismatch`` with Go's wording.
"""
from __future__ import annotations

import base64
import binascii
import dataclasses
import enum
import functools
import math
import types
import typing
from operator import itemgetter
from typing import Any, Callable, Optional

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


_SCALARS = (Kind.BOOL, Kind.INT, Kind.UINT, Kind.FLOAT, Kind.STRING, Kind.ANY)


class TypeMismatch(Exception):
    """A JSON value does not fit the declared type; ``str()`` is Go's UnmarshalTypeError text."""

    def __init__(self, value: str, go_type: str) -> None:
        super().__init__(value, go_type)
        self.value = value
        self.go_type = go_type
        self.struct = ""
        self.field = ""

    def __str__(self) -> str:
        if self.struct or self.field:
            return (f"json: cannot unmarshal {self.value} into Go struct field "
                    f"{self.struct}.{self.field} of type {self.go_type}")
        return f"json: cannot unmarshal {self.value} into Go value of type {self.go_type}"


class FieldSpec:
    """One exported struct field: its name on the wire, its type and its zero value."""

    __slots__ = ("name", "spec", "zero")

    def __init__(self, name: str, spec: TypeSpec, zero: Callable[[], Any]) -> None:
        self.name = name
        self.spec = spec
        self.zero = zero


class TypeSpec:
    """A Go view of one Python annotation; converters are built on first use and cached."""

    __slots__ = ("kind", "go_name", "bits", "elem", "key", "cls", "length", "fields", "_convert",
                 "_encode")

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
        self._convert: Optional[Convert] = None
        self._encode: Optional[Encode] = None

    def __repr__(self) -> str:
        return f"TypeSpec({self.go_name})"

    @property
    def convert(self) -> Convert:
        """The function turning a decoded JSON value into this type (raises TypeMismatch)."""
        if self._convert is None:
            self._convert = _trampoline(self)  # guards recursive structs while building
            self._convert = _build_converter(self)
        return self._convert

    @property
    def encode(self) -> Encode:
        """The function turning a value of this type into plain JSON data."""
        if self._encode is None:
            self._encode = plain
            self._encode = _build_encoder(self)
        return self._encode

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
        arrays = [m for m in annotation.__metadata__ if isinstance(m, GoArray)]
        if arrays:
            return _array(args[0], arrays[0].length)
        kinds = [m for m in annotation.__metadata__ if isinstance(m, GoKind)]
        return _numeric(args[0], kinds[0] if kinds else None)
    if annotation in (int, float):
        return _numeric(annotation, None)
    if annotation is bool:
        return TypeSpec(Kind.BOOL, "bool")
    if annotation is str:
        return TypeSpec(Kind.STRING, "string")
    if annotation in (bytes, bytearray):
        return TypeSpec(Kind.BYTES, "[]uint8")
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
    raise TypeError(f"unsupported annotation {annotation!r}: use a dataclass, int, float, str, bool, "
                    "bytes, list[T], dict[str, T], Optional[T], Any or a greenrpc.gotypes kind")


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


def _struct(cls: type) -> TypeSpec:
    # Go's type strings qualify named types ("main.ArithRequest"); its field errors use the bare name.
    spec = TypeSpec(Kind.STRUCT, f"{go_package(cls)}.{cls.__name__}", cls=cls)
    _cache[cls] = spec  # before the fields, so a self-referencing struct finds itself
    hints = typing.get_type_hints(cls, include_extras=True)
    fields = []
    for f in dataclasses.fields(cls):
        if not f.init:
            continue
        if f.name.startswith("_"):  # Go sees only exported fields; private ones keep their default
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise TypeError(f"{cls.__name__}.{f.name}: a private field needs a default, "
                                "since no peer can set it")
            continue
        fspec = spec_of(hints.get(f.name, Any))
        zero: Callable[[], Any]
        if f.default is not dataclasses.MISSING:
            zero = functools.partial(_identity, f.default)
        elif f.default_factory is not dataclasses.MISSING:
            zero = f.default_factory
        else:
            zero = fspec.zero
        fields.append(FieldSpec(f.name, fspec, zero))
    spec.fields = tuple(fields)
    return spec


def _zero(spec: TypeSpec) -> Any:
    kind = spec.kind
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
        return []
    if kind is Kind.MAP:
        return {}
    if kind is Kind.STRUCT:
        assert spec.cls is not None
        return spec.cls(**{f.name: f.zero() for f in spec.fields})
    return None


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


def _number_text(value: Any) -> str:
    return "number " + (str(value) if type(value) is int else repr(value))


def _trampoline(spec: TypeSpec) -> Convert:
    return lambda value: spec.convert(value)


def _build_converter(spec: TypeSpec) -> Convert:
    builder = _CONVERTER_BUILDERS[spec.kind]
    return builder(spec)


def _convert_any(spec: TypeSpec) -> Convert:
    return lambda value: value


def _convert_bool(spec: TypeSpec) -> Convert:
    def convert(value: JSON) -> bool:
        if value is True or value is False:
            return value
        if value is None:
            return False
        raise TypeMismatch(describe(value), spec.go_name)
    return convert


def _convert_int(spec: TypeSpec) -> Convert:
    low, high = _int_bounds(spec)
    go_name = spec.go_name

    def convert(value: JSON) -> int:
        if type(value) is int and low <= value <= high:
            return value
        if value is None:
            return 0
        if type(value) in (int, float):
            raise TypeMismatch(_number_text(value), go_name)
        raise TypeMismatch(describe(value), go_name)
    return convert


def _convert_float(spec: TypeSpec) -> Convert:
    limit = 3.4028234663852886e38 if spec.bits == 32 else math.inf
    go_name = spec.go_name

    def convert(value: JSON) -> float:
        if type(value) is float or type(value) is int:
            number = float(value)
            if -limit <= number <= limit and math.isfinite(number):
                return number
            raise TypeMismatch(_number_text(value), go_name)
        if value is None:
            return 0.0
        raise TypeMismatch(describe(value), go_name)
    return convert


def _convert_string(spec: TypeSpec) -> Convert:
    def convert(value: JSON) -> str:
        if type(value) is str:
            return value
        if value is None:
            return ""
        raise TypeMismatch(describe(value), "string")
    return convert


def _convert_bytes(spec: TypeSpec) -> Convert:
    def convert(value: JSON) -> bytes:
        if type(value) is str:  # Go sends []byte as standard base64
            try:
                return base64.b64decode(value, validate=True)
            except (binascii.Error, ValueError):
                raise TypeMismatch("string (illegal base64)", spec.go_name) from None
        if value is None:
            return b""
        raise TypeMismatch(describe(value), spec.go_name)
    return convert


def _convert_list(spec: TypeSpec) -> Convert:
    assert spec.elem is not None
    elem = spec.elem
    go_name = spec.go_name
    if elem.kind is Kind.ANY:
        def convert_raw(value: JSON) -> list[Any]:
            if type(value) is list:
                return value
            if value is None:
                return []
            raise TypeMismatch(describe(value), go_name)
        return convert_raw
    item = elem.convert

    def convert(value: JSON) -> list[Any]:
        if type(value) is list:
            return [item(v) for v in value]
        if value is None:
            return []
        raise TypeMismatch(describe(value), go_name)
    return convert


def _convert_map(spec: TypeSpec) -> Convert:
    assert spec.elem is not None and spec.key is not None
    item = spec.elem.convert
    key_spec = spec.key
    go_name = spec.go_name
    key_convert = spec.key.convert

    def key_of(text: str) -> Any:
        if key_spec.kind is Kind.STRING:
            return text
        try:  # Go parses integer map keys from the object's string keys
            return key_convert(int(text, 10))
        except (ValueError, TypeMismatch):
            raise TypeMismatch(f"number {text}", key_spec.go_name) from None

    def convert(value: JSON) -> dict[Any, Any]:
        if type(value) is dict:
            return {key_of(k): item(v) for k, v in value.items()}
        if value is None:
            return {}
        raise TypeMismatch(describe(value), go_name)
    return convert


def _convert_pointer(spec: TypeSpec) -> Convert:
    assert spec.elem is not None
    inner = spec.elem.convert

    def convert(value: JSON) -> Any:
        return None if value is None else inner(value)
    return convert


def _convert_struct(spec: TypeSpec) -> Convert:
    assert spec.cls is not None
    cls = spec.cls
    go_name = spec.go_name
    struct_name = cls.__name__
    fields = spec.fields
    exact = {f.name: (f.name, f.spec.convert) for f in fields}
    folded = {f.name.lower(): pair for f, pair in zip(fields, exact.values())}

    def convert(value: JSON) -> Any:
        if type(value) is not dict:
            if value is None:
                return spec.zero()
            raise TypeMismatch(describe(value), go_name)
        found = {}
        for key, item in value.items():
            # Go prefers an exact field name, then a case-insensitive one; unknown keys are skipped.
            pair = exact.get(key) or folded.get(key.lower())
            if pair is None or item is None:
                continue
            name, convert_field = pair
            try:
                found[name] = convert_field(item)
            except TypeMismatch as err:
                # Go reports the innermost struct and the whole field path (decode.go addErrorContext).
                if not err.struct:
                    err.struct, err.field = struct_name, name
                else:
                    err.field = f"{name}.{err.field}"
                raise
        for f in fields:
            if f.name not in found:
                found[f.name] = f.zero()
        return cls(**found)
    return _exact_struct(spec, convert) or convert


# Field kinds whose JSON value is valid exactly when its type is this (and, for ints, in range).
_EXACT_TYPES = {Kind.INT: int, Kind.UINT: int, Kind.STRING: str, Kind.BOOL: bool}


def _exact_struct(spec: TypeSpec, general: Convert) -> Optional[Convert]:
    """A faster converter for the usual object: exactly the field names, no nulls; else general.

    Fields of int, string and bool kinds are checked in one loop over the values, other kinds
    by their converters. Anything unusual (other keys, case-folded names, nulls, a value out of
    range or of the wrong type) goes to general, which decides and words the error as Go does.
    None where the struct's fields cannot be passed positionally in declaration order.
    """
    cls = spec.cls
    fields = spec.fields
    names = tuple(f.name for f in fields)
    assert cls is not None
    params = [f for f in dataclasses.fields(cls) if f.init]
    if not names or tuple(f.name for f in params[:len(names)]) != names \
            or any(getattr(f, "kw_only", False) for f in params[:len(names)]):
        return None
    count = len(names)
    get: Callable[[Any], Any] = itemgetter(*names) if count > 1 else lambda value: (value[names[0]],)
    types: tuple[Any, ...] = tuple(_EXACT_TYPES.get(f.spec.kind) for f in fields)
    if all(t is int for t in types):  # every field an integer: the bounds they all accept
        low = max(_int_bounds(f.spec)[0] for f in fields)
        high = min(_int_bounds(f.spec)[1] for f in fields)

        def convert_ints(value: JSON) -> Any:
            if type(value) is dict and len(value) == count:
                try:
                    values = get(value)
                except KeyError:
                    return general(value)
                for item in values:
                    if type(item) is not int or not low <= item <= high:
                        return general(value)
                return cls(*values)
            return general(value)
        return convert_ints
    converters = tuple(None if t is not None else f.spec.convert for f, t in zip(fields, types))
    bounds: tuple[Optional[tuple[int, int]], ...] = tuple(
        _int_bounds(f.spec) if t is int else None for f, t in zip(fields, types))

    def convert(value: JSON) -> Any:
        if type(value) is dict and len(value) == count:
            try:
                values = get(value)
            except KeyError:
                return general(value)
            if None in values:
                return general(value)
            out: list[Any] = []
            item: Any
            try:
                for item, kind, convert_field, bound in zip(values, types, converters, bounds):
                    if convert_field is not None:
                        item = convert_field(item)
                    elif type(item) is not kind or (bound is not None
                                                    and not bound[0] <= item <= bound[1]):
                        return general(value)
                    out.append(item)
            except TypeMismatch:
                return general(value)  # raises again, naming the struct and field
            return cls(*out)
        return general(value)
    return convert


def _int_bounds(spec: TypeSpec) -> tuple[int, int]:
    if spec.kind is Kind.INT:
        return -(1 << (spec.bits - 1)), (1 << (spec.bits - 1)) - 1
    return 0, (1 << spec.bits) - 1


_CONVERTER_BUILDERS: dict[Kind, Callable[[TypeSpec], Convert]] = {
    Kind.ANY: _convert_any,
    Kind.BOOL: _convert_bool,
    Kind.INT: _convert_int,
    Kind.UINT: _convert_int,
    Kind.FLOAT: _convert_float,
    Kind.STRING: _convert_string,
    Kind.BYTES: _convert_bytes,
    Kind.LIST: _convert_list,
    Kind.MAP: _convert_map,
    Kind.POINTER: _convert_pointer,
    Kind.STRUCT: _convert_struct,
}


def _build_encoder(spec: TypeSpec) -> Encode:
    kind = spec.kind
    if kind in _SCALARS:
        return _identity
    if kind is Kind.BYTES:
        return _encode_bytes
    if kind is Kind.POINTER:
        assert spec.elem is not None
        inner = spec.elem.encode
        return lambda value: None if value is None else inner(value)
    if kind is Kind.LIST:
        assert spec.elem is not None
        if spec.elem.kind in _SCALARS:
            return lambda value: value if type(value) is list or value is None else list(value)
        item = spec.elem.encode
        return lambda value: None if value is None else [item(v) for v in value]
    if kind is Kind.MAP:
        assert spec.elem is not None
        item = spec.elem.encode
        return lambda value: None if value is None else {str(k): item(v) for k, v in value.items()}
    pairs = [(f.name, f.spec.encode) for f in spec.fields]

    def encode_struct(value: Any) -> JSON:
        if not dataclasses.is_dataclass(value):
            return plain(value)  # None, or a dict returned where a struct was declared
        return {name: encode(getattr(value, name)) for name, encode in pairs}
    cls = spec.cls
    if cls is None or "__slots__" in vars(cls) or any(e is not _identity for _, e in pairs):
        return encode_struct
    # Every field is a scalar and this class keeps its fields in its __dict__, in declaration
    # order: an instance holding exactly those (and nothing else) is encoded by copying it.
    names = frozenset(name for name, _ in pairs)

    def encode_scalar_struct(value: Any) -> JSON:
        if type(value) is cls:
            fields = value.__dict__
            if fields.keys() == names:
                return fields.copy()
        return encode_struct(value)
    return encode_scalar_struct


def _identity(value: Any) -> Any:
    return value


def _encode_bytes(value: Any) -> JSON:
    return base64.b64encode(bytes(value)).decode("ascii") if value is not None else None


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
        return _encode_bytes(value)
    if isinstance(value, enum.Enum):
        return plain(value.value)
    return value  # ints and strs subclasses, or something the encoder will refuse
