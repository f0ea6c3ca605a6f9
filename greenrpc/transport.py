"""A connected gevent socket with bounded waits and coalesced writes of whole messages."""
from __future__ import annotations

import math
import socket as stdlib_socket
import ssl
import struct
import time
from typing import Any, Optional, Union

import gevent
from gevent import getcurrent
from gevent import socket as gsocket
from gevent import ssl as gssl
from gevent.event import Event

from .budget import Holding
from .errors import ConnectionClosed

DEFAULT_WRITE_TIMEOUT = 30.0
DEFAULT_MAX_PENDING_WRITE = 4 << 20
RECV_SIZE = 65536
LINGER = 5.0  # seconds a closing connection waits for the peer to take our last replies

try:  # Linux: SIOCOUTQ, bytes sent and not yet acknowledged
    import fcntl
    import termios
    _OUTQ: Optional[int] = termios.TIOCOUTQ
except (ImportError, AttributeError):  # pragma: no cover - other systems close at once
    _OUTQ = None

Address = Union[str, tuple[str, int]]


def parse_address(address: Address) -> tuple[Any, Any]:
    """Return (family, sockaddr) for "host:port", "[v6]:port", (host, port) or "unix:/path"."""
    if isinstance(address, tuple):
        host, port = address
    elif address.startswith("unix:"):
        return stdlib_socket.AF_UNIX, address[len("unix:"):]
    else:
        host, sep, port_text = address.rpartition(":")
        if not sep or not port_text.isdigit():
            raise ValueError(f"address {address!r} is not host:port (or unix:/path)")
        port = int(port_text)
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    family = stdlib_socket.AF_INET6 if ":" in host else stdlib_socket.AF_INET
    return family, (host or "0.0.0.0", port)


def format_address(sockaddr: Any) -> str:
    """Render a socket address the way parse_address reads it back."""
    if isinstance(sockaddr, str):
        return "unix:" + sockaddr
    host, port = sockaddr[0], sockaddr[1]
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def connect(address: Address, timeout: Optional[float]) -> gsocket.socket:
    """Open a connection (TCP with Nagle off, or a unix socket) within timeout seconds."""
    family, sockaddr = parse_address(address)
    if family == stdlib_socket.AF_UNIX:
        sock = gsocket.socket(stdlib_socket.AF_UNIX, stdlib_socket.SOCK_STREAM)
        sock.settimeout(timeout)
        try:
            sock.connect(sockaddr)
        except BaseException:
            sock.close()
            raise
    else:
        sock = gsocket.create_connection(sockaddr, timeout=timeout)
        sock.setsockopt(stdlib_socket.IPPROTO_TCP, stdlib_socket.TCP_NODELAY, 1)
    sock.settimeout(None)
    return sock


def tls_server_context(certfile: str, keyfile: Optional[str] = None,
                       client_ca: Optional[str] = None) -> ssl.SSLContext:
    """A server-side TLS context (TLS 1.2 or later) for a PEM certificate chain and key.

    client_ca (PEM, one or more CA certificates): every client must present a certificate
    signed by one of them, or the handshake fails; an auth hook sees it (auth.CallInfo).
    """
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(certfile, keyfile)
    if client_ca is not None:
        context.load_verify_locations(client_ca)
        context.verify_mode = ssl.CERT_REQUIRED
    return context


def load_client_certificate(context: ssl.SSLContext, certfile: Optional[str],
                            keyfile: Optional[str] = None) -> bool:
    """Have context show certfile (and keyfile, if the key is not in it) to servers that ask
    for a client certificate; whether there was one. ValueError says what cannot be read."""
    if keyfile and not certfile:
        raise ValueError("a client key needs its certificate: add --tls-client-cert PEM")
    if not certfile:
        return False
    try:
        context.load_cert_chain(certfile, keyfile)
    except (OSError, ssl.SSLError) as err:
        raise ValueError(f"TLS: cannot read the client certificate {certfile}"
                         f"{' or key ' + keyfile if keyfile else ''}: {err}") from None
    return True


