"""Go's net/rpc on gob streams, for servers and clients (docs/protocol.md 3.7).

Each call is a ``Request`` header value then the argument value; each reply a ``Response``
header then the result value, or an empty struct when the header carries an error. Headers
that cannot be decoded end the connection, as in Go; anything wrong after a header was read
becomes an error reply (server) or a failed call (client), and the stream goes on.
"""
from __future__ import annotations

from typing import Any, Optional, Union

from ... import errors
from ...errors import ProtocolError, RPCError, ServerError
from ...messages import Dialect, Reply, Request, Response
from ...schema import ANY, Kind, TypeSpec, spec_of
from .. import Incoming, Lookup
from . import headers
from .definitions import base_of
from .encode import WriteStream, infer_spec
from .peertypes import DEFAULT_MAX_TYPE_MEMORY
from .primitives import (
    Cursor,
    DecodeError,
    EncodeError,
    NeedMore,
    int_bytes,
    read_int,
    string_bytes,
    uint_bytes,
)
from .stream import DEFAULT_MAX_MESSAGE_SIZE, DEFAULT_MAX_TYPES, ReadStream
from .wiretypes import STRING, UINT, WireKind

GO_HEADER = (("ServiceMethod", STRING), ("Seq", UINT))  # Go's rpc.Request, as its client defines it

GOB = Dialect.GOB


