"""The one timing rule of the bench scripts: the best of n runs (the least disturbed by
other work on a shared machine)."""

from __future__ import annotations

import time


def best_of(n: int, work) -> float:
    """Seconds of the fastest of ``n`` calls of ``work()``."""
    return best_of_each(n, {"work": work})["work"]


def best_of_each(n: int, works: dict[str, object]) -> dict[str, float]:
    """The fastest of ``n`` calls of each work, the works taking turns round by round, so
    that a stretch of load on a shared machine falls on all of them alike."""
    times: dict[str, list[float]] = {name: [] for name in works}
    for _ in range(n):
        for name, work in works.items():
            started = time.perf_counter()
            work()
            times[name].append(time.perf_counter() - started)
    return {name: min(values) for name, values in times.items()}
