"""Calls per second of ``log_metric`` as training loops write it
(``log_metric("loss", value, step=i)``): the native RunHandle's method and the
fluent function. Rounds of the two alternate, so that a busy machine
slows both alike; each figure is the median of the rounds.

Usage: python python/benchmarks/log_metric.py [calls per round] [rounds]
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from typing import Callable

import tracklite
import tracklite as mlflow


def rate(log_metric: Callable[..., None], n: int) -> float:
    start = time.perf_counter()
    for i in range(n):
        log_metric("loss", 0.5, step=i)
    return n / (time.perf_counter() - start)


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    with tempfile.TemporaryDirectory() as tmp:
        store = tracklite.Store(tmp + "/native")
        mlflow.set_tracking_uri(tmp + "/fluent")
        with store.start_run(experiment="bench") as run, mlflow.start_run():
            callers = {
                "tracklite.RunHandle.log_metric": run.log_metric,
                "fluent log_metric": mlflow.log_metric,
            }
            for f in callers.values():
                rate(f, min(n, 10_000))  # warm up: series created, first block claimed
            rates: dict[str, list[float]] = {name: [] for name in callers}
            for _ in range(rounds):
                for name, f in callers.items():
                    rates[name].append(rate(f, n))
    for name, values in rates.items():
        runs = ", ".join(f"{x / 1e6:.2f}M" for x in values)
        print(f"{name:26s} median {statistics.median(values):12,.0f} calls/s  ({runs})")


if __name__ == "__main__":
    main()
