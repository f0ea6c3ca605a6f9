"""Ask a server's /healthz whether it takes calls: for container health checks and probes.

Plain http.client on purpose: slim images have no curl, and a check must not need the event
loop. A server that speaks TLS is checked over TLS: say how to trust it (``--tls``,
``--tls-ca``, ``--tls-insecure``), or let the check read the server's own settings: where
``GREENRPC_TLS_CERT`` is set (as in a container configured for TLS), the check speaks TLS and
accepts exactly that certificate. A server that requires client certificates
(``--tls-client-ca``) is checked with one: ``--tls-client-cert`` (``GREENRPC_HEALTH_CERT``).
"""
from __future__ import annotations

import dataclasses
import http.client
import os
import ssl
import sys
from dataclasses import dataclass
from typing import Optional

from .transport import load_client_certificate, parse_address

DEFAULT_LISTEN = "127.0.0.1:8096"
_WILDCARDS = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}
_TRUE = ("1", "true", "yes", "on")


@dataclass(frozen=True)
class TLSCheck:
    """How the check speaks TLS: a context, and the certificate the server must show, if pinned."""

    context: ssl.SSLContext
    pinned: Optional[bytes] = None  # DER of the one certificate accepted (checked after connecting)
    shows_certificate: bool = False  # a client certificate is loaded into context


def local_address(listen: str) -> str:
    """The first TCP address of a --listen value, with a wildcard host made a loopback one."""
    for address in listen.split(","):
        address = address.strip()
        if not address or address.startswith("unix:"):
            continue
        _, (host, port) = parse_address(address)
        host = _WILDCARDS.get(host, host)
        return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    raise ValueError(f"no TCP address in {listen!r} to check")


def tls_check(tls: bool = False, ca: Optional[str] = None, insecure: bool = False,
              server_cert: Optional[str] = None, client_cert: Optional[str] = None,
              client_key: Optional[str] = None) -> Optional[TLSCheck]:
    """The TLS the flags ask for; else the server's own certificate pinned; else None (plain).

    client_cert (and client_key, if the key is not in it) is shown to a server that asks for a
    client certificate. Raises ValueError for a file that cannot be read, or a client
    certificate without TLS.
    """
    check = _server_check(tls, ca, insecure, server_cert)
    if check is None and (client_cert or client_key):
        raise ValueError("a client certificate comes with TLS: add --tls, --tls-ca PEM or "
                         "--tls-insecure")
    if check is not None and load_client_certificate(check.context, client_cert, client_key):
        return dataclasses.replace(check, shows_certificate=True)
    return check


def _server_check(tls: bool, ca: Optional[str], insecure: bool,
                  server_cert: Optional[str]) -> Optional[TLSCheck]:
    """How the check trusts the server, or None to speak plain HTTP."""
    try:
        if insecure:
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            return TLSCheck(context)
        if tls or ca:
            return TLSCheck(ssl.create_default_context(cafile=ca))
        if server_cert:
            with open(server_cert, encoding="ascii", errors="replace") as file:
                first = file.read().split("-----END CERTIFICATE-----")[0]
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE  # the pin below is the check
            return TLSCheck(context, ssl.PEM_cert_to_DER_cert(first + "-----END CERTIFICATE-----\n"))
    except (OSError, ValueError, ssl.SSLError) as err:
        raise ValueError(f"TLS: cannot read {ca or server_cert}: {err}") from None
    return None


def tls_from_environment(client_cert: Optional[str] = None,
                         client_key: Optional[str] = None) -> Optional[TLSCheck]:
    """GREENRPC_TLS_INSECURE, GREENRPC_TLS_CA, GREENRPC_TLS, else GREENRPC_TLS_CERT pinned;
    the client certificate given, else GREENRPC_HEALTH_CERT (and GREENRPC_HEALTH_KEY)."""
    env = os.environ
    if not client_cert:
        client_cert = env.get("GREENRPC_HEALTH_CERT") or None
        client_key = client_key or env.get("GREENRPC_HEALTH_KEY") or None
    return tls_check(tls=env.get("GREENRPC_TLS", "").strip().lower() in _TRUE,
                     ca=env.get("GREENRPC_TLS_CA") or None,
                     insecure=env.get("GREENRPC_TLS_INSECURE", "").strip().lower() in _TRUE,
                     server_cert=env.get("GREENRPC_TLS_CERT") or None,
                     client_cert=client_cert, client_key=client_key)


