"""Serve Arith on 127.0.0.1:8096 to Go's jsonrpc client, PHP, curl or greenrpc's client."""
from gevent import monkey; monkey.patch_all()  # noqa: E702 - first, before anything opens a socket

import argparse
import logging
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from arith import Arith  # noqa: E402

import greenrpc  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--listen", default=os.environ.get("GREENRPC_LISTEN", "127.0.0.1:8096"),
                        help="host:port to listen on (default %(default)s)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    greenrpc.serve(args.listen, Arith())


if __name__ == "__main__":
    main()
