"""Every mistake a newcomer makes with the greenrpc command gets one clear line, never a traceback.

The table below is the one docs/errors.md shows: each row runs as a real process against real
servers (greenrpc plain and TLS, Go's gob and HTTP servers), and its message and exit status are
checked here and against the page.
"""
from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Optional

import gevent
import gevent.pool
import pytest

import greenrpc
from greenrpc import tls_server_context
from tests import mistaken, services
from tests.support import ROOT, go_peer, self_signed_certificate
from tests.test_examples import free_port

PAGE = ROOT / "docs" / "errors.md"


@dataclass(frozen=True)
class Case:
    title: str        # the row's first column in docs/errors.md
    argv: str         # after "greenrpc"; {plain}, {tls}, {cert}, ... are filled in
    says: str         # what stderr must contain (each part, if split by " ... ")
    status: int
    env: dict[str, str] = field(default_factory=dict)


CASES = [
    Case("no command", "", "the following arguments are required: COMMAND", 2),
    Case("unknown flag", "call --verbose {plain} Arith.Multiply", "unrecognized arguments: --verbose", 2),
    Case("target without a colon", "serve examples.arith", "is not module:attr", 1),
    Case("module not found", "serve nosuch:Thing", "no module named 'nosuch'", 1),
    Case("attribute not there", "serve examples.arith:Arithmetic",
         "examples.arith has no attribute 'Arithmetic' (it has: Args, Arith", 1),
    Case("module fails to import", "serve tests.mistaken_import:Service",
         "importing tests.mistaken_import failed: ZeroDivisionError: division by zero at", 1),
    Case("class needs arguments", "serve tests.mistaken:NeedsArgs",
         "cannot serve tests.mistaken:NeedsArgs: NeedsArgs.__init__() missing 1 required "
         "positional argument: 'db'", 1),
    Case("async def method", "serve tests.mistaken:Async",
         "cannot serve tests.mistaken:Async: Async.Fetch is an async def", 1),
    Case("bad listen address", "serve examples.arith:Arith --listen localhost",
         "--listen: address 'localhost' is not host:port", 1),
    Case("port in use", "serve examples.arith:Arith --listen {taken}",
         "cannot listen on {taken}: Address already in use", 1),
    Case("certificate file missing", "serve examples.arith:Arith --tls-cert missing.pem",
         "TLS certificate missing.pem: [Errno 2] No such file or directory", 1),
    Case("bad log level", "serve examples.arith:Arith --log-level loud",
         "argument --log-level: invalid choice: 'loud'", 2),
    Case("bad log level in the environment", "serve examples.arith:Arith",
         "GREENRPC_LOG_LEVEL: 'loud' is not one of debug, info, warning, error", 1,
         {"GREENRPC_LOG_LEVEL": "loud"}),
    Case("bad limit", "serve examples.arith:Arith --max-inflight lots",
         "argument --max-inflight: 'lots' is not a number", 2),
    Case("address without a port", "call localhost Arith.Multiply",
         "address 'localhost' is not host:port", 2),
    Case("connection refused", "call {refused} Arith.Multiply",
         "Connection refused\n  hint: is the server running", 2),
    Case("params that are not JSON", "call {plain} Arith.Multiply {{A:7}}",
         "params are not JSON: Expecting property name enclosed in double quotes", 2),
    Case("no such method", "call {plain} Arith.Power", "rpc: can't find method Arith.Power", 1),
    Case("the method failed", 'call {plain} Arith.Divide {{"A":1,"B":0}}',
         "Arith.Divide: divide by zero", 1),
    Case("TLS client, plain server", "call --tls {plain} Arith.Multiply",
         "hint: the server does not seem to speak TLS: drop --tls", 2),
    Case("plain client, TLS server", "call {tls} Arith.Multiply",
         "the server closed the connection without a reply; try --tls", 2),
    Case("client certificate required, none shown", "call --tls-ca {cert} {mtls} Arith.Multiply",
         "--tls-client-cert PEM", 2),  # TLS 1.3: an alert or a hang-up, as the reads fall
    Case("client certificate without TLS",
         "call --tls-client-cert {cert} {plain} Arith.Multiply",
         "a client certificate comes with TLS: add --tls or --tls-ca PEM", 2),
    Case("certificate not trusted", "call --tls {tls} Arith.Multiply",
         "certificate verify failed: self-signed certificate ... \n  hint: the server's "
         "certificate is not trusted: pass its CA with --tls-ca", 2),
    Case("Go's HTTP-only server without --http", "call {gohttp} Arith.Multiply",
         "hint: the server answered with HTTP: Go's rpc.HandleHTTP servers need --http", 2),
    Case("Go's gob server without --codec gob", "call --timeout 1 {gogob} Arith.Multiply",
         "no reply within 1.0s\n  hint: a server of another protocol waits for bytes it never gets: "
         "try --codec gob", 2),
    Case("unannotated method over gob", 'call --codec gob {plain} Loose.Echo {{"A":1}}',
         "parameter 'args' has no type annotation", 1),
    Case("health of a TLS server without --tls", "health {tls}",
         "does the server speak TLS? try --tls-insecure or --tls-ca", 1),
    Case("health --tls of a plain server", "health --tls-insecure {plain}",
         "does the server speak TLS? drop --tls", 1),
    Case("bench, connection refused", "bench {refused} Arith.Multiply",
         "Connection refused\n  hint: is the server running", 2),
]


