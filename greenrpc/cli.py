"""The greenrpc command: serve objects, call a method; main(argv) parses and prints only."""
from gevent import monkey; monkey.patch_all()  # noqa: E402,E702 - first: the command is an entry point

import argparse
import dataclasses
import importlib
import inspect
import logging
import os
import ssl
import sys
from typing import Any, Callable, Optional, Sequence

import ujson

from .client import dial
from .connection import Limits
from .errors import RPCError, ServerError
from .server import DEFAULT_MAX_CONNECTIONS, DEFAULT_STOP_TIMEOUT, Server
from .transport import tls_server_context

EXAMPLES_SERVE = """examples:
  greenrpc serve examples.arith:Arith --listen 127.0.0.1:8096
  GREENRPC_LISTEN=0.0.0.0:8096 greenrpc serve mypkg.services:Billing mypkg.services:Users
  greenrpc serve examples.arith:Arith --tls-cert cert.pem --tls-key key.pem --idle-timeout 600

Every limit option can also come from the environment: --max-inflight 64 is
GREENRPC_MAX_INFLIGHT=64. Timeouts are seconds; "none" turns one off.
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


NONE: Any = object()  # an option turned off on purpose ("none"), unlike one not given


def number(kind: Callable[[str], Any], optional: bool) -> Callable[[str], Any]:
    """A parser for an option's value: kind, or also "none" (NONE) if it can be turned off."""
    def parse(text: str) -> Any:
        if optional and text.strip().lower() == "none":
            return NONE
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number"
                                             + (' or "none"' if optional else "")) from None
        if not value > 0:
            raise argparse.ArgumentTypeError(f"{text!r} must be positive")
        return value
    parse.__name__ = kind.__name__  # argparse names the type in its errors
    return parse


# Server options on the command line: (name, parser, default); each also reads GREENRPC_<NAME>.
SERVER_OPTIONS = [("max_connections", number(int, False), DEFAULT_MAX_CONNECTIONS)] + [
    (field.name, number(int if "int" in str(field.type) else float, "Optional" in str(field.type)),
     field.default) for field in dataclasses.fields(Limits)]


def server_options(args: argparse.Namespace) -> dict[str, Any]:
    """The Server options given as flags, or else in the environment; raises SystemExit."""
    options = {}
    for name, parse, _ in SERVER_OPTIONS:
        value = getattr(args, name, None)
        env = "GREENRPC_" + name.upper()
        if value is None and os.environ.get(env, "").strip():
            try:
                value = parse(os.environ[env])
            except argparse.ArgumentTypeError as err:
                raise SystemExit(f"greenrpc: {env}: {err}") from None
        if value is not None:
            options[name] = None if value is NONE else value
    return options


def build_server(targets: Sequence[str], options: Optional[dict[str, Any]] = None) -> Server:
    """A Server for the targets: a Server instance, classes (instantiated), objects or functions.

    options are Server keyword arguments; a ready Server was configured by its author, so any
    option given for it is an error rather than silently ignored.
    """
    options = options or {}
    loaded = [load(t) for t in targets]
    if len(loaded) == 1 and isinstance(loaded[0], Server):
        if options:
            raise SystemExit(f"greenrpc: {targets[0]} is a ready Server: set "
                             f"{', '.join(sorted(options))} in its constructor")
        return loaded[0]
    server = Server(**options)
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
    options = server_options(args)
    certfile = args.tls_cert or os.environ.get("GREENRPC_TLS_CERT") or None
    keyfile = args.tls_key or os.environ.get("GREENRPC_TLS_KEY") or None
    if keyfile and not certfile:
        raise SystemExit("greenrpc: --tls-key needs --tls-cert")
    if certfile:
        try:
            options["tls"] = tls_server_context(certfile, keyfile)
        except (OSError, ssl.SSLError) as err:
            raise SystemExit(f"greenrpc: TLS certificate {certfile}: {err}") from None
    server = build_server(args.targets, options)
    grace = args.grace if args.grace is not None else \
        float(os.environ.get("GREENRPC_GRACE") or DEFAULT_STOP_TIMEOUT)
    server.serve(args.listen, grace=grace)
    return 0


def command_call(args: argparse.Namespace) -> int:
    try:
        params = ujson.loads(args.params) if args.params is not None else None
    except ValueError as err:
        print(f"greenrpc: params are not JSON: {err}", file=sys.stderr)
        return 2
    tls: Any = None
    if args.tls_ca:
        tls = ssl.create_default_context(cafile=args.tls_ca)
    elif args.tls:
        tls = True
    try:
        with dial(args.address, timeout=args.timeout, call_timeout=args.timeout,
                  tls=tls) as client:
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
    serve.add_argument("--tls-cert", metavar="PEM", help="serve TLS with this certificate "
                       "chain (env GREENRPC_TLS_CERT; default: plain TCP)")
    serve.add_argument("--tls-key", metavar="PEM", help="its private key, if not in the "
                       "certificate file (env GREENRPC_TLS_KEY)")
    serve.add_argument("--grace", type=number(float, False), metavar="SECONDS",
                       help="on SIGTERM/SIGINT, time for calls already read to answer "
                            f"(env GREENRPC_GRACE; default {DEFAULT_STOP_TIMEOUT:g})")
    limits = serve.add_argument_group("limits and timeouts (see README.md)")
    for name, parse, default in SERVER_OPTIONS:
        limits.add_argument("--" + name.replace("_", "-"), type=parse,
                            metavar="N" if parse.__name__ == "int" else "SECONDS",
                            help=f"(env GREENRPC_{name.upper()}; default "
                                 f"{'none' if default is None else default})")
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
    call.add_argument("--tls", action="store_true", help="speak TLS, trusting the system's CAs")
    call.add_argument("--tls-ca", metavar="PEM", help="speak TLS, trusting this certificate")
    call.set_defaults(run=command_call)
    return top


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parser().parse_args(argv)
    status: int = args.run(args)
    return status


if __name__ == "__main__":
    sys.exit(main())
