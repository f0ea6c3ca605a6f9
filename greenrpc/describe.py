"""An OpenRPC document as the text `greenrpc inspect` prints: services, signatures, types."""
from __future__ import annotations

import json
from typing import Any

JSON = Any
_REF = "#/components/schemas/"
FUNCTIONS = "Functions"


def type_name(schema: JSON) -> str:
    """A Go-style name for a JSON Schema as openrpc.py writes them ("[]int", "*services.Args")."""
    if not isinstance(schema, dict) or not schema:
        return "any"
    if "$ref" in schema:
        return str(schema["$ref"]).removeprefix(_REF)
    if "anyOf" in schema:
        others = [s for s in schema["anyOf"] if s != {"type": "null"}]
        return "*" + type_name(others[0]) if len(others) == 1 else "any"
    kind = schema.get("type")
    if kind == "integer":
        return str(schema.get("format", "int"))
    if kind == "number":
        return str(schema.get("format", "float64"))
    if kind == "string":
        if schema.get("format") == "date-time":
            return "time.Time"
        return "[]byte" if schema.get("contentEncoding") == "base64" else "string"
    if kind == "boolean":
        return "bool"
    if kind == "array":
        length = schema.get("maxItems") if schema.get("minItems") == schema.get("maxItems") else None
        return f"[{length if length is not None else ''}]{type_name(schema.get('items'))}"
    if kind == "object":
        key = "int" if "propertyNames" in schema else "string"
        return f"map[{key}]{type_name(schema.get('additionalProperties'))}"
    return "any"


def signature(method: JSON, short_name: str) -> str:
    """ "Multiply(args services.ArithRequest) services.ArithResponse", optional params with "?"."""
    params = [f"{p['name']}{'' if p.get('required') else '?'} {type_name(p.get('schema'))}"
              for p in method.get("params", [])]
    result = method.get("result", {}).get("schema", {})
    return f"{short_name}({', '.join(params)}) {type_name(result)}"


def render(document: JSON, address: str) -> str:
    """Services and their methods (sorted, with summaries), then the struct types they use."""
    services: dict[str, list[tuple[str, JSON]]] = {}
    for method in document.get("methods", []):
        service, dot, short = method["name"].rpartition(".")
        services.setdefault(service if dot else FUNCTIONS, []).append(
            (short if dot else method["name"], method))
    info = document.get("info", {})
    count = sum(len(methods) for methods in services.values())
    lines = [f"{info.get('title', '?')} {info.get('version', '')} at {address}: "
             f"{len(services)} service{'' if len(services) == 1 else 's'}, "
             f"{count} method{'' if count == 1 else 's'}"]
    for service in sorted(services, key=lambda name: (name == FUNCTIONS, name)):
        lines.append("")
        lines.append(service)
        for short, method in sorted(services[service], key=lambda pair: pair[0]):
            lines.append(f"  {signature(method, short)}")
            if method.get("summary"):
                lines.append(f"      {method['summary']}")
    schemas = document.get("components", {}).get("schemas", {})
    if schemas:
        lines.append("")
        lines.append("Types")
        for name, schema in sorted(schemas.items()):
            lines.append(f"  {name} {type_body(schema)}")
    return "\n".join(lines) + "\n"


def type_body(schema: JSON) -> str:
    """A component as Go declares it: a struct's fields with their JSON names, or constants."""
    constants = schema.get("x-go-constants")
    if constants is not None:
        values = ", ".join(f"{c['name']} = {json.dumps(c['value'], ensure_ascii=False)}"
                           for c in constants)
        return f"{schema.get('x-go-type', '')} {{{values}}}"
    go_fields = schema.get("x-go-fields")
    if go_fields is None:  # a document from an older server: its JSON properties
        return "{" + ", ".join(f"{field} {type_name(sub)}"
                               for field, sub in schema.get("properties", {}).items()) + "}"
    return "{" + ", ".join(_go_field(f) for f in go_fields) + "}"


def _go_field(field: JSON) -> str:
    if field.get("embedded"):
        text = str(field["type"])
    else:
        text = f"{field['name']} {field['type']}"
    key = field.get("json", field["name"])
    omit = ",omitempty" if field.get("omitempty") else ""
    if key != field["name"] or omit:
        text += f' json:"{key}{omit}"'
    return text
