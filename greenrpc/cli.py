"""The greenrpc command: serve objects, call a method; main(argv) parses and prints only."""
from gevent import monkey; monkey.patch_all()  # noqa: E402,E702 - first: the command is an entry point

import argparse
import importlib
import inspect
import logging
import os
import sys
from typing import Any, Optional, Sequence

import ujson

from .client import dial
from .errors import RPCError, ServerError
from .server import Server

EXAMPLES_SERVE = """examples:
  greenrpc serve examples.arith:Arith --listen 127.0.0.1:8096
  GREENRPC_LISTEN=0.0.0.0:8096 greenrpc serve mypkg.services:Billing mypkg.services:Users
"""
EXAMPLES_CALL = """examples:
  greenrpc call 127.0.0.1:8096 Arith.Multiply '{"A": 7, "B": 8}'
  greenrpc call 127.0.0.1:8096 Arith.Divide '{"A": 1, "B": 0}'   # exit status 1
"""


def load(target: str) -> Any:
    """Import "module:attr" (attr may be dotted) from the current directory or sys.path."""
    module_name, sep, attr = target.partition(":")
    if not sep or not module_name or not attr:
        raise SystemExit(f"greenrpc: {target!r} is not module:attr")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    obj: Any = importlib.import_module(module_name)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


def build_server(targets: Sequence[str]) -> Server:
    """A Server for the targets: a Server instance, classes (instantiated), objects or functions."""
    loaded = [load(t) for t in targets]
    if len(loaded) == 1 and isinstance(loaded[0], Server):
        return loaded[0]
    server = Server()
    for target, obj in zip(targets, loaded):
        if isinstance(obj, Server):
            raise SystemExit(f"greenrpc: {target} is a Server; serve it alone")
        if isinstance(obj, type):
            obj = obj()
        if inspect.isfunction(obj) or inspect.isbuiltin(obj):
            server.register_function(obj)
        else:
            server.register(obj)
    return server


def command_serve(args: argparse.Namespace) -> int:
    logging.basicConfig(level=args.log_level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s %(message)s")
    server = build_server(args.targets)
    server.serve(args.listen)
    return 0


def command_call(args: argparse.Namespace) -> int:
    try:
        params = ujson.loads(args.params) if args.params is not None else None
    except ValueError as err:
        print(f"greenrpc: params are not JSON: {err}", file=sys.stderr)
        return 2
    try:
        with dial(args.address, timeout=args.timeout, call_timeout=args.timeout) as client:
            result = client.call(args.method, params)
    except ServerError as err:
        print(f"greenrpc: {args.method}: {err}", file=sys.stderr)
        return 1
    except RPCError as err:
        print(f"greenrpc: {err}", file=sys.stderr)
        return 2
    print(ujson.dumps(result, ensure_ascii=False, escape_forward_slashes=False, indent=2))
    return 0


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="greenrpc",
        description="Serve Python objects to Go's net/rpc/jsonrpc clients (and any JSON client), "
                    "or call a server from the shell.")
    commands = top.add_subparsers(dest="command", required=True, metavar="COMMAND")
    serve = commands.add_parser(
        "serve", help="serve the public methods of objects", epilog=EXAMPLES_SERVE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Serve module:attr targets: an object, a class (instantiated with no "
                    "arguments), a function, or a greenrpc.Server.")
    serve.add_argument("targets", nargs="+", metavar="module:attr")
    serve.add_argument("--listen", default=os.environ.get("GREENRPC_LISTEN", "127.0.0.1:8096"),
                       help="host:port or unix:/path (env GREENRPC_LISTEN; default %(default)s)")
    serve.add_argument("--log-level", default=os.environ.get("GREENRPC_LOG_LEVEL", "info"),
                       choices=["debug", "info", "warning", "error"],
                       help="(env GREENRPC_LOG_LEVEL; default %(default)s)")
    serve.set_defaults(run=command_serve)
    call = commands.add_parser(
        "call", help="call a method and print its result as JSON", epilog=EXAMPLES_CALL,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Call METHOD on the server at ADDRESS with the JSON params. Prints the "
                    "result; exit status 1 with the server's error on stderr if the call failed.")
    call.add_argument("address")
    call.add_argument("method")
    call.add_argument("params", nargs="?", help="JSON value passed as the call's argument")
    call.add_argument("--timeout", type=float, default=10.0, help="seconds (default %(default)s)")
    call.set_defaults(run=command_call)
    return top


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parser().parse_args(argv)
    status: int = args.run(args)
    return status


if __name__ == "__main__":
    sys.exit(main())
