"""Several processes logging into one store at once, as a hyperparameter
sweep or data-parallel ranks do: each process starts its own run and logs
one point per call (fluent ``mlflow.log_metric``; native
``RunHandle.log_metric``). The figure is the points logged by all processes per
second, from the first process's start to the last one's end.

Every failed call is counted, never raised (MLflow's sqlite store may
answer "database is locked"), and every point is read back afterwards: a
point whose call returned but that cannot be read is reported as lost.

The worker processes are started once (``spawn``: fresh interpreters, as a
sweep's are) and serve every round; they import MLflow before a round's
clock starts. A round: each worker opens its run and reports ready; when
all are ready, all are told to go.
"""

from __future__ import annotations

import multiprocessing as mp
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.queues import Queue
from typing import Any

from _common import NATIVE, STORES, SWEEP_PROCESSES, Row, count, log, sweep
from _plan import Plan
from _stores import StoreRef, Workspace, mlflow_experiment
from mlflow.tracking import MlflowClient

import tracklite

KEY = "loss"
GO = "go"
TIMEOUT_S = 900


@dataclass(frozen=True)
class Task:
    """One process's part of a round."""

    kind: str
    target: str  # a tracking URI, or the folder of a native store
    experiment_id: str
    points: int


@dataclass(frozen=True)
class Outcome:
    """What one process did in a round."""

    run_id: str | None
    start: float
    end: float
    logged: int
    errors: int
    first_error: str | None


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"[:120]


def _open_run(task: Task) -> tuple[str, Callable[..., Any], Callable[[], Any]]:
    """The run's id, its log_metric, and what ends it."""
    if task.kind == NATIVE:
        run = tracklite.Store(task.target).start_run(experiment_id=task.experiment_id)
        return run.run_id, run.log_metric, run.end
    import mlflow

    mlflow.set_tracking_uri(task.target)
    active = mlflow.start_run(experiment_id=task.experiment_id)
    return active.info.run_id, mlflow.log_metric, mlflow.end_run


def _log(log_metric: Callable[..., Any], points: int) -> tuple[int, str | None]:
    """Logs the points; returns the failed calls and the first failure."""
    errors, first = 0, None
    for step in range(points):
        try:
            log_metric(KEY, 0.5, step=step)
        except Exception as exc:
            errors += 1
            first = first or _short(exc)
    return errors, first


def _serve(task: Task, commands: Queue[Any], results: Queue[Any]) -> None:
    try:
        run_id, log_metric, end = _open_run(task)
    except Exception as exc:
        results.put("ready")
        commands.get()
        now = time.monotonic()
        results.put(Outcome(None, now, now, 0, 1, _short(exc)))
        return
    results.put("ready")
    commands.get()
    start = time.monotonic()
    errors, first = _log(log_metric, task.points)
    try:
        end()
    except Exception as exc:
        errors, first = errors + 1, first or _short(exc)
    logged = task.points - min(errors, task.points)
    results.put(Outcome(run_id, start, time.monotonic(), logged, errors, first))


def _worker(commands: Queue[Any], results: Queue[Any]) -> None:
    """A worker process: serves tasks until it gets None."""
    while (task := commands.get()) is not None:
        _serve(task, commands, results)


class Pool:
    """Worker processes, each with its own command queue."""

    def __init__(self, size: int) -> None:
        ctx = mp.get_context("spawn")
        self.results: Queue[Any] = ctx.Queue()
        self.commands: list[Queue[Any]] = [ctx.Queue() for _ in range(size)]
        self.procs = [
            ctx.Process(target=_worker, args=(q, self.results), daemon=True) for q in self.commands
        ]
        for p in self.procs:
            p.start()

    def round(self, tasks: list[Task]) -> list[Outcome]:
        """Runs the tasks at once, one per worker."""
        for q, task in zip(self.commands, tasks):
            q.put(task)
        for _ in tasks:
            assert self.results.get(timeout=TIMEOUT_S) == "ready"
        for q in self.commands[: len(tasks)]:
            q.put(GO)
        return [self.results.get(timeout=TIMEOUT_S) for _ in tasks]

    def close(self) -> None:
        for q in self.commands:
            q.put(None)
        for p in self.procs:
            p.join(timeout=30)
            if p.is_alive():
                p.terminate()


def _read_back(ref: StoreRef, run_id: str) -> int:
    if ref.kind == NATIVE:
        return len(tracklite.Store(ref.path).metric_history(run_id, KEY).steps)
    return len(MlflowClient(tracking_uri=ref.uri).get_metric_history(run_id, KEY))


def _experiment(ws: Workspace, ref: StoreRef) -> str:
    if ref.kind == NATIVE:
        return tracklite.Store(ref.path).create_experiment("sweep")
    return mlflow_experiment(ws, ref, "sweep")[1]


@dataclass
class _Tally:
    rates: list[float]
    errors: int = 0
    lost: int = 0
    first_error: str | None = None


def _round(pool: Pool, ref: StoreRef, task: Task, processes: int, tally: _Tally) -> None:
    outcomes = pool.round([task] * processes)
    logged = sum(o.logged for o in outcomes)
    spent = max(o.end for o in outcomes) - min(o.start for o in outcomes)
    tally.rates.append(logged / spent if spent > 0 else 0.0)
    for o in outcomes:
        tally.errors += o.errors
        tally.first_error = tally.first_error or o.first_error
        if o.run_id is not None:
            tally.lost += max(0, o.logged - _read_back(ref, o.run_id))


def _sweep_row(ws: Workspace, plan: Plan, pool: Pool, kind: str, processes: int) -> Row:
    ref = ws.new_store(kind)
    target = str(ref.path) if kind == NATIVE else ref.uri
    points = plan.sweep_points[kind]
    task = Task(kind, target, _experiment(ws, ref), points)
    tally = _Tally([])
    for _ in range(plan.reps):
        _round(pool, ref, task, processes, tally)
    how = "RunHandle.log_metric" if kind == NATIVE else "fluent mlflow.log_metric"
    note = (
        f"{count(points, 'point')} per process per round, {how}; over "
        f"{count(plan.reps, 'round')}: {count(tally.errors, 'error')}, "
        f"{count(tally.lost, 'lost point')}"
    )
    if tally.first_error:
        note += f" (first error: {tally.first_error})"
    value = statistics.median(tally.rates)
    return Row(
        sweep(processes), kind, value, "points/s", note, errors=tally.errors, lost=tally.lost
    )


def sweep_rows(ws: Workspace, plan: Plan) -> list[Row]:
    """4 and 8 processes logging into one store at once, on each store."""
    pool = Pool(max(SWEEP_PROCESSES))
    rows: list[Row] = []
    try:
        for processes in SWEEP_PROCESSES:
            for kind in STORES:
                rows.append(_sweep_row(ws, plan, pool, kind, processes))
                log(f"  {rows[-1].workload}, {kind}: {rows[-1].value:,.0f} points/s")
    finally:
        pool.close()
    return rows