class ServerCodec:
    """Server side of net/rpc over gob on one connection.

    ``lookup`` finds the method a header names, so the argument can be decoded into the type
    its first parameter declares (Go's server reads the header, finds the method, then reads
    the body into its argument type); the Request's target then types the reply by its return
    annotation.
    """

    def __init__(self, lookup: Lookup, max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE,
                 max_types: int = DEFAULT_MAX_TYPES,
                 max_type_memory: int = DEFAULT_MAX_TYPE_MEMORY) -> None:
        self.lookup = lookup
        self.reader = ReadStream(max_message_size, max_types, max_type_memory)
        self.writer = WriteStream()
        self._header: Optional[headers.Request] = None  # read; its argument has not arrived
        self._header_prefix = b""  # a header value's first bytes: the id of Go's header type
        self._response_prefix = b""  # the same for our replies' header, once it is defined
        self._method_fields: dict[str, bytes] = {}  # registered names as a header's field 0

    @property
    def buffered(self) -> int:
        return self.reader.buffered + (self._header is not None)

    @property
    def held(self) -> int:
        return self.reader.held

    def feed(self, data: bytes) -> list[Incoming]:
        """Return the calls (and immediate error replies) the bytes completed; b"" is EOF."""
        out: list[Incoming] = []
        self.reader.feed(data)
        try:
            while self._header is not None or self.reader.buffered:  # (raising costs more)
                if self._header is None:
                    self._header = self._read_header()
                out.append(self._read_call(self._header))
                self._header = None
        except NeedMore:
            pass
        except ProtocolError as err:
            err.completed = out
            raise
        if not data:
            self._end(out)
        else:
            self.reader.drop_consumed()
        return out

    def _read_header(self) -> headers.Request:
        header = self._usual_header()
        if header is not None:
            return header
        try:
            value: headers.Request = self.reader.read_value(headers.REQUEST)
        except DecodeError as err:  # Go stops reading without a reply
            raise ProtocolError(f"bad request header: {err}") from None
        return value

    def _usual_header(self) -> Optional[headers.Request]:
        """Go's header as Go's client defines it, read by hand: {ServiceMethod string; Seq
        uint} (docs/protocol.md 3.7). None for anything else, which read_value then reads (or
        refuses with Go's text); NeedMore if the header has not fully arrived."""
        reader = self.reader
        buf, end = reader.next_message()
        prefix = self._header_prefix
        if not prefix or not buf.startswith(prefix):
            cursor = Cursor(buf, 0, reader)
            try:
                wire = reader.types.get(read_int(cursor))
            except (DecodeError, IndexError):
                return None
            if wire is None or wire.kind is not WireKind.STRUCT or wire.fields != GO_HEADER:
                return None
            prefix = self._header_prefix = buf[:cursor.pos]
        pos, field, method, seq = len(prefix), -1, "", 0
        try:
            while delta := buf[pos]:  # field deltas are 1 or 2 here: one byte each
                pos += 1
                field += delta
                if field == 0 and buf[pos] < 0x80:  # a name under 128 bytes
                    size = buf[pos]
                    method = buf[pos + 1:pos + 1 + size].decode("utf-8", "surrogateescape")
                    pos += 1 + size
                elif field == 1:
                    seq = buf[pos]
                    if seq < 0x80:
                        pos += 1
                    elif 248 <= seq:  # 256 - seq big-endian bytes follow (read_uint, inlined)
                        size = 256 - seq
                        if pos + 1 + size > len(buf):
                            return None
                        seq = int.from_bytes(buf[pos + 1:pos + 1 + size], "big")
                        pos += 1 + size
                    else:
                        return None  # a corrupt uint: read_value words Go's error
                else:
                    return None
        except (DecodeError, IndexError):
            return None
        if pos + 1 != len(buf):  # the struct's end marker is the message's last byte
            return None
        reader.skip_to(end)
        return headers.Request(method, seq)

    def _read_call(self, header: headers.Request) -> Union[Request, Response]:
        request = Request(header.ServiceMethod, [], header.Seq, GOB)
        try:
            method = self.lookup(header.ServiceMethod)
        except ServerError as err:
            self._discard()  # still registers the definitions the body carries
            return Response(request, error=err)
        request.target = method
        if not method.params:
            self._discard()
            return request
        first = method.params[0]
        if not first.annotated:
            self._discard()
            return Response(request, error=ServerError(
                f"gob: {method.name} cannot decode its argument: parameter {first.name!r} has no "
                "type annotation", errors.INVALID_PARAMS))
        try:
            value = self.reader.read_value(first.spec)
        except DecodeError as err:
            return Response(request, error=ServerError(str(err), errors.INVALID_PARAMS))
        # Go passes exactly one argument; further parameters get their zero value.
        request.args = [value] if len(method.params) == 1 else \
            [value] + [p.spec.zero() for p in method.params[1:]]
        return request

    def _discard(self) -> None:
        try:
            self.reader.read_value(ANY)
        except DecodeError:
            pass  # Go ignores why a discarded body failed

    def _end(self, out: list[Incoming]) -> None:
        if self._header is not None:
            header, self._header = self._header, None
            request = Request(header.ServiceMethod, [], header.Seq, GOB)
            try:
                self.lookup(header.ServiceMethod)
                text = "unexpected EOF" if self.reader.buffered else "EOF"
                out.append(Response(request, error=ServerError(text, errors.INVALID_PARAMS)))
            except ServerError as err:
                out.append(Response(request, error=err))
        elif self.reader.buffered:
            raise ProtocolError("stream ended inside a message", out)

    def encode(self, response: Union[Response, list[Response]]) -> bytes:
        """Encode the reply header and body; a result that cannot be encoded becomes an error.

        A list (gob has no batches) is encoded reply after reply.
        """
        if type(response) is list:
            return b"".join(map(self.encode, response))
        assert type(response) is Response
        request = response.request
        out = bytearray()
        prefix = self._response_prefix
        if not prefix:  # Go's Response is the first type a reply stream defines
            header_id, _ = self.writer.types.define(headers.RESPONSE, out)
            prefix = self._response_prefix = int_bytes(header_id)
        body = bytearray()
        error = response.error
        if error is None:
            try:
                spec, result = self._result_spec(request, response.result)
                self.writer.write_value(result, spec, body)
            except EncodeError as err:
                error = ServerError(str(err), errors.INTERNAL_ERROR)
        if error is not None:
            self.writer.write_value(headers.Empty(), headers.EMPTY, body)
            text = error.message or errors.GO_UNSPECIFIED  # "" would read as success in Go
        else:
            text = ""
        # The header, as write_value would write it: fields 0-2, those with zero values left out.
        header = bytearray(prefix)
        field = -1
        if request.method:
            method = self._method_fields.get(request.method)
            if method is None:
                method = b"\x01" + string_bytes(request.method)
                if request.target is not None:  # a registered name: few, so kept
                    self._method_fields[request.method] = method
            header += method
            field = 0
        if request.id:
            header += uint_bytes(1 - field) + uint_bytes(request.id)
            field = 1
        if text:
            header += uint_bytes(2 - field) + string_bytes(text)
        header.append(0)
        out += uint_bytes(len(header))
        out += header
        out += body
        return bytes(out)

    @staticmethod
    def _result_spec(request: Request, result: Any) -> tuple[TypeSpec, Any]:
        """The type to send a result as, and the value to send (None becomes a zero value)."""
        method = request.target
        declared: Optional[TypeSpec] = method.result_spec if method is not None else None
        if declared is not None:
            base = base_of(declared)
            if result is None and base.kind is not Kind.ANY:
                return base, base.zero()  # Go's reply is never nil: send the zero value
            return declared, result
        if result is None:
            return headers.EMPTY, headers.Empty()  # leaves Go's reply untouched
        inferred = infer_spec(result)
        if inferred is None:
            name = method.name if method is not None else request.method
            raise EncodeError(f"gob: cannot tell the Go type of the {type(result).__name__} "
                              f"{name} returned; annotate its return type (e.g. -> int or "
                              "-> greenrpc.gotypes.Uint64)")
        return inferred, result


