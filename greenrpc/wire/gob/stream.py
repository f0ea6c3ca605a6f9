"""One incoming gob stream: cut bytes into messages, keep the peer's types, read whole values.

How this works (docs/protocol.md 3.1): a message is a uint length and that many bytes; it holds either
one type definition (a negative id) or one value (a positive id). ``read_value`` reads definitions
until a value message arrives and decodes it, as Go's ``Decoder.Decode`` does. A message is only
looked at once it is complete. Messages are consumed as they are used: a definition stays
registered even if the value after it fails, and a value that fails to decode still consumes its
message, so the stream stays aligned.

The one case that waits for more bytes mid-value is an interface value continuing in the next
message after an inline definition (the "trap" of PROTOCOL.md 3.5). Decoding again from the
value's start at every read cost 0.7-1.3 s of CPU per trickled byte for a 4 MiB value, so such a
value is decoded once more in a greenlet of its own (a coroutine: no I/O, no hub), which pauses
where the next message is missing and resumes there when it is complete. Each byte is decoded at
most twice however the value is cut, and only complete messages are decoded at all.
"""
from __future__ import annotations

from typing import Any, Optional

from greenlet import getcurrent, greenlet

from ...errors import ProtocolError
from ...schema import ANY, TypeSpec
from .decode import Compiler
from .peertypes import DEFAULT_MAX_FIELDS, DEFAULT_MAX_TYPE_MEMORY, TypeBudget
from .primitives import BAD_UINT, END_OF_DATA, Cursor, DecodeError, NeedMore, read_int, read_uint
from .wiretypes import FIRST_USER_ID, WireType

DEFAULT_MAX_MESSAGE_SIZE = 4 << 20
DEFAULT_MAX_TYPES = 10000
_WAITING = object()  # what a paused decode hands back while its next message is incomplete


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
        # A value decoding in its own greenlet, paused until the message it continues in is
        # complete; read_value resumes it (with the spec it started with) before anything else.
        self._paused: Optional[greenlet] = None

    @property
    def buffered(self) -> int:
        """Bytes received and not consumed yet."""
        return len(self._buffer) - self._start

    @property
    def held(self) -> int:
        """Bytes kept between reads: the buffer (consumed bytes not yet dropped too) and what
        the peer's type definitions cost."""
        return len(self._buffer) + self.budget.spent

    def drop_consumed(self) -> None:
        """Free the buffer once every byte in it is consumed: a large message's memory goes as
        soon as it is read, not at the next read (which may never come on an idle connection)."""
        if self._start and self._start == len(self._buffer) and self._paused is None:
            self._buffer = bytearray()
            self._value_end = self._start = 0

    def feed(self, data: bytes) -> None:
        # Appending to a bytearray is amortised O(1), so a large message arriving in many reads
        # is not copied again at each one; consumed bytes are dropped once they are most of it.
        if self._start and self._start * 2 >= len(self._buffer):
            del self._buffer[:self._start]
            self._value_end -= self._start  # a paused value goes on from there
            self._start = 0
        self._buffer += data

    def read_value(self, spec: TypeSpec = ANY) -> Any:
        """Read definitions, then one value decoded into spec (ANY: plain Python values).

        Raises NeedMore when the value has not fully arrived (nothing of it is consumed),
        DecodeError with Go's text when it cannot be decoded (its messages are consumed),
        and ProtocolError when the framing itself is broken.
        """
        if self._paused is not None:
            self._paused.parent = getcurrent()  # the reader may be another greenlet by now
            try:
                outcome = self._paused.switch()
            except BaseException as err:
                raise self._stopped(err) from None
            return self._waited(outcome)
        while True:
            buf, start = self._buffer, self._start
            size = buf[start] if start < len(buf) else 0x80
            end = start + 1 + size
            if 2 < size < 0x80 and end <= len(buf) and (buf[start + 1] < 0x80
                                                         or buf[start + 1] == 0xFF):
                # The usual message: a length of one byte, a type id of one or two (ids from
                # 64 take two: 0xFF, then the zig-zagged id), read inline.
                width = 1 if buf[start + 1] < 0x80 else 2
                id = buf[start + width]
                id = -(id >> 1) - 1 if id & 1 else id >> 1
                cursor = Cursor(bytes(buf[start + 1:end]), width, self)
            else:
                payload, end = self._message(start)
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
                if cursor.pos < len(cursor.buf):
                    raise DecodeError("extra data in buffer")
                continue
            try:
                return self._read(id, spec, cursor, end)
            except NeedMore:  # it continues in a message still in transit: decode it again,
                op, cursor = self._restart(id, spec)  # in a greenlet that can wait for that
            self._paused = greenlet(op)
            try:
                # Switched to from here, so the decode has the same recursion room as in _read.
                outcome = self._paused.switch(cursor)
            except BaseException as err:
                raise self._stopped(err) from None
            return self._waited(outcome)

    def next_message(self) -> tuple[bytes, int]:
        """The payload of the message at the read position and where it ends, not consumed;
        NeedMore if it has not fully arrived (for readers of fixed shapes: see skip_to)."""
        return self._message(self._start)

    def skip_to(self, end: int) -> None:
        """Consume everything before end, the end of a message next_message returned."""
        self._start = end

    def _read(self, id: int, spec: TypeSpec, cursor: Cursor, end: int) -> Any:
        self._begin(cursor, end)
        try:
            op = self.compiler.value_op(id, spec)
            value = op(cursor)
        except NeedMore:
            self._withdraw_inline()
            raise
        except (IndexError, RecursionError, DecodeError) as err:
            raise self._failed(err) from None
        self._start = self._value_end
        return value

    def _begin(self, cursor: Cursor, end: int) -> None:
        self._value_end = end
        self._value_size = len(cursor.buf)
        self._inline = []

    def _restart(self, id: int, spec: TypeSpec) -> tuple[Any, Cursor]:
        """The op and a fresh cursor to read the value at _start again."""
        payload, end = self._message(self._start)
        cursor = Cursor(payload, 0, self)
        read_int(cursor)
        self._begin(cursor, end)
        return self.compiler.value_op(id, spec), cursor

    def _waited(self, outcome: Any) -> Any:
        """After the paused decode ran: its value, or NeedMore while it waits for bytes."""
        if outcome is _WAITING:
            raise NeedMore
        self._paused = None
        self._start = self._value_end
        return outcome

    def _stopped(self, err: BaseException) -> BaseException:
        """The paused decode failed: the error to raise, as _read would have."""
        self._paused = None
        if isinstance(err, (IndexError, RecursionError, DecodeError)):
            return self._failed(err)
        return err

    def _failed(self, err: BaseException) -> DecodeError:
        """A value that cannot be decoded: consume its messages; Go's text for the error."""
        self._start = self._value_end
        if isinstance(err, IndexError):
            return DecodeError(END_OF_DATA)
        if isinstance(err, RecursionError):
            return DecodeError("gob: value nested too deeply")
        assert isinstance(err, DecodeError)
        return err

    def interface_type(self, cursor: Cursor) -> int:
        """Read the type sequence inside an interface value: inline definitions, then an id."""
        while True:
            if cursor.pos >= len(cursor.buf):
                payload, end = self._next_message()
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

    def _next_message(self) -> tuple[bytes, int]:
        """The message the value continues in; a paused decode waits for it to be complete."""
        while True:
            try:
                return self._message(self._value_end)
            except NeedMore:
                reader = getcurrent().parent
                if self._paused is None or reader is None or getcurrent() is not self._paused:
                    raise
                reader.switch(_WAITING)  # resumed by read_value once bytes arrive

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
