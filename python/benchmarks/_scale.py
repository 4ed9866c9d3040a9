"""The scale group: reads of, and run creation in, stores of 1,000 to
1,000,000 runs.

At each size (``SCALE_SIZES``, up to the plan's ``scale_cap``), on a store
kept between suite runs (``_scale_stores``), it measures:

- ``search_runs`` with the search group's filter and metric order, top
  100, through the native API (every result checked against the expected
  top 100), in the default order (newest first), top 100, and ordered by
  a param (``params.seed DESC``, checked), top 100;
- opening the store (``tracklite.Store(path)``) in this process;
- ``tracklite experiments`` (every experiment with its run count) and
  ``tracklite runs`` (default order, default page of 1,000 runs), the
  release CLI, as separate processes: their wall time, start-up included;
- the peak RSS of a process that opens the store and runs the search;
- creating runs in it (5 params given at the start, 5 metrics, end), in
  an experiment of their own, removed for good afterwards.

Each store is opened once before anything is timed, so that a migration
a newer tracklite makes on the first open is not counted.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import _populate as pop
import _scale_stores
import export_rate
from _common import CLI, NATIVE, Row, log
from _plan import Plan
from _stores import Workspace

import tracklite

SCALE_SIZES = (1_000, 10_000, 100_000, 1_000_000)
#: Calls per figure, per repetition of the plan: each call takes
#: milliseconds, and on a shared machine a median of a few is noisy.
CALLS_PER_REP = 5
DEFAULT_PAGE = 1_000  # `tracklite runs` lists this many runs unless told otherwise
#: Runs created per repetition by the creation row, in an experiment of
#: their own; they are removed for good afterwards, leaving the kept store
#: as it was.
CREATE_RUNS = 1_000
CREATE_EXPERIMENT = "scale-create"


def scale_search(runs: int) -> str:
    return f"{runs:,} runs: search_runs, filter + metric order, top 100"


def scale_recent(runs: int) -> str:
    return f"{runs:,} runs: search_runs, default order, top 100"


def scale_param_order(runs: int) -> str:
    return f"{runs:,} runs: search_runs, order by a param, top 100"


def scale_open(runs: int) -> str:
    return f"{runs:,} runs: open the store"


def scale_experiments(runs: int) -> str:
    return f"{runs:,} runs: `tracklite experiments` (run counts)"


def scale_runs(runs: int) -> str:
    return f"{runs:,} runs: `tracklite runs` (default order, first page)"


def scale_create(runs: int) -> str:
    return f"{runs:,} runs: create a run (5 params, 5 metrics, end)"


def scale_rss(runs: int) -> str:
    return f"{runs:,} runs: peak RSS, open + search"


#: The timed workloads of the chart, by how they are named at a size.
TIMED = (
    scale_search,
    scale_recent,
    scale_param_order,
    scale_open,
    scale_experiments,
    scale_runs,
    scale_create,
)


def _median_ms(f: Callable[[], object], reps: int) -> tuple[float, float, int]:
    """The first call's time and the median of ``reps`` calls (ms), and ``reps``."""
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        f()
        times.append((time.perf_counter() - start) * 1000)
    return times[0], statistics.median(times), reps


def _row(workload: str, store: str, runs: int, timing: tuple[float, float, int], how: str) -> Row:
    first, median, calls = timing
    note = f"{how}; median of {calls} calls, first call {first:,.1f} ms"
    return Row(workload, store, median, "ms", note, lower_is_better=True, size=runs)


def _search_rows(path: Path, runs: int, reps: int) -> list[Row]:
    store = tracklite.Store(path)
    experiment_id = store.get_experiment_by_name(_scale_stores.EXPERIMENT).experiment_id
    expected = pop.expected_top(runs)
    wrong: list[str] = []

    def search() -> None:
        found = store.search_runs(
            [experiment_id], pop.SEARCH_FILTER, order_by=pop.SEARCH_ORDER, max_results=pop.TOP
        )
        if [r.data.metrics["acc"] for r in found] != expected:
            wrong.append("not the expected top runs")

    def recent() -> None:
        found = store.search_runs([experiment_id], max_results=pop.TOP)
        names = [r.info.run_name for r in found]
        if names != [f"run-{i}" for i in range(runs - 1, max(-1, runs - 1 - pop.TOP), -1)]:
            wrong.append("not the newest runs")

    # Param values order as text: "999" before "9989" before "9988"...
    top_seeds = sorted((str(i) for i in range(runs)), reverse=True)[: pop.TOP]

    def by_param() -> None:
        found = store.search_runs(
            [experiment_id], order_by=["params.seed DESC"], max_results=pop.TOP
        )
        if [r.data.params["seed"] for r in found] != top_seeds:
            wrong.append("not the runs of the greatest seeds")

    rows = []
    for name, f, how in (
        (scale_search, search, f"Store.search_runs({pop.SEARCH_FILTER!r}, {pop.SEARCH_ORDER})"),
        (scale_recent, recent, "Store.search_runs(no filter, default order)"),
        (scale_param_order, by_param, "Store.search_runs(no filter, ['params.seed DESC'])"),
    ):
        row = _row(name(runs), NATIVE, runs, _median_ms(f, reps), how)
        if wrong:
            row = Row(**{**row.__dict__, "note": f"WRONG RESULT: {wrong[0]}; {row.note}"})
            wrong.clear()
        rows.append(row)
    return rows


