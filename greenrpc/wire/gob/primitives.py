"""Gob's number and byte-string encodings (docs/protocol.md 3.2), and the decode error they raise."""
from __future__ import annotations

import struct
from typing import Any

# Go's texts for corrupt data (encoding/gob decode.go), kept word for word.
BAD_UINT = "gob: encoded unsigned integer out of range"
BAD_TYPE = "gob: unknown type id or corrupted data"
FIELD_RANGE = "gob: bad data: field numbers out of bounds"
END_OF_DATA = "EOF"

_SMALL = [bytes((n,)) for n in range(128)]
_pack_float = struct.Struct("<d").pack
_unpack_float = struct.Struct("<d").unpack


class DecodeError(Exception):
    """A gob value could not be decoded; ``str()`` is the text Go's decoder would report."""


class EncodeError(Exception):
    """A Python value cannot be sent as the declared Go type."""


class NeedMore(Exception):
    """The value continues in a message that has not fully arrived yet."""


class Cursor:
    """A read position inside one message payload.

    Values are decoded from ``buf`` starting at ``pos``. ``stream`` lends the next message when an
    interface value continues past an inline type definition (docs/protocol.md 3.5), which replaces
    ``buf`` under the decoder's feet, exactly as in Go.
    """

    __slots__ = ("buf", "pos", "stream")

    def __init__(self, buf: bytes, pos: int, stream: Any) -> None:
        self.buf = buf
        self.pos = pos
        self.stream = stream


def read_uint(c: Cursor) -> int:
    buf = c.buf
    pos = c.pos
    first = buf[pos]  # IndexError at the end of the data; the decoder reports it as EOF
    if first < 0x80:
        c.pos = pos + 1
        return first
    size = 256 - first
    if size > 8:
        raise DecodeError(BAD_UINT)
    end = pos + 1 + size
    if end > len(buf):
        raise DecodeError(f"gob: invalid uint data length {size}: exceeds input size "
                          f"{len(buf) - pos - 1}")
    c.pos = end
    return int.from_bytes(buf[pos + 1:end], "big")


def read_int(c: Cursor) -> int:
    u = read_uint(c)
    return -(u >> 1) - 1 if u & 1 else u >> 1


def read_float(c: Cursor) -> float:
    # The float64 bits travel byte-reversed as a uint, so the wire bytes of the uint are the
    # high bytes of a little-endian double.
    u = read_uint(c)
    return float(_unpack_float(u.to_bytes(8, "big"))[0])


def read_bytes(c: Cursor) -> bytes:
    size = read_uint(c)
    pos = c.pos
    end = pos + size
    if end > len(c.buf):
        raise DecodeError(f"gob: invalid slice length {size}: exceeds input size "
                          f"{len(c.buf) - pos}")
    c.pos = end
    return c.buf[pos:end]


def read_string(c: Cursor) -> str:
    # Go does not validate strings as UTF-8; surrogateescape keeps any bytes round-tripping.
    return read_bytes(c).decode("utf-8", "surrogateescape")


def uint_bytes(u: int) -> bytes:
    if u < 128:
        return _SMALL[u]
    size = (u.bit_length() + 7) >> 3
    return bytes((256 - size,)) + u.to_bytes(size, "big")


def int_bytes(i: int) -> bytes:
    return uint_bytes(i << 1 if i >= 0 else (~i << 1) | 1)


def float_bytes(f: float) -> bytes:
    return uint_bytes(int.from_bytes(_pack_float(f), "big"))


def string_bytes(s: str) -> bytes:
    data = s.encode("utf-8", "surrogateescape")
    return uint_bytes(len(data)) + data


def message(payload: bytes) -> bytes:
    """Frame one message: its length as a uint, then the payload."""
    return uint_bytes(len(payload)) + payload
