"""Latency histograms cheap enough to update on every call, read when a page asks for them."""
from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass

# Upper bounds in seconds, Prometheus style (a value lands in the first bucket it is <= to).
LATENCY_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                   0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Latency:
    """Counts per bucket and a running sum; observe() is one bisect and two additions."""

    __slots__ = ("bounds", "counts", "sum")

    def __init__(self, bounds: tuple[float, ...] = LATENCY_BUCKETS) -> None:
        self.bounds = bounds
        self.counts = [0] * (len(bounds) + 1)  # the last one is +Inf
        self.sum = 0.0

    def observe(self, seconds: float) -> None:
        self.counts[bisect_left(self.bounds, seconds)] += 1
        self.sum += seconds

    @property
    def count(self) -> int:
        return sum(self.counts)

    def cumulative(self) -> list[tuple[float, int]]:
        """(upper bound, observations <= bound) pairs, ending with (inf, count)."""
        total = 0
        out = []
        for bound, count in zip(self.bounds + (float("inf"),), self.counts):
            total += count
            out.append((bound, total))
        return out

    def quantile(self, q: float) -> float:
        """An upper bound of the q-quantile (the bucket it falls in); 0.0 before any call."""
        total = self.count
        if not total:
            return 0.0
        rank = q * total
        for bound, seen in self.cumulative():
            if seen >= rank:
                return bound
        return float("inf")


@dataclass(frozen=True)
class Traffic:
    """A server's connections and bytes since it started, read when a page asks."""

    connections_open: int
    connections_accepted: int
    bytes_received: int
    bytes_sent: int
    memory_held: int = 0     # bytes counted against the memory budget now (budget.py)
    memory_refused: int = 0  # connections refused because the budget was full