class ClientCodec:
    """Client side of net/rpc over gob on one connection.

    Replies are decoded into the result type given with each call (plain values if None), so
    they arrive typed: ``decodes_results`` tells the Client not to convert them again.
    """

    decodes_results = True

    def __init__(self, max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE,
                 max_types: int = DEFAULT_MAX_TYPES,
                 max_type_memory: int = DEFAULT_MAX_TYPE_MEMORY) -> None:
        self.reader = ReadStream(max_message_size, max_types, max_type_memory)
        self.writer = WriteStream()
        self._results: dict[int, TypeSpec] = {}   # seq -> the type its reply decodes into
        self._header: Optional[headers.Response] = None

    def encode(self, method: str, params: Any, id: int, result_type: Any = None,
               params_type: Any = None) -> bytes:
        """Encode a call; raise TypeError if the argument's Go type cannot be told or the
        argument does not fit params_type."""
        spec = spec_of(params_type) if params_type is not None else params_spec(params)
        if params is None:
            params = headers.Empty()
        out = bytearray()
        mark = self.writer.types.next_id
        self.writer.write_value(headers.Request(method, id), headers.REQUEST, out)
        try:
            self.writer.write_value(params, spec, out)
        except EncodeError as err:
            if self.writer.types.next_id != mark:  # the header type was new: keep it unsent
                self.writer.types.forget([headers.REQUEST])
            raise TypeError(str(err)) from None
        self._results[id] = spec_of(result_type) if result_type is not None else ANY
        return bytes(out)

    def feed(self, data: bytes) -> list[Reply]:
        out: list[Reply] = []
        self.reader.feed(data)
        try:
            while self._header is not None or self.reader.buffered:
                if self._header is None:
                    self._header = self._read_header(out)
                out.extend(self._read_body(self._header))
                self._header = None
        except NeedMore:
            pass
        except ProtocolError as err:
            err.completed = out
            raise
        if not data and (self._header is not None or self.reader.buffered):
            raise ProtocolError("unexpected EOF", out)
        return out

    def _read_header(self, out: list[Reply]) -> headers.Response:
        try:
            header: headers.Response = self.reader.read_value(headers.RESPONSE)
        except DecodeError as err:  # Go's client gives up on the connection
            raise ProtocolError(str(err)) from None
        if header.Error:
            # Go fails the call as soon as it reads an error header, before the body.
            spec = self._results.pop(header.Seq, None)
            if spec is not None:
                out.append(Reply(header.Seq, error=ServerError(header.Error)))
        return header

    def _read_body(self, header: headers.Response) -> list[Reply]:
        spec = None if header.Error else self._results.pop(header.Seq, None)
        if spec is None:  # an error's body, or a reply to no call: read it and drop it
            try:
                self.reader.read_value(ANY)
            except DecodeError as err:
                raise ProtocolError(f"reading error body: {err}") from None
            return []
        try:
            return [Reply(header.Seq, self.reader.read_value(spec))]
        except NeedMore:
            self._results[header.Seq] = spec
            raise
        except DecodeError as err:
            return [Reply(header.Seq, error=RPCError(f"reading body {err}"))]


def params_spec(params: Any) -> TypeSpec:
    """The Go type a call's argument is sent as: a dataclass's own, or one guessed from values.

    Plain int is Go's int; a list or dict takes its element types from its first item.
    """
    if params is None:
        return headers.EMPTY  # sent as struct{}: decodes into any Go struct as "no change"
    spec = infer_spec(params)
    if spec is not None:
        return spec
    if type(params) is int:
        return spec_of(int)
    if isinstance(params, (list, tuple)) and params:
        return spec_of(list[_annotation(params[0])])  # type: ignore[misc]
    if isinstance(params, dict) and params:
        key, value = next(iter(params.items()))
        return spec_of(dict[_annotation(key), _annotation(value)])  # type: ignore[misc]
    raise TypeError(f"gob: cannot tell the Go type of {params!r}: pass a dataclass instance "
                    "(its annotations give the types) or a non-empty list or dict")


def _annotation(value: Any) -> Any:
    if type(value) in (int, str, bool, float, bytes):
        return type(value)
    if isinstance(value, (list, tuple)) and value:
        return list[_annotation(value[0])]  # type: ignore[misc]
    if isinstance(value, dict) and value:
        key, item = next(iter(value.items()))
        return dict[_annotation(key), _annotation(item)]  # type: ignore[misc]
    spec = infer_spec(value)
    if spec is not None:
        return type(value)
    raise TypeError(f"gob: cannot tell the Go type of {value!r} inside the call's argument")
