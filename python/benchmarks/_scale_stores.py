"""Large tracklite stores for the scale group, built once and kept.

A store of ``n`` runs holds one experiment ("bench") whose run ``i`` has
the params and metrics of the search stores (``_populate.run_params`` and
``run_metrics``), written through the native API: ``create_run`` then one
``log_batch``. Filling 1,000,000 runs takes a while, so finished stores are
kept under ``$TRACKLITE_BENCH_STORES`` (default: ``tracklite-bench-stores``
in the system temp folder), named by their size and :data:`FILL_VERSION`,
and later runs of the suite reuse them. A store is only used once its
``FILLED`` marker exists: an interrupted fill is started again from
scratch.

Run ``i`` starts at ``START_MS + i``: the default order (newest first)
lists the highest ``i`` first.

Usage (builds the stores now, e.g. before a measurement):
    python python/benchmarks/_scale_stores.py 100000 1000000
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import _populate as pop

import tracklite

ENV = "TRACKLITE_BENCH_STORES"
#: Raised whenever what a filled store holds changes: older stores are then
#: not reused (their folders can be deleted by hand).
FILL_VERSION = 1
EXPERIMENT = "bench"
_MARKER = "FILLED"


def root() -> Path:
    """Where the stores are kept."""
    found = os.environ.get(ENV)
    return Path(found) if found else Path(tempfile.gettempdir()) / "tracklite-bench-stores"


def store_path(runs: int, under: Path | None = None) -> Path:
    """The folder of the store of ``runs`` runs (filled or not), under
    :func:`root` unless ``under`` says where."""
    return (under or root()) / f"runs-{runs}-v{FILL_VERSION}"


def fill(path: Path, runs: int) -> None:
    """Fills a new store at ``path`` with ``runs`` runs. One process: a
    second writer only waits for the first's transactions (measured: 2,200
    runs/s from one process, 1,350 from four at once)."""
    store = tracklite.Store(str(path))
    experiment_id = store.create_experiment(EXPERIMENT)
    for i in range(runs):
        start = pop.START_MS + i
        run_id = store.create_run(experiment_id, f"run-{i}", start_time=start).info.run_id
        metrics = [(k, v, start, 0) for k, v in pop.run_metrics(i).items()]
        store.log_batch(run_id, metrics=metrics, params=list(pop.run_params(i).items()))
    store.flush()


def scale_store(runs: int, log=print, under: Path | None = None) -> Path:
    """The store of ``runs`` runs, filled now unless a finished one is kept
    (under :func:`root`, or ``under``)."""
    path = store_path(runs, under)
    if (path / _MARKER).exists():
        return path
    shutil.rmtree(path, ignore_errors=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    began = time.perf_counter()
    log(f"  filling a store of {runs:,} runs at {path} ...")
    fill(path, runs)
    took = time.perf_counter() - began
    (path / _MARKER).write_text(f"{runs} runs, fill version {FILL_VERSION}, {took:.0f} s\n")
    log(f"  filled {runs:,} runs in {took:.0f} s ({runs / took:,.0f} runs/s)")
    return path


if __name__ == "__main__":
    for arg in sys.argv[1:]:
        scale_store(int(arg))
