"""Server: register services, accept connections on one port, and stop without losing replies."""
from __future__ import annotations

import logging
import os
import signal
import socket as stdlib_socket
import ssl
import sys
import threading
import time
from email.utils import formatdate
from typing import Any, Callable, Iterable, Optional

import gevent
from gevent import socket as gsocket
from gevent.event import Event
from gevent.server import StreamServer

from . import http, logs
from .auth import Auth, guard, peer_certificate
from .budget import Budget, Holding
from .connection import Connection
from .errors import ConnectionClosed
from .gate import Gate
from .handover import Watcher
from .limits import Limits
from .listener import Connections, Listener
from .metrics import Metrics
from .openrpc import DISCOVER
from .registry import Registry
from .stats import Traffic
from .transport import (
    Address,
    Transport,
    format_address,
    parse_address,
    set_keepalive,
    start_tls,
    tls_server_context,
)
from .version import VERSION
from .wire import Lookup, ServerCodec, detect_protocol, gob, goconnect, jsonserver

log = logging.getLogger("greenrpc")

DEFAULT_MAX_CONNECTIONS = 10000
DEFAULT_STOP_TIMEOUT = 10.0
_TCP = (stdlib_socket.AF_INET, stdlib_socket.AF_INET6)
_INHERITS_OPTIONS = sys.platform.startswith("linux")  # accepted sockets copy the listener's
# The most a connection reads at once: what it decodes and answers before the next connection's
# turn (16 KiB of small pipelined requests is ~1.5 ms of work; 64 KiB kept others waiting 4x as long).
READ_SIZE = 16 << 10


def listen(address: Address, backlog: int = 1024, reuse_port: bool = False) -> gsocket.socket:
    """Bind a listening socket for "host:port" (port 0 picks one) or "unix:/path".

    reuse_port sets SO_REUSEPORT, so that several processes may each listen on the same TCP
    port (Linux then spreads new connections over them); a unix socket cannot share.
    """
    sock = bind(address, reuse_port)
    try:
        sock.listen(backlog)
    except OSError as err:
        sock.close()
        raise OSError(err.errno, f"cannot listen on {address}: {err.strerror or err}") from None
    return sock


def bind(address: Address, reuse_port: bool = False) -> gsocket.socket:
    """A socket bound to address, not yet listening (see listen)."""
    family, sockaddr = parse_address(address)
    if reuse_port and family == stdlib_socket.AF_UNIX:
        raise ValueError(f"{address}: a unix socket cannot be shared with SO_REUSEPORT")
    sock = gsocket.socket(family, stdlib_socket.SOCK_STREAM)
    try:
        if family == stdlib_socket.AF_UNIX:
            if os.path.exists(sockaddr):
                os.unlink(sockaddr)  # a stale socket file from an earlier run
        else:
            sock.setsockopt(stdlib_socket.SOL_SOCKET, stdlib_socket.SO_REUSEADDR, 1)
            if reuse_port:
                sock.setsockopt(stdlib_socket.SOL_SOCKET, stdlib_socket.SO_REUSEPORT, 1)
        sock.bind(sockaddr)
    except OSError as err:
        sock.close()  # the address in the message: errno alone leaves users guessing which
        raise OSError(err.errno, f"cannot listen on {address}: {err.strerror or err}") from None
    except BaseException:
        sock.close()
        raise
    return sock