def start_tls(sock: Any, context: ssl.SSLContext, timeout: Optional[float], *,
              server_side: bool, server_hostname: Optional[str] = None) -> Any:
    """Wrap a connected socket in TLS and finish the handshake within timeout seconds.

    gevent's SSLSocket is used whichever ssl module made the context, so the handshake and every
    later read and write yield to other greenlets. Raises OSError (ssl.SSLError) or TimeoutError.
    """
    tls = gssl.SSLSocket(sock=sock, server_side=server_side, server_hostname=server_hostname,
                         do_handshake_on_connect=False, _context=context)
    try:
        with gevent.Timeout(timeout, TimeoutError):
            tls.do_handshake()
    except BaseException:
        tls.close()
        raise
    return tls


def set_keepalive(sock: Any, idle: Optional[float], interval: float, count: int) -> None:
    """Turn TCP keepalive on (probes after idle seconds, every interval, count of them), or off."""
    sock.setsockopt(stdlib_socket.SOL_SOCKET, stdlib_socket.SO_KEEPALIVE, idle is not None)
    if idle is None:
        return
    for option, value in ((getattr(stdlib_socket, "TCP_KEEPIDLE", None), idle),
                          (getattr(stdlib_socket, "TCP_KEEPINTVL", None), interval),
                          (getattr(stdlib_socket, "TCP_KEEPCNT", None), count)):
        if option is not None:  # Linux has all three; elsewhere the system's defaults apply
            sock.setsockopt(stdlib_socket.IPPROTO_TCP, option, max(1, math.ceil(value)))