def _cli_rows(path: Path, runs: int, reps: int) -> list[Row]:
    cli = export_rate.release_cli()
    if not cli.exists():
        why = f"skipped: no release CLI at {cli} (cargo build --release -p tracklite-cli)"
        return [
            Row(name(runs), CLI, None, "ms", why, lower_is_better=True)
            for name in (scale_experiments, scale_runs)
        ]
    rows = []
    for name, args in ((scale_experiments, ["experiments"]), (scale_runs, ["runs"])):
        command = [str(cli), "--store", str(path), *args]

        def call(command: list[str] = command) -> None:
            subprocess.run(command, check=True, stdout=subprocess.DEVNULL)

        how = f"`tracklite {' '.join(args)}`, a process, output to /dev/null"
        rows.append(_row(name(runs), CLI, runs, _median_ms(call, reps), how))
    return rows


# The peak RSS of this process image: VmHWM, which starts again at exec
# (ru_maxrss keeps the forked parent's peak across it).
_RSS_CHILD = """
import sys
import tracklite
sys.path.insert(0, sys.argv[2])
import _populate as pop
store = tracklite.Store(sys.argv[1])
exp = store.get_experiment_by_name("bench").experiment_id
store.search_runs([exp], pop.SEARCH_FILTER, order_by=pop.SEARCH_ORDER, max_results=pop.TOP)
with open("/proc/self/status") as fh:
    print(next(line.split()[1] for line in fh if line.startswith("VmHWM:")))
"""


def _rss_row(path: Path, runs: int) -> Row:
    """A new process's peak RSS (MiB) once it opened the store and searched it."""
    here = str(Path(__file__).resolve().parent)
    out = subprocess.run(
        [sys.executable, "-c", _RSS_CHILD, str(path), here],
        check=True,
        capture_output=True,
        text=True,
    )
    kib = int(out.stdout.split()[-1])
    note = "a new Python process: import tracklite, open, the search once (VmHWM)"
    return Row(scale_rss(runs), NATIVE, kib / 1024, "MiB", note, lower_is_better=True, size=runs)


def _create_row(path: Path, runs: int, reps: int, batch: int) -> Row:
    """Run creation into a store of ``runs`` runs: the time per run (ms) of
    ``batch`` runs, each started with its 5 params, given 5 metrics and
    ended, median of ``reps`` repetitions."""
    store = tracklite.Store(path)
    found = store.get_experiment_by_name(CREATE_EXPERIMENT)
    experiment_id = found.experiment_id if found else store.create_experiment(CREATE_EXPERIMENT)
    made: list[str] = []
    per_run = []
    for rep in range(reps):
        start = time.perf_counter()
        for i in range(batch):
            params, metrics = pop.created_run(i)
            with store.start_run(
                experiment_id=experiment_id, run_name=f"new-{rep}-{i}", params=params
            ) as run:
                run.log_metrics(metrics, step=0)
            made.append(run.run_id)
        per_run.append((time.perf_counter() - start) * 1000 / batch)
    for run_id in made:
        store.delete_run(run_id)
    store.gc(made)
    median = statistics.median(per_run)
    note = (
        f"{1000 / median:,.0f} runs/s; Store.start_run(params=...), log_metrics, end; "
        f"{batch:,} runs per repetition, median of {reps}, then removed (gc)"
    )
    return Row(scale_create(runs), NATIVE, median, "ms", note, lower_is_better=True, size=runs)


def scale_rows(ws: Workspace, plan: Plan) -> list[Row]:
    """Every scale row, size by size, on the kept stores (--smoke: on tiny
    stores in the workspace, removed with it)."""
    under = ws.root / "scale" if plan.mode == "smoke" else None
    rows: list[Row] = []
    for nominal in SCALE_SIZES:
        if nominal > plan.scale_cap:
            continue
        runs = plan.scaled(nominal)
        path = _scale_stores.scale_store(runs, log=log, under=under)
        tracklite.Store(path)  # a migration, if any, before timing
        reps = plan.reps * CALLS_PER_REP
        rows += _search_rows(path, runs, reps)
        opening = _median_ms(lambda path=path: tracklite.Store(path), reps)
        rows.append(_row(scale_open(runs), NATIVE, runs, opening, "tracklite.Store(path)"))
        rows += _cli_rows(path, runs, reps)
        rows.append(_rss_row(path, runs))
        # Last: it writes (and removes again) runs of its own.
        rows.append(_create_row(path, runs, plan.reps, plan.scaled(CREATE_RUNS)))
        for row in rows[-7:]:
            shown = "skipped" if row.value is None else f"{row.value:,.1f} {row.unit}"
            log(f"  {row.workload}, {row.store}: {shown}")
    return rows


def names(sizes: Sequence[int] = SCALE_SIZES) -> list[str]:
    """Every scale workload, in the report's order."""
    return [f(n) for n in sizes for f in (*TIMED, scale_rss)]
