"""Pre-forked workers: several processes serve one Server on the same TCP ports.

How this works: the command builds the Server (importing the user's modules) once, then the
supervisor forks one worker per slot, always from its main greenlet, so that each worker is a
main thread that can handle signals. Each worker binds its own listening socket per address
with SO_REUSEPORT, so that Linux spreads new connections over the workers (it balances
connections, not calls), and serves exactly as a single `greenrpc serve` process does, drain
included. The supervisor serves nothing; it waits for events:

- a worker that ends is forked again: at once if it had run for STABLE_AFTER seconds, else
  after a delay that doubles up to MAX_DELAY, so a worker dying young does not spin the CPU;
- a worker that could not start listening (EXIT_NOT_STARTED) stops them all, with status 1;
- SIGTERM or SIGINT is passed on to every worker as one SIGTERM, and the supervisor exits
  when they all have (status 0 if they all drained); a second signal kills them at once.

Workers run in their own process group, so a Ctrl-C in a terminal reaches the supervisor
alone (a worker seeing SIGINT and then the forwarded SIGTERM would skip its drain), and on
Linux a worker whose supervisor vanished gets SIGTERM (PR_SET_PDEATHSIG) and drains too.
A unix socket cannot be shared with SO_REUSEPORT, so unix: addresses are refused.
"""
from __future__ import annotations

import ctypes
import logging
import os
import signal
import socket
import sys
import time
from dataclasses import dataclass
from typing import Any, NoReturn, Sequence

import gevent
import gevent.os
from gevent.queue import Queue

from . import logs
from .server import DEFAULT_STOP_TIMEOUT, Server, bind
from .transport import format_address, parse_address

log = logging.getLogger("greenrpc")

EXIT_NOT_STARTED = 3  # a worker's exit status when it could not start listening
STABLE_AFTER = 5.0    # seconds a worker must have run to be restarted without delay
FIRST_DELAY = 0.5     # seconds before restarting a worker that died young, doubling...
MAX_DELAY = 30.0      # ...up to this
KILL_AFTER = 5.0      # seconds past the grace after which workers still draining are killed
PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


def check_addresses(addresses: Sequence[str]) -> list[str]:
    """Return the addresses, port 0 replaced by a free port, if no process listens on them.

    Each address is bound once here without SO_REUSEPORT, which fails if anything listens
    there, even a process that set SO_REUSEPORT: the workers would silently share its port.

    Raises:
        ValueError: an address is a unix socket.
        OSError: an address is in use or cannot be bound.
    """
    checked = []
    for address in addresses:
        if parse_address(address)[0] == socket.AF_UNIX:
            raise ValueError(f"{address}: workers cannot share a unix socket (SO_REUSEPORT is "
                             "TCP only); serve it with --workers 1")
        with bind(address) as probe:
            checked.append(format_address(probe.getsockname()))
    return checked


def supervise(server: Server, addresses: Sequence[str], count: int,
              grace: float = DEFAULT_STOP_TIMEOUT) -> int:
    """Serve server on addresses from count worker processes until a signal; return a status.

    Raises ValueError or OSError (see check_addresses) before any worker starts.
    """
    return Supervisor(server, check_addresses(addresses), count, grace).run()


@dataclass
class Worker:
    slot: int  # 1..count: which of the workers this process is, across restarts
    pid: int
    started: float  # time.monotonic()


