"""Load a running server with one fixed call, pipelined over many connections, and measure it.

How this works: every connection is one greenlet that keeps `depth` requests outstanding. The
request bytes are encoded once, by the same wire code the Client uses, with a hole for the id;
each read's replies are matched to outstanding ids and checked for errors, and the requests
replacing them go out in one write, as benchmarks/go/loadgen does. A reply before the warm-up
ends counts apart; after the time is up nothing more is sent and the outstanding calls are
waited for (so the server's count and ours agree). Latencies go into a fixed-size histogram.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable, Optional, Union

import gevent

from .client import Client, dial
from .errors import CallTimeout, ConnectionClosed, ProtocolError, RPCError, ServerError
from .transport import Transport, connect
from .wire import jsonrpc1, jsonrpc2

DEFAULT_DURATION = 10.0
DEFAULT_WARMUP = 1.0
DEFAULT_TIMEOUT = 10.0
_NS = 1_000_000_000
_clock = time.perf_counter_ns


class Histogram:
    """Durations in nanoseconds, in fixed memory: exact below 128 ns, then 64 log-linear
    buckets per power of two (an error under 1.6 %), as HdrHistogram and loadgen do."""

    SIZE = 64 * 48  # up to 2**48 ns, 78 hours

    def __init__(self) -> None:
        self.counts = [0] * self.SIZE
        self.total = 0
        self.max = 0

    def add(self, ns: int) -> None:
        if ns < 128:
            index = ns if ns > 0 else 0
        else:
            shift = ns.bit_length() - 7  # keep the top 7 bits: 64 <= ns >> shift < 128
            index = min((shift << 6) + (ns >> shift), self.SIZE - 1)
        self.counts[index] += 1
        self.total += 1
        if ns > self.max:
            self.max = ns

    def merge(self, other: Histogram) -> None:
        self.counts = [a + b for a, b in zip(self.counts, other.counts)]
        self.total += other.total
        self.max = max(self.max, other.max)

    def quantile(self, q: float) -> float:
        """The q-quantile in nanoseconds (a bucket's midpoint; 0 when empty)."""
        if self.total == 0:
            return 0.0
        want = max(1, -int(-q * self.total // 1))  # ceil, as loadgen
        seen = 0
        for index, count in enumerate(self.counts):
            seen += count
            if seen >= want:
                if index < 128:
                    return float(index)
                shift = (index >> 6) - 1
                return min(float(((index - (shift << 6)) << shift) + (1 << shift) / 2),
                           float(self.max))
        return float(self.max)


@dataclass(frozen=True)
class Plan:
    """What to run: the call, how many connections and outstanding calls, and for how long."""

    address: str
    method: str
    params: Any = None  # the call's argument; for gob, already as gob sends it
    connections: int = 1
    depth: int = 1
    duration: Optional[float] = 10.0  # measured seconds; None: until requests have answered
    requests: Optional[int] = None    # calls in all, spread over the connections
    warmup: float = 0.0               # seconds before the measured time, not counted
    version: int = 1                  # 2: JSON-RPC 2.0
    codec: str = "json"
    timeout: float = DEFAULT_TIMEOUT  # for the dial, and the longest wait for any reply


class Interrupted(gevent.GreenletExit):
    """Ends the load greenlets on Ctrl-C: their calls in flight are not counted at all."""


@dataclass
class Tally:
    """One connection's counts so far; the progress reporter reads them between batches."""

    calls: int = 0         # successful replies in the measured time
    warmup_calls: int = 0  # successful replies before it
    errors: dict[str, int] = field(default_factory=dict)  # failed calls by why they failed
    sample: str = ""       # the last error's text
    latency: Histogram = field(default_factory=Histogram)

    def fail(self, kind: str, text: str, calls: int = 1) -> None:
        self.errors[kind] = self.errors.get(kind, 0) + calls
        self.sample = text


@dataclass
class Summary:
    plan: Plan
    seconds: float  # the measured time, until the last reply
    calls: int
    warmup_calls: int
    errors: dict[str, int]
    sample: str
    latency: Histogram
    interrupted: bool = False  # stopped by Ctrl-C: counts until then

    @property
    def failed(self) -> int:
        return sum(self.errors.values())

    def as_json(self) -> dict[str, Any]:
        """The summary with the keys of benchmarks/go/loadgen's JSON line, plus a few."""
        us = [round(self.latency.quantile(q) / 1000, 1) for q in (0.5, 0.9, 0.99, 0.999)]
        return {"addr": self.plan.address, "method": self.plan.method,
                "conns": self.plan.connections, "depth": self.plan.depth,
                "seconds": round(self.seconds, 3), "calls": self.calls,
                "calls_per_s": round(self.calls / self.seconds) if self.seconds > 0 else 0,
                "warmup_calls": self.warmup_calls, "p50_us": us[0], "p90_us": us[1],
                "p99_us": us[2], "p999_us": us[3], "max_us": round(self.latency.max / 1000, 1),
                "errors": dict(self.errors), "error_sample": self.sample}


Progress = Callable[[float, int, int], None]  # (seconds since the start, calls, failed calls)


def request_template(plan: Plan) -> bytes:
    """The request as the Client would write it, with %d for the id (other % doubled)."""
    codec: Union[jsonrpc1.ClientCodec, jsonrpc2.ClientCodec] = \
        jsonrpc2.ClientCodec() if plan.version == 2 else jsonrpc1.ClientCodec()
    data = codec.encode(plan.method, plan.params, 0)
    head, tail = data[:-len(b'0}\n')], data[-len(b'}\n'):]
    assert head.endswith(b'"id":') and tail == b'}\n', data  # both codecs put the id last
    return head.replace(b"%", b"%%") + b"%d" + tail


def shares(total: Optional[int], parts: int) -> list[Optional[int]]:
    """Split total calls over parts as evenly as can be; None (no limit) for each if None."""
    if total is None:
        return [None] * parts
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


def drive(plan: Plan, transport: Transport, tally: Tally, share: Optional[int],
          start: int, stop: int) -> None:
    """Keep plan.depth calls outstanding on one connection until share calls or the time is up."""
    template = request_template(plan)
    codec = jsonrpc2.ClientCodec() if plan.version == 2 else jsonrpc1.ClientCodec()
    depth, timeout, add = plan.depth, plan.timeout, tally.latency.add
    pending: dict[int, int] = {}  # id: when it was sent
    next_id, left = 0, share
    try:
        while True:
            now = _clock()
            room = depth - len(pending) if now < stop else 0
            if left is not None:
                room = min(room, left)
                left -= room
            if room > 0:
                ids = range(next_id, next_id + room)
                next_id += room
                transport.write(b"".join([template % id for id in ids]) if room > 1
                                else template % ids[0])
                for id in ids:
                    pending[id] = now
            if not pending:
                return
            # Wait for readability, then read: every batch gives the hub a turn, so one
            # connection whose replies keep coming cannot starve the others (measured: the
            # same CPU per call as trying the read first, at -c 8 -p 32).
            data = transport.recv(timeout, wait_first=True)
            if not data:
                raise ConnectionClosed("the server closed the connection")
            now = _clock()
            counted = now >= start
            for reply in codec.feed(data):
                began = pending.pop(reply.id, None) if type(reply.id) is int else None
                if began is None:
                    raise ProtocolError(f"a reply for id {reply.id!r}, which is not outstanding")
                if reply.error is not None:
                    tally.fail("rpc", str(reply.error))
                elif counted:
                    tally.calls += 1
                    add(now - began)
                else:
                    tally.warmup_calls += 1
    except ProtocolError as err:
        tally.fail("protocol", f"bad reply: {err}", max(1, len(pending)))
    except TimeoutError:
        tally.fail("timeout", f"no reply within {timeout:g}s", len(pending))
    except ConnectionClosed as err:
        tally.fail("connection", str(err), max(1, len(pending)))
    except Interrupted:
        pass  # Ctrl-C: the calls in flight are neither successes nor failures
    except gevent.GreenletExit:
        tally.fail("timeout", "the run's time limit ended the connection", len(pending))
    finally:
        transport.close()


def drive_client(plan: Plan, client: Client, tally: Tally, share: Optional[int],
                 start: int, stop: int) -> None:
    """One of depth greenlets sharing a Client (the gob codec): call after call."""
    left = share
    while (left is None or left > 0) and _clock() < stop:
        if left is not None:
            left -= 1
        began = _clock()
        try:
            client.call(plan.method, plan.params, timeout=plan.timeout)
        except ServerError as err:
            tally.fail("rpc", str(err))
            continue
        except CallTimeout as err:
            tally.fail("timeout", str(err))
            return
        except RPCError as err:
            tally.fail("connection", str(err))
            return
        except Interrupted:
            return
        except gevent.GreenletExit:
            tally.fail("timeout", "the run's time limit ended the call")
            return
        now = _clock()
        if now >= start:
            tally.calls += 1
            tally.latency.add(now - began)
        else:
            tally.warmup_calls += 1


def open_connections(plan: Plan) -> list[Union[Transport, Client]]:
    """Dial every connection at once, before the clock starts; raise ConnectionClosed."""
    def open_one() -> Union[Transport, Client, Exception]:
        # The failure is returned, not raised: a greenlet that raises is reported by gevent's
        # hub on stderr, and the caller reports it once, below.
        try:
            if plan.codec == "gob":
                return dial(plan.address, plan.timeout, codec="gob", call_timeout=plan.timeout)
            return Transport(connect(plan.address, plan.timeout), write_timeout=plan.timeout)
        except RPCError as err:
            return err
        except OSError as err:
            return ConnectionClosed(f"dial {plan.address}: {err.strerror or err}")
    dials = [gevent.spawn(open_one) for _ in range(plan.connections)]
    gevent.joinall(dials)
    results = [d.value for d in dials]
    opened = [r for r in results if isinstance(r, (Transport, Client))]
    if len(opened) < len(dials):
        for connection in opened:
            connection.close()
        problem = next(r for r in results if not isinstance(r, (Transport, Client)))
        raise problem if isinstance(problem, RPCError) else ConnectionClosed(str(problem))
    return opened


def run(plan: Plan, progress: Optional[Progress] = None, every: float = 1.0) -> Summary:
    """Run the plan and summarise it; raise ConnectionClosed if a connection cannot be made.

    progress, if given, is called about every `every` seconds with the counts so far.
    """
    connections = open_connections(plan)
    tallies = [Tally() for _ in connections]
    began = _clock()
    start = began + int(plan.warmup * _NS)
    stop = start + int(plan.duration * _NS) if plan.duration is not None else 1 << 62
    workers: list[gevent.Greenlet[Any, None]] = []
    for connection, tally, share in zip(connections, tallies, shares(plan.requests, len(connections))):
        if isinstance(connection, Client):  # gob: depth greenlets share the Client
            workers += [gevent.spawn(drive_client, plan, connection, tally, part, start, stop)
                        for part in shares(share, plan.depth)]
        else:
            workers.append(gevent.spawn(drive, plan, connection, tally, share, start, stop))
    # Every wait for a reply is bounded by plan.timeout, so a run with a duration ends by then;
    # the limit below is a last resort (a server trickling replies one by one).
    limit = None if plan.duration is None else plan.warmup + plan.duration + plan.timeout + 1
    deadline = None if limit is None else began + int(limit * _NS)
    interrupted = False
    try:
        while True:
            gevent.joinall(workers, timeout=every, count=None)
            now = _clock()
            if all(w.dead for w in workers):
                break
            if deadline is not None and now >= deadline:
                gevent.killall(workers)
                break
            if progress is not None:
                progress((now - began) / _NS, sum(t.calls + t.warmup_calls for t in tallies),
                         sum(sum(t.errors.values()) for t in tallies))
    except KeyboardInterrupt:  # Ctrl-C: stop the load, summarise what was measured so far
        interrupted = True
        gevent.killall(workers, Interrupted)
    end = _clock()
    for connection in connections:
        connection.close()
    summary = summarize(plan, tallies, max(end - start, 0) / _NS)
    summary.interrupted = interrupted
    return summary


def summarize(plan: Plan, tallies: list[Tally], seconds: float) -> Summary:
    latency = Histogram()
    errors: dict[str, int] = {}
    for tally in tallies:
        latency.merge(tally.latency)
        for kind, count in tally.errors.items():
            errors[kind] = errors.get(kind, 0) + count
    sample = next((t.sample for t in tallies if t.sample), "")
    return Summary(plan, max(seconds, 1e-9), sum(t.calls for t in tallies),
                   sum(t.warmup_calls for t in tallies), errors, sample, latency)


def render(summary: Summary) -> str:
    """The summary for people: counts, rate, errors by kind, latency percentiles in µs."""
    plan, data = summary.plan, summary.as_json()
    lines = [f"{plan.method} at {plan.address}: {plan.connections} connection"
             f"{'s' if plan.connections != 1 else ''} x {plan.depth} outstanding, "
             f"{summary.seconds:.2f} s measured"
             + (f" after {plan.warmup:g} s warm-up ({summary.warmup_calls:,} calls)"
                if plan.warmup else ""),
             f"  calls     {summary.calls:,}  ({data['calls_per_s']:,} calls/s)"]
    if summary.errors:
        kinds = ", ".join(f"{kind} {count:,}" for kind, count in sorted(summary.errors.items()))
        lines.append(f"  errors    {summary.failed:,} ({kinds}); last: {summary.sample}")
    else:
        lines.append("  errors    0")
    lines.append("  latency   " + "  ".join(
        f"{name} {data[key]:,.0f}" if data[key] >= 100 else f"{name} {data[key]:.1f}"
        for name, key in (("p50", "p50_us"), ("p90", "p90_us"), ("p99", "p99_us"),
                          ("p99.9", "p999_us"), ("max", "max_us"))) + " µs")
    return "\n".join(lines) + "\n"