class Transport:
    """Reads with optional timeouts; writes whole messages, several greenlets' writes coalesced.

    A writer that finds another greenlet flushing leaves its bytes in the queue and returns (the
    flusher sends them with its next send), unless the queue already holds more than
    max_pending_write bytes: then it waits, which keeps a peer that stops reading from making
    us buffer without bound. A send that makes no progress for write_timeout closes the socket.
    """

    __slots__ = ("sock", "write_timeout", "max_pending_write", "recv_size", "_raw", "_hub", "_queue",
                 "_queued", "_queued_messages", "_flushing", "_drained", "closed", "bytes_in",
                 "bytes_out", "messages_out", "holding")  # one per connection: no __dict__ each

    def __init__(self, sock: Any, write_timeout: Optional[float] = DEFAULT_WRITE_TIMEOUT,
                 max_pending_write: int = DEFAULT_MAX_PENDING_WRITE, recv_size: int = RECV_SIZE,
                 holding: Optional[Holding] = None) -> None:
        self.sock = sock
        self.write_timeout = write_timeout
        self.max_pending_write = max_pending_write
        self.recv_size = recv_size  # the most one recv returns
        # A plain gevent socket exposes its non-blocking OS socket and its io watchers; using them
        # directly skips a layer per call. Anything else (TLS) goes through its own methods, with
        # the socket's own timeout off: the reader and the writers share that one attribute, so
        # each wait is bounded by its own gevent.Timeout instead.
        self._raw = getattr(sock, "_sock", None) if type(sock) is gsocket.socket else None
        if self._raw is None:
            sock.settimeout(None)
        self._hub = gevent.get_hub()
        self._queue: list[bytes] = []
        self._queued = 0
        self._queued_messages = 0
        self._flushing = False
        self._drained: Optional[Event] = None
        self.closed = False
        self.bytes_in = 0
        self.bytes_out = 0
        self.messages_out = 0  # whole messages handed to the kernel
        # The server's memory budget (budget.py), told what waits to be sent whenever a peer
        # reads slower than we write: the kernel's buffer was full, so never on the fast path.
        self.holding = holding

    def recv(self, timeout: Optional[float] = None, wait_first: bool = False) -> bytes:
        """Return the next bytes; b"" at end of stream. Raise TimeoutError or ConnectionClosed.

        wait_first: go through the hub before reading, even if bytes are waiting: on a plain
        socket, wait until it is readable (a peer that awaits our reply has sent nothing yet,
        so this saves a read that would find nothing); on TLS, whose own buffer may hold bytes
        already, yield a turn. Either way a peer that never stops sending cannot keep the
        other connections from their turn.
        """
        if self.closed:
            raise ConnectionClosed("connection is closed")
        raw = self._raw
        try:
            if raw is None:
                if wait_first:
                    gevent.sleep(0)
                with gevent.Timeout(timeout, TimeoutError):
                    data: bytes = self.sock.recv(self.recv_size)
            else:
                if wait_first:  # _wait, inlined: this is every read's path
                    watcher = self.sock._read_event
                    watcher.start(getcurrent().switch)
                    try:
                        if timeout is None:
                            self._hub.switch()
                        else:
                            with gevent.Timeout(timeout, TimeoutError):
                                self._hub.switch()
                    finally:
                        watcher.stop()
                while True:
                    try:
                        data = raw.recv(self.recv_size)
                        break
                    except BlockingIOError:
                        self._wait(self.sock._read_event, timeout)
        except (TimeoutError, gevent.Timeout):
            raise TimeoutError("no bytes arrived in time") from None
        except OSError as err:
            raise ConnectionClosed(f"read failed: {err}") from None
        self.bytes_in += len(data)
        return data

    def write(self, data: bytes, messages: int = 1) -> None:
        """Queue whole messages and send them, unless another greenlet is sending (it sends ours)."""
        if self.closed:
            raise ConnectionClosed("connection is closed")
        raw = self._raw
        if raw is not None and not self._flushing:  # nobody else is sending: try it at once
            try:
                sent = raw.send(data)
            except BlockingIOError:
                sent = 0
            except OSError as err:
                self.close()
                raise ConnectionClosed(f"write failed: {err}") from None
            self.bytes_out += sent
            if sent == len(data):
                self.messages_out += messages
                return
            data = data[sent:]  # the kernel's buffer is full: queue the rest and wait below
        self._queue.append(data)
        self._queued += len(data)
        self._queued_messages += messages
        if self.holding is not None and not self.holding.set(self._queued):
            self.close()
            raise ConnectionClosed("replies waiting for a slow reader would pass the server's "
                                   "memory budget")
        if not self._flushing:
            self._flush()
        elif self._queued > self.max_pending_write:
            if self._drained is None:
                self._drained = Event()
            self._drained.clear()
            if not self._drained.wait(self.write_timeout):
                self.close()
                raise ConnectionClosed("peer stopped reading replies")

    def _flush(self) -> None:
        self._flushing = True
        try:
            while self._queue:
                queue = self._queue
                data = queue[0] if len(queue) == 1 else b"".join(queue)
                messages = self._queued_messages
                self._queue = []
                self._queued = 0
                self._queued_messages = 0
                self._send(data)
                self.messages_out += messages
                if self.holding is not None and not self.closed:
                    self.holding.set(self._queued)  # the sent bytes are gone
        except (TimeoutError, gevent.Timeout):
            self.close()
            raise ConnectionClosed("peer stopped reading replies") from None
        except OSError as err:
            self.close()
            raise ConnectionClosed(f"write failed: {err}") from None
        finally:
            self._flushing = False
            if self._drained is not None:
                self._drained.set()

    def _send(self, data: bytes) -> None:
        raw = self._raw
        view: Union[bytes, memoryview] = data
        if raw is None:  # each send must make progress within write_timeout, as below
            while view:
                with gevent.Timeout(self.write_timeout, TimeoutError):
                    sent = self.sock.send(view)
                self.bytes_out += sent
                view = memoryview(view)[sent:]
            return
        while True:
            try:
                sent = raw.send(view)
            except BlockingIOError:
                sent = 0
            self.bytes_out += sent
            if sent == len(view):
                return
            if sent and type(view) is bytes:
                view = memoryview(view)
            view = view[sent:]
            self._wait(self.sock._write_event, self.write_timeout)

    def _wait(self, watcher: Any, timeout: Optional[float]) -> None:
        # What hub.wait(watcher) does, without its Waiter: while a greenlet waits, gevent keeps a
        # copy of its C stack on the heap, and the Waiter's calls add about 700 bytes to it, for
        # every idle connection. A stray switch into us is harmless: every caller retries its
        # read or write and waits again if the socket is not ready. A socket closed under us
        # still wakes us with an error: gevent throws it into the greenlet behind the callback.
        watcher.start(getcurrent().switch)
        try:
            if timeout is None:
                self._hub.switch()
            else:
                with gevent.Timeout(timeout, TimeoutError):
                    self._hub.switch()
        finally:
            watcher.stop()

    def peer_closed(self) -> bool:
        """True if the peer's FIN or RST has already arrived; a look at the socket, no wait.

        Only plain sockets can be looked at this way; for others this says False.
        """
        raw = self._raw
        if raw is None:
            return self.closed
        try:
            return not raw.recv(1, stdlib_socket.MSG_PEEK | stdlib_socket.MSG_DONTWAIT)
        except BlockingIOError:
            return False
        except OSError:
            return True

    def shutdown_read(self) -> None:
        """Make the reader see end of stream, while replies can still be written."""
        try:  # not SSLSocket.shutdown, which drops the TLS layer: replies would go out in clear
            gsocket.socket.shutdown(self.sock, stdlib_socket.SHUT_RD)
        except OSError:
            pass

    def linger(self, seconds: float = 1.0, max_bytes: int = 1 << 20) -> None:
        """After refusing a request: stop writing, then read and drop what is still arriving.

        Closing with unread bytes makes the kernel send RST, which can destroy the refusal
        before the client reads it; the client is still sending the rest of what we refused.
        """
        try:
            gsocket.socket.shutdown(self.sock, stdlib_socket.SHUT_WR)
        except OSError:
            return
        deadline = time.monotonic() + seconds
        dropped = 0
        try:
            while dropped < max_bytes:
                left = deadline - time.monotonic()
                if left <= 0:
                    return
                data = self.recv(left)
                if not data:
                    return
                dropped += len(data)
        except (ConnectionClosed, TimeoutError):
            pass

    def close_gracefully(self, timeout: Optional[float]) -> None:
        """Close once the peer has every byte we sent, even if it sent more we will not read.

        Closing a TCP socket with unread input resets the connection and throws away what is
        still in our send buffer (RFC 2525 2.17; Linux does), which would lose replies. So:
        end our side (FIN after the replies), discard what arrives, and close when the peer
        has acknowledged everything or after timeout seconds.
        """
        os_sock = getattr(self.sock, "_sock", None)
        if self.closed or os_sock is None or os_sock.family == stdlib_socket.AF_UNIX:
            self.close()  # a unix socket's peer can read what it was sent after the close
            return
        deadline = time.monotonic() + (timeout if timeout is not None else LINGER)
        delay = 0.001
        try:
            os_sock.shutdown(stdlib_socket.SHUT_WR)
            while _discard_input(os_sock) and _unacknowledged(os_sock):
                if time.monotonic() >= deadline:
                    break
                gevent.sleep(delay)
                delay = min(delay * 2, 0.1)
        except OSError:
            pass
        self.close()

    def close(self) -> None:
        if self.holding is not None:
            self.holding.release()  # what was queued is dropped with the socket
        if not self.closed:
            self.closed = True
            try:
                self.sock.close()
            except OSError:
                pass


def _discard_input(os_sock: Any) -> bool:
    """Read and drop whatever the peer has sent; False once it has closed its side."""
    while True:
        try:
            if not os_sock.recv(RECV_SIZE):
                return False
        except BlockingIOError:
            return True


def _unacknowledged(os_sock: Any) -> int:
    """Bytes we sent that the peer has not acknowledged yet (0 where the OS cannot say)."""
    if _OUTQ is None:
        return 0
    return int(struct.unpack("i", fcntl.ioctl(os_sock.fileno(), _OUTQ, b"\0\0\0\0"))[0])
