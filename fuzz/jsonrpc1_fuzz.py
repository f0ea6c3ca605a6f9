"""Fuzz Go's JSON dialect (wire/jsonrpc1 over wire/jsonstream), server and client side."""
import harness  # first: it imports greenrpc instrumented for coverage

from greenrpc.wire import jsonrpc1  # noqa: E402

if __name__ == "__main__":
    harness.main(server=lambda: jsonrpc1.ServerCodec(harness.MAX_MESSAGE_SIZE, max_depth=64),
                 client=lambda: jsonrpc1.ClientCodec(harness.MAX_MESSAGE_SIZE))
