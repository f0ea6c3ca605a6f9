"""One incoming gob stream: cut bytes into messages, keep the peer's types, read whole values.

How this works (PROTOCOL.md 3.1): a message is a uint length and that many bytes; it holds either
one type definition (a negative id) or one value (a positive id). ``read_value`` reads definitions
until a value message arrives and decodes it, as Go's ``Decoder.Decode`` does. Messages are
consumed as they are used: a definition stays registered even if the value after it fails, and
a value that fails to decode still consumes its message, so the stream stays aligned. The one
case that waits for more bytes mid-value is an interface value continuing in the next message
after an inline definition; then the definitions it made are withdrawn and the value is read
again from its first message once more bytes have arrived.
"""
from __future__ import annotations

from typing import Any

from ...errors import ProtocolError
from ...schema import ANY, TypeSpec
from .decode import Compiler
from .peertypes import DEFAULT_MAX_FIELDS, DEFAULT_MAX_TYPE_MEMORY, TypeBudget
from .primitives import BAD_UINT, END_OF_DATA, Cursor, DecodeError, NeedMore, read_int, read_uint
from .wiretypes import FIRST_USER_ID, WireType

DEFAULT_MAX_MESSAGE_SIZE = 4 << 20
DEFAULT_MAX_TYPES = 10000


class ReadStream:
    """The receiving side of one gob stream; one per connection direction.

    max_type_memory bounds what the peer's type definitions may hold (peertypes.py estimates
    it as they are read), max_fields the fields of one struct definition.
    """

    def __init__(self, max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE,
                 max_types: int = DEFAULT_MAX_TYPES,
                 max_type_memory: int = DEFAULT_MAX_TYPE_MEMORY,
                 max_fields: int = DEFAULT_MAX_FIELDS) -> None:
        self.max_message_size = max_message_size
        self.max_types = max_types
        self.budget = TypeBudget(max_type_memory, max_fields)
        self.types: dict[int, WireType] = {}
        self.compiler = Compiler(self.types)
        self._buffer = bytearray()
        self._start = 0       # first byte of _buffer not consumed yet
        self._value_end = 0   # end of the last message the value being read has used
        self._value_size = 0  # bytes of the messages the value being read has used
        self._inline: list[tuple[int, int]] = []  # (id, cost) defined inside the value read

    @property
    def buffered(self) -> int:
        """Bytes received and not consumed yet."""
        return len(self._buffer) - self._start

    def feed(self, data: bytes) -> None:
        # Appending to a bytearray is amortised O(1), so a large message arriving in many reads
        # is not copied again at each one; consumed bytes are dropped once they are most of it.
        if self._start and self._start * 2 >= len(self._buffer):
            del self._buffer[:self._start]
            self._start = 0
        self._buffer += data

    def read_value(self, spec: TypeSpec = ANY) -> Any:
        """Read definitions, then one value decoded into spec (ANY: plain Python values).

        Raises NeedMore when the value has not fully arrived (nothing of it is consumed),
        DecodeError with Go's text when it cannot be decoded (its messages are consumed),
        and ProtocolError when the framing itself is broken.
        """
        while True:
            payload, end = self._message(self._start)
            if not payload:  # Go reads an empty message as the end of the data
                self._start = end
                raise DecodeError(END_OF_DATA)
            cursor = Cursor(payload, 0, self)
            try:
                id = read_int(cursor)
            except DecodeError:
                self._start = end
                raise
            if id < 0:
                self._start = end
                self._define(-id, cursor)
                if cursor.pos < len(payload):
                    raise DecodeError("extra data in buffer")
                continue
            return self._read(id, spec, cursor, end)

    def _read(self, id: int, spec: TypeSpec, cursor: Cursor, end: int) -> Any:
        self._value_end = end
        self._value_size = len(cursor.buf)
        self._inline = []
        try:
            op = self.compiler.value_op(id, spec)
            value = op(cursor)
        except NeedMore:
            self._withdraw_inline()
            raise
        except IndexError:
            self._start = self._value_end
            raise DecodeError(END_OF_DATA) from None
        except RecursionError:
            self._start = self._value_end
            raise DecodeError("gob: value nested too deeply") from None
        except DecodeError:
            self._start = self._value_end
            raise
        self._start = self._value_end
        return value

    def interface_type(self, cursor: Cursor) -> int:
        """Read the type sequence inside an interface value: inline definitions, then an id."""
        while True:
            if cursor.pos >= len(cursor.buf):
                payload, end = self._message(self._value_end)
                self._value_size += len(payload)
                if self._value_size > self.max_message_size:
                    raise ProtocolError(f"gob value exceeds {self.max_message_size} bytes")
                self._value_end = end
                cursor.buf = payload
                cursor.pos = 0
            id = read_int(cursor)
            if id >= 0:
                return id
            self._inline.append((-id, self._define(-id, cursor)))
            if cursor.pos < len(cursor.buf):
                read_uint(cursor)  # the byte count of the value that follows in this message

    def _withdraw_inline(self) -> None:
        if self._inline:
            for id, cost in self._inline:
                del self.types[id]
                self.budget.refund(cost)
            self.compiler.forget()
            self._inline = []

    def _define(self, id: int, cursor: Cursor) -> int:
        """Register the definition of id at the cursor; return what it costs the budget."""
        if id < FIRST_USER_ID or id in self.types:
            raise DecodeError("gob: duplicate type received")
        if len(self.types) >= self.max_types:
            raise ProtocolError(f"more than {self.max_types} gob type definitions")
        try:
            self.types[id], cost = self.budget.read(cursor)
        except IndexError:
            raise DecodeError(END_OF_DATA) from None
        return cost

    def _message(self, pos: int) -> tuple[bytes, int]:
        """The payload of the message at pos and where the next one starts; NeedMore if cut."""
        buf = self._buffer
        if pos >= len(buf):
            raise NeedMore
        first = buf[pos]
        if first < 0x80:
            size = first
            start = pos + 1
        else:
            count = 256 - first
            if count > 8:
                raise ProtocolError(BAD_UINT)
            start = pos + 1 + count
            if start > len(buf):
                raise NeedMore
            size = int.from_bytes(buf[pos + 1:start], "big")
        if size > self.max_message_size:
            raise ProtocolError(f"gob message of {size} bytes exceeds {self.max_message_size}")
        end = start + size
        if end > len(buf):
            raise NeedMore
        return bytes(buf[start:end]), end
