"""Reading workloads, at growing sizes: one metric's history (10k, 100k
and 1M points) through ``MlflowClient.get_metric_history`` and the native
``Store.metric_history``; and ``search_runs`` with a filter on a metric and
a param, ordered by a metric, top 100, over stores of 1k, 10k and 100k
runs. Stores are filled beforehand (see _populate); only reads are timed,
and every read is checked: the whole history, the right top 100.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any

import _populate as pop
from _common import (
    FILE,
    HISTORY_SIZES,
    NATIVE,
    PLUGIN,
    SEARCH_SIZES,
    SQLITE,
    Row,
    count,
    history,
    log,
    search,
    seconds,
    skipped,
)
from _plan import Plan
from _stores import Workspace, mlflow_experiment
from mlflow.tracking import MlflowClient

import tracklite

KEY = "loss"


def _timed_ms(
    read: Callable[[], Any], check: Callable[[Any], str | None], reps: int
) -> tuple[float, float, str | None]:
    """The first call's time and the median of ``reps`` calls, the first
    included (ms), and what was wrong with a result, if anything."""
    problems: set[str] = set()
    times: list[float] = []
    for _ in range(reps):
        start = time.perf_counter()
        result = read()
        times.append((time.perf_counter() - start) * 1000)
        problems.add(check(result) or "")
        del result
    problem = "; ".join(sorted(p for p in problems if p)) or None
    return times[0], statistics.median(times), problem


# Why the largest sizes are skipped in some modes (see _too_big).
_FILL = (
    "filling a store of 100,000 runs through the native API takes minutes (each run is "
    "created more slowly as the store grows); the full suite does"
)
_PAGED = "MlflowClient.get_metric_history reads a history in pages of 25,000 points, and "
_WHY_SLOW = {
    ("history", FILE): _PAGED
    + "the file store parses the whole metric file again for each page: the time grows "
    "with the square of the points",
    ("history", SQLITE): _PAGED + "the sqlite store runs an ORDER BY … OFFSET query per page",
    ("search", FILE): "the file store reads every run's folder for each search",
    ("search", SQLITE): "ordered by a metric, the sqlite store's search time grows with "
    "the square of the runs",
    ("search", NATIVE): _FILL,
    ("search", PLUGIN): _FILL,
}


def _too_big(workload: str, kind: str, cap: int, done: Sequence[Row]) -> str:
    """Why a measurement above this store's cap (in this mode) is skipped:
    the known cause, and the times measured at the smaller sizes."""
    parts = [_WHY_SLOW.get((workload, kind), "")]
    measured = [r for r in done if r.store == kind and r.value is not None and r.size]
    if measured:
        times = ", ".join(f"{fmt_ms(r.value)} at {r.size:,}" for r in measured[-2:])
        parts.append(f"measured: {times}")
    parts.append(f"this mode measures {kind} up to {cap:,}")
    return "; ".join(p for p in parts if p)


def fmt_ms(ms: float) -> str:
    """A time given in ms, in ms or s."""
    return f"{ms:,.0f} ms" if ms < 1000 else f"{ms / 1000:,.1f} s"


def _row(
    workload: str,
    kind: str,
    size: int,
    nominal: int,
    timing: tuple[float, float, str | None],
    how: str,
    what: str,
) -> Row:
    first, value, problem = timing
    note = f"{how}; first call {first:,.1f} ms"
    if size != nominal:
        note = f"measured at {count(size, what)} (--smoke); " + note
    if problem:
        note = f"WRONG RESULT: {problem}; " + note
    return Row(workload, kind, value, "ms", note, lower_is_better=True, size=size)


# Metric history ---------------------------------------------------------------


def _history_check(points: int) -> Callable[[Any], str | None]:
    def check(result: Any) -> str | None:
        got = len(result[0]) if isinstance(result, tuple) else len(result)
        return None if got == points else f"{got:,} points read, {points:,} logged"

    return check


def _mlflow_history(ws: Workspace, plan: Plan, kind: str) -> list[Row]:
    ref = ws.new_store(kind)
    client, experiment_id = mlflow_experiment(ws, ref)
    rows: list[Row] = []
    for nominal in HISTORY_SIZES:
        if nominal > plan.history_cap[kind]:
            why = _too_big("history", kind, plan.history_cap[kind], rows)
            rows.append(skipped(history(nominal), kind, "ms", why, lower_is_better=True))
            continue
        points = plan.scaled(nominal)
        run_id = client.create_run(experiment_id).info.run_id
        if kind == FILE:
            pop.file_history(ref.path / experiment_id / run_id, KEY, points)
            how = "metric file written directly; read by MlflowClient.get_metric_history"
        else:
            pop.sqlite_history(ref.path, run_id, KEY, points)
            how = "rows inserted into MLflow's tables; read by MlflowClient.get_metric_history"
        timing = _timed_ms(
            lambda run_id=run_id: client.get_metric_history(run_id, KEY),
            _history_check(points),
            plan.reps,
        )
        rows.append(_row(history(nominal), kind, points, nominal, timing, how, "point"))
        log(f"  {history(nominal)}, {kind}: {timing[1]:,.1f} ms")
    return rows


def _tracklite_reads(
    store: tracklite.Store, client: MlflowClient, run_id: str
) -> list[tuple[str, Callable[[], Any], str]]:
    return [
        (NATIVE, lambda: store.metric_history(run_id, KEY), "Store.metric_history, numpy"),
        (PLUGIN, lambda: client.get_metric_history(run_id, KEY), "MlflowClient.get_metric_history"),
    ]


def _tracklite_history(ws: Workspace, plan: Plan) -> list[Row]:
    ref = ws.new_store(NATIVE)
    rows: list[Row] = []
    for nominal in HISTORY_SIZES:
        points = plan.scaled(nominal)
        run_id = pop.tracklite_history(ref.path, KEY, points)
        store = tracklite.Store(ref.path)  # opened anew, as a reader would
        client = MlflowClient(tracking_uri=ref.uri)
        for kind, read, how in _tracklite_reads(store, client, run_id):
            if nominal > plan.history_cap[kind]:
                why = _too_big("history", kind, plan.history_cap[kind], rows)
                rows.append(skipped(history(nominal), kind, "ms", why, lower_is_better=True))
                continue
            timing = _timed_ms(read, _history_check(points), plan.reps)
            rows.append(_row(history(nominal), kind, points, nominal, timing, how, "point"))
            log(f"  {history(nominal)}, {kind}: {timing[1]:,.1f} ms")
    return rows


def history_rows(ws: Workspace, plan: Plan) -> list[Row]:
    """Reading one metric's whole history, at each size, on each store."""
    rows = [*_mlflow_history(ws, plan, FILE), *_mlflow_history(ws, plan, SQLITE)]
    return rows + _tracklite_history(ws, plan)


