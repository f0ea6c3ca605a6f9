"""The greenrpc command: serve objects, call a method, inspect a server; only parsing and printing.

Each command is one add_<command>(commands) function that builds its parser and names the
function running it; a new command is one more such function in COMMANDS.
"""
from gevent import monkey; monkey.patch_all()  # noqa: E402,E702 - first: the command is an entry point

import argparse
import dataclasses
import importlib
import inspect
import os
import signal
import ssl
import sys
from typing import Any, Callable, Optional, Sequence, Union

import gevent
import ujson

from . import Client, Limits, ReconnectingClient, RPCError, Server, ServerError, dial, dial_http
from . import bench, codegen, describe, health, logs, mistakes, tls_server_context, workers
from .mistakes import Mistake
from .openrpc import DISCOVER
from .schema import plain
from .transport import load_client_certificate
from .server import DEFAULT_MAX_CONNECTIONS, DEFAULT_STOP_TIMEOUT
from .version import VERSION

DEFAULT_LISTEN = "127.0.0.1:8096"

EXAMPLES = """examples:
  greenrpc serve mymodule:MyService --listen 0.0.0.0:8096
  greenrpc call 127.0.0.1:8096 Arith.Multiply '{"A": 7, "B": 8}'
  greenrpc inspect 127.0.0.1:8096
  greenrpc health 127.0.0.1:8096
  greenrpc bench 127.0.0.1:8096 Arith.Multiply '{"A": 7, "B": 8}' -c 8 -p 32 -d 5
  greenrpc gen python types.go -o types.py

Run greenrpc COMMAND --help for a command's options and more examples.
"""
EXAMPLES_SERVE = """examples:
  greenrpc serve examples.arith:Arith --listen 127.0.0.1:8096
  greenrpc serve mypkg.billing:Billing mypkg.users:Users --listen 0.0.0.0:8096 --listen unix:/run/rpc.sock
  GREENRPC_LISTEN=0.0.0.0:8096 GREENRPC_LOG_FORMAT=json greenrpc serve mypkg.services:Billing
  greenrpc serve examples.arith:Arith --tls-cert cert.pem --tls-key key.pem --idle-timeout 600
  greenrpc serve examples.arith:Arith --listen 0.0.0.0:8096 --workers 4   # 4 processes, 1 port

Every option can also come from the environment, for containers: --listen is
GREENRPC_LISTEN (several addresses separated by commas), --log-format is
GREENRPC_LOG_FORMAT, --max-inflight 64 is GREENRPC_MAX_INFLIGHT=64, and so on. An
option on the command line wins. Timeouts are seconds; "none" turns one off.
SIGTERM or SIGINT drains: calls already read answer, then the process exits 0.
With --workers N, a supervisor forks N processes that each listen on the same TCP
ports (SO_REUSEPORT: Linux spreads connections over them), restarts any that dies,
and passes SIGTERM on to all; /metrics counts the worker that answered.
"""
EXAMPLES_CALL = """examples:
  greenrpc call 127.0.0.1:8096 Arith.Multiply '{"A": 7, "B": 8}'
  greenrpc call 127.0.0.1:8096 Arith.Divide '{"A": 1, "B": 0}'        # exit status 1
  greenrpc call --v2 127.0.0.1:8096 Arith.Multiply '[{"A": 7, "B": 8}]'   # JSON-RPC 2.0
  greenrpc call --codec gob 127.0.0.1:1234 Arith.Multiply '{"A": 7, "B": 8}'  # rpc.ServeConn
  greenrpc call --http 127.0.0.1:8080 Arith.Multiply '{"A": 7, "B": 8}'   # rpc.HandleHTTP
  greenrpc call --tls-ca cert.pem localhost:8096 Arith.Multiply '{"A": 7, "B": 8}'

With gob (--codec gob or --http), a JSON object is sent as a struct with those fields
(Go matches struct fields by name), numbers without a fraction as Go's int.
Exit status: 0 done, 1 the server answered with an error, 2 the call could not be made.
"""
EXAMPLES_INSPECT = """examples:
  greenrpc inspect 127.0.0.1:8096
  greenrpc inspect 127.0.0.1:8096 --json > openrpc.json     # the OpenRPC document itself
"""
EXAMPLES_GEN = """examples:
  greenrpc gen python api/types.go api/service.go -o myapp/api_types.py
  greenrpc gen go 127.0.0.1:8096 -o ./arithclient --package arithclient
  greenrpc gen go examples.arith:Arith -o ./arithclient --package arithclient

gen python needs no Go toolchain; it says on stderr what it left out and why. gen go
runs gofmt on the package when gofmt is on the PATH.
"""
EXAMPLES_HEALTH = """examples:
  greenrpc health 127.0.0.1:8096
  greenrpc health --tls-ca cert.pem 127.0.0.1:8096
  GREENRPC_LISTEN=0.0.0.0:8096 greenrpc health          # what the Docker HEALTHCHECK runs

With GREENRPC_TLS_CERT set (the server's own certificate, as in a container serving
TLS) the check speaks TLS and accepts exactly that certificate. GREENRPC_TLS=1,
GREENRPC_TLS_CA and GREENRPC_TLS_INSECURE=1 stand for the flags. A server that requires
client certificates (--tls-client-ca) is checked with one: --tls-client-cert, or
GREENRPC_HEALTH_CERT (and GREENRPC_HEALTH_KEY).
"""
EXAMPLES_BENCH = """examples:
  greenrpc bench 127.0.0.1:8096 Arith.Multiply '{"A":7,"B":8}' -c 8 -p 32 -d 5
  greenrpc bench 127.0.0.1:8096 Arith.Multiply '{"A":7,"B":8}' -n 100000 --json
  greenrpc bench --v2 127.0.0.1:8096 Arith.Multiply '[{"A":7,"B":8}]' -c 50
  greenrpc bench --codec gob 127.0.0.1:1234 Arith.Multiply '{"A":7,"B":8}' -p 8

Every reply is checked: its id must be one outstanding and it must carry no error.
Exit status: 0 every call succeeded, 1 some failed (errors by kind and the last error's
text in the summary), 2 the run could not start (bad arguments, a connection refused).

Its ceiling: the generator is Python on one core. Measured against greenrpc's server it
costs about 10 us of CPU per call one at a time (-p 1; Go's benchmarks/go/loadgen the same,
mostly kernel TCP work: one core is full near 90,000 calls/s) and 1.7 us pipelined (-p 32;
loadgen 1.1 us), so it tops out near 600,000 calls/s. Keep it well below that, and on a core
of its own (taskset -c 1 greenrpc bench ...). docs/performance.md has figures.
"""


