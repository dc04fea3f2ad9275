"""Percentiles and timers: the only arithmetic the cases share."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def percentile(samples: list[float], fraction: float) -> float:
    """The `fraction` quantile by linear interpolation (numpy's default), so p95 of 20 is defined."""
    if not samples:
        raise ValueError("no samples")
    ordered = sorted(samples)
    position = (len(ordered) - 1) * fraction
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def summarize_ms(samples_s: list[float]) -> dict[str, float]:
    """p50/p95/p99 and max in milliseconds of samples taken in seconds."""
    ms = [s * 1000 for s in samples_s]
    return {
        "p50": percentile(ms, 0.50),
        "p95": percentile(ms, 0.95),
        "p99": percentile(ms, 0.99),
        "max": max(ms),
        "n": len(ms),
    }


def time_calls(call: Callable[[], object], repeat: int) -> list[float]:
    """Wall seconds of each of `repeat` calls."""
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        samples.append(time.perf_counter() - start)
    return samples


def median(samples: list[float]) -> float:
    return statistics.median(samples)
