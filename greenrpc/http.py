"""HTTP on the RPC port: JSON-RPC over POST, and the debug, health and metrics pages.

How this works: h11 parses the requests of one connection one at a time (keep-alive; pipelined
requests are answered in order) from bytes read off the Transport. A body is read only up to
max_message_size: a larger declared Content-Length gets 413 before any of the body is read, and
since the rest stays unread the connection then closes. A request h11 cannot parse gets 400 and
a close. Go's CONNECT handshake (LF line endings, then gob; docs/protocol.md 4.1) is not for h11: a
connection that opens with "CONNECT " is handed whole to the connect_handler, if there is one,
and any other request for Go's path /_goRPC_ gets Go's own answer (docs/protocol.md 4.2).

A POST answers the body's JSON-RPC in its own dialect (docs/protocol.md 5.1), with 200, or 204 when
everything was a notification; a body that is not JSON, or a single invalid request, gets 400
with the 2.0 error object. A value neither dialect claims is answered in 2.0 here, never by
closing as on a raw stream: HTTP keeps the framing.
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from email.utils import formatdate
from http import HTTPStatus
from typing import Callable, Optional
from urllib.parse import parse_qs

import gevent
import h11

from . import debugpage, errors
from .auth import Auth, guard, peer_certificate
from .budget import Budget, Holding
from .errors import ConnectionClosed, ProtocolError
from .gate import Gate, Helpers
from .limits import Limits
from .messages import Batch, Response
from .metrics import Metrics
from .registry import Registry, report, run_batch
from .transport import Transport
from .wire import goconnect, jsonrpc2, jsonserver
from .wire.jsonstream import parse

ConnectHandler = Callable[[Transport, bytes, str], None]
"""Takes over a connection that opened with "CONNECT ": gets the transport, every byte read so
far (the request head and whatever followed it) and the peer's address, and owns the connection
from then on (Go's handshake, then gob: docs/protocol.md 4.1)."""

MAX_HEAD_SIZE = goconnect.MAX_HEAD_SIZE  # request line and headers, blank line included
EVENTS_PER_TURN = 256        # body chunks parsed before giving other connections a turn
TURN = 1e-5  # a sleep over 0 waits for the event loop's next round, after it polls the sockets
LINGER_SECONDS = 1.0         # after refusing a body, read and drop what is in flight for this long
LINGER_BYTES = 1 << 20       # ... or this many bytes, so the client can read our answer
JSON = "application/json"
TEXT = "text/plain; charset=utf-8"
HTML = "text/html; charset=utf-8"
_CONNECT = b"CONNECT "


@dataclass
class Site:
    """What one server shows over HTTP."""

    registry: Registry
    limits: Limits
    metrics: Metrics
    healthy: Callable[[], bool]         # False while the server stops: /healthz says 503
    rpc_path: str = "/"
    connect_handler: Optional[ConnectHandler] = None
    gate: Gate = field(default_factory=lambda: Gate(None))  # counts batches' calls in flight
    budget: Budget = field(default_factory=lambda: Budget(None))  # holds request bodies
    auth: Optional[Auth] = None         # asked before each call (auth.py)
    hidden: frozenset[str] = frozenset()  # pages switched off: /debug/rpc, /metrics


class HeadMeter:
    """Count a request head's bytes however they arrive; refuse it past the limit, exactly.

    h11 checks max_incomplete_event_size only while a head is incomplete, so a head that
    completes within one read passed at any size (40-70 KB got through, depending on how the
    reads fell). The meter sees every byte given to h11 from the start of a head and finds the
    blank line that ends it the way h11 does, so the bound holds to the byte.
    """

    _BLANK_LINE = re.compile(rb"\n\r?\n")  # h11's end of a head (first match wins)

    def __init__(self, limit: int = MAX_HEAD_SIZE) -> None:
        self.limit = limit
        self.start()

    def start(self) -> None:
        """A new head begins with the next bytes fed."""
        self.size = 0         # bytes of the head so far
        self.tail = b""       # its last two bytes: a blank line may straddle two reads
        self.ended = False    # its blank line has arrived: what follows is a body

    def feed(self, data: bytes) -> None:
        """Count data; raise h11's RemoteProtocolError with 431 once the head is too large."""
        if self.ended or not data:
            return
        window = self.tail + data
        end = self._BLANK_LINE.search(window)
        if end is not None:
            self.size += end.end() - len(self.tail)
            self.ended = True
        else:
            self.size += len(data)
            self.tail = window[-2:]
        if self.size > self.limit:
            raise h11.RemoteProtocolError(f"request head exceeds {self.limit} bytes",
                                          error_status_hint=431)


@dataclass
class Answer:
    status: int
    content_type: Optional[str] = None
    body: bytes = b""
    allow: Optional[str] = None         # the Allow header of a 405


def serve(transport: Transport, first: bytes, site: Site, peer: str = "") -> None:
    """Serve HTTP requests on a connection whose first bytes are first, until it should close."""
    with gevent.Timeout(site.limits.message_timeout, TimeoutError):
        while len(first) < len(_CONNECT) and _CONNECT.startswith(first):
            more = transport.recv()  # is it Go's CONNECT? read on to see
            if not more:
                return
            first += more
    if first.startswith(_CONNECT) and site.connect_handler is not None:
        site.connect_handler(transport, first, peer)
        return
    HTTPConnection(transport, site, peer).serve(first)


class HTTPConnection:
    """The requests of one HTTP connection, answered in order."""

    def __init__(self, transport: Transport, site: Site, peer: str = "") -> None:
        self.transport = transport
        self.site = site
        self.peer = peer
        self.h11 = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_HEAD_SIZE)
        self.head = HeadMeter()
        self.helpers: Optional[Helpers] = None  # run a batch's calls; made by the first batch
        self.holding = Holding(site.budget)  # the body being read, until it is answered
        self.lookup = site.registry.lookup if site.auth is None else guard(
            site.registry.lookup, site.auth, peer, peer_certificate(transport.sock))
        # When the request being read must be complete, head and body (None between requests):
        # message_timeout bounds the whole request, however slowly its bytes trickle in.
        self.deadline: Optional[float] = None

    def serve(self, first: bytes) -> None:
        try:
            self._receive(first)
            while True:
                event = self._next_event(idle=True)
                if not isinstance(event, h11.Request):
                    return  # the client closed between requests
                if not self._handle(event):
                    return
                self.holding.set(0)  # the body is answered and gone
                if self.h11.our_state is not h11.DONE or self.h11.their_state is not h11.DONE:
                    return  # Connection: close, or HTTP/1.0
                self.h11.start_next_cycle()
                self.deadline = None
                self.head.start()
                self.head.feed(self.h11.trailing_data[0])  # the next head may have begun
        except h11.RemoteProtocolError as err:
            self._refuse(err.error_status_hint, f"bad request: {err}")
        except (ConnectionClosed, TimeoutError):
            pass
        finally:
            self.holding.release()

    def _next_event(self, idle: bool = False) -> object:
        limits = self.site.limits
        while True:
            event = self.h11.next_event()
            if event is not h11.NEED_DATA:
                return event
            if self.deadline is None and idle and not self.h11.trailing_data[0]:
                timeout = limits.idle_timeout  # between requests
            elif self.deadline is None:
                timeout = limits.message_timeout
            else:
                timeout = self.deadline - time.monotonic()
                if timeout <= 0:
                    raise TimeoutError("request not complete in time")
            data = self.transport.recv(timeout, wait_first=True)  # through the hub: others' turn
            if self.deadline is None and limits.message_timeout is not None:
                self.deadline = time.monotonic() + limits.message_timeout  # a request began
            self._receive(data)

    def _receive(self, data: bytes) -> None:
        self.head.feed(data)
        self.h11.receive_data(data)

    def _handle(self, request: h11.Request) -> bool:
        """Answer one request; False if the connection must close."""
        path, _, query = request.target.decode("latin-1").partition("?")
        if path == goconnect.RPC_PATH:
            self._go_rpc_path(request)
            return False
        body = self._read_body(request)
        if body is None:
            return False
        answer = self._route(request, path, query, body)
        headers = [("Content-Type", answer.content_type)] if answer.content_type else []
        if answer.status != 204:
            headers.append(("Content-Length", str(len(answer.body))))
        if answer.allow:
            headers.append(("Allow", answer.allow))
        if not self.site.healthy():
            headers.append(("Connection", "close"))
        data = self.h11.send(h11.Response(status_code=answer.status, headers=headers,
                                          reason=HTTPStatus(answer.status).phrase)) or b""
        if answer.body and request.method != b"HEAD":
            data += self.h11.send(h11.Data(data=answer.body)) or b""
        data += self.h11.send(h11.EndOfMessage()) or b""
        self.transport.write(data)
        return True

    def _go_rpc_path(self, request: h11.Request) -> None:
        """Go's rpc.HandleHTTP path: CONNECT switches to gob, anything else gets Go's answer."""
        target = request.target.decode("latin-1")
        if request.method == b"CONNECT" and self.site.connect_handler is not None:
            # A CONNECT after other requests on this connection: hand it on as if it came first.
            rest, _ = self.h11.trailing_data
            self.site.connect_handler(self.transport, goconnect.connect_request(target) + rest,
                                      self.peer)
            return
        closes = any(name == b"connection" and b"close" in value.lower()
                     for name, value in request.headers)
        reply, _ = goconnect.respond(request.method.decode("latin-1"), target,
                                     "HTTP/" + request.http_version.decode("latin-1"),
                                     date=formatdate(usegmt=True), client_closes=closes)
        self.transport.write(reply)  # Go's 404 or 405 (docs/protocol.md 4.2); then we close
        self.transport.linger(LINGER_SECONDS, LINGER_BYTES)

    def _read_body(self, request: h11.Request) -> Optional[bytes]:
        """The whole body, or None after refusing one over the limit with 413."""
        limit = self.site.limits.max_message_size
        for name, value in request.headers:
            if name == b"content-length" and int(value) > limit:
                self._refuse(413, f"body of {int(value)} bytes exceeds {limit}")
                return None
        if self.h11.they_are_waiting_for_100_continue:
            self.transport.write(self.h11.send(h11.InformationalResponse(status_code=100,
                                                                         headers=[])) or b"")
        body = bytearray()  # chunks may be 1 byte each: a list of them would cost 40 bytes each
        events = 0
        while True:
            event = self._next_event()
            if isinstance(event, h11.Data):
                body += event.data
                if len(body) > limit:  # chunked: we learn the size only while reading
                    self._refuse(413, f"body exceeds {limit} bytes")
                    return None
                if not self.holding.set(len(body)):
                    self._refuse(503, "request bodies in progress would pass the server's "
                                 f"memory budget of {self.site.budget.limit} bytes")
                    return None
                events += 1
                if not events % EVENTS_PER_TURN:
                    gevent.sleep(TURN)  # tiny chunks cost h11 ~6 us each: let others run
            elif isinstance(event, h11.EndOfMessage):
                return bytes(body)
            else:
                raise ConnectionClosed("client closed inside a request body")

    def _route(self, request: h11.Request, path: str, query: str, body: bytes) -> Answer:
        method = request.method
        if path == self.site.rpc_path:
            if method != b"POST":
                return Answer(405, TEXT, b"405 use POST with a JSON-RPC body\n", allow="POST")
            for name, value in request.headers:
                if name == b"content-type" and b"json" not in value.lower():
                    return Answer(415, TEXT, b"415 send Content-Type: application/json\n")
            return self._rpc(body)
        page = _PAGES.get(path)
        if page is None or path in self.site.hidden:
            return Answer(404, TEXT, b"404 page not found\n")
        if method not in (b"GET", b"HEAD"):
            return Answer(405, TEXT, b"405 method not allowed\n", allow="GET, HEAD")
        return page(self.site, query)

    def _rpc(self, body: bytes) -> Answer:
        site = self.site
        try:
            value = parse(body)
        except ProtocolError as err:
            return Answer(400, JSON, jsonrpc2.encode_response(jsonrpc2.parse_error(str(err))))
        try:
            message = jsonserver.decode(value, body, self.lookup,
                                        site.limits.max_batch_size, v2_fallback=True)
        except ProtocolError as err:  # an object Go's dialect refuses to read (method not a string)
            return Answer(400, JSON, jsonrpc2.encode_response(jsonrpc2.invalid_request(str(err))))
        if isinstance(message, Response):  # answered by the codec: no such method, bad params...
            error = message.error
            if error is not None and error.code == errors.INVALID_REQUEST:
                return Answer(400, JSON, jsonserver.encode(message))  # not a request at all
            report(message, self.peer, decoded=True)
            data = jsonserver.encode(message)
            return Answer(200, JSON, data) if data else Answer(204)
        if isinstance(message, Batch):
            if self.helpers is None:
                self.helpers = Helpers(site.gate, site.limits.max_inflight)
            data = jsonserver.encode(run_batch(message, site.registry.dispatch, self.helpers,
                                               self.peer),
                                     site.limits.max_batch_reply_size)
        else:
            response = site.registry.dispatch(message)
            report(response, self.peer)
            data = jsonserver.encode(response)
        return Answer(200, JSON, data) if data else Answer(204)

    def _refuse(self, status: int, text: str) -> None:
        """Answer with an error and close, without reading the rest of the request."""
        body = f"{status} {text}\n".encode()
        head = (f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\nContent-Type: {TEXT}\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode()
        try:
            self.transport.write(head + body)
        except ConnectionClosed:
            return
        self.transport.linger(LINGER_SECONDS, LINGER_BYTES)


def _debug(site: Site, query: str) -> Answer:
    if parse_qs(query).get("format") == ["json"]:
        return Answer(200, JSON, debugpage.render_json(site.registry))
    return Answer(200, HTML, debugpage.render_html(site.registry))


def _health(site: Site, query: str) -> Answer:
    return Answer(200, TEXT, b"ok\n") if site.healthy() else Answer(503, TEXT, b"stopping\n")


def _metrics(site: Site, query: str) -> Answer:
    return Answer(200, site.metrics.content_type, site.metrics.render())


_PAGES: dict[str, Callable[[Site, str], Answer]] = {
    "/debug/rpc": _debug,
    "/healthz": _health,
    "/metrics": _metrics,
}
