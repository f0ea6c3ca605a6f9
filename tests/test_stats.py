"""Per-method latency histograms: what dispatch records and how they read back."""
from __future__ import annotations

import math

from greenrpc.messages import Request
from greenrpc.stats import Latency
from greenrpc.wire import jsonserver
from tests import services


def test_latency_buckets_are_cumulative_upper_bounds() -> None:
    latency = Latency((0.001, 0.01))
    for seconds in (0.0005, 0.001, 0.002, 5.0):
        latency.observe(seconds)
    assert latency.cumulative() == [(0.001, 2), (0.01, 3), (math.inf, 4)]
    assert latency.count == 4 and math.isclose(latency.sum, 5.0035)
    assert latency.quantile(0.5) == 0.001 and latency.quantile(0.75) == 0.01
    assert Latency().quantile(0.5) == 0.0


def test_dispatch_times_every_call_that_ran() -> None:
    registry = services.make_server().registry
    sleep = registry.methods["Slow.Sleep"]
    decoded = jsonserver.ServerCodec(registry.lookup).feed(
        b'{"method":"Slow.Sleep","params":[{"Ms":30,"Tag":"x"}],"id":1}\n'
        b'{"method":"Arith.Divide","params":[{"A":1,"B":0}],"id":2}\n'
        b'{"method":"Arith.Nope","params":[{}],"id":3}\n')  # never runs: not timed
    for message in decoded:
        if isinstance(message, Request):
            registry.dispatch(message)
    assert sleep.latency.count == 1 and 0.03 <= sleep.latency.sum < 1.0
    assert sleep.latency.quantile(1.0) == 0.05  # the bucket holding 30 ms
    divide = registry.methods["Arith.Divide"]
    assert (divide.calls, divide.errors, divide.latency.count) == (1, 1, 1)
    assert sum(m.latency.count for m in registry.methods.values()) == 2
