"""tracklite against MLflow's own stores: the benchmark suite.

Measures, in one run on one machine, MLflow's file store, MLflow's sqlite
store, tracklite through MLflow's client (the plugin) and tracklite's
native API, on: logging metrics one point per call (with MLflow's no-op
ceiling), one call per step and 1,000 points per call; creating runs;
reading a metric history of 10k, 100k and 1M points; search_runs over 1k,
10k and 100k runs; disk size and file count after the same runs; 4 and 8
processes logging into one store at once (errors and lost points
counted); the model registry (registering a version, setting an alias,
reading by alias, searching 10,000 versions); and ``tracklite export`` to
an MLflow server on PostgreSQL and S3 that the suite starts, against the
ceilings its goals are ratios of (``_export.py``); and tracklite alone at
scale (``_scale.py``): search, open, ``tracklite experiments``,
``tracklite runs`` and a process's peak RSS on stores of 1,000 to
1,000,000 runs, kept between runs under ``$TRACKLITE_BENCH_STORES``
(``--quick``: up to 10,000 runs); and the viewer in headless Chromium
(``_ui.py``): time to first chart of a 1,000,000-point series, and the run
table of 10,000 runs next to MLflow's UI. Writes BENCHMARKS.md
(the machine, the targets with met or not met, every figure with its
ratio to MLflow's sqlite store, and the figures themselves in a comment at
its end) and charts, docs/benchmarks.png and docs/benchmarks-scale.png.

``--only GROUPS`` measures those groups and keeps the other groups' rows as
the report in --out-dir holds them (``_results.py``), naming in its header
the run that measured each.

Usage: python python/benchmarks/suite.py [--quick | --smoke] [--out-dir DIR] [--only GROUPS]
       (``bash scripts/bench.sh`` builds tracklite and its CLI in release mode, then runs this)
"""

from __future__ import annotations

import argparse
import datetime
import shlex
import signal
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import _concurrency
import _export
import _reads
import _registry
import _results
import _scale
import _ui
import _writes
from _chart import write_chart, write_scale_chart
from _common import Row, log
from _plan import PLANS, Plan
from _report import RunInfo, render
from _stores import Workspace

REPO = Path(__file__).resolve().parents[2]
REPORT = "BENCHMARKS.md"
CHART = "docs/benchmarks.png"
SCALE_CHART = "docs/benchmarks-scale.png"

Workload = Callable[[Workspace, Plan], list[Row]]

#: The workload groups, in the report's order, by the name --only takes.
GROUPS: dict[str, Workload] = {
    "log_metric": _writes.log_metric_rows,
    "log_metrics": _writes.log_metrics_rows,
    "log_batch": _writes.log_batch_rows,
    "create": _writes.create_rows,
    "history": _reads.history_rows,
    "search": _reads.search_rows,
    "size": _writes.size_rows,
    "processes": _concurrency.sweep_rows,
    "registry": _registry.registry_rows,
    "export": _export.export_rows,
    "scale": _scale.scale_rows,
    "ui": _ui.ui_rows,
}


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = ap.add_mutually_exclusive_group()
    mode.add_argument(
        "--quick",
        action="store_true",
        help="3 repetitions, smaller sizes (about 3 min; the full run takes about 20)",
    )
    mode.add_argument(
        "--smoke", action="store_true", help="tiny sizes, 1 repetition: checks the suite runs"
    )
    ap.add_argument(
        "--out-dir",
        type=Path,
        default=REPO,
        help=f"where {REPORT} and {CHART} go (default: the repository's root)",
    )
    ap.add_argument("--work-dir", help="where the stores are made (default: the temp folder)")
    ap.add_argument(
        "--only",
        help=f"comma-separated workload groups, of: {', '.join(GROUPS)} (default: all); "
        f"the other groups' rows are kept as the {REPORT} in --out-dir holds them",
    )
    ap.add_argument("--command", help="the command line the report shows (default: this one)")
    return ap.parse_args(argv)