# search_runs ----------------------------------------------------------------------


def _search_check(runs: int) -> Callable[[Any], str | None]:
    expected = pop.expected_top(runs)

    def check(result: Any) -> str | None:
        got = [r.data.metrics["acc"] for r in result]
        return None if got == expected else "not the expected top runs"

    return check


def _mlflow_search(ws: Workspace, plan: Plan, kind: str, nominal: int) -> Row:
    runs = plan.scaled(nominal)
    ref = ws.new_store(kind)
    client, experiment_id = mlflow_experiment(ws, ref)
    if kind == FILE:
        pop.file_runs(ref.path, experiment_id, runs)
        how = "run folders written directly"
    else:
        pop.sqlite_runs(ref.path, experiment_id, runs, ws.artifact_location())
        how = "rows inserted into MLflow's tables"
    timing = _timed_ms(
        lambda: client.search_runs(
            [experiment_id], pop.SEARCH_FILTER, order_by=pop.SEARCH_ORDER, max_results=pop.TOP
        ),
        _search_check(runs),
        plan.reps,
    )
    return _row(
        search(nominal), kind, runs, nominal, timing, how + "; MlflowClient.search_runs", "run"
    )


def _tracklite_search(ws: Workspace, plan: Plan, nominal: int) -> list[Row]:
    runs = plan.scaled(nominal)
    ref = ws.new_store(NATIVE)
    fill_s = seconds(lambda: pop.tracklite_runs(ref.path, runs))
    log(f"  filled a tracklite store with {runs:,} runs in {fill_s:.0f} s")
    store = tracklite.Store(ref.path)  # opened anew, as a reader would
    experiment_id = store.get_experiment_by_name("bench").experiment_id
    client = MlflowClient(tracking_uri=ref.uri)
    filled = f"store filled through the native API in {fill_s:,.0f} s"
    rows = []
    for kind, how, searcher in (
        (NATIVE, "Store.search_runs", store.search_runs),
        (PLUGIN, "MlflowClient.search_runs", client.search_runs),
    ):
        timing = _timed_ms(
            lambda searcher=searcher: searcher(
                [experiment_id], pop.SEARCH_FILTER, order_by=pop.SEARCH_ORDER, max_results=pop.TOP
            ),
            _search_check(runs),
            plan.reps,
        )
        rows.append(_row(search(nominal), kind, runs, nominal, timing, f"{filled}; {how}", "run"))
    return rows


def search_rows(ws: Workspace, plan: Plan) -> list[Row]:
    """search_runs over stores of each size."""
    rows: list[Row] = []
    for nominal in SEARCH_SIZES:
        for kind in (FILE, SQLITE):
            if nominal > plan.search_cap[kind]:
                why = _too_big("search", kind, plan.search_cap[kind], rows)
                rows.append(skipped(search(nominal), kind, "ms", why, lower_is_better=True))
            else:
                rows.append(_mlflow_search(ws, plan, kind, nominal))
        if nominal > plan.search_cap[NATIVE]:
            rows += [
                skipped(
                    search(nominal),
                    kind,
                    "ms",
                    _too_big("search", kind, plan.search_cap[kind], rows),
                    lower_is_better=True,
                )
                for kind in (NATIVE, PLUGIN)
            ]
        else:
            rows += _tracklite_search(ws, plan, nominal)
        for row in rows[-4:]:
            shown = "skipped" if row.value is None else f"{row.value:,.1f} ms"
            log(f"  {row.workload}, {row.store}: {shown}")
    return rows
