"""The one timing rule of the bench scripts: the best of n runs (the least disturbed by
other work on a shared machine)."""

from __future__ import annotations

import time


def best_of(n: int, work) -> float:
    """Seconds of the fastest of ``n`` calls of ``work()``."""
    times = []
    for _ in range(n):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return min(times)