def _groups(only: str | None) -> dict[str, Workload]:
    if not only:
        return GROUPS
    names = [n.strip() for n in only.split(",") if n.strip()]
    unknown = [n for n in names if n not in GROUPS]
    if unknown:
        raise SystemExit(f"unknown workload group(s): {', '.join(unknown)}; known: {list(GROUPS)}")
    return {n: GROUPS[n] for n in GROUPS if n in names}


def run_workloads(ws: Workspace, plan: Plan, groups: dict[str, Workload]) -> dict[str, list[Row]]:
    """Every group's rows, by group, with progress on stderr."""
    rows: dict[str, list[Row]] = {}
    began = time.perf_counter()
    for name, workload in groups.items():
        start = time.perf_counter()
        log(f"[{start - began:6.0f} s] {name} ...")
        rows[name] = workload(ws, plan)
        log(f"[{time.perf_counter() - began:6.0f} s] {name}: {time.perf_counter() - start:.0f} s")
    return rows


def merged(
    fresh: dict[str, list[Row]], info: RunInfo, kept: _results.Measured
) -> dict[str, tuple[RunInfo, Sequence[Row]]]:
    """Each group's run and rows, in the report's order: the groups just
    measured, and those of ``kept`` (an earlier report's) that were not."""
    found = {**kept, **{name: (info, rows) for name, rows in fresh.items()}}
    return {name: found[name] for name in GROUPS if name in found}


def main_run(measured: dict[str, tuple[RunInfo, Sequence[Row]]]) -> RunInfo:
    """The run the report is headed by: the one that measured most groups
    (the first of them in the report's order on a tie)."""
    runs = [run for run, _ in measured.values()]
    return max(runs, key=runs.count)


def write_report(out_dir: Path, measured: dict[str, tuple[RunInfo, Sequence[Row]]]) -> None:
    """BENCHMARKS.md (with the figures kept at its end) and the chart."""
    info = main_run(measured)
    others: dict[RunInfo, list[str]] = {}
    for name, (run, _) in measured.items():
        if run != info:
            others.setdefault(run, []).append(name)
    rows = [r for _, group in measured.values() for r in group]
    out_dir.mkdir(parents=True, exist_ok=True)
    scale_title = "tracklite at growing store sizes"
    if "scale" in measured:
        run = measured["scale"][0]
        scale_title += f" ({run.mode}, {run.date})"
    scaled = write_scale_chart(rows, out_dir / SCALE_CHART, scale_title)
    runs = [(names, run) for run, names in others.items()]
    text = render(rows, info, CHART, runs, SCALE_CHART if scaled else None)
    (out_dir / REPORT).write_text(text + "\n" + _results.encode(measured))
    write_chart(rows, out_dir / CHART, f"tracklite against MLflow ({info.mode}, {info.date})")


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    plan = PLANS["smoke" if args.smoke else "quick" if args.quick else "full"]
    groups = _groups(args.only)
    out_dir = args.out_dir.resolve()
    command = args.command or shlex.join([Path(sys.executable).name, *sys.argv])
    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    began = time.perf_counter()
    # Killed (SIGTERM): exit through the finally below, which removes the stores.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    ws = Workspace(args.work_dir)
    try:
        fresh = run_workloads(ws, plan, groups)
    finally:
        ws.close()
    info = RunInfo(plan.mode, plan.reps, command, date, time.perf_counter() - began, ws.root)
    # --only: the other groups' rows stay as the report holds them.
    kept = _results.read(out_dir / REPORT) if args.only else {}
    if kept:
        log(f"kept from {out_dir / REPORT}: {', '.join(n for n in kept if n not in fresh)}")
    write_report(out_dir, merged(fresh, info, kept))
    log(f"wrote {out_dir / REPORT} and {out_dir / CHART} in {info.runtime_s / 60:.1f} min")
    return 0


if __name__ == "__main__":
    sys.exit(main())
