"""Fuzz the JSON stream as the server reads it (wire/jsonserver: Go's dialect and JSON-RPC 2.0,
over wire/jsonstream) and Go's client side of it (wire/jsonrpc1)."""
import harness  # first: it imports greenrpc instrumented for coverage

from greenrpc.registry import Registry  # noqa: E402
from greenrpc.wire import jsonrpc1, jsonserver  # noqa: E402
from tests import services  # noqa: E402

registry: Registry = services.make_server().registry

if __name__ == "__main__":
    harness.main(server=lambda: jsonserver.ServerCodec(registry.lookup, harness.MAX_MESSAGE_SIZE,
                                                       max_batch_size=16, max_depth=64),
                 client=lambda: jsonrpc1.ClientCodec(harness.MAX_MESSAGE_SIZE))