def load(target: str) -> Any:
    """Import "module:attr" (attr may be dotted) from the current directory or sys.path."""
    module_name, sep, attr = target.partition(":")
    if not sep or not module_name or not attr:
        raise SystemExit(f"greenrpc: {target!r} is not module:attr (e.g. examples.arith:Arith)")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        obj: Any = importlib.import_module(module_name)
    except Exception as err:  # the user's module failed to import: say where, briefly
        raise SystemExit(f"greenrpc: {target}: {mistakes.import_error(module_name, err)}") from None
    for part in attr.split("."):
        if not hasattr(obj, part):
            names = sorted(n for n in dir(obj) if not n.startswith("_"))[:12]
            raise SystemExit(f"greenrpc: {target}: {module_name} has no attribute {part!r}"
                             + (f" (it has: {', '.join(names)})" if names else ""))
        obj = getattr(obj, part)
    return obj


TRUE = ("1", "true", "yes", "on")  # what an environment variable says to turn a switch on
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
        try:
            if isinstance(obj, type):
                obj = obj()
            if inspect.isfunction(obj) or inspect.isbuiltin(obj):
                server.register_function(obj)
            else:
                server.register(obj)
        except (TypeError, ValueError) as err:  # a class needing arguments, an async def, ...
            raise SystemExit(f"greenrpc: cannot serve {target}: {err}") from None
    return server


