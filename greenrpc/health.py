"""Ask a server's /healthz whether it takes calls: for container health checks and probes.

Plain urllib on purpose: slim images have no curl, and a check must not need the event loop.
"""
from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request

from .transport import parse_address

DEFAULT_LISTEN = "127.0.0.1:8096"
_WILDCARDS = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}


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


def check(address: str, timeout: float = 2.0) -> tuple[bool, str]:
    """GET http://address/healthz: (True, "ok") if it answers 200, else (False, why)."""
    try:
        with urllib.request.urlopen(f"http://{address}/healthz", timeout=timeout) as answer:
            return True, answer.read().decode("utf-8", "replace").strip()
    except urllib.error.HTTPError as err:
        return False, f"{err.code} {err.read().decode('utf-8', 'replace').strip()}"
    except (OSError, ValueError) as err:
        return False, str(getattr(err, "reason", err))


def check_listen(listen: str = "", timeout: float = 2.0) -> tuple[bool, str]:
    """Check the server this process would serve on: listen, else GREENRPC_LISTEN."""
    listen = listen or os.environ.get("GREENRPC_LISTEN") or DEFAULT_LISTEN
    return check(local_address(listen), timeout)


def main() -> int:
    """`python -m greenrpc.health [ADDRESS]`: exit 0 if the server is healthy, 1 if not."""
    healthy, text = check_listen(sys.argv[1] if len(sys.argv) > 1 else "")
    print(text, file=sys.stdout if healthy else sys.stderr)
    return 0 if healthy else 1


if __name__ == "__main__":
    sys.exit(main())
