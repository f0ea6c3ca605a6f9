"""An OpenRPC document describing a registry's methods, answered by the rpc.discover method.

How this works: every exposed method already carries what a document needs, read once at
registration (registry.Method): its parameters' TypeSpecs, its result's TypeSpec and its
docstring. Each TypeSpec becomes a JSON Schema with Go's rules (an ``int`` is an integer within
Go's range for its size, ``Optional[T]`` admits null, a dataclass is an object); dataclasses go
to ``components.schemas`` under their Go type name and are referenced from there, so recursive
structs work. The document follows OpenRPC 1.3.2 (https://spec.open-rpc.org); rpc.discover
itself is left out of ``methods``, as the spec allows.
"""
from __future__ import annotations

import dataclasses
import enum
import inspect
import typing
from typing import TYPE_CHECKING, Any

from .gonames import enum_options, go_name
from .schema import FieldSpec, Kind, TypeSpec
from .version import VERSION

if TYPE_CHECKING:
    from .registry import Method, Registry

JSON = Any
OPENRPC_VERSION = "1.3.2"
DISCOVER = "rpc.discover"
_FLOAT32_MAX = 3.4028234663852886e38


class SchemaBuilder:
    """JSON Schemas for TypeSpecs, collecting the structs they use as named components."""

    def __init__(self) -> None:
        self.components: dict[str, JSON] = {}

    def schema(self, spec: TypeSpec) -> JSON:
        kind = spec.kind
        if kind is Kind.TIME:  # Go's MarshalJSON writes RFC 3339 with nanoseconds
            return {"type": "string", "format": "date-time"}
        if spec.cls is not None and issubclass(spec.cls, enum.Enum):
            return self._enum(spec)
        if kind is Kind.ANY:
            return {}
        if kind is Kind.BOOL:
            return {"type": "boolean"}
        if kind in (Kind.INT, Kind.UINT):
            if kind is Kind.INT:
                low, high = -(1 << (spec.bits - 1)), (1 << (spec.bits - 1)) - 1
            else:
                low, high = 0, (1 << spec.bits) - 1
            return {"type": "integer", "format": spec.go_name, "minimum": low, "maximum": high}
        if kind is Kind.FLOAT:
            if spec.bits == 32:
                return {"type": "number", "format": "float32", "minimum": -_FLOAT32_MAX,
                        "maximum": _FLOAT32_MAX}
            return {"type": "number", "format": "float64"}
        if kind is Kind.STRING:
            return {"type": "string"}
        if kind is Kind.BYTES:  # Go's encoding/json sends []byte as standard base64
            return {"type": "string", "contentEncoding": "base64"}
        if kind is Kind.LIST:
            assert spec.elem is not None
            out: dict[str, JSON] = {"type": "array", "items": self.schema(spec.elem)}
            if spec.length is not None:
                out["minItems"] = out["maxItems"] = spec.length
            return out
        if kind is Kind.MAP:
            assert spec.elem is not None and spec.key is not None
            out = {"type": "object", "additionalProperties": self.schema(spec.elem)}
            if spec.key.kind is not Kind.STRING:  # Go writes integer keys as decimal strings
                out["propertyNames"] = {"pattern": "^-?[0-9]+$"}
            return out
        if kind is Kind.POINTER:
            assert spec.elem is not None
            return {"anyOf": [self.schema(spec.elem), {"type": "null"}]}
        return self._struct(spec)

    def _struct(self, spec: TypeSpec) -> JSON:
        ref = {"$ref": f"#/components/schemas/{spec.go_name}"}
        if spec.go_name in self.components:
            return ref
        self.components[spec.go_name] = {}  # claimed first: a struct may contain itself
        assert spec.cls is not None
        # Go matches field names case-insensitively and leaves missing ones at their zero value,
        # so no field is required and unknown ones are ignored (additionalProperties stays open).
        # Properties are the JSON view (embedded structs' fields promoted); x-go-fields is the Go
        # struct itself, which gob sends and `greenrpc gen go` writes.
        body: dict[str, JSON] = {
            "title": spec.name,
            "type": "object",
            "properties": {field.key: self.schema(field.spec) for field in spec.json_fields},
            "x-go-fields": [self._go_field(field) for field in spec.fields],
        }
        doc = _own_doc(spec.cls)
        if doc:
            body["description"] = doc
        self.components[spec.go_name] = body
        return ref

    def _go_field(self, field: FieldSpec) -> JSON:
        self.schema(field.spec)  # the types it names are components too
        out: dict[str, JSON] = {"name": field.name, "type": field.spec.go_name,
                                "json": "-" if field.json is None else field.json}
        if field.omitempty:
            out["omitempty"] = True
        if field.embedded:
            out["embedded"] = True
        return out

    def _enum(self, spec: TypeSpec) -> JSON:
        """An Enum is a component: its values, and the Go constants naming them."""
        ref = {"$ref": f"#/components/schemas/{spec.go_name}"}
        if spec.go_name not in self.components:
            assert spec.cls is not None
            members = list(typing.cast(type[enum.Enum], spec.cls))
            underlying = _underlying(spec)
            body: dict[str, JSON] = {
                "title": spec.name,
                "type": "string" if spec.kind is Kind.STRING else "integer",
                "enum": [m.value for m in members],
                "x-go-type": underlying,
                "x-go-constants": [{"name": constant_name(spec.name, m.name), "value": m.value}
                                   for m in members],
            }
            if spec.kind is not Kind.STRING:
                body["format"] = underlying
            doc = _own_doc(spec.cls)
            if doc:
                body["description"] = doc
            self.components[spec.go_name] = body
        return ref


