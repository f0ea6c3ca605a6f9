"""The package as users import it: no side effects, a small public API."""
from __future__ import annotations

import subprocess
import sys

import greenrpc
from tests.support import ROOT


def test_import_has_no_side_effects() -> None:
    code = ("import threading, gevent.monkey, greenrpc, gevent._hub_local as h;"
            "assert not gevent.monkey.is_module_patched('socket');"
            "assert not gevent.monkey.is_module_patched('time');"
            "assert h.get_hub_if_exists() is None, 'a hub was created';"
            "assert threading.active_count() == 1;"
            "print('clean')")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                          cwd=ROOT)
    assert done.stdout.strip() == "clean", done.stderr


def test_public_api() -> None:
    assert {"Server", "Client", "serve", "dial", "ServerError", "RPCError", "ProtocolError",
            "ConnectionClosed", "CallTimeout"} <= set(greenrpc.__all__)
    for name in greenrpc.__all__:
        assert getattr(greenrpc, name) is not None
