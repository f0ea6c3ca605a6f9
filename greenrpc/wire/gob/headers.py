"""net/rpc's header structs, named as Go names them so our definitions match Go's byte for byte."""
from __future__ import annotations

from dataclasses import dataclass

from ...gotypes import Uint64
from ...schema import Kind, TypeSpec, spec_of


@dataclass
class Request:
    """Written before every call's argument (Go's rpc.Request)."""

    ServiceMethod: str = ""
    Seq: Uint64 = 0


@dataclass
class Response:
    """Written before every reply body (Go's rpc.Response); an empty Error means success."""

    ServiceMethod: str = ""
    Seq: Uint64 = 0
    Error: str = ""


class Empty:
    """Go's struct{}: the body sent with an error reply (docs/protocol.md 3.7)."""


REQUEST = spec_of(Request)
RESPONSE = spec_of(Response)
EMPTY = TypeSpec(Kind.STRUCT, "", cls=Empty)  # unnamed, as Go defines struct{}
