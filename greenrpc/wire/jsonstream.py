"""Cut a byte stream into complete JSON values, as Go's streaming json.Decoder reads them.

How this works: the stream is a sequence of JSON values with optional whitespace between them
(docs/protocol.md 2.1): glued, split across reads, pretty-printed, newline or not. Most clients end
each value with a newline, and a newline can never sit inside a JSON token or string, so the fast
path hands each line to ujson: if the line parses, it is exactly one complete value. Anything
else (a value spread over lines, values glued on one line, no newline yet) goes to a scanner that
hops between structural characters with regular expressions to find where the value ends, and
remembers where it stopped (even inside a string) so a large value arriving in many pieces is
scanned once, not again from its start with every piece.

Nesting deeper than max_depth is refused before parsing (ujson itself stops at 1024 levels, with
a less helpful message). A line shorter than max_depth bytes cannot nest that deep, so most
requests pay one comparison; longer lines with few brackets pay two counts, and only lines with
more brackets than max_depth are measured exactly (too_deep). The scanner counts as it goes.
"""
from __future__ import annotations

import re
from array import array
from itertools import accumulate
from typing import Any, Optional, Union

import ujson

from ..errors import ProtocolError

DEFAULT_MAX_MESSAGE_SIZE = 4 << 20
DEFAULT_MAX_DEPTH = 512

_WHITESPACE = re.compile(rb"[ \t\r\n]*")
_STRUCTURE = re.compile(rb'[{}\[\]"]')
_STRING_END = re.compile(rb'(?:[^"\\]|\\.)*"', re.S)
_SCALAR = re.compile(rb'[^ \t\r\n{}\[\]",:]*')
_COMPACT = re.compile(rb'("(?:[^"\\]|\\.)*")|[ \t\r\n]+', re.S)
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.S)
_STRING_PART = re.compile(rb'(?:[^"\\]|\\.)*', re.S)  # stops at a quote or a final backslash
# For too_deep: brackets become parentheses, quotes stay, everything else goes; then signs.
_PARENS = bytes(range(256)).translate(bytes.maketrans(b"[{]}", b"(())"))
_NOT_PARENS_OR_QUOTES = bytes(c for c in range(256) if c not in b'[]{}"')
_SIGNS = bytes(1 if c == 0x28 else 255 if c == 0x29 else 0 for c in range(256))


class BrokenValue(ProtocolError):
    """The stream broke on a value; ``value`` holds its bytes from its start to where it broke.

    Those bytes are the same however the stream was cut into reads (for a value over the size
    limit, its first max_message_size bytes), so what a codec makes of them is deterministic.
    """

    def __init__(self, message: str, value: Union[bytes, bytearray]) -> None:
        super().__init__(message)
        self.value = value  # the stream's own buffer when the value was held over reads


class _TooDeep(ProtocolError):
    """Raised by the scanner at the bracket that nests one level too deep."""

    def __init__(self, message: str, position: int) -> None:
        super().__init__(message)
        self.position = position


def parse(raw: bytes) -> Any:
    """Decode one complete JSON value; raise ProtocolError if it is not valid JSON."""
    try:
        return ujson.loads(raw)
    except ValueError as err:
        problem = str(err)  # its text: the error would hold this frame, and raw, in a cycle
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        # Go's decoder replaces invalid UTF-8 with U+FFFD instead of failing; so do we.
        try:
            return ujson.loads(raw.decode("utf-8", "replace"))
        except ValueError as err:
            problem = str(err)
    raise ProtocolError(f"invalid JSON: {problem}")


def _parse(raw: bytes) -> Any:
    """parse, for a value the stream cut out: a failure says which bytes broke it."""
    try:
        return parse(raw)
    except ProtocolError as err:
        raise BrokenValue(str(err), raw) from None


def compact(raw: bytes) -> bytes:
    """Remove the whitespace outside strings, keeping every literal exactly as written."""
    return _COMPACT.sub(lambda m: m.group(1) or b"", raw)


