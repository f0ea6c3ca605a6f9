"""Call the Arith server with greenrpc's client: one call, a pipelined burst, and an error."""
from gevent import monkey; monkey.patch_all()  # noqa: E702

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from arith import Args, Product, Quotient  # noqa: E402

import greenrpc  # noqa: E402


def main() -> None:
    address = sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1:8096"
    with greenrpc.dial(address, timeout=5) as client:
        product = client.call("Arith.Multiply", Args(7, 8), result_type=Product)
        print(f"Arith.Multiply: 7*8={product.Pro}")
        calls = [client.go("Arith.Divide", Args(n, 5), result_type=Quotient) for n in range(17, 20)]
        for n, call in zip(range(17, 20), calls):
            quotient = call.get()
            print(f"Arith.Divide: {n}/5={quotient.Quo} remainder {quotient.Rem}")
        try:
            client.call("Arith.Divide", Args(1, 0))
        except greenrpc.ServerError as err:
            print(f"Arith.Divide: 1/0 failed: {err}")


if __name__ == "__main__":
    main()