def _underlying(spec: TypeSpec) -> str:
    assert spec.cls is not None
    options = enum_options(spec.cls)
    if options is not None and options.kind:
        return options.kind
    return "string" if spec.kind is Kind.STRING else "int"


def constant_name(type_name: str, member: str) -> str:
    """The Go constant for an Enum member: RED of Color is ColorRed (Go's usual prefix)."""
    name = go_name(member.lower())
    return name if name.startswith(type_name) else type_name + name


def _own_doc(cls: type) -> str:
    """A class's docstring, but not the signature dataclasses write when there is none."""
    doc = inspect.getdoc(cls) or ""
    if dataclasses.is_dataclass(cls) and doc.startswith(cls.__name__ + "("):
        return ""
    return doc


def method_object(method: Method, builder: SchemaBuilder) -> JSON:
    """The OpenRPC Method Object for one exposed method."""
    params = []
    by_name_only = False
    for param in method.params + method.keyword_only:
        descriptor: dict[str, JSON] = {"name": param.name, "schema": builder.schema(param.spec),
                                       "required": param.required, "x-go-type": param.spec.go_name}
        params.append(descriptor)
        by_name_only = by_name_only or (param in method.keyword_only and param.required)
    result_spec = method.result_spec
    result: dict[str, JSON] = {"name": "result", "schema": {}}
    if result_spec is not None:
        result["schema"] = builder.schema(result_spec)
        result["x-go-type"] = result_spec.go_name
    out: dict[str, JSON] = {
        "name": method.name,
        "params": params,
        "result": result,
        # JSON-RPC 2.0 takes params by position or by name; Go's dialect sends the first alone.
        "paramStructure": "by-name" if by_name_only else "either",
    }
    summary, _, description = method.doc.partition("\n")
    if summary.strip():
        out["summary"] = summary.strip()
    if description.strip():
        out["description"] = description.strip()
    return out


def document(registry: Registry, title: str = "greenrpc", version: str = VERSION) -> JSON:
    """The OpenRPC document for every method of registry, sorted by name."""
    builder = SchemaBuilder()
    methods = [method_object(registry.methods[name], builder) for name in sorted(registry.methods)]
    out: dict[str, JSON] = {
        "openrpc": OPENRPC_VERSION,
        "info": {"title": title, "version": version},
        "methods": methods,
    }
    if builder.components:
        out["components"] = {"schemas": dict(sorted(builder.components.items()))}
    return out