def listen_addresses(given: Optional[list[str]]) -> list[str]:
    """The --listen values, else GREENRPC_LISTEN, each split at commas."""
    values = given or [os.environ.get("GREENRPC_LISTEN") or DEFAULT_LISTEN]
    addresses = [a.strip() for value in values for a in value.split(",") if a.strip()]
    if not addresses:
        raise SystemExit("greenrpc: --listen names no address")
    return addresses


def command_serve(args: argparse.Namespace) -> int:
    for name, value, allowed in (("level", args.log_level, logs.LEVELS),
                                 ("format", args.log_format, logs.FORMATS)):
        if value not in allowed:  # from the environment: argparse checks only the flags
            raise SystemExit(f"greenrpc: GREENRPC_LOG_{name.upper()}: {value!r} is not one of "
                             f"{', '.join(allowed)}")
    logs.configure(args.log_level, args.log_format)
    if "GEVENT_TRACK_GREENLET_TREE" not in os.environ:
        # Each greenlet would record who spawned it, for gevent.util's debugging printouts
        # only: about 180 bytes for every connection. Setting the variable keeps gevent's way.
        gevent.config.track_greenlet_tree = False
    options = server_options(args)
    certfile = args.tls_cert or os.environ.get("GREENRPC_TLS_CERT") or None
    keyfile = args.tls_key or os.environ.get("GREENRPC_TLS_KEY") or None
    client_ca = args.tls_client_ca or os.environ.get("GREENRPC_TLS_CLIENT_CA") or None
    if (keyfile or client_ca) and not certfile:
        raise SystemExit(f"greenrpc: {'--tls-key' if keyfile else '--tls-client-ca'} needs "
                         "--tls-cert")
    if certfile:
        try:
            options["tls"] = tls_server_context(certfile, keyfile, client_ca)
        except (OSError, ssl.SSLError) as err:
            raise SystemExit(f"greenrpc: TLS certificate {certfile}"
                             f"{' or CA ' + client_ca if client_ca else ''}: {err}") from None
    for name, flag in (("debug", "no_debug_page"), ("metrics", "no_metrics"),
                       ("discovery", "no_discovery")):
        if getattr(args, flag):
            options[name] = False
    count = worker_count(args)
    server = build_server(args.targets, options)
    if args.access_log or os.environ.get("GREENRPC_ACCESS_LOG", "").strip().lower() in TRUE:
        server.access_log = True  # a logging switch: a ready Server takes it too
    grace = args.grace if args.grace is not None else \
        float(os.environ.get("GREENRPC_GRACE") or DEFAULT_STOP_TIMEOUT)
    if count == 1:
        try:
            server.serve(*listen_addresses(args.listen), grace=grace)
        except OSError as err:  # listen() names the address: "cannot listen on ...: in use"
            raise SystemExit(f"greenrpc: {err.strerror or err}") from None
        except ValueError as err:  # an address that is not one
            raise SystemExit(f"greenrpc: --listen: {err}") from None
        return 0
    try:
        return workers.supervise(server, listen_addresses(args.listen), count, grace)
    except (ValueError, OSError) as err:
        raise SystemExit(f"greenrpc: {err}") from None


def worker_count(args: argparse.Namespace) -> int:
    """--workers, else GREENRPC_WORKERS, else 1; raises SystemExit."""
    if args.workers is not None:
        return int(args.workers)
    text = os.environ.get("GREENRPC_WORKERS", "").strip()
    try:
        return int(number(int, False)(text)) if text else 1
    except argparse.ArgumentTypeError as err:
        raise SystemExit(f"greenrpc: GREENRPC_WORKERS: {err}") from None


