"""Writing workloads: metrics logged one call per point, one call per step
and in batches of 1,000; runs created; and the disk a store takes after
the same runs. MLflow's stores and the plugin are driven through MLflow's
fluent functions or ``MlflowClient``; tracklite's native API through
``tracklite.Store`` and its ``RunHandle``.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import mlflow
import numpy as np
from _common import (
    ARRAY_POINTS,
    BATCH_POINTS,
    COMPACTED,
    CREATE,
    CREATE_RUNS,
    DISK_SIZE,
    FILE,
    FILE_COUNT,
    LOG_ARRAY,
    LOG_BATCH,
    LOG_METRIC,
    LOG_METRICS,
    NATIVE,
    NOOP,
    PLUGIN,
    SIZE_METRICS,
    SIZE_PARAMS,
    SIZE_RUNS,
    SIZE_STEPS,
    SQLITE,
    STEP_METRICS,
    STORES,
    Row,
    count,
    fmt,
    median_of,
    seconds,
)
from _plan import Plan
from _populate import START_MS, created_run
from _stores import StoreRef, Workspace, mlflow_experiment
from mlflow.entities import Metric, Param
from mlflow.tracking import MlflowClient

import tracklite

CLIENT_STORES = (FILE, SQLITE, PLUGIN)
STEP_KEYS = [f"m{j}" for j in range(STEP_METRICS)]


def _log_points(log_metric: Callable[..., object], key: str, first: int, calls: int) -> None:
    for step in range(first, first + calls):
        log_metric(key, 0.5, step=step)


def _log_steps(log_metrics: Callable[..., object], first: int, steps: int) -> None:
    values = dict.fromkeys(STEP_KEYS, 0.5)
    for step in range(first, first + steps):
        log_metrics(values, step=step)


def _rate(count: int, work: Callable[[int], object], reps: int) -> float:
    """The median of ``count / seconds`` over ``reps`` calls of ``work(first)``,
    where ``first`` advances by ``count`` so that no step is logged twice."""
    offsets = itertools.count(0, count)
    return median_of(lambda: count / seconds(lambda: work(next(offsets))), reps)


# log_metric, one point per call ---------------------------------------------


def _fluent_log_metric(ws: Workspace, plan: Plan, kind: str) -> Row:
    calls = plan.per_call[kind]
    mlflow.set_tracking_uri(ws.new_store(kind).uri)
    try:
        with mlflow.start_run():
            _log_points(mlflow.log_metric, "warm", 0, min(calls, 100))
            value = _rate(
                calls, lambda first: _log_points(mlflow.log_metric, "loss", first, calls), plan.reps
            )
    finally:
        mlflow.set_tracking_uri(None)
    what = "the ceiling: MLflow's layers only" if kind == NOOP else "fluent mlflow.log_metric"
    return Row(LOG_METRIC, kind, value, "calls/s", f"{count(calls, 'call')} per repetition; {what}")


def _native_log_metric(ws: Workspace, plan: Plan) -> Row:
    calls = plan.per_call[NATIVE]
    store = tracklite.Store(ws.new_store(NATIVE).path)
    with store.start_run(experiment="bench") as run:
        _log_points(run.log_metric, "warm", 0, 1_000)
        value = _rate(
            calls, lambda first: _log_points(run.log_metric, "loss", first, calls), plan.reps
        )
    note = f"{count(calls, 'call')} per repetition; RunHandle.log_metric"
    return Row(LOG_METRIC, NATIVE, value, "calls/s", note)


def log_metric_rows(ws: Workspace, plan: Plan) -> list[Row]:
    """Fluent ``log_metric`` in a training loop, with MLflow's no-op ceiling,
    and the native ``RunHandle.log_metric``."""
    rows = [_fluent_log_metric(ws, plan, kind) for kind in (*CLIENT_STORES, NOOP)]
    return [*rows, _native_log_metric(ws, plan)]


# log_metrics, one call per step ---------------------------------------------


def _fluent_log_metrics(ws: Workspace, plan: Plan, kind: str) -> Row:
    steps = plan.per_step[kind]
    mlflow.set_tracking_uri(ws.new_store(kind).uri)
    try:
        with mlflow.start_run():
            _log_steps(mlflow.log_metrics, 0, min(steps, 10))
            value = _rate(
                steps, lambda first: _log_steps(mlflow.log_metrics, first + 10, steps), plan.reps
            )
    finally:
        mlflow.set_tracking_uri(None)
    note = f"{count(steps, 'step')} per repetition; fluent mlflow.log_metrics"
    return Row(LOG_METRICS, kind, value * STEP_METRICS, "points/s", note)


def _native_log_metrics(ws: Workspace, plan: Plan) -> Row:
    steps = plan.per_step[NATIVE]
    store = tracklite.Store(ws.new_store(NATIVE).path)
    with store.start_run(experiment="bench") as run:
        _log_steps(run.log_metrics, 0, 10)
        value = _rate(
            steps, lambda first: _log_steps(run.log_metrics, first + 10, steps), plan.reps
        )
    note = f"{count(steps, 'step')} per repetition; RunHandle.log_metrics"
    return Row(LOG_METRICS, NATIVE, value * STEP_METRICS, "points/s", note)


def log_metrics_rows(ws: Workspace, plan: Plan) -> list[Row]:
    """Several metrics logged at each step of a training loop."""
    rows = [_fluent_log_metrics(ws, plan, kind) for kind in CLIENT_STORES]
    return [*rows, _native_log_metrics(ws, plan)]


# log_batch, 1,000 points per call -------------------------------------------


def _metric_batches() -> Iterator[list[Metric]]:
    """Batches of 1,000 points: 10 keys at 100 steps, new steps each batch."""
    per_key = BATCH_POINTS // 10
    for c in itertools.count():
        yield [Metric(f"m{j % 10}", 0.5, 0, c * per_key + j // 10) for j in range(BATCH_POINTS)]


def _client_log_batch(ws: Workspace, plan: Plan, kind: str) -> Row:
    calls = plan.batch_calls[kind]
    client, experiment_id = mlflow_experiment(ws, ws.new_store(kind))
    run_id = client.create_run(experiment_id).info.run_id
    batches = _metric_batches()

    def once() -> float:
        todo = list(itertools.islice(batches, calls))  # built before the clock starts
        spent = seconds(lambda: [client.log_batch(run_id, m, synchronous=True) for m in todo])
        return calls * BATCH_POINTS / spent

    value = median_of(once, plan.reps)
    note = f"{count(calls, 'call')} per repetition; MlflowClient.log_batch, 10 keys × 100 steps"
    return Row(LOG_BATCH, kind, value, "points/s", note)


def _native_log_batch(ws: Workspace, plan: Plan) -> Row:
    calls = plan.batch_calls[NATIVE]
    values = np.random.default_rng(0).random(BATCH_POINTS)
    steps = np.arange(BATCH_POINTS, dtype=np.int64)
    store = tracklite.Store(ws.new_store(NATIVE).path)

    def work(run: tracklite.RunHandle, first: int) -> None:
        for c in range(first, first + calls):
            run.log_metric_array("loss", values, steps=steps + c * BATCH_POINTS)

    with store.start_run(experiment="bench") as run:
        work(run, 0)
        value = _rate(calls, lambda first: work(run, first + calls), plan.reps) * BATCH_POINTS
    note = f"{count(calls, 'call')} per repetition; RunHandle.log_metric_array, one key"
    return Row(LOG_BATCH, NATIVE, value, "points/s", note)


def _native_log_array(ws: Workspace, plan: Plan) -> Row:
    """One long array per call: the throughput the engine is held to."""
    points = plan.scaled(ARRAY_POINTS)
    values = np.random.default_rng(1).random(points)
    steps = np.arange(points, dtype=np.int64)
    store = tracklite.Store(ws.new_store(NATIVE).path)
    with store.start_run(experiment="bench") as run:
        run.log_metric_array("warm", values, steps=steps)
        keys = iter(range(1_000_000))

        def once() -> float:
            key = f"m{next(keys)}"  # a new series each time, as a new metric
            return points / seconds(lambda: run.log_metric_array(key, values, steps=steps))

        value = median_of(once, plan.reps)
    note = f"{count(points, 'point')} per call, a new key per repetition"
    return Row(LOG_ARRAY, NATIVE, value, "points/s", note)


def log_batch_rows(ws: Workspace, plan: Plan) -> list[Row]:
    """Metrics logged 1,000 points per call, and one long array per call."""
    rows = [_client_log_batch(ws, plan, kind) for kind in CLIENT_STORES]
    return [*rows, _native_log_batch(ws, plan), _native_log_array(ws, plan)]


# create runs -----------------------------------------------------------------


def _client_create(client: MlflowClient, experiment_id: str, first: int, runs: int) -> None:
    for i in range(first, first + runs):
        params, metrics = created_run(i)
        run_id = client.create_run(experiment_id, run_name=f"run-{i}").info.run_id
        client.log_batch(
            run_id,
            metrics=[Metric(k, v, 0, 0) for k, v in metrics.items()],
            params=[Param(k, v) for k, v in params.items()],
            synchronous=True,
        )
        client.set_terminated(run_id)


def _native_create(store: tracklite.Store, experiment_id: str, first: int, runs: int) -> None:
    for i in range(first, first + runs):
        params, metrics = created_run(i)
        with store.start_run(
            experiment_id=experiment_id, run_name=f"run-{i}", params=params
        ) as run:
            run.log_metrics(metrics, step=0)


def _create_row(ws: Workspace, plan: Plan, kind: str) -> Row:
    runs = plan.create_runs[kind]
    ref = ws.new_store(kind)
    if kind == NATIVE:
        store = tracklite.Store(ref.path)
        experiment_id = store.create_experiment("bench")
        value = _rate(
            runs, lambda first: _native_create(store, experiment_id, first, runs), plan.reps
        )
        how = "start_run(params=...), log_metrics, end"
    else:
        client, experiment_id = mlflow_experiment(ws, ref)
        value = _rate(
            runs, lambda first: _client_create(client, experiment_id, first, runs), plan.reps
        )
        how = "MlflowClient create_run, log_batch, set_terminated"
    note = f"{count(runs, 'run')} per repetition; {how}"
    if runs != plan.scaled(CREATE_RUNS) and plan.mode != "smoke":
        note += " (fewer runs than the workload's: this store is slow)"
    return Row(CREATE, kind, value, "runs/s", note)


def create_rows(ws: Workspace, plan: Plan) -> list[Row]:
    """Runs created, each with 5 params and 5 metrics, then ended."""
    return [_create_row(ws, plan, kind) for kind in STORES]


# disk size and file count ------------------------------------------------------


def _size_params() -> list[Param]:
    return [Param(f"p{j}", f"value-{j}") for j in range(SIZE_PARAMS)]


def _client_size_run(client: MlflowClient, experiment_id: str, steps: int) -> None:
    run_id = client.create_run(experiment_id).info.run_id
    client.log_batch(run_id, params=_size_params(), synchronous=True)
    points = [
        Metric(f"metric{j}", (s % 100) / 100, START_MS + s, s)
        for s in range(steps)
        for j in range(SIZE_METRICS)
    ]
    for c in range(0, len(points), BATCH_POINTS):
        client.log_batch(run_id, metrics=points[c : c + BATCH_POINTS], synchronous=True)
    client.set_terminated(run_id)


def _native_size_run(store: tracklite.Store, steps: int) -> None:
    values = (np.arange(steps) % 100) / 100
    with store.start_run(experiment="bench") as run:
        run.log_params({p.key: p.value for p in _size_params()})
        for j in range(SIZE_METRICS):
            run.log_metric_array(
                f"metric{j}", values, steps=np.arange(steps), timestamps=START_MS + np.arange(steps)
            )


@dataclass
class _Usage:
    """What a store takes on disk."""

    allocated: int = 0  # bytes of disk blocks, folders included (as du counts)
    content: int = 0  # bytes of file contents
    files: int = 0
    folders: int = 0
    by_file: dict[str, int] = field(default_factory=dict)  # allocated bytes

    def add(self, path: Path) -> None:
        st = path.stat()
        self.allocated += st.st_blocks * 512
        if path.is_file():
            self.content += st.st_size
            self.files += 1
            self.by_file[path.name] = st.st_blocks * 512
        else:
            self.folders += 1

    def breakdown(self) -> str:
        """The files and their sizes, for stores of a few files."""
        if not 1 < len(self.by_file) <= 6:
            return ""
        parts = sorted(self.by_file.items(), key=lambda kv: -kv[1])
        return "; " + ", ".join(f"{name} {mib(size)}" for name, size in parts)


def mib(size: int) -> str:
    return f"{fmt(size / 2**20)} MiB"


def _disk_usage(ref: StoreRef) -> _Usage:
    usage = _Usage()
    if ref.path.is_file():  # a sqlite database and its journal, if any
        for p in ref.path.parent.iterdir():
            if p.name.startswith(ref.path.name):
                usage.add(p)
        return usage
    for top, _, names in os.walk(ref.path):
        for p in (Path(top), *(Path(top) / n for n in names)):
            usage.add(p)
    usage.folders -= 1  # the store's own folder
    return usage


def _fill(ws: Workspace, kind: str, ref: StoreRef, runs: int, steps: int) -> None:
    """Logs the runs of the disk-size workload into a store."""
    if kind == NATIVE:
        store = tracklite.Store(ref.path)
        for _ in range(runs):
            _native_size_run(store, steps)
        return
    client, experiment_id = mlflow_experiment(ws, ref)
    for _ in range(runs):
        _client_size_run(client, experiment_id, steps)


def _size_rows(ws: Workspace, plan: Plan, kind: str) -> list[Row]:
    runs, steps = plan.size_runs[kind], plan.scaled(SIZE_STEPS)
    ref = ws.new_store(kind)
    _fill(ws, kind, ref, runs, steps)
    usage = _disk_usage(ref)
    what = f"{count(runs, 'run')} × {SIZE_METRICS} metrics × {count(steps, 'step')}"
    if runs != plan.scaled(SIZE_RUNS) and plan.mode != "smoke":
        what += f" (not {SIZE_RUNS}: this store is slow)"
    points = runs * steps * SIZE_METRICS
    size_note = (
        f"{what}; {usage.allocated / points:,.0f} bytes per point; "
        f"{mib(usage.content)} of file contents{usage.breakdown()}"
    )
    rows = [_compacted_row(ref, points, what)] if kind == NATIVE else []
    return [
        *rows,
        Row(
            DISK_SIZE,
            kind,
            usage.allocated / 2**20,
            "MiB",
            size_note,
            lower_is_better=True,
            size=runs * steps,
        ),
        Row(
            FILE_COUNT,
            kind,
            usage.files,
            "files",
            f"{what}; {count(usage.folders, 'folder')}",
            lower_is_better=True,
            size=runs * steps,
        ),
    ]


#: The metric log's page size.
LOG_PAGE = 4096


def _compacted_row(ref: StoreRef, points: int, what: str) -> Row:
    """The native store's live log bytes per point once its ended runs
    are compacted (`Store.compact`, as `tracklite compact` does)."""
    report = tracklite.Store(ref.path).compact()
    before, after = report["pages_before"] * LOG_PAGE, report["pages_after"] * LOG_PAGE
    note = (
        f"{what}; the metric log's pages holding the {count(report['points'], 'point')}: "
        f"{mib(before)} before, {mib(after)} after (the old pages are released to the "
        "file system after a grace period for readers)"
    )
    value = after / max(1, report["points"])
    return Row(COMPACTED, NATIVE, value, "bytes/point", note, lower_is_better=True, size=points)


def size_rows(ws: Workspace, plan: Plan) -> list[Row]:
    """Disk space and files after logging the same runs into each store."""
    return [row for kind in STORES for row in _size_rows(ws, plan, kind)]
