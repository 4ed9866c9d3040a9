"""What every part of the benchmark suite shares: the names of the stores
and of the workloads, the result row, and the timing helpers.

Workload names carry the full-size figures (a 1,000,000-point history,
1,000 runs, ...). Where a store is measured at another size, the row's
``size`` says what was measured and its note says so in words.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

# The stores, as the report names them.
FILE = "MLflow file"
SQLITE = "MLflow sqlite"
PLUGIN = "tracklite plugin"
NATIVE = "tracklite native"
NOOP = "MLflow no-op store"
CLI = "tracklite CLI"

#: Every workload has a row for each of these; ratios are to BASELINE.
STORES = (FILE, SQLITE, PLUGIN, NATIVE)
MLFLOW_STORES = (FILE, SQLITE)
BASELINE = SQLITE

HISTORY_SIZES = (10_000, 100_000, 1_000_000)
SEARCH_SIZES = (1_000, 10_000, 100_000)
SWEEP_PROCESSES = (4, 8)
BATCH_POINTS = 1_000
STEP_METRICS = 10
CREATE_RUNS = 1_000
SIZE_RUNS = 100
SIZE_METRICS = 10
SIZE_STEPS = 1_000
SIZE_PARAMS = 10

LOG_METRIC = "log_metric, one point per call"
LOG_METRICS = f"log_metrics, {STEP_METRICS} metrics per step"
LOG_BATCH = f"log_batch, {BATCH_POINTS:,} points per call"
CREATE = f"create {CREATE_RUNS:,} runs, 5 params + 5 metrics each"
DISK_SIZE = (
    f"disk size after {SIZE_RUNS} runs × {SIZE_METRICS} metrics × "
    f"{SIZE_STEPS:,} steps + {SIZE_PARAMS} params"
)
FILE_COUNT = "file count after the same runs"
REGISTRY_VERSIONS = 10_000
REGISTER = "register a model version"
SET_ALIAS = "set a registered model's alias"
GET_ALIAS = "get a model version by alias"
SEARCH_VERSIONS = (
    f"search_model_versions over {REGISTRY_VERSIONS:,} versions "
    "(tag filter, default order, top 100)"
)
ALL_VERSIONS = f"search_model_versions returning all {REGISTRY_VERSIONS:,} versions (default order)"
#: The export group (``_export.py``): not stores but what an export is
#: measured by, against one MLflow server on PostgreSQL and S3.
EXPORT_CLI = "tracklite export"
POSTER = "runs/log-batch poster"
BARE_COPY = "bare binary COPY"
EXPORT_IMPORT = "mlflow-export-import"
EXPORT_CONNECTIONS = 4
EXPORT_RUNS = 4
EXPORT_STEPS = 5_000
EXPORT_POINTS = EXPORT_RUNS * 10 * EXPORT_STEPS
EXPORT_SMALL_RUNS = 100
EXPORT_REST = (
    f"export {EXPORT_POINTS:,} points to an MLflow server over REST "
    f"({EXPORT_CONNECTIONS} connections)"
)
EXPORT_DIRECT = f"export {EXPORT_POINTS:,} points into the server's PostgreSQL and S3 (direct)"
EXPORT_SMALL = f"export {EXPORT_SMALL_RUNS} small runs to an MLflow server over REST"
EXPORT_SMALL_DIRECT = f"export {EXPORT_SMALL_RUNS} small runs into the server's PostgreSQL (direct)"
#: Native-only workloads, for the targets the engine is held to.
ARRAY_POINTS = 1_000_000
LOG_ARRAY = f"log_metric_array, {ARRAY_POINTS:,} points in one call"
COMPACTED = "bytes per point after `compact`, the disk-size runs"


def history(points: int) -> str:
    """The name of the workload that reads a history of ``points`` points."""
    return f"read a {points:,}-point metric history"


def search(runs: int) -> str:
    """The name of the search workload over a store of ``runs`` runs."""
    return f"search_runs over {runs:,} runs (filter, order_by, top 100)"


def sweep(processes: int) -> str:
    """The name of the workload where ``processes`` processes log at once."""
    return f"{processes} processes logging at once"


def workloads() -> list[str]:
    """Every workload, in the report's order."""
    return [
        LOG_METRIC,
        LOG_METRICS,
        LOG_BATCH,
        CREATE,
        *(history(n) for n in HISTORY_SIZES),
        *(search(n) for n in SEARCH_SIZES),
        DISK_SIZE,
        FILE_COUNT,
        *(sweep(n) for n in SWEEP_PROCESSES),
        REGISTER,
        SET_ALIAS,
        GET_ALIAS,
        SEARCH_VERSIONS,
        ALL_VERSIONS,
    ]


@dataclass(frozen=True)
class Row:
    """One figure of the report: a workload on one store.

    ``value`` is None when the measurement was skipped (``note`` says why).
    ``size`` is what was measured (points, runs or calls): times and sizes
    of two stores are only compared when their sizes are equal. ``errors``
    and ``lost`` are filled in by the multi-process workloads.
    """

    workload: str
    store: str
    value: float | None
    unit: str
    note: str
    lower_is_better: bool = False
    size: int | None = None
    errors: int | None = None
    lost: int | None = None


def skipped(workload: str, store: str, unit: str, why: str, lower_is_better: bool) -> Row:
    """A row for a measurement that was not made."""
    return Row(workload, store, None, unit, f"skipped: {why}", lower_is_better)


def count(n: int, word: str) -> str:
    """``n`` and the word, plural unless n is 1: "1 call", "2,000 calls"."""
    return f"{n:,} {word}" + ("" if n == 1 else "s")


def fmt(x: float) -> str:
    """A figure with as many digits as it deserves."""
    if x >= 100:
        return f"{x:,.0f}"
    if x >= 10:
        return f"{x:.1f}"
    if x >= 1:
        return f"{x:.2f}"
    return f"{x:.3g}"


def seconds(f: Callable[[], object]) -> float:
    """Wall-clock seconds of one call of ``f``."""
    start = time.perf_counter()
    f()
    return time.perf_counter() - start


def median_of(f: Callable[[], float], reps: int) -> float:
    """The median of ``reps`` results of ``f`` (one figure per repetition)."""
    return statistics.median(f() for _ in range(reps))


def log(message: str) -> None:
    """A progress line on stderr."""
    print(message, file=sys.stderr, flush=True)