class Server:
    """An RPC server: every registered object's public methods, on one port, for every client.

    Limits and timeouts are keyword arguments (see ``Limits`` for their defaults);
    ``max_connections`` bounds the accepted connections (accepting pauses at the bound).
    HTTP clients POST JSON-RPC to ``rpc_path``; a connection opening with Go's ``CONNECT``
    gets Go's handshake and then speaks gob, unless ``connect_handler`` takes it instead
    (see greenrpc.http.ConnectHandler). ``tls`` (an ``ssl.SSLContext``, e.g. from
    ``tls_server_context``) makes every connection TLS; the handshake must finish within
    ``message_timeout``. ``access_log`` logs a line when each connection opens and when it
    closes (peer, protocol, seconds, bytes; never a payload); it is off by default, since at
    thousands of short connections a second the two lines cost as much as serving them.

    ``auth`` is asked before each call, on every protocol, with a ``CallInfo`` (peer, method,
    TLS client certificate): false or ``ServerError`` refuses it (auth.py). ``debug``,
    ``metrics`` and ``discovery`` switch off the /debug/rpc page, the /metrics page and the
    rpc.discover method (each on by default).
    """

    def __init__(self, *, max_connections: int = DEFAULT_MAX_CONNECTIONS, rpc_path: str = "/",
                 connect_handler: Optional[http.ConnectHandler] = None,
                 tls: Optional[ssl.SSLContext] = None, access_log: bool = False,
                 auth: Optional[Auth] = None, debug: bool = True, metrics: bool = True,
                 discovery: bool = True, **limits: Any) -> None:
        self.tls = tls
        self.auth = auth
        self.access_log = access_log
        self.worker: Optional[tuple[int, int]] = None  # (slot, count) in a --workers process
        self.limits = Limits(**limits)
        self.registry = Registry(self.limits.method_timeout)
        if not discovery:
            del self.registry.builtins[DISCOVER]
        self.max_connections = max_connections
        self.connections: set[Connection] = set()
        self.gate = Gate(self.limits.max_inflight_total)  # calls in flight, server-wide
        # Bytes held between reads, server-wide (budget.py)
        self.budget = Budget(self.limits.max_memory_total, gevent.spawn_later)
        self._closed_counts = (0, 0)  # requests read and replies sent by finished connections
        self._transports: set[Transport] = set()
        self._accepted = 0
        self._bytes_closed = (0, 0)  # received and sent by connections already closed
        self.metrics = Metrics(self.registry, self.traffic)
        self._site = http.Site(self.registry, self.limits, self.metrics,
                               lambda: not self._stopping, rpc_path,
                               connect_handler or self._serve_connect, self.gate, self.budget,
                               auth, frozenset(page for page, shown in (
                                   ("/debug/rpc", debug), ("/metrics", metrics)) if not shown))
        self._stream_servers: list[StreamServer] = []
        self._connections = Connections(max_connections)
        self._watcher: Optional[Watcher] = None
        self._stopped = Event()
        self._stopping = False
        # By detect_protocol's answer; made once, as a dict made per connection would live as
        # long as it does (in serve_conn's frame).
        self._handlers = {"json": self._serve_json, "gob": self._serve_gob,
                          "http": self._serve_http}

    def register(self, obj: Any, name: Optional[str] = None, *,
                 include: Iterable[str] = ()) -> None:
        """Expose obj's methods as "Name.Method" (Name defaults to its class name).

        Exposed are the public methods defined by obj's class itself and any marked
        @greenrpc.expose; include names more (a base class's method, a staticmethod).
        """
        self.registry.register(obj, name, include=include)

    def register_function(self, function: Callable[..., Any], name: Optional[str] = None) -> None:
        """Expose one function under name (default: its __name__)."""
        self.registry.register_function(function, name)

    def traffic(self) -> Traffic:
        """Connections and bytes so far, for /metrics."""
        received, sent = self._bytes_closed
        for transport in self._transports:
            received += transport.bytes_in
            sent += transport.bytes_out
        return Traffic(len(self._transports), self._accepted, received, sent, self.budget.used,
                       self.budget.refused)

    @property
    def address(self) -> str:
        """The first address actually listened on (useful after binding port 0)."""
        return self.addresses[0]

    def call_counts(self) -> tuple[int, int]:
        """Requests read and replies sent so far; equal unless a peer vanished mid-call."""
        read, sent = self._closed_counts
        for conn in self.connections:
            read += conn.requests
            sent += conn.replies
        return read, sent

    @property
    def addresses(self) -> list[str]:
        """Every address listened on, in the order given to start()."""
        if not self._stream_servers:
            raise RuntimeError("the server is not started")
        return [format_address(server.socket.getsockname()) for server in self._stream_servers]

    def start(self, address: Address = "127.0.0.1:0", *more: Address,
              reuse_port: bool = False) -> str:
        """Start accepting on every address in the background; return the first bound address.

        All addresses share one pool of max_connections and are served alike. reuse_port
        lets other processes listen on the same TCP ports too (see listen()).
        """
        if self._stream_servers:
            raise RuntimeError("the server is already started")
        self._watcher = Watcher(self.gate)
        self.registry.started = time.time()
        try:
            for each in (address, *more):
                sock = listen(each, reuse_port=reuse_port)
                if sock.family in _TCP:
                    self._tune(sock)
                stream_server = Listener(sock, self._serve_accepted, self._connections)
                self._stream_servers.append(stream_server)
                stream_server.start()
        except BaseException:
            self._close_listeners()
            self._stream_servers = []
            raise
        self._log_ready()
        return self.address

    def _log_ready(self) -> None:
        """One line saying the server takes calls: where, what, which greenrpc, which process."""
        services = sorted(self.registry.services)
        functions = len(self.registry.methods) - sum(map(len, self.registry.services.values()))
        served = ", ".join(services + ([f"{functions} functions"] if functions else []))
        process = f"pid {os.getpid()}, " + (f"worker {self.worker[0]} of {self.worker[1]}"
                                           if self.worker else "1 process")
        count = len(self.registry.methods)
        log.info("greenrpc %s ready on %s: %s (%d method%s); %s", VERSION,
                 ", ".join(self.addresses), served or "nothing registered", count,
                 "" if count == 1 else "s", process,
                 extra={"event": "ready", "version": VERSION, "pid": os.getpid(),
                        "addresses": ",".join(self.addresses), "services": ",".join(services),
                        "methods": len(self.registry.methods),
                        "workers": self.worker[1] if self.worker else 1})

    def serve(self, address: Address, *more: Address, handle_signals: bool = True,
              grace: float = DEFAULT_STOP_TIMEOUT, reuse_port: bool = False) -> None:
        """Serve until stop(), or SIGTERM/SIGINT: the first drains for up to grace seconds.

        If the program has set up no logging, greenrpc's records go to stderr from INFO up,
        so the line saying the server is ready (and any failed call) is seen.
        """
        if not logging.getLogger().handlers and not log.handlers:
            logs.configure("info")
        if not _sockets_patched():
            log.warning("sockets are not monkey-patched: a method that blocks stalls every "
                        "connection; call gevent.monkey.patch_all() first")
        handlers = []
        if handle_signals and threading.current_thread() is threading.main_thread():
            # Before start(), which logs "ready": a signal right after that line drains.
            handlers = self._handle_signals(grace)
        try:
            self.start(address, *more, reuse_port=reuse_port)
        except BaseException:
            for handler in handlers:
                handler.cancel()
            raise
        self._stopped.wait()

    def _close_listeners(self) -> None:
        for stream_server in self._stream_servers:
            path = stream_server.socket.getsockname() if stream_server.socket is not None else None
            stream_server.close()
            if isinstance(path, str) and path and os.path.exists(path):
                os.unlink(path)  # a unix socket's file outlives its socket

    def stop(self, timeout: Optional[float] = DEFAULT_STOP_TIMEOUT) -> None:
        """Stop accepting, let calls already read finish and answer, close, then return.

        Connections still busy after timeout seconds are closed by force.
        """
        if self._stopping:
            self._stopped.wait()
            return
        self._stopping = True
        self._close_listeners()
        for conn in list(self.connections):
            conn.stop()
        for transport in list(self._transports):
            transport.shutdown_read()
        if not self._connections.join(timeout):
            log.warning("stop: %d connections still busy after %ss, closing them",
                        len(self._connections), timeout)
            for transport in list(self._transports):
                transport.close()
            self._connections.kill(timeout=1)
        self._connections.release()
        read, sent = self.call_counts()
        log.info("stopped: %d requests read, %d replies sent", read, sent)
        self._stopped.set()

    def _handle_signals(self, grace: float) -> list[Any]:
        def on_signal() -> None:
            if self._stopping:
                log.warning("second signal: exiting now")
                os._exit(1)
            log.info("signal received: draining for up to %ss", grace)
            gevent.spawn(self.stop, grace)

        return [gevent.signal_handler(signum, on_signal)
                for signum in (signal.SIGTERM, signal.SIGINT)]

    def _tune(self, sock: Any) -> None:
        """Nagle off (whole replies go out at once) and TCP keepalive, by the limits."""
        sock.setsockopt(stdlib_socket.IPPROTO_TCP, stdlib_socket.TCP_NODELAY, 1)
        limits = self.limits
        set_keepalive(sock, limits.keepalive_idle, limits.keepalive_interval,
                      limits.keepalive_count)

    def _serve_accepted(self, sock: Any, sockaddr: Any) -> None:
        # Linux gives an accepted socket its listening socket's options, tuned in start():
        # five system calls fewer per connection.
        self.serve_conn(sock, sockaddr, tuned=_INHERITS_OPTIONS)

    def serve_conn(self, sock: Any, sockaddr: Any = None, tuned: bool = False) -> None:
        """Serve one connected socket until it closes (the listeners call this per connection).

        tuned: the socket already has its TCP options (see _tune).
        """
        # A unix socket's peer has no name: the socket file it came in by says the most.
        peer = format_address(sockaddr or sock.getsockname())
        if not tuned and sock.family in _TCP:
            self._tune(sock)
        if self.tls is not None:
            try:
                sock = start_tls(sock, self.tls, self.limits.message_timeout, server_side=True)
            except (OSError, TimeoutError) as err:
                log.info("closing %s: TLS handshake failed: %s", peer, err or "timed out")
                return
        transport = Transport(sock, self.limits.write_timeout, recv_size=READ_SIZE,
                              holding=Holding(self.budget))
        self._transports.add(transport)
        self._accepted += 1
        opened = time.monotonic()
        protocol = "none"
        if self.access_log:
            log.info("connection from %s opened", peer, extra={"event": "open", "peer": peer})
        try:
            first = b"" if self._stopping else transport.recv(self.limits.idle_timeout)
            while len(first) == 1:  # one byte cannot tell a gob length from JSON or HTTP
                more = transport.recv(self.limits.message_timeout)
                if not more:
                    break
                first += more
            if first:
                protocol = detect_protocol(first)
                self._handlers[protocol](transport, first, peer)
        except (ConnectionClosed, TimeoutError):
            pass
        finally:
            self._transports.discard(transport)
            received, sent = self._bytes_closed
            self._bytes_closed = (received + transport.bytes_in, sent + transport.bytes_out)
            transport.close()
            if self.access_log:
                _log_closed(peer, protocol, time.monotonic() - opened, transport)

    def _serve_http(self, transport: Transport, first: bytes, peer: str) -> None:
        http.serve(transport, first, self._site, peer)

    def _serve_json(self, transport: Transport, first: bytes, peer: str) -> None:
        codec = jsonserver.ServerCodec(self._lookup(transport, peer), self.limits.max_message_size,
                                       self.limits.max_batch_size, self.limits.max_depth,
                                       self.limits.max_batch_reply_size)
        self._serve_codec(codec, transport, first, peer)

    def _serve_gob(self, transport: Transport, first: bytes, peer: str) -> None:
        codec = gob.ServerCodec(self._lookup(transport, peer), self.limits.max_message_size,
                                max_type_memory=self.limits.max_gob_type_memory)
        self._serve_codec(codec, transport, first, peer)

    def _lookup(self, transport: Transport, peer: str) -> Lookup:
        """The registry's lookup, or, with an auth hook, one that asks it first (auth.py)."""
        if self.auth is None:
            return self.registry.lookup
        return guard(self.registry.lookup, self.auth, peer, peer_certificate(transport.sock))

    def _serve_connect(self, transport: Transport, first: bytes, peer: str) -> None:
        """Go's HandleHTTP: a CONNECT to /_goRPC_, then gob on the same connection."""
        data = first
        with gevent.Timeout(self.limits.message_timeout, TimeoutError):  # the whole head
            while (answer := goconnect.answer_connect(data, date=formatdate(usegmt=True))) is None:
                more = transport.recv()
                if not more:
                    return
                data += more
        transport.write(answer.reply)
        if answer.connected:
            self._serve_gob(transport, answer.rest, peer)
        else:
            transport.linger()  # the refused head may still be arriving

    def _serve_codec(self, codec: ServerCodec, transport: Transport, first: bytes, peer: str
                     ) -> None:
        assert self._watcher is not None
        conn = Connection(transport, codec, self.registry.dispatch, self._watcher, self.limits,
                          peer, Holding(self.budget))
        self.connections.add(conn)
        try:
            conn.serve(first)
        finally:
            self.connections.discard(conn)
            read, sent = self._closed_counts
            self._closed_counts = (read + conn.requests, sent + conn.replies)


