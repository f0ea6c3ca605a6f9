"""A server's OpenRPC document to a Go package: its types, and a typed client over net/rpc.

The document (what ``rpc.discover`` answers) carries everything Go needs: each method's Go
argument and result types (``x-go-type``), each struct's Go fields with their JSON names and
options (``x-go-fields``) and each enum's constants (``x-go-constants``). Type strings are read
with the Go parser of gosource.py; ``services.ArithRequest`` becomes the package's own
``ArithRequest``. The client dials one connection, jsonrpc or gob chosen by the caller, and has
one typed method per server method: ``c.Arith.Multiply(args) (ArithResponse, error)``.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from .. import gonames
from .gosource import Array, GoSyntaxError, GoType, Map, Name, Opaque, Pointer, Slice, Struct, parse

JSON = Any
_REF = "#/components/schemas/"
_RESERVED = {"Codec", "JSON", "Gob", "Client", "Dial", "NewClient"}
_GO_KEYWORDS = {"break", "case", "chan", "const", "continue", "default", "defer", "else",
                "fallthrough", "for", "func", "go", "goto", "if", "import", "interface", "map",
                "package", "range", "return", "select", "struct", "switch", "type", "var"}


@dataclass
class GoPackage:
    """A generated package: file name -> Go source, and what the generation noted."""

    name: str
    files: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def go_type_of(text: str) -> GoType:
    """Read a Go type string ("map[string]*main.Args", "interface {}")."""
    try:
        return parse(f"package p\ntype T {text}\n").types[0].type
    except (GoSyntaxError, IndexError):
        raise ValueError(f"cannot read the Go type {text!r}") from None


class _Builder:
    def __init__(self, document: JSON, package: str, command: str) -> None:
        if not re.fullmatch(r"[a-z_][a-z0-9_]*", package) or package in _GO_KEYWORDS:
            raise ValueError(f"--package {package!r} is not a Go package name (lower case "
                             "letters, digits, _)")
        self.document = document
        self.schemas: dict[str, JSON] = document.get("components", {}).get("schemas", {})
        self.out = GoPackage(package)
        self.command = command
        self.local: dict[str, str] = {}  # component key -> Go name in the package
        self.uses_time = False
        for key in sorted(self.schemas):
            name = self.schemas[key].get("title") or key.rpartition(".")[2]
            if name in self.local.values() or name in _RESERVED:
                raise ValueError(f"two types would be called {name} in the Go package "
                                 f"({key}); rename one (greenrpc.go_struct(name=...))")
            self.local[key] = name

    def go(self, text: str) -> str:
        """A Go type string of the document, as this package spells it."""
        return self.render(go_type_of(text))

    def render(self, go_type: GoType) -> str:
        if isinstance(go_type, Name):
            key = f"{go_type.package}.{go_type.name}" if go_type.package else go_type.name
            if key in self.local:
                return self.local[key]
            if go_type.package == "time":
                self.uses_time = True
                return key
            if go_type.package:
                self.out.notes.append(f"type {key} is not described by the server: sent as "
                                      "interface{}")
                return "interface{}"
            return go_type.name
        if isinstance(go_type, Pointer):
            return "*" + self.render(go_type.elem)
        if isinstance(go_type, Slice):
            inner = self.render(go_type.elem)
            return "[]byte" if inner == "uint8" else "[]" + inner
        if isinstance(go_type, Array):
            return f"[{go_type.length}]{self.render(go_type.elem)}"
        if isinstance(go_type, Map):
            return f"map[{self.render(go_type.key)}]{self.render(go_type.elem)}"
        if isinstance(go_type, Opaque) and go_type.what == "any":
            return "interface{}"
        assert not isinstance(go_type, Struct)
        raise ValueError(f"cannot write the Go type {go_type}")

    # types.go

    def types_file(self) -> Optional[str]:
        blocks = []
        for key in sorted(self.schemas):
            schema = self.schemas[key]
            name = self.local[key]
            if "x-go-constants" in schema:
                blocks.append(self.enum(name, schema))
            elif "x-go-fields" in schema:
                blocks.append(self.struct(name, schema))
            else:
                self.out.notes.append(f"type {key} carries no Go description (an older "
                                      "server?): left out")
        if not blocks:
            return None
        imports = 'import "time"\n\n' if self.uses_time else ""
        return (f"{_header(self.command)}\npackage {self.out.name}\n\n{imports}"
                + "\n".join(blocks))

    def struct(self, name: str, schema: JSON) -> str:
        lines = _comment(schema.get("description", ""), name)
        lines.append(f"type {name} struct {{")
        for f in schema["x-go-fields"]:
            go_name, key = str(f["name"]), str(f.get("json", f["name"]))
            type_text = self.go(str(f["type"]))
            if not gonames.is_exported(go_name) and not f.get("embedded"):
                exported = gonames.go_name(go_name)
                self.out.notes.append(
                    f"{name}.{go_name} is no exported Go name: written as {exported} with "
                    f'json:"{key}", so JSON matches; gob cannot carry it until the Python '
                    f"field is named for Go (greenrpc.go_struct or GoField)")
                go_name = exported
            options = ",omitempty" if f.get("omitempty") else ""
            tag = f' `json:"{key}{options}"`' if key != go_name or options else ""
            if f.get("embedded"):
                lines.append(f"\t{type_text}{tag}")
            else:
                lines.append(f"\t{go_name} {type_text}{tag}")
        lines.append("}\n")
        return "\n".join(lines)

    def enum(self, name: str, schema: JSON) -> str:
        underlying = str(schema.get("x-go-type", "int"))
        lines = _comment(schema.get("description", ""), name)
        lines += [f"type {name} {underlying}", "", "const ("]
        for constant in schema["x-go-constants"]:
            value = json.dumps(constant["value"], ensure_ascii=False)
            lines.append(f"\t{constant['name']} {name} = {value}")
        lines.append(")\n")
        return "\n".join(lines)

    # client.go

    def client_file(self) -> str:
        services: dict[str, list[JSON]] = {}
        functions: list[JSON] = []
        for method in self.document.get("methods", []):
            service, dot, _ = str(method["name"]).rpartition(".")
            (services.setdefault(service, []) if dot else functions).append(method)
        fields, wiring, bodies = [], [], []
        for service in sorted(services):
            field_name = gonames.go_name(re.sub(r"\W", "_", service))
            client_type = field_name + "Client"
            fields.append(f"\t{field_name} {client_type}")
            wiring.append(f"{field_name}: {client_type}{{c}}")
            bodies.append(f"// {client_type} calls the methods of the service {service}.\n"
                          f"type {client_type} struct{{ rpc *rpc.Client }}\n")
            for method in services[service]:
                bodies.append(self.method(f"c {client_type}", "c.rpc", method))
        for method in functions:
            bodies.append(self.method("c *Client", "c.RPC", method))
        field_block = "\n".join(fields)
        wired = ", ".join(["RPC: c"] + wiring)
        time_import = '\t"time"\n' if any("time." in body for body in bodies) else ""
        return _CLIENT.format(header=_header(self.command), package=self.out.name,
                              fields=field_block, wiring=wired, time=time_import) \
            + "\n" + "\n".join(bodies)

    def method(self, receiver: str, rpc: str, method: JSON) -> str:
        name = str(method["name"])
        go_name = gonames.go_name(re.sub(r"\W", "_", name.rpartition(".")[2]))
        params = method.get("params", [])
        result = method.get("result", {})
        reply = self.go(str(result.get("x-go-type", "interface {}")))
        if len(params) > 1:
            self.out.notes.append(f"{name} takes {len(params)} parameters; Go's net/rpc sends "
                                  "one argument, so the Go client passes the first")
        lines = _comment("\n".join(p for p in (method.get("summary", ""),
                                               method.get("description", "")) if p), go_name)
        if params:
            argument = self.go(str(params[0].get("x-go-type", "interface {}")))
            lines.append(f"func ({receiver}) {go_name}(args {argument}) ({reply}, error) {{")
            value = "args"
        else:
            lines.append(f"func ({receiver}) {go_name}() ({reply}, error) {{")
            value = "struct{}{}"
        lines += [f"\tvar reply {reply}", f"\terr := {rpc}.Call({json.dumps(name)}, {value}, "
                  "&reply)", "\treturn reply, err", "}\n"]
        return "\n".join(lines)


_CLIENT = '''{header}
// Package {package} calls a greenrpc server with Go's net/rpc, over jsonrpc or gob.
package {package}

import (
	"net"
	"net/rpc"
	"net/rpc/jsonrpc"
{time})

// Codec is the wire format a Client speaks; a greenrpc server answers both on one port.
type Codec int

const (
	// JSON is Go's net/rpc/jsonrpc.
	JSON Codec = iota
	// Gob is net/rpc's own gob encoding.
	Gob
)

// Client calls the server's services over one connection.
type Client struct {{
	RPC *rpc.Client
{fields}
}}

// Dial connects to the server at address ("host:port") and speaks codec.
func Dial(address string, codec Codec) (*Client, error) {{
	conn, err := net.Dial("tcp", address)
	if err != nil {{
		return nil, err
	}}
	if codec == Gob {{
		return NewClient(rpc.NewClient(conn)), nil
	}}
	return NewClient(jsonrpc.NewClient(conn)), nil
}}

// NewClient calls the services over an existing net/rpc client (rpc.DialHTTP's, for one).
func NewClient(c *rpc.Client) *Client {{
	return &Client{{{wiring}}}
}}

// Close closes the connection.
func (c *Client) Close() error {{
	return c.RPC.Close()
}}
'''


def _header(command: str) -> str:
    return f"// Code generated by {command}; DO NOT EDIT.\n"


def _comment(text: str, name: str) -> list[str]:
    """A Go doc comment from a docstring: paragraphs kept, lines filled to 77 columns."""
    text = text.strip()
    if not text:
        return []
    if not text.startswith(name):
        text = f"{name}: {text}"
    lines: list[str] = []
    for paragraph in re.split(r"\n\s*\n", text):
        if lines:
            lines.append("//")
        lines += [f"// {line}" for line in textwrap.wrap(" ".join(paragraph.split()), 77,
                                                            break_on_hyphens=False)]
    return lines


def go_package(document: JSON, package: str, command: str) -> GoPackage:
    """The Go package for a server's OpenRPC document; ValueError if it cannot be written."""
    builder = _Builder(document, package, command)
    client = builder.client_file()
    types = builder.types_file()
    if types is not None:
        builder.out.files["types.go"] = types
    builder.out.files["client.go"] = client
    return builder.out


def write_go_package(package: GoPackage, directory: str) -> None:
    """Write the files into directory (created if needed), gofmt'ed where gofmt is installed."""
    target = Path(directory)
    target.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, source in package.files.items():
        path = target / name
        path.write_text(source, encoding="utf-8")
        paths.append(str(path))
    gofmt = shutil.which("gofmt")
    if gofmt is not None:
        done = subprocess.run([gofmt, "-w", *paths], capture_output=True, text=True, timeout=60,
                              env=dict(os.environ))
        if done.returncode != 0:
            raise ValueError(f"gofmt refused the generated code: {done.stderr.strip()}")
    else:
        package.notes.append("gofmt is not on the PATH: the files are valid Go, not gofmt'ed")