def check(address: str, timeout: float = 2.0, tls: Optional[TLSCheck] = None) -> tuple[bool, str]:
    """GET /healthz from address: (True, "ok") if it answers 200, else (False, why)."""
    host, _, port = address.rpartition(":")
    host = host.strip("[]")
    try:
        if tls is None:
            connection: http.client.HTTPConnection = http.client.HTTPConnection(
                host, int(port), timeout=timeout)
        else:
            connection = http.client.HTTPSConnection(host, int(port), timeout=timeout,
                                                     context=tls.context)
        try:
            connection.request("GET", "/healthz")
            if tls is not None and tls.pinned is not None:
                sock = connection.sock
                shown = sock.getpeercert(binary_form=True) if isinstance(sock, ssl.SSLSocket) else None
                if shown != tls.pinned:
                    return False, "TLS: the server's certificate is not GREENRPC_TLS_CERT's"
            answer = connection.getresponse()
            text = answer.read().decode("utf-8", "replace").strip()
        finally:
            connection.close()
    except ssl.SSLError as err:
        return False, f"TLS: {err.reason or err}" + _tls_hint(err, tls)
    except (OSError, ValueError, http.client.HTTPException) as err:
        hung_up = isinstance(err, (ConnectionResetError, BrokenPipeError,
                                   http.client.HTTPException))
        hint = _hang_up_hint(tls) if hung_up else ""
        return False, (getattr(err, "strerror", None) or str(err) or type(err).__name__) + hint
    if answer.status != 200:
        return False, f"{answer.status} {text}"
    return True, text


def _hang_up_hint(tls: Optional[TLSCheck]) -> str:
    if tls is None:
        return " (does the server speak TLS? try --tls-insecure or --tls-ca)"
    if not tls.shows_certificate:
        return " (does the server require a client certificate? --tls-client-cert PEM)"
    return ""


def _tls_hint(err: ssl.SSLError, tls: Optional[TLSCheck]) -> str:
    needs_certificate = tls is not None and not tls.shows_certificate
    if err.reason and "CERTIFICATE_REQUIRED" in err.reason and needs_certificate:
        return " (the server requires a client certificate: --tls-client-cert PEM)"
    if err.reason in ("WRONG_VERSION_NUMBER", "RECORD_LAYER_FAILURE"):
        return " (does the server speak TLS? drop --tls)"
    if isinstance(err, ssl.SSLEOFError) or err.reason == "UNEXPECTED_EOF_WHILE_READING":
        # A plain server hangs up on a handshake; so does TLS 1.3 without a client certificate.
        return " (does the server speak TLS? drop --tls" + (
            "; does it require a client certificate? --tls-client-cert PEM)"
            if needs_certificate else ")")
    return ""


def check_listen(listen: str = "", timeout: float = 2.0,
                 tls: Optional[TLSCheck] = None) -> tuple[bool, str]:
    """Check the server this process would serve on: listen, else GREENRPC_LISTEN."""
    listen = listen or os.environ.get("GREENRPC_LISTEN") or DEFAULT_LISTEN
    return check(local_address(listen), timeout, tls)


def main() -> int:
    """`python -m greenrpc.health [ADDRESS]`: exit 0 if the server is healthy, 1 if not."""
    healthy, text = check_listen(sys.argv[1] if len(sys.argv) > 1 else "",
                                 tls=tls_from_environment())
    print(text, file=sys.stdout if healthy else sys.stderr)
    return 0 if healthy else 1


if __name__ == "__main__":
    sys.exit(main())