@pytest.fixture(scope="module")
def places(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """Every address the table names: servers of each kind, a port in use, a closed port."""
    directory = tmp_path_factory.mktemp("mistakes")
    cert, key = self_signed_certificate(directory)
    plain = services.make_server()
    plain.register(mistaken.Loose())
    secure = services.make_server(tls=tls_server_context(str(cert), str(key)))
    # Client certificates required, signed by cert (a CA of itself).
    mutual = services.make_server(tls=tls_server_context(str(cert), str(key), str(cert)))
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    go = go_peer("gobserver")
    try:
        yield {"plain": plain.start("127.0.0.1:0"), "tls": secure.start("127.0.0.1:0"),
               "mtls": mutual.start("127.0.0.1:0"),
               "cert": str(cert), "gogob": go.addresses[0], "gohttp": go.addresses[1],
               "taken": "127.0.0.1:%d" % taken.getsockname()[1],
               "refused": f"127.0.0.1:{free_port()}"}
    finally:
        go.stop()
        taken.close()
        plain.stop(timeout=1)
        secure.stop(timeout=1)
        mutual.stop(timeout=1)


def greenrpc_command(argv: list[str], env: Optional[dict[str, str]] = None,
                     timeout: float = 30) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("GREENRPC_")}
    return subprocess.run([sys.executable, "-m", "greenrpc", *argv], cwd=ROOT, text=True,
                          capture_output=True, timeout=timeout,
                          env={**environment, "PYTHONPATH": str(ROOT), **(env or {})})


def test_every_mistake_gets_one_clear_message_and_its_exit_status(places: dict[str, str]) -> None:
    def run(case: Case) -> tuple[Case, subprocess.CompletedProcess[str]]:
        return case, greenrpc_command(case.argv.format(**places).split(), case.env)

    failures = []
    for case, done in gevent.pool.Pool(8).imap_unordered(run, CASES):
        says = case.says.format(**places)
        missing = [part for part in says.split(" ... ") if part not in done.stderr]
        if done.returncode != case.status or missing or "Traceback" in done.stderr \
                or (case.status and done.stdout):
            failures.append(f"{case.title}: exit {done.returncode}\n{done.stdout}{done.stderr}")
    assert not failures, "\n\n".join(failures)


def test_params_that_are_not_json_never_mention_infinity(places: dict[str, str]) -> None:
    done = greenrpc_command(["call", places["plain"], "Arith.Multiply", "{Id:1}"])
    assert done.returncode == 2 and "Infinity" not in done.stderr, done.stderr


def test_the_errors_page_shows_the_table_as_tested() -> None:
    rows = {}
    for line in PAGE.read_text().splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 4 and line.startswith("|"):
            rows[cells[0]] = cells
    assert len(CASES) >= 15
    for case in CASES:
        assert case.title in rows, f"docs/errors.md has no row for {case.title!r}"
        _, _, message, status = rows[case.title]
        assert status == str(case.status), case.title
        shown = re.sub(r"<br>\s*", "\n", message).replace("`", "").replace("\\|", "|")
        expected = case.says.format(taken="127.0.0.1:8096").replace(  # the page's names
            "tests.mistaken_import", "mymodule").replace("tests.mistaken", "mymodule")
        assert expected.split("\n")[0].split(" (")[0][:40] in shown, (case.title, shown)