class Supervisor:
    """Keep count workers serving server on addresses; see the module docstring."""

    def __init__(self, server: Server, addresses: Sequence[str], count: int,
                 grace: float) -> None:
        self.server = server
        self.addresses = list(addresses)
        self.count = count
        self.grace = grace
        self.workers: dict[int, Worker] = {}  # by pid
        self.delays: dict[int, float] = {}  # by slot: the last wait before a restart
        self.events: Queue[tuple[Any, ...]] = Queue()
        self.stopping = False
        self.status = 0
        self._signals: list[Any] = []
        self.pid = os.getpid()

    def run(self) -> int:
        """Fork the workers, supervise them until they are all gone, return the exit status."""
        log.info("greenrpc starting %d workers on %s", self.count, ", ".join(self.addresses))
        self._signals = [gevent.signal_handler(signum, self.events.put, ("signal", signum))
                         for signum in (signal.SIGTERM, signal.SIGINT)]
        try:
            for slot in range(1, self.count + 1):
                self._fork(slot)
            while self.workers or not self.stopping:
                kind, *details = self.events.get()
                if kind == "exit":
                    self._on_exit(*details)
                elif kind == "signal":
                    self._on_signal(*details)
                elif kind == "restart" and not self.stopping:
                    self._fork(*details)
                elif kind == "deadline" and self.workers:
                    log.warning("%d workers still busy %ss after the signal: killing them",
                                len(self.workers), self.grace + KILL_AFTER)
                    self._kill(signal.SIGKILL)
                    self.status = 1
        finally:
            for handler in self._signals:
                handler.cancel()
        log.info("all workers stopped")
        return self.status

    def _fork(self, slot: int) -> None:
        sys.stdout.flush()
        sys.stderr.flush()  # or the child would write what is buffered here again
        # ref=True: the watchers of live workers are what keeps the supervisor's loop running.
        pid = gevent.os.fork_and_watch(
            lambda watcher: self.events.put(("exit", watcher.pid, watcher.rstatus)), ref=True)
        if pid == 0:
            self._serve(slot)
        self.workers[pid] = Worker(slot, pid, time.monotonic())
        log.info("worker %d started (pid %d)", slot, pid,
                 extra={"event": "worker_start", "worker": slot, "pid": pid})

    def _serve(self, slot: int) -> NoReturn:
        """In a new worker: serve until drained, then exit; never return to the supervisor."""
        status = EXIT_NOT_STARTED
        try:
            for handler in self._signals:  # the supervisor's, inherited with the event loop
                handler.cancel()
            os.setpgid(0, 0)
            _end_with_parent(self.pid)
            logs.tag_worker(slot)
            self.server.worker = (slot, self.count)
            # serve() only raises if start() does, so a failure here means nothing was served.
            self.server.serve(*self.addresses, grace=self.grace, reuse_port=True)
            status = 0
        except Exception as err:
            log.error("worker %d cannot serve: %s", slot, err)
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(status)

    def _on_exit(self, pid: int, wait_status: int) -> None:
        worker = self.workers.pop(pid, None)
        if worker is None:
            return
        code = os.waitstatus_to_exitcode(wait_status)
        how = f"killed by {signal.Signals(-code).name}" if code < 0 else f"exit status {code}"
        extra = {"event": "worker_exit", "worker": worker.slot, "pid": pid, "status": code}
        if self.stopping:
            if code != 0:
                self.status = 1
            log.log(logging.INFO if code == 0 else logging.WARNING, "worker %d (pid %d) ended "
                    "(%s)", worker.slot, pid, how, extra=extra)
        elif code == EXIT_NOT_STARTED:
            log.error("worker %d (pid %d) could not start serving: stopping", worker.slot, pid,
                      extra=extra)
            self.status = 1
            self._stop()
        else:
            lived = time.monotonic() - worker.started
            delay = 0.0 if lived >= STABLE_AFTER else \
                min(MAX_DELAY, max(FIRST_DELAY, 2 * self.delays.get(worker.slot, 0.0)))
            self.delays[worker.slot] = delay
            log.warning("worker %d (pid %d) ended (%s) after %.1fs: starting it again in %.1fs",
                        worker.slot, pid, how, lived, delay, extra=extra)
            gevent.spawn_later(delay, self.events.put, ("restart", worker.slot))

    def _on_signal(self, signum: int) -> None:
        if self.stopping:
            log.warning("second signal: killing %d workers now", len(self.workers))
            self._kill(signal.SIGKILL)
            self.status = 1
            return
        log.info("signal received: draining %d workers for up to %ss", len(self.workers),
                 self.grace)
        self._stop()

    def _stop(self) -> None:
        self.stopping = True
        self._kill(signal.SIGTERM)
        gevent.spawn_later(self.grace + KILL_AFTER, self.events.put, ("deadline",))

    def _kill(self, signum: int) -> None:
        for pid in self.workers:
            try:
                os.kill(pid, signum)
            except ProcessLookupError:
                pass  # already gone: its exit event is on the way


def _end_with_parent(parent: int) -> None:
    """Ask Linux for SIGTERM when the supervisor dies, so no worker serves unsupervised."""
    if not sys.platform.startswith("linux"):
        return
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # the supervisor died before prctl: nobody would send it
        os._exit(0)