class JSONStream:
    """Split incoming bytes into (value, raw bytes) pairs; one instance per connection direction."""

    # One per connection: no __dict__ each.
    __slots__ = ("max_message_size", "max_depth", "partial", "buffered", "_state")

    def __init__(self, max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE,
                 max_depth: int = DEFAULT_MAX_DEPTH) -> None:
        self.max_message_size = max_message_size
        self.max_depth = max_depth
        # A value that has started but not completed: its bytes so far, and where the scanner
        # stopped in it (see scan_on), so the next bytes are scanned on from there, never again
        # from the start: a value arriving in many small pieces costs linear time.
        # partial: those bytes, in one buffer that grows in place (a list of reads costs their
        # join on top, and a 16 KiB piece each stays in the allocator's heap after the value
        # is gone; a large buffer is mapped and unmapped whole). The stream starts a new one
        # whenever that value completes or the stream breaks, and a broken value's bytes are
        # the buffer itself, not a copy. buffered: how many bytes it holds.
        # (Plain attributes, read for every request.)
        self.partial = bytearray()
        self.buffered = 0
        self._state: Optional[State] = None

    @property
    def held(self) -> int:
        """Bytes kept between reads: those of the value in progress."""
        return self.buffered

    def feed(self, data: bytes) -> list[tuple[Any, bytes]]:
        """Add bytes (b"" at end of stream) and return every value they complete.

        Raises ProtocolError for invalid JSON, a value over max_message_size or nested deeper
        than max_depth, or a value cut off by the end of the stream.
        """
        out: list[tuple[Any, bytes]] = []
        pos = no_fast_before = 0  # no_fast_before: lines known to hold more than one value
        if self._state is None:
            # The fast path, over every whole line at once: most clients end each value with a
            # newline. _feed takes over from the first line that is not exactly one value, and
            # takes whatever follows the last newline.
            limit = self.max_message_size
            max_depth = self.max_depth
            loads = ujson.loads
            append = out.append
            for line in data.split(b"\n")[:-1]:
                length = len(line)
                if length <= limit and (length <= max_depth or not too_deep(line, max_depth)):
                    try:
                        append((loads(line), line))
                        pos += length + 1
                        continue
                    except ValueError:
                        pass
                no_fast_before = pos + length
                break
            if pos == len(data) and data:
                return out
        try:
            self._feed(data, out, pos, no_fast_before)
        except ProtocolError as err:
            self.partial, self.buffered, self._state = bytearray(), 0, None
            err.completed = out
            raise
        return out

    def _feed(self, data: bytes, out: list[tuple[Any, bytes]], pos: int, no_fast_before: int
              ) -> None:
        eof = not data
        if self._state is not None:
            end = self._continue(data, eof, out)
            if end is None:
                return
            pos = end
        buf = data
        size = len(buf)
        limit = self.max_message_size
        max_depth = self.max_depth
        loads = ujson.loads
        while pos < size:
            if pos >= no_fast_before:
                newline = buf.find(b"\n", pos)
                if newline != -1 and newline - pos <= limit:
                    line = buf[pos:newline]
                    try:
                        if newline - pos > max_depth and too_deep(line, max_depth):
                            raise ValueError  # the scanner finds which value and says so
                        out.append((loads(line), line))
                        pos = newline + 1
                        continue
                    except ValueError:
                        no_fast_before = newline
            start, end, state = find_value(buf, pos, eof, max_depth)
            if start is None:  # only whitespace left
                break
            if end is None:  # incomplete: keep it and where the scan stopped
                if size - start > limit:
                    raise BrokenValue(f"message exceeds {limit} bytes", buf[start:start + limit])
                self.partial = bytearray(memoryview(buf)[start:])
                self.buffered, self._state = size - start, state
                break
            if end - start > limit:
                raise BrokenValue(f"message exceeds {limit} bytes", buf[start:start + limit])
            raw = buf[start:end]
            out.append((_parse(raw), raw))
            pos = end

    def _continue(self, data: bytes, eof: bool, out: list[tuple[Any, bytes]]) -> Optional[int]:
        """Scan data on from where the held value stopped; its end in data, None if not yet."""
        state = self._state
        assert state is not None
        limit = self.max_message_size
        if eof:
            if state[0] != SCALAR:
                raise BrokenValue("stream ended inside a message", self.partial)
            end: Optional[int] = 0  # end of stream ends a number
        elif state[0] == SCALAR:
            end = _SCALAR.match(data).end()  # type: ignore[union-attr]
            if end == len(data):
                end = None
        else:
            try:
                end, state = scan_on(data, 0, state, self.max_depth)
            except _TooDeep as err:
                partial = self.partial
                partial += memoryview(data)[:max(0, min(err.position, limit - len(partial)))]
                raise BrokenValue(str(err), partial) from None
        partial = self.partial
        if end is None:
            if self.buffered + len(data) > limit:  # its first limit bytes say what it was
                partial += memoryview(data)[:limit - self.buffered]
                raise BrokenValue(f"message exceeds {limit} bytes", partial)
            partial += data
            self.buffered += len(data)
            self._state = state
            return None
        partial += memoryview(data)[:end]
        raw = bytes(partial)
        self.partial, self.buffered, self._state = bytearray(), 0, None
        if len(raw) > limit:
            raise BrokenValue(f"message exceeds {limit} bytes", raw[:limit])
        out.append((_parse(raw), raw))
        return end


# Where the scan of an incomplete value stopped: (mode, depth, escaped). In a container, depth
# counts open brackets; in a string, escaped says the previous piece ended with a backslash.
State = tuple[int, int, bool]
CONTAINER, STRING, SCALAR = 0, 1, 2