def interrupt(argv: list[str], busy: str) -> subprocess.CompletedProcess[str]:
    """Run greenrpc, press Ctrl-C (SIGINT) once it is busy, and collect what it printed.

    busy is a line the command writes on stderr once busy, or "connect ADDRESS" for a command
    that is busy once it has connected to ADDRESS (a listening socket that never answers).
    """
    process = subprocess.Popen([sys.executable, "-m", "greenrpc", *argv], cwd=ROOT, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert process.stderr is not None
    before = ""
    peer = None
    if busy.startswith("connect "):
        listener = LISTENERS[busy.split()[1]]
        listener.settimeout(30)
        peer = listener.accept()[0]  # connected: the command now waits for a reply
    else:
        with gevent.Timeout(30):
            while busy not in before:
                line = process.stderr.readline()
                assert line, f"{argv[0]} ended before it was busy: {before}"
                before += line
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=20)
    if peer is not None:
        peer.close()
    return subprocess.CompletedProcess(argv, process.returncode, out, before + err)


LISTENERS: dict[str, socket.socket] = {}  # address -> a socket that accepts and never answers


def silent_address() -> str:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    address = "127.0.0.1:%d" % listener.getsockname()[1]
    LISTENERS[address] = listener
    return address


def test_ctrl_c_in_every_command(places: dict[str, str], tmp_path: Path) -> None:
    silent = {name: silent_address() for name in ("call", "inspect", "health")}
    runs = {
        "call": (["call", "--timeout", "60", silent["call"], "Arith.Multiply", "{}"],
                 f"connect {silent['call']}"),
        "bench": (["bench", places["plain"], "Arith.Multiply", '{"A": 7, "B": 8}', "--warmup",
                   "0", "-d", "60"], "calls/s"),
        "inspect": (["inspect", "--timeout", "60", silent["inspect"]],
                    f"connect {silent['inspect']}"),
        "health": (["health", "--timeout", "60", silent["health"]],
                   f"connect {silent['health']}"),
        "serve": (["serve", "examples.arith:Arith", "--listen", f"127.0.0.1:{free_port()}"],
                  "ready on"),
    }
    try:
        done = dict(zip(runs, gevent.pool.Pool(5).imap(lambda run: interrupt(*run),
                                                        runs.values())))
    finally:
        for address in silent.values():
            LISTENERS.pop(address).close()
    for name in ("call", "inspect", "health"):
        assert (done[name].returncode, done[name].stderr) == (130, "greenrpc: interrupted\n"), name
    bench = done["bench"]
    assert bench.returncode == 130 and "Traceback" not in bench.stderr, bench.stderr
    assert bench.stderr.endswith("greenrpc: interrupted: the summary covers the calls made until then\n")
    assert "interrupted: the summary covers the calls made until then" in bench.stderr
    calls = int(re.search(r"calls +([\d,]+)", bench.stdout).group(1).replace(",", ""))  # type: ignore[union-attr]
    assert calls > 0 and "errors    0" in bench.stdout, bench.stdout  # in flight: not errors
    serve = done["serve"]
    assert serve.returncode == 0 and "draining" in serve.stderr and "Traceback" not in serve.stderr


def test_version_is_one_everywhere(places: dict[str, str]) -> None:
    done = greenrpc_command(["--version"])
    assert (done.returncode, done.stdout) == (0, f"greenrpc {greenrpc.__version__}\n")
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert 'version = { attr = "greenrpc.version.VERSION" }' in pyproject
    inspected = greenrpc_command(["inspect", places["plain"]])
    assert inspected.stdout.startswith(f"greenrpc {greenrpc.__version__} at {places['plain']}")


def test_the_cli_reference_is_the_commands_own_help() -> None:
    from tests import cli_reference
    assert cli_reference.PAGE.read_text() == cli_reference.page(), \
        "docs/cli.md is stale: run python3 -m tests.cli_reference"
