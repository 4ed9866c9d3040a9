"""How much each workload does on each store, in the three modes.

MLflow's stores are 100 to 10,000 times slower than tracklite's, so they
log fewer points per repetition (figures in points/s and calls/s stay
comparable), and their slowest reads are skipped: a 1,000,000-point
history from MLflow's file store (about 3 minutes a read: MLflow reads it
in pages, and the file store parses the whole file for each page), and a
search over 100,000 runs of either (ordered by a metric, MLflow's sqlite
store takes a time that grows with the square of the runs: 3 s at 10,000,
so about 5 minutes at 100,000); in ``--quick``, also the 1,000,000-point
history from MLflow's sqlite store (about 40 s a read), a search over
10,000 runs of MLflow's file store, and a search over 100,000 runs of
tracklite's (filling that store through the native API takes minutes).
``--smoke`` only checks that the suite runs: sizes are divided by 100.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from _common import FILE, NATIVE, NOOP, PLUGIN, SQLITE


@dataclass(frozen=True)
class Plan:
    """The sizes of one suite run. Mappings are keyed by store name."""

    mode: str  # "full", "quick" or "smoke"
    reps: int
    shrink: int  # nominal sizes of reads, searches, runs are divided by it
    per_call: Mapping[str, int]  # log_metric calls per repetition
    per_step: Mapping[str, int]  # log_metrics steps per repetition
    batch_calls: Mapping[str, int]  # 1,000-point calls per repetition
    create_runs: Mapping[str, int]  # runs created per repetition
    size_runs: Mapping[str, int]  # runs of the disk-size workload
    history_cap: Mapping[str, int]  # largest nominal history measured
    search_cap: Mapping[str, int]  # largest nominal search measured
    sweep_points: Mapping[str, int]  # points per process per round
    scale_cap: int = 1_000_000  # largest nominal store of the scale group

    def scaled(self, nominal: int) -> int:
        """A nominal size as this mode measures it."""
        return max(1, nominal // self.shrink)


def _by_store(file: int, sqlite: int, plugin: int, native: int) -> dict[str, int]:
    return {FILE: file, SQLITE: sqlite, PLUGIN: plugin, NATIVE: native}


FULL = Plan(
    mode="full",
    reps=5,
    shrink=1,
    per_call={**_by_store(2_000, 500, 20_000, 1_000_000), NOOP: 10_000},
    per_step=_by_store(500, 200, 5_000, 100_000),
    batch_calls=_by_store(10, 10, 200, 2_000),
    create_runs=_by_store(1_000, 1_000, 1_000, 1_000),
    size_runs=_by_store(100, 100, 100, 100),
    history_cap=_by_store(100_000, 1_000_000, 1_000_000, 1_000_000),
    search_cap=_by_store(10_000, 10_000, 100_000, 100_000),
    sweep_points=_by_store(300, 100, 3_000, 200_000),
)

QUICK = Plan(
    mode="quick",
    reps=3,
    shrink=1,
    per_call={**_by_store(500, 150, 3_000, 300_000), NOOP: 3_000},
    per_step=_by_store(100, 50, 1_000, 30_000),
    batch_calls=_by_store(3, 3, 50, 500),
    create_runs=_by_store(100, 100, 1_000, 1_000),
    size_runs=_by_store(10, 10, 100, 100),
    history_cap=_by_store(100_000, 100_000, 1_000_000, 1_000_000),
    search_cap=_by_store(1_000, 10_000, 10_000, 10_000),
    sweep_points=_by_store(100, 40, 1_000, 50_000),
    scale_cap=10_000,
)

SMOKE = Plan(
    mode="smoke",
    reps=1,
    shrink=100,
    per_call={**_by_store(20, 10, 50, 1_000), NOOP: 50},
    per_step=_by_store(5, 5, 20, 1_000),
    batch_calls=_by_store(1, 1, 1, 2),
    create_runs=_by_store(10, 10, 10, 10),
    size_runs=_by_store(1, 1, 1, 1),
    history_cap=_by_store(1_000_000, 1_000_000, 1_000_000, 1_000_000),
    search_cap=_by_store(100_000, 100_000, 100_000, 100_000),
    sweep_points=_by_store(5, 5, 10, 1_000),
    scale_cap=10_000,
)

PLANS = {plan.mode: plan for plan in (FULL, QUICK, SMOKE)}