def _log_closed(peer: str, protocol: str, seconds: float, transport: Transport) -> None:
    log.info("connection from %s closed after %.3fs (%s, %d bytes in, %d out)", peer, seconds,
             protocol, transport.bytes_in, transport.bytes_out,
             extra={"event": "close", "peer": peer, "protocol": protocol,
                    "seconds": round(seconds, 6), "bytes_in": transport.bytes_in,
                    "bytes_out": transport.bytes_out})


def _sockets_patched() -> bool:
    from gevent import monkey
    return bool(monkey.is_module_patched("socket"))


def serve(address: Address, *objects: Any, certfile: Optional[str] = None,
          keyfile: Optional[str] = None, client_ca: Optional[str] = None, **options: Any) -> None:
    """Serve objects' public methods on address until SIGTERM/SIGINT; options go to Server.

    certfile (and keyfile, if the key is not in certfile) serve TLS with that PEM certificate;
    client_ca also requires a client certificate signed by that CA (see tls_server_context).
    """
    if certfile is not None:
        options["tls"] = tls_server_context(certfile, keyfile, client_ca)
    elif client_ca is not None:
        raise ValueError("client_ca needs certfile: client certificates come with TLS")
    server = Server(**options)
    for obj in objects:
        server.register(obj)
    server.serve(address)