def find_value(buf: bytes, pos: int, eof: bool = True, max_depth: int = DEFAULT_MAX_DEPTH
               ) -> tuple[Optional[int], Optional[int], Optional[State]]:
    """Find the JSON value at or after pos: (start, end, state).

    start is None if only whitespace remains; end is None while the value is incomplete, and
    state then records where the scan stopped, for scan_on when more bytes have arrived.
    Raises ProtocolError as soon as the value nests deeper than max_depth.
    """
    start = _WHITESPACE.match(buf, pos).end()  # type: ignore[union-attr]
    if start >= len(buf):
        return None, None, None
    first = buf[start]
    if first == 0x22:  # '"': a string value
        end, state = scan_on(buf, start + 1, (STRING, 0, False), max_depth)
        return start, end, state
    if first not in b"{[":
        end = _SCALAR.match(buf, start).end()  # type: ignore[union-attr]
        if end == start:  # a stray structural character such as '}' or ','
            return start, start + 1, None
        if end == len(buf) and not eof:
            return start, None, (SCALAR, 0, False)  # a number may continue in the next read
        return start, end, None
    try:
        end, state = scan_on(buf, start, (CONTAINER, 0, False), max_depth)
    except _TooDeep as err:
        raise BrokenValue(str(err), buf[start:err.position]) from None
    return start, end, state


def scan_on(buf: bytes, pos: int, state: State, max_depth: int
            ) -> tuple[Optional[int], Optional[State]]:
    """Scan a string or container value on from pos: (end, None), or (None, state) at the
    end of buf. Hops between structural characters; strings are skipped whole."""
    mode, depth, escaped = state
    search = _STRUCTURE.search
    size = len(buf)
    while True:
        if mode == STRING:
            if escaped:  # the byte after a backslash that ended the previous piece
                if pos >= size:
                    return None, (STRING, depth, True)
                pos += 1
            pos = _STRING_PART.match(buf, pos).end()  # type: ignore[union-attr]
            if pos >= size:
                return None, (STRING, depth, False)
            if buf[pos] == 0x5C:  # a backslash as the last byte: its pair comes next
                return None, (STRING, depth, True)
            pos += 1  # past the closing quote
            if depth == 0:
                return pos, None
            mode, escaped = CONTAINER, False
            continue
        match = search(buf, pos)
        if match is None:
            return None, (CONTAINER, depth, False)
        char = buf[match.start()]
        pos = match.end()
        if char == 0x22:
            mode = STRING
        elif char in b"{[":
            depth += 1
            if depth > max_depth:
                raise _TooDeep(f"message nests deeper than {max_depth} levels", pos)
        else:
            depth -= 1
            if depth == 0:
                return pos, None


def too_deep(raw: bytes, limit: int) -> bool:
    """True if the arrays and objects in raw nest deeper than limit (brackets in strings aside).

    Cheap first: a bracket count within the limit, or a skeleton of brackets that a few passes of
    removing innermost pairs empty; only then the running depth of every bracket.
    """
    if raw.count(b"[") + raw.count(b"{") <= limit:
        return False
    if b"\\" in raw:  # escaped quotes: find the strings properly
        raw = _STRING.sub(b"", raw)
    skeleton = raw.translate(_PARENS, _NOT_PARENS_OR_QUOTES)
    if b'"' in skeleton:
        skeleton = skeleton.replace(b'""', b"")  # strings without brackets
        if b'"' in skeleton:
            skeleton = b"".join(skeleton.split(b'"')[::2])
    rest = skeleton
    for _ in range(min(limit, 16)):  # each pass removes one level
        if not rest:
            return False
        rest = rest.replace(b"()", b"")
    return bool(rest) and max(accumulate(array("b", skeleton.translate(_SIGNS)))) > limit


def member_text(raw: bytes, name: str) -> Optional[bytes]:
    """Return the compacted text of an object member, its name matched case-insensitively.

    The last matching member wins, as in Go's decoder. raw must be one valid JSON object.
    """
    found = None
    pos = _WHITESPACE.match(raw, 0).end() + 1  # type: ignore[union-attr]
    while True:
        pos = _WHITESPACE.match(raw, pos).end()  # type: ignore[union-attr]
        if pos >= len(raw) or raw[pos] != 0x22:
            return found
        key_end = _STRING_END.match(raw, pos + 1).end()  # type: ignore[union-attr]
        key = parse(raw[pos:key_end])  # invalid UTF-8 in a name is replaced, as in Go
        colon = _WHITESPACE.match(raw, key_end).end()  # type: ignore[union-attr]
        start, end, _ = find_value(raw, colon + 1)
        if start is None or end is None:
            return found
        if key.lower() == name:
            found = compact(raw[start:end])
        pos = _WHITESPACE.match(raw, end).end() + 1  # type: ignore[union-attr]
