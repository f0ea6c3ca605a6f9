"""A blocking client's socket: reads and writes that never block, and waits through a runtime.

The socket is non-blocking whatever the runtime; ``recv`` and ``send`` return at once, and
only the reader (waiting for replies) and the flusher (waiting for room to send) wait, each
bounded by its own timeout. A TLS socket's state is shared by its reads and writes, which
OpenSSL does not allow from two threads at once: for threads they take turns under a lock,
which is cheap since neither ever waits while holding it.
"""
from __future__ import annotations

import _socket
import socket
import ssl
from typing import Any, Optional, Union

from gevent import socket as gsocket

from .runtime import Runtime

RECV_SIZE = 65536


class ClientSocket:
    """One connected socket: non-blocking recv/send, waits, peer_closed, shutdown, close."""

    __slots__ = ("sock", "runtime", "_os", "_tls", "_lock", "closed")

    def __init__(self, sock: Any, runtime: Runtime) -> None:
        self.sock = sock
        self.runtime = runtime
        self._tls = isinstance(sock, ssl.SSLSocket) or hasattr(sock, "_sslobj")
        # A gevent socket wraps a non-blocking OS socket: using that one directly skips a layer.
        self._os: socket.socket = getattr(sock, "_sock", sock) \
            if isinstance(sock, gsocket.socket) else sock
        sock.settimeout(0.0)
        self._lock = runtime.guard() if self._tls else None
        self.closed = False

    def recv(self) -> Optional[bytes]:
        """The bytes waiting (b"" at end of stream), or None if none are. Raises OSError."""
        try:
            if self._lock is None:
                data: bytes = self._os.recv(RECV_SIZE)
                return data
            with self._lock:
                data = self.sock.recv(RECV_SIZE)
                return data
        except (BlockingIOError, ssl.SSLWantReadError, ssl.SSLWantWriteError):
            return None

    def send(self, data: Union[bytes, memoryview]) -> int:
        """Send what the kernel takes now (0 if nothing). Raises OSError."""
        try:
            if self._lock is None:
                sent: int = self._os.send(data)
                return sent
            with self._lock:
                sent = self.sock.send(data)
                return sent
        except (BlockingIOError, ssl.SSLWantReadError, ssl.SSLWantWriteError):
            return 0

    def wait_readable(self, timeout: Optional[float]) -> bool:
        return self.runtime.wait(self.sock, False, timeout)

    def wait_writable(self, timeout: Optional[float]) -> bool:
        return self.runtime.wait(self.sock, True, timeout)

    def peer_closed(self) -> bool:
        """True if the peer's FIN or RST has already arrived (a look, no wait; TLS can't say)."""
        if self.closed:
            return True
        if self._tls:
            return False
        try:
            return not self._os.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT)
        except BlockingIOError:
            return False
        except OSError:
            return True

    def shutdown(self) -> None:
        """End the connection both ways, waking a reader or flusher waiting on it."""
        try:  # the socket's own shutdown, not TLS's unwrap, which would wait for the peer
            _socket.socket.shutdown(self._os, socket.SHUT_RDWR)
        except OSError:
            pass

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.shutdown()
            try:
                self.sock.close()
            except OSError:
                pass
