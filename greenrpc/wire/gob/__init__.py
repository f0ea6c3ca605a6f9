"""Go's gob encoding and net/rpc framing on top of it (docs/protocol.md 3), pure: bytes in, values out.

primitives   numbers and byte strings, the decode cursor and errors
wiretypes    builtin ids, bootstrap structs, the peer's type definitions
ops          the small readers values are decoded with
decode       wire values into Python values with Go's compatibility rules
definitions  our ids and definition messages for local types
peertypes    the peer's definitions, read with their memory counted against a budget
encode       Python values into messages, with Go's omission rules
stream       one incoming stream: messages, definitions, whole values
headers      net/rpc's Request and Response header structs
netrpc       the server and client codecs
"""
from __future__ import annotations

from .netrpc import ClientCodec, ServerCodec
from .primitives import DecodeError, EncodeError

__all__ = ["ClientCodec", "DecodeError", "EncodeError", "ServerCodec"]