def add_serve(commands: Any) -> None:
    serve = commands.add_parser(
        "serve", help="serve the public methods of objects", epilog=EXAMPLES_SERVE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Serve module:attr targets: an object, a class (instantiated with no "
                    "arguments), a function, or a greenrpc.Server. Every protocol (Go's JSON "
                    "and gob, JSON-RPC 2.0, HTTP, /healthz, /metrics) on each address.")
    serve.add_argument("targets", nargs="+", metavar="module:attr")
    serve.add_argument("--listen", action="append", metavar="ADDRESS",
                       help="host:port, [v6]:port or unix:/path; repeat to listen on several "
                            f"(env GREENRPC_LISTEN, comma-separated; default {DEFAULT_LISTEN})")
    serve.add_argument("--log-level", default=os.environ.get("GREENRPC_LOG_LEVEL", "info").lower(),
                       choices=logs.LEVELS, type=str.lower,
                       help="(env GREENRPC_LOG_LEVEL; default %(default)s)")
    serve.add_argument("--access-log", action="store_true",
                       help="log a line when each connection opens and closes: peer, protocol, "
                            "seconds, bytes (env GREENRPC_ACCESS_LOG=1; default off: at "
                            "thousands of connections a second it halves the throughput)")
    serve.add_argument("--log-format", default=os.environ.get("GREENRPC_LOG_FORMAT", "text").lower(),
                       choices=logs.FORMATS, type=str.lower,
                       help="json: one JSON object per line (env GREENRPC_LOG_FORMAT; "
                            "default %(default)s)")
    serve.add_argument("--tls-cert", metavar="PEM", help="serve TLS with this certificate "
                       "chain (env GREENRPC_TLS_CERT; default: plain TCP)")
    serve.add_argument("--tls-key", metavar="PEM", help="its private key, if not in the "
                       "certificate file (env GREENRPC_TLS_KEY)")
    serve.add_argument("--tls-client-ca", metavar="PEM", help="require a client certificate "
                       "signed by this CA (env GREENRPC_TLS_CLIENT_CA)")
    for flag, what in (("debug-page", "the /debug/rpc page"), ("metrics", "the /metrics page"),
                       ("discovery", "the rpc.discover method")):
        serve.add_argument(f"--no-{flag}", action="store_true", help=f"do not serve {what}")
    serve.add_argument("--grace", type=number(float, False), metavar="SECONDS",
                       help="on SIGTERM/SIGINT, time for calls already read to answer "
                            f"(env GREENRPC_GRACE; default {DEFAULT_STOP_TIMEOUT:g})")
    serve.add_argument("--workers", type=number(int, False), metavar="N",
                       help="serve from N processes sharing each TCP port with SO_REUSEPORT "
                            "(Linux), under a supervisor that restarts them; not for unix: "
                            "addresses (env GREENRPC_WORKERS; default 1: this process alone)")
    limits = serve.add_argument_group("limits and timeouts (see docs/limits-tls.md)")
    for name, parse, default in SERVER_OPTIONS:
        limits.add_argument("--" + name.replace("_", "-"), type=parse,
                            metavar="N" if parse.__name__ == "int" else "SECONDS",
                            help=f"(env GREENRPC_{name.upper()}; default "
                                 f"{'none' if default is None else default})")
    serve.set_defaults(run=command_serve)


def gob_argument(value: Any) -> Any:
    """A JSON value as gob can send it: an object becomes a struct with its members as fields."""
    if isinstance(value, dict):
        fields = {name: gob_argument(item) for name, item in value.items() if item is not None}
        try:
            struct = dataclasses.make_dataclass(
                "Args", [(name, _annotation(item)) for name, item in fields.items()])
        except (TypeError, ValueError) as err:
            raise TypeError(f"cannot send {sorted(fields)} as a Go struct: {err}") from None
        return struct(**fields)
    if isinstance(value, list):
        return [gob_argument(item) for item in value]
    return value


def _annotation(value: Any) -> Any:
    if isinstance(value, list):
        return list[_annotation(value[0]) if value else Any]  # type: ignore[misc]
    return type(value)


def client_tls(args: argparse.Namespace) -> Any:
    """What dial(tls=) gets from --tls, --tls-ca and --tls-client-cert."""
    cert, key = args.tls_client_cert, args.tls_client_key
    if cert and not (args.tls or args.tls_ca):
        raise Mistake("a client certificate comes with TLS: add --tls or --tls-ca PEM")
    try:
        if not (args.tls_ca or cert or key):
            return True if args.tls else None
        try:
            context = ssl.create_default_context(cafile=args.tls_ca)
        except (OSError, ssl.SSLError) as err:
            raise ValueError(f"TLS: cannot read {args.tls_ca}: {err}") from None
        load_client_certificate(context, cert, key)
        return context
    except ValueError as err:
        raise Mistake(str(err)) from None


def add_tls_arguments(command: Any) -> None:
    command.add_argument("--tls", action="store_true",
                         help="speak TLS, trusting the system's CAs")
    command.add_argument("--tls-ca", metavar="PEM", help="speak TLS, trusting this certificate")
    command.add_argument("--tls-client-cert", metavar="PEM",
                         help="show this client certificate (and its key, if it holds it) to a "
                              "server that requires one")
    command.add_argument("--tls-client-key", metavar="PEM",
                         help="the client certificate's key, if not in its file")


def open_client(args: argparse.Namespace) -> Union[Client, ReconnectingClient]:
    if args.http:
        path = {"path": args.path} if args.path else {}  # else dial_http's: Go's /_goRPC_
        return dial_http(args.address, timeout=args.timeout, call_timeout=args.timeout, **path)
    return dial(args.address, timeout=args.timeout, codec=args.codec,
                call_timeout=args.timeout, version=2 if args.v2 else 1, tls=client_tls(args))


def command_call(args: argparse.Namespace) -> int:
    if args.v2 and (args.http or args.codec != "json"):
        print("greenrpc: --v2 is JSON-RPC 2.0: not with --codec gob or --http", file=sys.stderr)
        return 2
    if args.http and (args.tls or args.tls_ca):
        print("greenrpc: --http does not speak TLS", file=sys.stderr)
        return 2
    params = parse_params(args.params)
    try:
        if args.http or args.codec == "gob":
            params = gob_argument(params)
        with open_client(args) as client:
            result = client.call(args.method, params)
    except ServerError as err:
        print(f"greenrpc: {args.method}: {err}", file=sys.stderr)
        return 1
    except (RPCError, TypeError, ValueError) as err:
        raise Mistake(mistakes.with_hint(str(err), mistakes.connection_hint(err, args))) from None
    print_json(result)
    return 0


def parse_params(text: Optional[str]) -> Any:
    """The params argument as JSON (None if not given); raises Mistake saying what is wrong."""
    if text is None:
        return None
    try:
        return ujson.loads(text)
    except ValueError:
        raise Mistake(mistakes.params_error(text)) from None


def print_json(value: Any) -> None:
    print(ujson.dumps(plain(value), ensure_ascii=False, escape_forward_slashes=False, indent=2))


def add_call(commands: Any) -> None:
    call = commands.add_parser(
        "call", help="call a method and print its result as JSON", epilog=EXAMPLES_CALL,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Call METHOD on the server at ADDRESS with the JSON params. Prints the "
                    "result; exit status 1 with the server's error on stderr if the call failed.")
    call.add_argument("address")
    call.add_argument("method")
    call.add_argument("params", nargs="?", help="JSON value passed as the call's argument "
                      "(with --v2: a JSON array by position or an object by name)")
    call.add_argument("--codec", choices=["json", "gob"], default="json",
                      help="json: Go's net/rpc/jsonrpc (default); gob: Go's rpc.ServeConn")
    call.add_argument("--http", action="store_true",
                      help="Go's HTTP transport (rpc.DialHTTP): CONNECT, then gob")
    call.add_argument("--path", help="the CONNECT path with --http (default Go's /_goRPC_)")
    call.add_argument("--v2", action="store_true", help="speak JSON-RPC 2.0")
    call.add_argument("--timeout", type=float, default=10.0,
                      help="seconds for the connection and the call (default %(default)s)")
    add_tls_arguments(call)
    call.set_defaults(run=command_call)


def command_inspect(args: argparse.Namespace) -> int:
    try:
        with dial(args.address, timeout=args.timeout, call_timeout=args.timeout,
                  tls=client_tls(args)) as client:
            document = client.call(DISCOVER)
    except ServerError as err:
        print(f"greenrpc: {args.address} does not describe itself ({err}); only greenrpc "
              "servers and others offering OpenRPC's rpc.discover do", file=sys.stderr)
        return 1
    except (RPCError, ValueError) as err:
        raise Mistake(mistakes.with_hint(str(err), mistakes.connection_hint(err, args))) from None
    if args.json:
        print_json(document)
    else:
        sys.stdout.write(describe.render(document, args.address))
    return 0


def add_inspect(commands: Any) -> None:
    inspect_ = commands.add_parser(
        "inspect", help="list a server's services, methods and their types",
        epilog=EXAMPLES_INSPECT, formatter_class=argparse.RawDescriptionHelpFormatter,
        description=f"Ask the server at ADDRESS for its OpenRPC document ({DISCOVER}) and "
                    "print each service's methods with their parameter and result types, and "
                    "the struct types they use.")
    inspect_.add_argument("address")
    inspect_.add_argument("--json", action="store_true", help="print the OpenRPC document")
    inspect_.add_argument("--timeout", type=float, default=10.0,
                          help="seconds (default %(default)s)")
    add_tls_arguments(inspect_)
    inspect_.set_defaults(run=command_inspect)


def command_health(args: argparse.Namespace) -> int:
    try:
        client = {"client_cert": args.tls_client_cert, "client_key": args.tls_client_key}
        if args.tls or args.tls_ca or args.tls_insecure:
            tls = health.tls_check(args.tls, args.tls_ca, args.tls_insecure, **client)
        else:
            tls = health.tls_from_environment(**client)
        healthy, text = health.check_listen(args.address or "", args.timeout, tls)
    except ValueError as err:
        raise Mistake(str(err)) from None
    print(text, file=sys.stdout if healthy else sys.stderr)
    return 0 if healthy else 1


def add_health(commands: Any) -> None:
    check = commands.add_parser(
        "health", help="exit 0 if a server's /healthz says ok", epilog=EXAMPLES_HEALTH,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="GET /healthz from ADDRESS (default: the first TCP address of "
                    "GREENRPC_LISTEN, a wildcard host read as loopback). Exit 0 if it answers "
                    "200, 1 otherwise (503 while the server drains).")
    check.add_argument("address", nargs="?")
    check.add_argument("--timeout", type=float, default=2.0, help="seconds (default %(default)s)")
    add_tls_arguments(check)
    check.add_argument("--tls-insecure", action="store_true",
                       help="speak TLS without checking the certificate (env "
                            "GREENRPC_TLS_INSECURE=1; for a check of one's own server)")
    check.set_defaults(run=command_health)


def bench_plan(args: argparse.Namespace) -> bench.Plan:
    """The Plan the bench arguments describe; raises ValueError (or TypeError) for bad ones."""
    if args.v2 and args.codec != "json":
        raise ValueError("--v2 is JSON-RPC 2.0: not with --codec gob")
    params = parse_params(args.params)
    if args.codec == "gob":
        params = gob_argument(params)
    duration = args.duration if args.duration is not None or args.requests is not None \
        else bench.DEFAULT_DURATION
    warmup = args.warmup if args.warmup is not None else \
        (bench.DEFAULT_WARMUP if args.requests is None else 0.0)
    if warmup < 0:
        raise ValueError("--warmup must not be negative")
    plan = bench.Plan(args.address, args.method, params, args.connections, args.depth,
                      duration, args.requests, warmup, 2 if args.v2 else 1, args.codec,
                      args.timeout)
    if args.codec == "json":
        bench.request_template(plan)  # refuse params the request cannot carry, now
    return plan


def progress_printer(stream: Any) -> Callable[[float, int, int], None]:
    """Show the counts on one line rewritten in place on a terminal, else a line each time."""
    tty = stream.isatty()
    last = [0.0, 0]

    def show(seconds: float, calls: int, failed: int) -> None:
        rate = (calls - last[1]) / (seconds - last[0]) if seconds > last[0] else 0.0
        last[:] = [seconds, calls]
        line = f"{seconds:6.1f} s {calls:>12,} calls {rate:>10,.0f} calls/s {failed:>8,} errors"
        stream.write("\r" + line if tty else line + "\n")
        stream.flush()
    return show


def command_bench(args: argparse.Namespace) -> int:
    try:
        plan = bench_plan(args)
        summary = bench.run(plan, None if args.quiet else progress_printer(sys.stderr))
    except (RPCError, ValueError, TypeError) as err:
        raise Mistake(mistakes.with_hint(str(err), mistakes.connection_hint(err, args))) from None
    if not args.quiet and sys.stderr.isatty():
        sys.stderr.write("\r\033[K")  # clear the progress line
    if args.json:
        print(ujson.dumps(summary.as_json(), ensure_ascii=False))
    else:
        sys.stdout.write(bench.render(summary))
    if summary.interrupted:
        print("greenrpc: interrupted: the summary covers the calls made until then",
              file=sys.stderr)
        return mistakes.INTERRUPTED
    return 1 if summary.failed else 0


def add_bench(commands: Any) -> None:
    command = commands.add_parser(
        "bench", help="load a server with one call and measure calls/s and latency",
        epilog=EXAMPLES_BENCH, formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Call METHOD with the JSON params over CONNECTIONS connections, each "
                    "keeping DEPTH calls outstanding, for DURATION seconds (or N calls), after "
                    "a warm-up. Shows progress on stderr about once a second, then prints "
                    "calls, errors, calls/s and latency percentiles.")
    command.add_argument("address")
    command.add_argument("method")
    command.add_argument("params", nargs="?", help="JSON value passed as every call's argument "
                         "(with --v2: a JSON array by position or an object by name)")
    command.add_argument("-c", "--connections", type=number(int, False), default=1,
                         help="connections (default %(default)s)")
    command.add_argument("-p", "--depth", type=number(int, False), default=1,
                         help="calls outstanding per connection, pipelined (default %(default)s)")
    command.add_argument("-d", "--duration", type=number(float, False), metavar="SECONDS",
                         help=f"measured time (default {bench.DEFAULT_DURATION:g}; with -n: "
                              "no limit)")
    command.add_argument("-n", "--requests", type=number(int, False), metavar="N",
                         help="stop after N calls in all, spread over the connections")
    command.add_argument("--warmup", type=float, metavar="SECONDS",
                         help="unmeasured time first (default "
                              f"{bench.DEFAULT_WARMUP:g}; with -n: 0)")
    command.add_argument("--codec", choices=["json", "gob"], default="json",
                         help="json: Go's net/rpc/jsonrpc (default); gob: Go's rpc.ServeConn, "
                              "through greenrpc's Client (a lower ceiling)")
    command.add_argument("--v2", action="store_true", help="speak JSON-RPC 2.0")
    command.add_argument("--timeout", type=number(float, False), default=bench.DEFAULT_TIMEOUT,
                         help="seconds to connect, and to wait for any reply "
                              "(default %(default)s)")
    command.add_argument("--json", action="store_true",
                         help="print the summary as one JSON object (loadgen's keys)")
    command.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
    command.set_defaults(run=command_bench)


def command_gen_python(args: argparse.Namespace) -> int:
    try:
        out = codegen.python_module(args.files, "greenrpc gen python " + " ".join(
            os.path.basename(f) for f in args.files))
    except (OSError, ValueError) as err:
        raise Mistake(str(err)) from None
    for note in out.notes:
        print(f"greenrpc: {note}", file=sys.stderr)
    if args.output:
        with open(args.output, "w", encoding="utf-8") as file:
            file.write(out.source)
    else:
        sys.stdout.write(out.source)
    return 0


def command_gen_go(args: argparse.Namespace) -> int:
    try:
        if ":" in args.target and not args.target.rpartition(":")[2].isdigit():
            document = build_server([args.target]).registry.discover()
        else:
            with dial(args.target, timeout=args.timeout, call_timeout=args.timeout,
                      tls=client_tls(args)) as client:
                document = client.call(DISCOVER)
        package = codegen.go_package(document, args.package, f"greenrpc gen go {args.target}")
        codegen.write_go_package(package, args.output)
    except (RPCError, OSError, ValueError, TypeError) as err:
        raise Mistake(mistakes.with_hint(str(err), mistakes.connection_hint(err, args))) from None
    for note in package.notes:
        print(f"greenrpc: {note}", file=sys.stderr)
    return 0


def add_gen(commands: Any) -> None:
    gen = commands.add_parser(
        "gen", help="generate Python types from Go files, or a Go client from a server",
        epilog=EXAMPLES_GEN, formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Share one set of types between Go and Python services.")
    languages = gen.add_subparsers(dest="language", required=True, metavar="LANGUAGE")
    python = languages.add_parser(
        "python", help="Go type declarations -> a Python module of dataclasses",
        description="Read the type declarations of Go files (no Go toolchain needed) and write "
                    "a Python module: dataclasses with Go's widths and field names, Enums for "
                    "constants, and a typed client per service with net/rpc methods.")
    python.add_argument("files", nargs="+", metavar="FILE.go")
    python.add_argument("-o", "--output", help="the module to write (default: stdout)")
    python.set_defaults(run=command_gen_python)
    go = languages.add_parser(
        "go", help="a server's types and methods -> a Go package with a typed client",
        description="Describe a greenrpc server (at ADDRESS, by rpc.discover, or module:attr "
                    "loaded here) as a Go package: its structs with matching json tags, its "
                    "enums, and a client whose methods call it over net/rpc, with jsonrpc or "
                    "gob chosen at Dial.")
    go.add_argument("target", metavar="ADDRESS|module:attr")
    go.add_argument("-o", "--output", required=True, metavar="DIR")
    go.add_argument("--package", required=True, metavar="NAME", help="the Go package name")
    go.add_argument("--timeout", type=float, default=10.0, help="seconds (default %(default)s)")
    add_tls_arguments(go)
    go.set_defaults(run=command_gen_go)


COMMANDS: list[Callable[[Any], None]] = [add_serve, add_call, add_inspect, add_health, add_bench,
                                         add_gen]


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="greenrpc", epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Serve Python objects to Go's net/rpc clients (JSON and gob), JSON-RPC 2.0 "
                    "and HTTP on one port; call, inspect, health-check and load-test servers "
                    "from the shell.")
    top.add_argument("--version", action="version", version=f"greenrpc {VERSION}")
    commands = top.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in COMMANDS:
        add(commands)
    return top


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the command argv names; return its exit status (see greenrpc.mistakes).

    A user's mistake is one line on stderr and status 2 (1 for serve, whose errors raise
    SystemExit with the message); Ctrl-C is "interrupted" and 130. Argument errors are
    argparse's (status 2).
    """
    # Until the handler below is in place, Ctrl-C raises KeyboardInterrupt in whichever
    # greenlet runs; gevent's hub would print it as a crash before passing it on to the main
    # greenlet, where it is handled below.
    hub = gevent.get_hub()
    hub.NOT_ERROR = (*hub.NOT_ERROR, KeyboardInterrupt)
    interrupt = None
    try:
        args = parser().parse_args(argv)
        if args.command != "serve":  # serve drains on SIGINT instead (Server.serve)
            # Raised where the main greenlet waits, never inside a destructor or a callback
            # that would swallow it and leave the command waiting out its timeout.
            interrupt = gevent.signal_handler(signal.SIGINT, gevent.kill, gevent.getcurrent(),
                                              KeyboardInterrupt)
        return int(args.run(args))
    except Mistake as err:
        print(f"greenrpc: {err}", file=sys.stderr)
        return err.status
    except KeyboardInterrupt:
        print("greenrpc: interrupted", file=sys.stderr)
        return mistakes.INTERRUPTED
    finally:
        if interrupt is not None:
            interrupt.cancel()


if __name__ == "__main__":
    sys.exit(main())
