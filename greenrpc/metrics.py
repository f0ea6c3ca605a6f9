"""A server's calls, errors and latency per method, and its traffic, in Prometheus' text format.

Nothing is counted here: dispatch already keeps the numbers on each Method (stats.Latency), and
a collector turns them into metric families when /metrics is read. So the per-call cost is that
of dispatch's histogram, and each Server has its own prometheus registry (no global state).
"""
from __future__ import annotations

from typing import Callable, Iterable

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.metrics_core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from .registry import Registry
from .stats import Traffic


def _le(bound: float) -> str:
    return "+Inf" if bound == float("inf") else repr(bound)


class _ServerCollector(Collector):
    def __init__(self, registry: Registry, traffic: Callable[[], Traffic]) -> None:
        self.registry = registry
        self.traffic = traffic

    def collect(self) -> Iterable[Metric]:
        calls = CounterMetricFamily("greenrpc_calls", "Calls that ran, by method (Go's count).",
                                    labels=["method"])
        failed = CounterMetricFamily("greenrpc_call_errors",
                                     "Calls that ran and returned an error, by method.",
                                     labels=["method"])
        latency = HistogramMetricFamily("greenrpc_call_duration_seconds",
                                        "Seconds spent in the method (for JSON, with its result encoding).",
                                        labels=["method"], unit="seconds")
        for name, method in sorted(self.registry.methods.items()):
            calls.add_metric([name], method.calls)
            failed.add_metric([name], method.errors)
            buckets = [(_le(bound), count)
                       for bound, count in method.latency.cumulative()]
            latency.add_metric([name], buckets, sum_value=method.latency.sum)
        traffic = self.traffic()
        yield calls
        yield failed
        yield latency
        yield GaugeMetricFamily("greenrpc_connections_open", "Connections open now.",
                                value=traffic.connections_open)
        yield CounterMetricFamily("greenrpc_connections", "Connections accepted.",
                                  value=traffic.connections_accepted)
        yield CounterMetricFamily("greenrpc_received_bytes", "Bytes read from clients.",
                                  value=traffic.bytes_received)
        yield CounterMetricFamily("greenrpc_sent_bytes", "Bytes written to clients.",
                                  value=traffic.bytes_sent)
        yield GaugeMetricFamily("greenrpc_memory_held_bytes",
                                "Bytes held for clients between reads (max_memory_total).",
                                value=traffic.memory_held)
        yield CounterMetricFamily("greenrpc_memory_refusals",
                                  "Connections refused because the memory budget was full.",
                                  value=traffic.memory_refused)


class Metrics:
    """The /metrics page of one server."""

    content_type = CONTENT_TYPE_LATEST

    def __init__(self, registry: Registry, traffic: Callable[[], Traffic]) -> None:
        self._registry = CollectorRegistry(auto_describe=False)
        self._registry.register(_ServerCollector(registry, traffic))

    def render(self) -> bytes:
        return generate_latest(self._registry)
