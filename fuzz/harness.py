"""Shared fuzz harness: any bytes, cut anywhere, fed to a codec must decode the same way whole or
in pieces, and may only ever fail with ProtocolError. Every message a server codec decodes is
answered and the answer encoded, so the encoder is fuzzed with decoded values too.

A target is one small file (see jsonrpc1_fuzz.py):

    import harness  # first: it imports greenrpc instrumented for coverage
    from greenrpc.wire import jsonrpc1
    harness.main(server=jsonrpc1.ServerCodec, client=jsonrpc1.ClientCodec)

Run one by hand: python3 fuzz/jsonrpc1_fuzz.py -max_total_time=60 fuzz/corpus/jsonrpc1
The first input byte picks how the rest is cut into pieces; the rest is the stream.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Callable, Optional

import atheris

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # this tree's greenrpc

# Importing any part of greenrpc imports all of it (greenrpc/__init__.py), so the harness does
# it here, instrumented for coverage; targets then just import the codec they fuzz.
with atheris.instrument_imports(include=["greenrpc"]):
    from greenrpc.errors import ProtocolError, ServerError
    from greenrpc.messages import NO_ID, Batch, Request, Response

MAX_MESSAGE_SIZE = 1 << 16  # small, so the fuzzer also reaches the size limits


def pieces(data: bytes, step: int) -> list[bytes]:
    """data cut every step bytes (whole if step is 0), then end of stream."""
    if not step:
        return [data, b""]
    return [data[i:i + step] for i in range(0, len(data), step)] + [b""]


def feed_all(codec: Any, parts: list[bytes]) -> tuple[list[Any], Optional[str]]:
    messages: list[Any] = []
    try:
        for part in parts:
            messages.extend(codec.feed(part))
    except ProtocolError as err:
        messages.extend(err.completed)
        return messages, str(err)
    return messages, None


def answer(request: Any) -> Any:
    """An answer that puts the decoded values back through the encoder (a list for a batch)."""
    if isinstance(request, Batch):
        return [answer(item) for item in request.items]
    if isinstance(request, Response):
        return request
    if request.id is None and not request.args:
        return Response(request, error=ServerError("fuzz: an error reply"))
    return Response(request, request.args)


def check(make: Callable[[], Any], data: bytes, answers: bool) -> None:
    step = data[0] % 9 if data else 0
    body = data[1:]
    whole_codec, cut_codec = make(), make()
    whole, whole_error = feed_all(whole_codec, pieces(body, 0))
    cut, cut_error = feed_all(cut_codec, pieces(body, step))
    if (list(map(repr, whole)), whole_error) != (list(map(repr, cut)), cut_error):
        raise AssertionError(f"cut every {step} bytes, the stream decodes differently:\n"
                             f"{whole!r} {whole_error!r}\n{cut!r} {cut_error!r}")
    if answers:
        for message in whole:
            reply = whole_codec.encode(answer(message))
            # Only JSON-RPC 2.0 notifications (alone or as a whole batch) are never answered.
            assert isinstance(reply, bytes) and (reply or getattr(message, "id", 0) is NO_ID
                                                 or isinstance(message, Batch)), reply


def main(server: Callable[[], Any], client: Optional[Callable[[], Any]] = None) -> None:
    """Fuzz a server codec (and a client codec, fed the same bytes as a hostile server's)."""
    def one_input(data: bytes) -> None:
        check(server, data, answers=True)
        if client is not None:
            check(client, data, answers=False)

    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()


__all__ = ["MAX_MESSAGE_SIZE", "Request", "main"]
